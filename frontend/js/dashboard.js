// The classroom dashboard: a live feed of one classroom's finished drawings and labels, with
// accuracy per digit and the confusion matrix, for a teacher's projector. The room comes from
// ?room= (the teacher link /dashboard?room=7B#token=…) or the room field; its code is shown big,
// so pupils know what to add to their page's address.

import { io } from "../vendor/socket.io.esm.min.js";
import { attemptCard, fillCard } from "./attempts.js";
import { formatNumber, keepLanguage, setUpLanguage, t } from "./i18n.js";
import { setUpClasses } from "./classes.js";
import { refreshModels, setUpModels } from "./models.js";
import { currentRoom, isRoomCode, roomQuery, showRoomInAddress } from "./room.js";
import { showConnection, teacherFetch, teacherToken, watchRoom } from "./teacher.js";
import { $, cssPercent, element, percent } from "./view.js";

await setUpLanguage({ room: null }); // the room's language goes here once the server sends one

const FEED_SIZE = 48;
const attempts = new Map();
let statsTimer = null;
let modelsTimer = null;
let room = currentRoom();

// The key goes once, with the connection; the server remembers it for this connection.
const socket = io({ transports: ["websocket", "polling"], auth: { token: teacherToken() ?? "" } });
socket.on("connect", watch);
// Back after a dropped connection: the drawings and labels finished meanwhile never came as events.
socket.io.on("reconnect", () => {
  loadFeed();
  refreshStats();
});

function watch() {
  watchRoom(socket, room);
}
socket.on("disconnect", () => showConnection("offline", t("connection.offline")));
socket.on("attempt", (attempt) => {
  upsert(attempt);
  refreshStatsSoon();
});
socket.on("label", ({ attempt_id, label }) => {
  const attempt = attempts.get(attempt_id);
  if (attempt) upsert({ ...attempt, label });
  refreshStatsSoon();
  refreshModelsSoon();
});

// Hidden from the wall or deleted by the teacher (there or on another screen): gone from the feed too.
for (const gone of ["hidden", "deleted"]) {
  socket.on(gone, ({ attempt_id, hidden = true }) => {
    if (!hidden) return;
    attempts.delete(attempt_id);
    $("feed").querySelector(`[data-attempt="${CSS.escape(attempt_id)}"]`)?.remove();
    refreshStatsSoon();
  });
}

function upsert(attempt) {
  attempts.set(attempt.attempt_id, attempt);
  const feed = $("feed");
  const existing = feed.querySelector(`[data-attempt="${CSS.escape(attempt.attempt_id)}"]`);
  if (existing) fillCard(existing, attempt);
  else feed.prepend(attemptCard(attempt));
  while (feed.children.length > FEED_SIZE) feed.lastElementChild.remove();
}

function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(refreshStats, 300);
}

// Accuracy per model version changes with labels; the listing reads every labelled attempt, so not too often.
function refreshModelsSoon() {
  clearTimeout(modelsTimer);
  modelsTimer = setTimeout(refreshModels, 2000);
}

async function refreshStats() {
  const response = await teacherFetch(`/api/stats?${roomQuery(room)}days=1`);
  if (!response.ok) return;
  const stats = await response.json();
  $("attempts").textContent = formatNumber(stats.attempts);
  $("labelled").textContent = formatNumber(stats.labelled);
  $("accuracy").textContent = stats.accuracy === null ? "–" : percent(stats.accuracy);
  $("per-digit").replaceChildren(
    ...stats.per_digit_accuracy.map((value, digit) => {
      const shown = value === null ? "–" : percent(value);
      const fill = element("span", { className: "fill" });
      fill.style.width = value === null ? "0" : cssPercent(value);
      const label = value === null ? t("dashboard.digitNoLabels", { digit }) : t("dashboard.digitAccuracy", { digit, percent: shown });
      const item = element("li", { attributes: { "aria-label": label } });
      item.append(element("span", { text: digit }), fill, element("span", { text: shown }));
      return item;
    }),
  );
  renderConfusion(stats.confusion);
}

// Right (drawn = read) and wrong cells differ in colour and carry a mark, so colour is not the only sign.
function renderConfusion(matrix) {
  const head = element("tr");
  const corner = element("td", { text: t("confusion.corner"), className: "corner" });
  head.append(corner, ...matrix.map((_, digit) => element("th", { text: digit, attributes: { scope: "col" } })));
  const rows = matrix.map((row, drawn) => {
    const line = element("tr");
    line.append(element("th", { text: drawn, attributes: { scope: "row" } }));
    row.forEach((count, read) => {
      const right = drawn === read;
      const cell = element("td", { className: count === 0 ? "" : right ? "hit" : "miss" });
      if (count > 0) {
        cell.append(element("span", { text: right ? "✓" : "✗", className: "mark", attributes: { "aria-hidden": "true" } }));
        cell.append(formatNumber(count));
        cell.title = t(right ? "confusion.rightCell" : "confusion.wrongCell", { drawn, read, count: formatNumber(count) });
      }
      line.append(cell);
    });
    return line;
  });
  $("confusion").replaceChildren(head, ...rows);
}

// The room's recent drawings, oldest first, so the newest ends on top of the feed.
async function loadFeed() {
  attempts.clear();
  $("feed").replaceChildren();
  const response = await teacherFetch(`/api/attempts?${roomQuery(room)}limit=24`);
  const page = response.ok ? await response.json() : { attempts: [] };
  page.attempts.filter((a) => a.final).reverse().forEach(upsert);
}

function showRoom() {
  $("room-code").textContent = room || "–";
  $("room-input").value = room;
  const link = `${location.origin}/${room ? `?room=${encodeURIComponent(room)}` : ""}`;
  $("room-link").textContent = link;
  $("history-link").href = keepLanguage(`/history${room ? `?room=${encodeURIComponent(room)}` : ""}`);
}

$("room-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = $("room-input").value.trim();
  $("room-input").setCustomValidity(isRoomCode(wanted) ? "" : t("dashboard.badRoom"));
  if ($("room-input").reportValidity()) chooseRoom(wanted);
});
// A class opened or picked in the classes panel (classes.js) becomes the room the dashboard shows.
document.addEventListener("class-chosen", ({ detail }) => chooseRoom(detail.code));

function chooseRoom(wanted) {
  if (wanted === room) return;
  room = wanted;
  showRoomInAddress(room);
  showRoom();
  if (socket.connected) watch();
  loadFeed();
  refreshStats();
}

showRoom();
loadFeed();
refreshStats();
setUpModels();
setUpClasses();
