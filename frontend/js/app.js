// The drawing page: pad -> live frames -> the answer, with feedback, number mode and kiosk mode.

import { clearHeatmap, clearLayers, showHeatmap, showLayers } from "./inside.js";
import { DrawingPad } from "./pad.js";
import { LiveClassifier } from "./live.js";
import { describe, runnerUp } from "./certainty.js";
import { currentRoom } from "./room.js";
import { $, element, percent, pngDataUrl } from "./view.js";

const params = new URLSearchParams(location.search);
const kiosk = params.get("kiosk") === "1";
const IDLE_FINAL_MS = 700; // pen lifted this long: the drawing is finished
const KIOSK_IDLE_MS = 1000 * Number(params.get("idle") || 30);
const CONNECTION_TEXT = { connected: "Connected", reconnecting: "Reconnecting…", offline: "Offline", connecting: "Connecting…" };

const pad = new DrawingPad($("pad"));
const live = new LiveClassifier({ room: currentRoom() });
let finishTimer = null;
let kioskTimer = null;
let shownDigit = null;

buildBars();
buildChoices();
if (kiosk) startKiosk();

live.addEventListener("connection", ({ detail }) => {
  const badge = $("connection");
  badge.dataset.state = detail;
  badge.textContent = CONNECTION_TEXT[detail];
});
live.addEventListener("prediction", ({ detail }) => show(detail));
live.addEventListener("error", ({ detail }) => {
  $("hint").textContent = detail.code === "busy" ? "The server is busy; trying again…" : detail.message;
  if (detail.code === "busy") setTimeout(() => live.finish(() => pad.frameBytes()), 500);
});

pad.addEventListener("strokestart", () => {
  clearTimeout(finishTimer);
  if (!live.attemptId) live.startAttempt();
});
pad.addEventListener("change", () => {
  touchKiosk();
  if (pad.isEmpty) return reset();
  if (!isNumberMode()) live.changed(() => pad.frameBytes());
});
pad.addEventListener("strokeend", () => {
  clearTimeout(finishTimer);
  finishTimer = setTimeout(finish, IDLE_FINAL_MS);
});

document.addEventListener("click", (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (action) act(action);
});
document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, textarea")) return;
  const key = event.key.toLowerCase();
  if (key === "c" || key === "escape") act("clear");
  else if (key === "u" || (key === "z" && (event.ctrlKey || event.metaKey))) act("undo");
  else if (key === "enter" && !event.target.matches("button")) act("submit");
  else if (/^[0-9]$/.test(key) && shownDigit !== null) sendLabel(Number(key));
  else return;
  event.preventDefault();
});
$("confirm").addEventListener("click", () => sendLabel(shownDigit));
$("number-mode").addEventListener("change", () => act("clear"));
$("look-inside").addEventListener("change", lookInside);

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
  else live.finish(() => pad.frameBytes());
}

function reset() {
  clearTimeout(finishTimer);
  live.endAttempt();
  shownDigit = null;
  $("prediction").textContent = "";
  $("confidence").textContent = "";
  $("hint").textContent = isNumberMode() ? "Write a number, then lift the pen." : "Draw a digit from 0 to 9.";
  $("preview").removeAttribute("src");
  clearInside();
  $("feedback").hidden = true;
  $("thanks").textContent = "";
  showProbabilities(new Array(10).fill(0));
}

function show(prediction) {
  shownDigit = prediction.digit;
  $("prediction").textContent = prediction.digit ?? (prediction.reason === "not_a_digit" ? "?" : "");
  $("preview").src = pngDataUrl(prediction.preview);
  showInside(prediction.explanation);
  showProbabilities(prediction.probabilities);
  if (prediction.reason === "not_a_digit") return showNotADigit(prediction);
  if (prediction.digit === null) {
    $("confidence").textContent = "";
    $("hint").textContent = prediction.reason === "too_small" ? "Draw bigger." : "Draw a digit from 0 to 9.";
    $("feedback").hidden = true;
    return;
  }
  $("confidence").textContent = describe(prediction);
  $("hint").textContent = prediction.low_confidence ? "Not sure. Is it one of these?" : "Looks like…";
  if (prediction.final) {
    $("feedback").hidden = false;
    $("feedback-question").textContent = "Is it right?";
    $("confirm").hidden = false;
    $("confirm").textContent = `Yes, it is ${prediction.digit}`;
    const close = runnerUp(prediction);
    const maybe = close ? `, or maybe ${close.digit}` : "";
    $("announce").textContent = `Looks like ${prediction.digit}${maybe}. ${describe(prediction)}.`;
  }
}

// A letter, a shape or a scribble: say so, and let the drawer correct it if it was a digit after all.
function showNotADigit(prediction) {
  $("confidence").textContent = describe(prediction);
  $("hint").textContent = "That does not look like a digit. Draw one from 0 to 9.";
  if (prediction.final) {
    $("feedback").hidden = false;
    $("feedback-question").textContent = "Was it a digit after all?";
    $("confirm").hidden = true;
    $("announce").textContent = `That does not look like a digit. ${describe(prediction)}.`;
  }
}

async function sendLabel(digit) {
  if (digit === null || !live.attemptId) return;
  const ack = await live.label(digit);
  $("thanks").textContent = ack.ok ? `Thanks! Saved as ${ack.label}.` : `Not saved: ${ack.message}`;
}

async function readNumber() {
  const response = await fetch("/api/number", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ image: pad.frame() }),
  });
  const body = await response.json();
  if (!response.ok) {
    $("hint").textContent = body.error.message;
    return;
  }
  $("prediction").textContent = body.number;
  $("hint").textContent = body.number ? "Reads as" : "Write a number.";
  $("confidence").textContent = body.digits.map((d) => `${d.digit}: ${percent(d.confidence)}`).join(" · ");
  $("announce").textContent = body.number ? `Reads as ${body.number}.` : "";
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
    item.querySelector(".fill").style.width = percent(value);
    item.classList.toggle("best", value > 0 && value === best);
    item.setAttribute("aria-label", `${digit}: ${percent(value)}`);
  });
}

function buildChoices() {
  const choices = $("choices");
  for (let digit = 0; digit < 10; digit++) {
    const button = element("button", { text: digit, attributes: { type: "button", "data-label": digit, "aria-label": `It is ${digit}` } });
    button.addEventListener("click", () => sendLabel(digit));
    choices.append(button);
  }
}

function startKiosk() {
  document.body.classList.add("kiosk");
  const attract = $("attract");
  const wake = () => {
    attract.hidden = true;
    document.documentElement.requestFullscreen?.().catch(() => {});
    touchKiosk();
  };
  attract.addEventListener("pointerdown", wake);
  document.addEventListener("pointerdown", touchKiosk, { capture: true });
  touchKiosk();
}

function touchKiosk() {
  if (!kiosk) return;
  clearTimeout(kioskTimer);
  kioskTimer = setTimeout(() => {
    pad.clear();
    $("attract").hidden = false;
  }, KIOSK_IDLE_MS);
}
