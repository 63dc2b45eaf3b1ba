// The drawing page: pad -> live frames -> the answer, with feedback, number mode and kiosk mode,
// and a photo upload for whoever cannot draw with a pointer (the same answer panel shows it).

import { errorText, setUpLanguage, t } from "./i18n.js";
import { clearHeatmap, clearLayers, showHeatmap, showLayers } from "./inside.js";
import { DrawingPad } from "./pad.js";
import { LiveClassifier } from "./live.js";
import { Fallback } from "./fallback.js";
import { KioskMode, kioskName } from "./kiosk.js";
import { OfflineRecognizer } from "./offline.js";
import { Outbox } from "./outbox.js";
import { describe, runnerUp } from "./certainty.js";
import { currentRoom } from "./room.js";
import { $, cssPercent, element, percent, pngDataUrl } from "./view.js";

const classroom = await lookUpRoom(currentRoom());
await setUpLanguage({ room: classroom?.language || null });

const params = new URLSearchParams(location.search);
const kiosk = params.get("kiosk") === "1";
const IDLE_FINAL_MS = 700; // pen lifted this long: the drawing is finished
const KIOSK_IDLE_MS = 1000 * Number(params.get("idle") || 30);
const UPLOAD_MAX_SIDE = 1600; // a photo larger than this is scaled down before it is sent
const UPLOAD_MAX_BYTES = 4 * 1024 * 1024; // under the server's upload limit

const pad = new DrawingPad($("pad"));
const live = new LiveClassifier({ room: classroom === undefined ? "" : currentRoom() });
if (classroom) showClassroom(classroom);
else if (classroom === undefined) $("hint").textContent = t("errors.unknown_room");
// The fallback when the server cannot answer (docs/offline.md): the server's own model in the browser, and
// an outbox for the drawings finished meanwhile, delivered once the server is back.
const recognizer = new OfflineRecognizer();
const outbox = new Outbox();
const kioskId = kiosk ? kioskName(params.get("kiosk_id")) : "";
const fallback = new Fallback({ live, pad, recognizer, outbox, kioskId, room: classroom === undefined ? "" : currentRoom() });
const kioskMode = kiosk
  ? new KioskMode({
      pad,
      idleMs: KIOSK_IDLE_MS,
      kioskId,
      status: () => ({
        online: live.socket.connected && !fallback.answering,
        modelVersion: recognizer.version,
        waiting: outbox.waiting,
      }),
    })
  : null;
if (kioskMode) fallback.kioskId = kioskMode.kioskId; // offline attempts name the kiosk they were drawn on
let finishTimer = null;
let shownDigit = null;
let uploaded = null; // { attemptId, ownerToken } while the answer shown is an uploaded photo's
let uploadTicket = 0; // the newest upload: an older one answering later is dropped

buildBars();
buildChoices();
kioskMode?.start();

live.addEventListener("connection", ({ detail }) => {
  // Without the socket the page answers by itself, if its recognizer is loaded: the badge says so while it
  // tries to reconnect, rather than "Reconnecting…" over an answer it gave.
  if (detail !== "connected" && recognizer.ready) showConnection("offline", t("connection.onDevice"));
  else showConnection(detail, connectionText(detail));
  if (detail === "connected") {
    outbox.deliver();
    kioskMode?.beat();
  }
});
live.addEventListener("prediction", ({ detail }) => {
  if (!uploaded) show(detail);
});
// The browser answered (socket down, or the server's answer late): the same answer panel, and the badge says so.
fallback.addEventListener("prediction", ({ detail }) => {
  if (!uploaded) show(detail);
});
fallback.addEventListener("connection", ({ detail }) => {
  showConnection(detail, detail === "offline" ? t("connection.onDevice") : connectionText(detail));
});
addEventListener("online", () => outbox.deliver());
outbox.deliver();
// Loaded once the page is up, so it is ready before the network fails; a failure (the server down on a
// first visit, no WebAssembly) leaves the page as it was without the fallback.
setTimeout(() => {
  recognizer
    .load()
    .then(() => {
      document.documentElement.dataset.offlineReadyMs = String(Math.round(recognizer.readyAt)); // bench/browser.py
      document.documentElement.dataset.offlineModel = recognizer.version;
    })
    .catch((error) => console.warn(`digits: no offline recognizer (${error.message})`));
}, 0);

// The installable page (frontend/sw.js): after one visit it loads, and answers, with the server down.
// Service workers need a secure context (https, or localhost).
if ("serviceWorker" in navigator && isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn(`digits: the page cannot be installed for offline use (${error.message})`);
  });
}

function showConnection(state, text) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = text;
}
live.addEventListener("error", ({ detail }) => {
  $("hint").textContent = detail.code === "busy" ? t("errors.busyRetrying") : errorText(detail);
  if (detail.code === "busy") setTimeout(() => live.retryBusy(detail, () => pad.frameBytes()), 500);
});

function connectionText(state) {
  if (state === "connected") return t("connection.connected");
  if (state === "reconnecting") return t("connection.reconnecting");
  if (state === "offline") return t("connection.offline");
  return t("connection.connecting");
}

pad.addEventListener("strokestart", () => {
  clearTimeout(finishTimer);
  if (uploaded) reset();
  fallback.forgetQueued();
  // A drawing kept offline is drawn on as the same attempt; once the server is back, the strokes start a new
  // one, which the server reads whole, rather than adding to an attempt it may already have been delivered.
  if (!live.attemptId || (live.isKeptOffline() && live.socket.connected)) live.startAttempt();
});
pad.addEventListener("change", () => {
  touchKiosk();
  if (pad.isEmpty) return reset();
  if (isNumberMode()) return;
  live.changed(() => pad.frameBytes());
  fallback.drawn(false);
});
pad.addEventListener("strokeend", () => {
  clearTimeout(finishTimer);
  finishTimer = setTimeout(finish, IDLE_FINAL_MS);
});

document.addEventListener("click", (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (action) act(action);
});
// Shortcuts by the key's letter or digit; on a keyboard whose layout types other letters or digits
// (Arabic, say) by the key's place (event.code: the key where a US layout has U, C or 7).
document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, textarea, select")) return;
  const key = shortcutKey(event);
  if (key === "c" || key === "escape") act("clear");
  else if (key === "u" || (key === "z" && (event.ctrlKey || event.metaKey))) act("undo");
  else if (key === "enter" && !event.target.matches("button, a")) act("submit");
  else if (/^[0-9]$/.test(key) && shownDigit !== null && !event.ctrlKey && !event.metaKey) sendLabel(Number(key));
  else return;
  event.preventDefault();
});

function shortcutKey(event) {
  const key = event.key.toLowerCase();
  if (key.length !== 1 || /^[a-z0-9]$/.test(key)) return key;
  const place = /^Key([A-Z])$|^(?:Digit|Numpad)([0-9])$/.exec(event.code ?? "");
  return place ? (place[1] ?? place[2]).toLowerCase() : key;
}
$("confirm").addEventListener("click", () => sendLabel(shownDigit));
$("number-mode").addEventListener("change", () => act("clear"));
$("look-inside").addEventListener("change", lookInside);
$("upload").addEventListener("change", () => {
  const file = $("upload").files[0];
  $("upload").value = ""; // the same photo may be chosen again
  if (file) readPhoto(file);
});

function act(action) {
  touchKiosk();
  if (action === "clear") pad.clear();
  else if (action === "undo") pad.undo();
  else if (action === "submit") finish();
}

// "Look inside" on: frames ask for an explanation, shown over the preview and in the layers panel.
function lookInside() {
  const on = $("look-inside").checked;
  live.explain = on;
  $("inside").hidden = !on;
  $("heatmap").hidden = !on;
  $("heat-legend").hidden = !on;
  if (!on) clearInside();
  else if (!pad.isEmpty && !isNumberMode()) live.changed(() => pad.frameBytes()); // explain what is there now
}

function showInside(explanation) {
  if (!explanation || !live.explain) return clearInside();
  showHeatmap($("heatmap"), explanation.heatmap);
  showLayers($("layers"), explanation.layers);
}

function clearInside() {
  clearHeatmap($("heatmap"));
  clearLayers($("layers"));
}

function isNumberMode() {
  return $("number-mode").checked;
}

function finish() {
  clearTimeout(finishTimer);
  if (pad.isEmpty) return;
  if (isNumberMode()) readNumber();
  else {
    live.finish(() => pad.frameBytes());
    fallback.drawn(true);
  }
}

function reset() {
  clearTimeout(finishTimer);
  live.endAttempt();
  fallback.cancel();
  fallback.forgetQueued();
  uploaded = null;
  uploadTicket += 1;
  shownDigit = null;
  $("prediction").textContent = "";
  $("confidence").textContent = "";
  $("hint").textContent = isNumberMode() ? t("hint.number") : t("hint.draw");
  $("preview").removeAttribute("src");
  clearInside();
  $("feedback").hidden = true;
  $("thanks").textContent = "";
  $("announce").textContent = "";
  showProbabilities(new Array(10).fill(0));
}

function show(prediction) {
  shownDigit = prediction.digit;
  if (prediction.final) kioskMode?.finished(prediction.attempt_id);
  $("prediction").textContent = prediction.digit ?? (prediction.reason === "not_a_digit" ? "?" : "");
  $("preview").src = pngDataUrl(prediction.preview);
  showInside(prediction.explanation);
  showProbabilities(prediction.probabilities);
  if (prediction.reason === "not_a_digit") return showNotADigit(prediction);
  if (prediction.digit === null) {
    $("confidence").textContent = "";
    $("hint").textContent = prediction.reason === "too_small" ? t("hint.bigger") : t("hint.draw");
    $("feedback").hidden = true;
    if (prediction.final) $("announce").textContent = $("hint").textContent;
    return;
  }
  $("confidence").textContent = describe(prediction);
  $("hint").textContent = prediction.low_confidence ? t("hint.notSure") : t("hint.looksLike");
  if (prediction.final) {
    $("feedback").hidden = false;
    $("feedback-question").textContent = t("feedback.question");
    $("confirm").hidden = false;
    $("confirm").textContent = t("feedback.yesItIs", { digit: prediction.digit });
    const close = runnerUp(prediction);
    const certainty = describe(prediction);
    // Said once, for the finished attempt: the <output> above changes with every frame and is not live.
    $("announce").textContent = close
      ? t("announce.looksLikeOrMaybe", { digit: prediction.digit, other: close.digit, certainty })
      : t("announce.looksLike", { digit: prediction.digit, certainty });
  }
}

// A letter, a shape or a scribble: say so, and let the drawer correct it if it was a digit after all.
function showNotADigit(prediction) {
  $("confidence").textContent = describe(prediction);
  $("hint").textContent = t("hint.notADigit");
  if (prediction.final) {
    $("feedback").hidden = false;
    $("feedback-question").textContent = t("feedback.afterAll");
    $("confirm").hidden = true;
    $("announce").textContent = t("announce.notADigit", { certainty: describe(prediction) });
  }
}

async function sendLabel(digit) {
  if (digit === null) return;
  let ack;
  if (uploaded) ack = await labelUpload(uploaded, digit);
  // Drawn offline: the label waits in the outbox, or, once the drawing is delivered, goes over REST with its token.
  else if (fallback.queued) ack = (await fallback.label(digit)) ?? (await labelUpload(fallback.queued, digit));
  else if (live.attemptId) ack = await live.label(digit);
  if (!ack) return;
  if (ack.ok) $("thanks").textContent = t(ack.offline ? "feedback.savedOffline" : "feedback.saved", { label: ack.label });
  else $("thanks").textContent = t("feedback.notSaved", { reason: errorText(ack) });
}

// An uploaded photo's attempt (or an offline one, once delivered) is labelled over REST, with its owner token.
async function labelUpload({ attemptId, ownerToken }, digit) {
  try {
    const response = await fetch(`/api/attempts/${encodeURIComponent(attemptId)}/label`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "X-Owner-Token": ownerToken },
      body: JSON.stringify({ label: digit }),
    });
    const body = await response.json();
    return response.ok ? { ok: true, label: body.label } : { ok: false, ...body.error };
  } catch {
    return { ok: false, code: "network" };
  }
}

// A photo (or any picture) of a digit, read by POST /api/predict (multipart field "file"), and
// its answer shown in the answer panel like a finished drawing's.
async function readPhoto(file) {
  pad.clear();
  reset();
  const ticket = uploadTicket;
  $("hint").textContent = t("upload.reading");
  const form = new FormData();
  form.append("file", await smaller(file), file.name || "photo");
  const room = currentRoom();
  if (room) form.append("room", room);
  if (live.explain) form.append("explain", "true"); // "Look inside" shows the photo's heat map and layers too
  let response;
  let body;
  try {
    response = await fetch("/api/predict", { method: "POST", body: form });
    body = await response.json();
  } catch {
    if (ticket === uploadTicket) $("hint").textContent = t("errors.network");
    return;
  }
  if (ticket !== uploadTicket) return; // drawn or cleared meanwhile
  if (!response.ok) {
    $("hint").textContent = errorText(body.error);
    $("announce").textContent = $("hint").textContent;
    return;
  }
  uploaded = { attemptId: body.attempt_id, ownerToken: body.owner_token };
  show({ ...body, final: true });
}

// A big photo scaled down (its longer side to UPLOAD_MAX_SIDE, as JPEG) so it stays under the upload
// limit; a small one, or one the browser cannot decode, goes as it is and the server judges it.
async function smaller(file) {
  if (file.size <= UPLOAD_MAX_BYTES) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const factor = Math.min(1, UPLOAD_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * factor));
    canvas.height = Math.max(1, Math.round(bitmap.height * factor));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return (await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9))) ?? file;
  } catch {
    return file;
  }
}

async function readNumber() {
  let response;
  let body;
  try {
    response = await fetch("/api/number", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: pad.frame() }),
    });
    body = await response.json();
  } catch {
    $("hint").textContent = t("errors.network");
    return;
  }
  if (!response.ok) {
    $("hint").textContent = errorText(body.error);
    return;
  }
  $("prediction").textContent = body.number;
  $("hint").textContent = body.number ? t("hint.readsAs") : t("hint.writeNumber");
  $("confidence").textContent = body.digits
    .map((d) => t("number.digit", { digit: d.digit, percent: percent(d.confidence) }))
    .join(" · ");
  $("announce").textContent = body.number ? t("announce.readsAs", { number: body.number }) : "";
}

function buildBars() {
  const bars = $("probabilities");
  for (let digit = 0; digit < 10; digit++) {
    const item = element("li", { attributes: { "data-digit": digit } });
    item.append(element("span", { text: digit, className: "label" }), element("span", { className: "fill" }));
    bars.append(item);
  }
  showProbabilities(new Array(10).fill(0));
}

function showProbabilities(probabilities) {
  const best = Math.max(...probabilities);
  $("probabilities").querySelectorAll("li").forEach((item, digit) => {
    const value = probabilities[digit] || 0;
    item.querySelector(".fill").style.width = cssPercent(value);
    item.classList.toggle("best", value > 0 && value === best);
    item.setAttribute("aria-label", t("answer.probability", { digit, percent: percent(value) }));
  });
}

function buildChoices() {
  const choices = $("choices");
  for (let digit = 0; digit < 10; digit++) {
    const button = element("button", {
      text: digit,
      attributes: { type: "button", "data-label": digit, "aria-label": t("feedback.itIs", { digit }) },
    });
    button.addEventListener("click", () => sendLabel(digit));
    choices.append(button);
  }
}

function touchKiosk() {
  kioskMode?.touch();
}

// A six-digit code is a room a teacher opened: its name and language come from the server. Returns
// the room, null for no room (or a free-form one, or when the server cannot say), and undefined for
// a code that is not open: the pupil is told, and draws on their own.
async function lookUpRoom(room) {
  if (!/^[0-9]{6}$/.test(room)) return null;
  try {
    const response = await fetch(`/api/rooms/${room}`);
    if (response.status === 404) return undefined;
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function showClassroom(room) {
  $("room-name").textContent = room.name || room.code;
  $("room").hidden = false;
}
