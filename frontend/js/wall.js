// The wall: one room's live drawings, big and high contrast, for the classroom's projector
// (/wall?room=<code>, opened from the dashboard, with the teacher key as the dashboard has it).
// Newest first, each with the digit the model read; the room's code in large type and its QR code
// in a corner so latecomers can join. The teacher hides a drawing from the wall or deletes it (every
// wall and dashboard watching the room drops it at once: the server's `hidden` and `deleted` events),
// and downloads the lesson: the attempts as CSV, the drawings as a ZIP.

import { io } from "../vendor/socket.io.esm.min.js";
import { errorText, keepLanguage, setUpLanguage, t } from "./i18n.js";
import { currentRoom, roomQuery } from "./room.js";
import { showConnection, teacherFetch, teacherToken, watchRoom } from "./teacher.js";
import { $, element, pngDataUrl } from "./view.js";

const WALL_SIZE = 36; // tiles kept on the wall; older ones scroll off
const OPENED_CODE = /^[0-9]{6}$/;
const room = currentRoom();
const tiles = new Map(); // attempt_id -> its <li>
const drawingUrls = new Map(); // attempt_id -> blob: URL of its stored drawing
const waitingDrawings = []; // attempt ids whose stored drawing is still to be fetched, one at a time
let fetchingDrawing = false;

const opened = await openedRoom();
await setUpLanguage({ room: opened?.language || null }); // the class reads the wall: its language
showCorner(opened);

const socket = io({ transports: ["websocket", "polling"], auth: { token: teacherToken() ?? "" } });
socket.on("connect", () => {
  watchRoom(socket, room);
  loadWall(); // also after a reconnect: what was missed while away
});
socket.on("disconnect", () => showConnection("offline", t("connection.offline")));
socket.on("attempt", (attempt) => {
  if (attempt.room !== room || !attempt.final) return;
  if (attempt.hidden) remove(attempt.attempt_id); // drawn on after the teacher hid it: it stays off
  else place(attempt, "first");
});
socket.on("hidden", ({ attempt_id, hidden }) => (hidden ? remove(attempt_id) : loadWall()));
socket.on("deleted", ({ attempt_id }) => remove(attempt_id));

function say(text) {
  $("wall-message").textContent = text;
}

// The opened room (name, language, QR code) when ?room= is an open six-digit code; else null (also when the
// server cannot be reached: the wall still starts, and its socket connects when the server is back).
async function openedRoom() {
  if (!OPENED_CODE.test(room)) return null;
  let response;
  try {
    response = await teacherFetch("/api/rooms");
  } catch {
    return null;
  }
  if (!response.ok) return null;
  const { rooms } = await response.json();
  return rooms.find((candidate) => candidate.code === room) ?? null;
}

// The corner: the code to type, the QR code to scan (an opened room's, fetched with the key) and the link.
function showCorner(info) {
  const query = room ? `?room=${encodeURIComponent(room)}` : "";
  $("wall-code").textContent = room || "–";
  $("wall-name").textContent = info?.name ?? "";
  $("wall-name").hidden = !info?.name;
  $("wall-link").textContent = info?.join_url ?? `${location.origin}/${query}`;
  if (info) showQr();
  $("dashboard-link").href = keepLanguage(`/dashboard${query}`);
  for (const name of ["download-csv", "download-zip"]) $(name).hidden = !room; // the default room has no code
}

async function showQr() {
  const response = await teacherFetch(`/api/rooms/${encodeURIComponent(room)}/qr.svg`);
  if (!response.ok) return;
  $("wall-qr").src = URL.createObjectURL(await response.blob());
  $("wall-qr").hidden = false;
}

// The room's latest finished drawings from the store, newest first: on connect (again after a
// reconnect: what was missed meanwhile) and when one is shown again. Tiles already on the wall stay,
// with their drawing; one that arrived live while the page was being read stays too.
async function loadWall() {
  const response = await teacherFetch(`/api/attempts?${roomQuery(room)}limit=${WALL_SIZE}`);
  if (!response.ok) return;
  const page = await response.json();
  const shown = page.attempts.filter((attempt) => attempt.final && !attempt.hidden);
  const wanted = new Set(shown.map((attempt) => attempt.attempt_id));
  const newest = page.attempts[0]?.created_at ?? 0;
  for (const [id, tile] of [...tiles]) {
    if (!wanted.has(id) && Number(tile.dataset.created) <= newest) remove(id, { quiet: true });
  }
  for (const attempt of shown) place(attempt, "last");
  showEmpty();
}

// A drawing onto the wall: "first" (live, the newest) or "last" (the page read, in its order). A tile
// the wall has is kept as it is when the page is read again, and made anew when its drawer drew on.
function place(attempt, where) {
  const known = tiles.get(attempt.attempt_id);
  if (known && where === "last") {
    $("wall").append(known);
    return;
  }
  if (known) remove(attempt.attempt_id, { quiet: true });
  const tile = makeTile(attempt);
  if (where === "first") $("wall").prepend(tile);
  else $("wall").append(tile);
  tiles.set(attempt.attempt_id, tile);
  while ($("wall").children.length > WALL_SIZE) remove($("wall").lastElementChild.dataset.attempt, { quiet: true });
  showEmpty();
  waitingDrawings.push(attempt.attempt_id);
  fetchDrawings();
}

function makeTile(attempt) {
  const id = attempt.attempt_id;
  const tile = element("li", {
    className: "wall-tile",
    attributes: { "data-attempt": id, "data-created": attempt.created_at, "data-testid": "tile" },
  });
  const read = attempt.digit !== null && attempt.digit !== undefined;
  const alt = read ? t("wall.drawingAlt", { digit: attempt.digit }) : t("wall.drawingAltNothing");
  // What the model saw (28x28, white on black) until the stored drawing arrives; shown dark on white.
  const picture = element("img", { className: "wall-drawing preview", attributes: { alt, "data-testid": "tile-drawing" } });
  picture.src = pngDataUrl(attempt.preview);
  const captionId = `read-${id}`;
  const caption = element("p", { className: "wall-read", attributes: { id: captionId } });
  caption.append(
    element("span", { text: read ? t("wall.read") : t("wall.notRead") }),
    " ",
    element("strong", { text: read ? String(attempt.digit) : "?", attributes: { "data-testid": "tile-digit" } }),
  );
  const hide = element("button", {
    text: t("wall.hide"),
    attributes: { type: "button", "data-testid": "hide", "aria-describedby": captionId },
  });
  hide.addEventListener("click", () => hideAttempt(id));
  const drop = element("button", {
    text: t("wall.delete"),
    className: "danger",
    attributes: { type: "button", "data-testid": "delete", "aria-describedby": captionId },
  });
  drop.addEventListener("click", () => deleteAttempt(id));
  const actions = element("p", { className: "wall-actions" });
  actions.append(hide, drop);
  tile.append(picture, caption, actions);
  return tile;
}

// The stored drawings replace the previews one request at a time: a wall of 36 must not spend the
// school address's whole REST budget at once. A drawing that cannot be fetched keeps its preview.
async function fetchDrawings() {
  if (fetchingDrawing) return;
  fetchingDrawing = true;
  try {
    while (waitingDrawings.length) {
      const id = waitingDrawings.shift();
      if (!tiles.has(id)) continue;
      const response = await teacherFetch(`/api/attempts/${encodeURIComponent(id)}/image`);
      if (!response.ok) continue;
      const url = URL.createObjectURL(await response.blob());
      const tile = tiles.get(id);
      if (!tile) {
        URL.revokeObjectURL(url);
        continue;
      }
      if (drawingUrls.has(id)) URL.revokeObjectURL(drawingUrls.get(id));
      drawingUrls.set(id, url);
      const picture = tile.querySelector("img");
      picture.src = url;
      picture.classList.remove("preview");
    }
  } finally {
    fetchingDrawing = false;
  }
}

function remove(id, { quiet = false } = {}) {
  const tile = tiles.get(id);
  if (!tile) return;
  // Focus that was on the tile moves on to the next tile's button (or the previous one's), not to the page.
  const hadFocus = tile.contains(document.activeElement);
  const next = tile.nextElementSibling ?? tile.previousElementSibling;
  tile.remove();
  tiles.delete(id);
  if (drawingUrls.has(id)) URL.revokeObjectURL(drawingUrls.get(id));
  drawingUrls.delete(id);
  if (hadFocus && next) next.querySelector("button").focus();
  if (!quiet) showEmpty();
}

function showEmpty() {
  $("wall-empty").hidden = tiles.size > 0;
}

async function hideAttempt(id) {
  const response = await teacherFetch(`/api/attempts/${encodeURIComponent(id)}/hidden`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ hidden: true }),
  });
  if (response.ok) {
    remove(id);
    say(t("wall.hiddenDone"));
  } else say(await failure(response));
}

async function deleteAttempt(id) {
  if (!confirm(t("wall.confirmDelete"))) return;
  const response = await teacherFetch(`/api/attempts/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (response.ok || response.status === 404) {
    remove(id);
    say(t("wall.deletedDone"));
  } else say(await failure(response));
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return errorText(body.error);
}

// A download for the lesson: fetched with the key (a plain link cannot send it), saved from a blob: URL.
async function download(path, filename) {
  say(t("wall.downloading"));
  const response = await teacherFetch(`/api/rooms/${encodeURIComponent(room)}/${path}`);
  if (!response.ok) {
    say(await failure(response));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = element("a", { attributes: { href: url, download: filename } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  say(t("wall.downloaded"));
}

$("download-csv").addEventListener("click", () => download("attempts.csv", `room-${room}-attempts.csv`));
$("download-zip").addEventListener("click", () => download("drawings.zip", `room-${room}-drawings.zip`));
$("fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.().catch(() => {}); // refused (an iframe, a kiosk): stay as is
});
