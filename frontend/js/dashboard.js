// The classroom dashboard: a live feed of one classroom's finished drawings and labels, with
// accuracy per digit and the confusion matrix, for a teacher's projector. The room comes from
// ?room= (the teacher link /dashboard?room=7B#token=…) or the room field; its code is shown big,
// so pupils know what to add to their page's address.

import { io } from "../vendor/socket.io.esm.min.js";
import { attemptCard, fillCard } from "./attempts.js";
import { refreshModels, setUpModels } from "./models.js";
import { currentRoom, isRoomCode, roomQuery, showRoomInAddress } from "./room.js";
import { needKey, teacherFetch, teacherToken } from "./teacher.js";
import { $, element, percent } from "./view.js";

const FEED_SIZE = 48;
const attempts = new Map();
let statsTimer = null;
let modelsTimer = null;
let room = currentRoom();

// The key goes once, with the connection; the server remembers it for this connection.
const socket = io({ transports: ["websocket", "polling"], auth: { token: teacherToken() ?? "" } });
socket.on("connect", watch);

// Join the room's feed (the server leaves the previous one): on connect and on a room change.
function watch() {
  socket.emit("watch", { room }, (ack) => {
    if (ack?.ok) setConnection("connected", "Live");
    else if (ack?.code === "bad_room") setConnection("offline", "Not a room code");
    else {
      setConnection("offline", "No teacher key");
      needKey();
    }
  });
}
socket.on("disconnect", () => setConnection("offline", "Offline"));
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

function setConnection(state, text) {
  $("connection").dataset.state = state;
  $("connection").textContent = text;
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
  $("attempts").textContent = stats.attempts;
  $("labelled").textContent = stats.labelled;
  $("accuracy").textContent = stats.accuracy === null ? "–" : percent(stats.accuracy);
  $("per-digit").replaceChildren(
    ...stats.per_digit_accuracy.map((value, digit) => {
      const shown = value === null ? "–" : percent(value);
      const fill = element("span", { className: "fill" });
      fill.style.width = value === null ? "0" : percent(value);
      const item = element("li", { attributes: { "aria-label": `${digit}: ${value === null ? "no labels" : shown}` } });
      item.append(element("span", { text: digit }), fill, element("span", { text: shown }));
      return item;
    }),
  );
  renderConfusion(stats.confusion);
}

function renderConfusion(matrix) {
  const head = element("tr");
  head.append(element("th", { text: "drawn \\ read" }), ...matrix.map((_, digit) => element("th", { text: digit })));
  const rows = matrix.map((row, drawn) => {
    const line = element("tr");
    line.append(element("th", { text: drawn }));
    row.forEach((count, read) => {
      const className = count === 0 ? "" : drawn === read ? "hit" : "miss";
      line.append(element("td", { text: count || "", className }));
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
  $("history-link").href = `/history${room ? `?room=${encodeURIComponent(room)}` : ""}`;
}

$("room-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = $("room-input").value.trim();
  $("room-input").setCustomValidity(isRoomCode(wanted) ? "" : "1 to 16 letters, digits, _ or -");
  if (!$("room-input").reportValidity() || wanted === room) return;
  room = wanted;
  showRoomInAddress(room);
  showRoom();
  if (socket.connected) watch();
  loadFeed();
  refreshStats();
});

showRoom();
loadFeed();
refreshStats();
setUpModels();
