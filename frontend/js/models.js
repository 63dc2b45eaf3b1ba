// The teacher's model panels on the dashboard: every model version with its accuracy on
// this class's labelled attempts, and a retrain that runs in the background with a
// progress bar, then offers to promote or discard its candidate once the gate has spoken.
// Teacher-only routes: the server decides who may call them (server/teacher.py); the key goes with each call.

import { teacherFetch } from "./teacher.js";
import { $, element } from "./view.js";

const POLL_MS = 1000;
let pollTimer = null;

function percentOf(value, digits = 1) {
  return typeof value === "number" ? `${(value * 100).toFixed(digits)}%` : "–";
}

async function call(method, url) {
  const response = await teacherFetch(url, { method });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `${response.status}`);
  return body;
}

function say(text, state = "info") {
  const note = $("model-message");
  note.textContent = text;
  note.dataset.state = state;
}

async function act(method, url, done) {
  try {
    const body = await call(method, url);
    say(done(body), "ok");
  } catch (error) {
    say(error.message, "error");
  }
  refreshModels();
}

function versionRow(entry, listing) {
  const card = entry.card ?? {};
  const labelled = listing.labelled_accuracy?.[entry.version];
  const row = element("tr", { attributes: { "data-version": entry.version } });
  const name = element("th", { text: entry.version + (entry.builtin ? " (built-in)" : "") });
  const accepted = card.gate ? card.gate.accepted : true;
  const state = entry.active ? "active" : entry.error ? "broken" : accepted ? "" : "rejected by its gate";
  const action = element("td");
  if (!entry.active && !entry.error && accepted) {
    const promote = element("button", { text: "Promote", attributes: { "data-testid": `promote-${entry.version}` } });
    promote.addEventListener("click", () =>
      act("POST", `/api/models/${encodeURIComponent(entry.version)}/activate`, (body) => `Now serving ${body.active}`),
    );
    action.append(promote);
  }
  row.append(
    name,
    element("td", { text: state }),
    element("td", { text: percentOf(card.test_accuracy, 2) }),
    element("td", { text: percentOf(card.holdout_accuracy) }),
    element("td", { text: labelled ? `${percentOf(labelled.accuracy)} of ${labelled.labelled}` : "–" }),
    action,
  );
  return row;
}

function renderVersions(listing) {
  const head = element("tr");
  for (const title of ["version", "", "MNIST test", "held-out (retrain)", "labelled attempts here", ""]) {
    head.append(element("th", { text: title }));
  }
  $("versions").replaceChildren(head, ...listing.versions.map((entry) => versionRow(entry, listing)));
  $("rollback").disabled = listing.previous.length === 0;
}

function renderRetrain(status) {
  const running = status.state === "running";
  $("retrain").disabled = running;
  $("retrain-progress").hidden = !running;
  $("retrain-progress").value = status.progress ?? 0;
  $("retrain-state").textContent = running
    ? `Retraining: ${status.stage ?? ""} ${Math.round((status.progress ?? 0) * 100)}%`
    : status.state === "failed"
      ? `Last retrain failed: ${status.error}`
      : status.state === "done"
        ? "Last retrain finished."
        : "No retrain yet.";
  renderResult(status.state === "done" ? status.result : null);
  clearTimeout(pollTimer);
  if (running) pollTimer = setTimeout(refreshModels, POLL_MS);
}

function renderResult(result) {
  const panel = $("retrain-result");
  panel.hidden = !result;
  if (!result) return;
  const rows = [
    ["", "current", "candidate"],
    ["version", result.baseline_version, result.version],
    ["MNIST test", percentOf(result.baseline_mnist_accuracy, 2), percentOf(result.mnist_accuracy, 2)],
    [`held-out attempts (${result.holdout_attempts})`, percentOf(result.baseline_holdout_accuracy), percentOf(result.holdout_accuracy)],
  ];
  $("comparison").replaceChildren(
    ...rows.map((cells, index) => {
      const line = element("tr");
      line.append(...cells.map((text) => element(index === 0 ? "th" : "td", { text })));
      return line;
    }),
  );
  $("gate").textContent = result.accepted ? "Gate: accepted" : `Gate: rejected (${result.reasons.join("; ")})`;
  $("gate").dataset.state = result.accepted ? "ok" : "error";
  const known = $("versions").querySelector(`[data-version="${CSS.escape(result.version)}"]`);
  const promotable = result.accepted && known && !known.querySelector("td")?.textContent.includes("active");
  $("promote-candidate").hidden = !promotable;
  $("discard-candidate").hidden = !known || known.querySelector("td")?.textContent.includes("active");
  $("promote-candidate").onclick = () =>
    act("POST", `/api/models/${encodeURIComponent(result.version)}/activate`, (body) => `Now serving ${body.active}`);
  $("discard-candidate").onclick = () =>
    act("DELETE", `/api/models/${encodeURIComponent(result.version)}`, (body) => `Discarded ${body.discarded}`);
}

export async function refreshModels() {
  try {
    const listing = await call("GET", "/api/models");
    renderVersions(listing);
    renderRetrain(listing.retrain);
  } catch (error) {
    say(`Models unavailable: ${error.message}`, "error");
  }
}

export function setUpModels() {
  $("retrain").addEventListener("click", () => act("POST", "/api/retrain", () => "Retrain started"));
  $("rollback").addEventListener("click", () =>
    act("POST", "/api/models/rollback", (body) => `Rolled back: now serving ${body.active}`),
  );
  refreshModels();
}
