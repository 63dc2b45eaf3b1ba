// The teacher's classes: open one with a button and put its six-digit code, in large type, and
// its QR code on the projector; pupils scan it (or type the code) and join. Open classes are
// listed to show again or close. The dashboard then shows the chosen class (a "class-chosen" event).

import { t } from "./i18n.js";
import { teacherFetch } from "./teacher.js";
import { $, element } from "./view.js";

const REFRESH_MS = 60_000; // the list shows classes opened elsewhere and drops expired ones

export function setUpClasses() {
  $("open-class").addEventListener("submit", openClass);
  $("class-close").addEventListener("click", () => closeClass($("class-code").textContent));
  $("class-fullscreen").addEventListener("click", () => $("class-card").requestFullscreen?.());
  listClasses();
  setInterval(listClasses, REFRESH_MS);
}

async function openClass(event) {
  event.preventDefault();
  const body = { name: $("class-name").value.trim(), language: $("class-language").value };
  const response = await teacherFetch("/api/rooms", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    $("class-message").textContent = t("classes.notOpened");
    return;
  }
  $("class-message").textContent = "";
  showClass(await response.json());
  listClasses();
}

// The projector view of one class: code, QR code, link. The QR code comes as an SVG data URL.
function showClass(room) {
  $("class-code").textContent = room.code;
  $("class-title").textContent = room.name;
  $("class-qr").src = room.qr;
  $("class-link").textContent = room.join_url;
  $("class-card").hidden = false;
  document.dispatchEvent(new CustomEvent("class-chosen", { detail: room }));
}

async function closeClass(code) {
  const response = await teacherFetch(`/api/rooms/${encodeURIComponent(code)}`, { method: "DELETE" });
  if (response.ok && $("class-code").textContent === code) $("class-card").hidden = true;
  listClasses();
}

async function listClasses() {
  const response = await teacherFetch("/api/rooms");
  if (!response.ok) return;
  const { rooms } = await response.json();
  $("class-list").replaceChildren(
    ...rooms.map((room) => {
      const item = element("li");
      const code = element("strong", { text: room.code, attributes: { translate: "no", dir: "ltr" } });
      const name = element("span", { text: room.name, attributes: { translate: "no" } });
      const show = element("button", { text: t("classes.show"), attributes: { type: "button" } });
      show.addEventListener("click", () => showClass(room));
      const close = element("button", { text: t("classes.close"), attributes: { type: "button" } });
      close.addEventListener("click", () => closeClass(room.code));
      item.append(code, " ", name, " ", show, " ", close);
      return item;
    }),
  );
}
