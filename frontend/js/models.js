// The teacher's model panels on the dashboard: every model version with its accuracy on
// this class's labelled attempts, and a retrain that runs in the background with a
// progress bar, then offers to promote or discard its candidate once the gate has spoken.
// Teacher-only routes: the server decides who may call them (server/teacher.py); the key goes with each call.

import { errorText, formatNumber, formatPercent, has, t } from "./i18n.js";
import { teacherFetch } from "./teacher.js";
import { $, element } from "./view.js";

const POLL_MS = 1000;
let pollTimer = null;

function percentOf(value, digits = 1) {
  return typeof value === "number" ? formatPercent(value, digits) : "–";
}

// A refusal of the server, said in the page's language by its code.
class Refused extends Error {
  constructor(error, status) {
    super(error?.message ?? `${status}`);
    this.code = error?.code;
  }
}

// What went wrong, for the page: the server's refusal by its code, else the network.
function reason(error) {
  return error instanceof Refused ? errorText(error) : t("errors.network");
}

async function call(method, url) {
  const response = await teacherFetch(url, { method });
  const body = await response.json();
  if (!response.ok) throw new Refused(body.error, response.status);
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
    say(reason(error), "error");
  }
  refreshModels();
}

function versionRow(entry, listing) {
  const card = entry.card ?? {};
  const labelled = listing.labelled_accuracy?.[entry.version];
  const row = element("tr", { attributes: { "data-version": entry.version, "data-active": entry.active ? "true" : "false" } });
  const name = element("th", { attributes: { scope: "row" } });
  name.append(element("span", { text: entry.version, attributes: { translate: "no", dir: "ltr" } })); // a name, left to right
  if (entry.builtin) name.append(" ", element("span", { text: t("models.builtin") }));
  const accepted = card.gate ? card.gate.accepted : true;
  const state = entry.active
    ? t("models.active")
    : entry.error
      ? t("models.broken")
      : accepted
        ? ""
        : t("models.rejected");
  const action = element("td");
  if (!entry.active && !entry.error && accepted) {
    const promote = element("button", {
      text: t("models.promote"),
      attributes: { type: "button", "data-testid": `promote-${entry.version}` },
    });
    promote.addEventListener("click", () =>
      act("POST", `/api/models/${encodeURIComponent(entry.version)}/activate`, (body) =>
        t("models.nowServing", { version: body.active }),
      ),
    );
    action.append(promote);
  }
  const here = labelled
    ? t("models.labelledOf", { percent: percentOf(labelled.accuracy), count: formatNumber(labelled.labelled) })
    : "–";
  row.append(
    name,
    element("td", { text: state }),
    element("td", { text: percentOf(card.test_accuracy, 2) }),
    element("td", { text: percentOf(card.holdout_accuracy) }),
    element("td", { text: here }),
    action,
  );
  return row;
}

function renderVersions(listing) {
  const head = element("tr");
  const titles = ["models.version", "models.status", "models.mnist", "models.heldOut", "models.labelledHere", "models.action"];
  for (const title of titles) head.append(element("th", { text: t(title), attributes: { scope: "col" } }));
  $("versions").replaceChildren(head, ...listing.versions.map((entry) => versionRow(entry, listing)));
  $("rollback").disabled = listing.previous.length === 0;
}

function renderRetrain(status) {
  const running = status.state === "running";
  $("retrain").disabled = running;
  $("retrain-progress").hidden = !running;
  $("retrain-progress").value = status.progress ?? 0;
  $("retrain-state").textContent = running
    ? t("retrain.running", { stage: stageText(status.stage), percent: formatPercent(status.progress ?? 0) })
    : status.state === "failed"
      ? t("retrain.failed", { reason: status.error ?? "" })
      : status.state === "done"
        ? t("retrain.done")
        : t("retrain.none");
  renderResult(status.state === "done" ? status.result : null);
  clearTimeout(pollTimer);
  if (running) pollTimer = setTimeout(refreshModels, POLL_MS);
}

// The job's stage ("training"...) in the page's language; a stage a newer server adds, as it is.
function stageText(stage) {
  if (!stage) return "";
  return has(`retrain.stage.${stage}`) ? t(`retrain.stage.${stage}`) : stage;
}

function renderResult(result) {
  const panel = $("retrain-result");
  panel.hidden = !result;
  if (!result) return;
  const rows = [
    [t("models.current"), t("models.candidate")],
    [t("models.version"), result.baseline_version, result.version],
    [t("models.mnist"), percentOf(result.baseline_mnist_accuracy, 2), percentOf(result.mnist_accuracy, 2)],
    [
      t("models.heldOutAttempts", { count: formatNumber(result.holdout_attempts) }),
      percentOf(result.baseline_holdout_accuracy),
      percentOf(result.holdout_accuracy),
    ],
    [
      t("models.nonDigitsRefused"),
      percentOf(result.baseline_non_digits_refused),
      percentOf(result.non_digits_refused),
    ],
  ];
  const head = element("tr");
  head.append(element("td"), ...rows[0].map((text) => element("th", { text, attributes: { scope: "col" } })));
  $("comparison").replaceChildren(
    head,
    ...rows.slice(1).map(([title, ...cells], index) => {
      const line = element("tr");
      line.append(element("th", { text: title, attributes: { scope: "row" } }));
      // the version names (row 1) are names, not words to translate
      const names = index === 0 ? { translate: "no", dir: "ltr" } : {};
      line.append(...cells.map((text) => element("td", { text, attributes: names })));
      return line;
    }),
  );
  const failures = Array.isArray(result.failures) ? result.failures : null;
  $("gate").textContent = result.accepted
    ? t("gate.accepted")
    : failures
      ? t("gate.rejectedWhy")
      : t("gate.rejected", { reasons: result.reasons.join("; ") }); // a retrain from before the sentences
  $("gate").dataset.state = result.accepted ? "ok" : "error";
  const why = result.accepted || !failures ? [] : failures;
  $("gate-why").replaceChildren(
    ...why.map((failure, index) => element("li", { text: gateSentence(failure, result.reasons?.[index]) })),
  );
  const known = $("versions").querySelector(`[data-version="${CSS.escape(result.version)}"]`);
  const active = known?.dataset.active === "true";
  $("promote-candidate").hidden = !(result.accepted && known && !active);
  $("discard-candidate").hidden = !known || active;
  $("promote-candidate").onclick = () =>
    act("POST", `/api/models/${encodeURIComponent(result.version)}/activate`, (body) =>
      t("models.nowServing", { version: body.active }),
    );
  $("discard-candidate").onclick = () =>
    act("DELETE", `/api/models/${encodeURIComponent(result.version)}`, (body) =>
      t("models.discarded", { version: body.discarded }),
    );
}

// One failure of the gate ({code, before, after, allowed, drop, limit, decimals}: shares of 1) in the
// teacher's words and the page's language: which number fell, from what to what, what is allowed, what to do.
// A check a newer server adds, by its machine reason.
function gateSentence(failure, reason) {
  const key = `gate.why.${failure.code}`;
  if (!has(key)) return reason ?? failure.code;
  const digits = failure.decimals ?? 1;
  const points = (value) => formatNumber(100 * value, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return t(key, {
    before: formatPercent(failure.before, digits),
    after: formatPercent(failure.after, digits),
    allowed: formatPercent(failure.allowed, digits),
    drop: points(failure.drop),
    limit: points(failure.limit),
  });
}

export async function refreshModels() {
  try {
    const listing = await call("GET", "/api/models");
    renderVersions(listing);
    renderRetrain(listing.retrain);
  } catch (error) {
    say(t("models.unavailable", { reason: reason(error) }), "error");
  }
}

export function setUpModels() {
  $("retrain").addEventListener("click", () => act("POST", "/api/retrain", () => t("retrain.started")));
  $("rollback").addEventListener("click", () =>
    act("POST", "/api/models/rollback", (body) => t("models.rolledBack", { version: body.active })),
  );
  refreshModels();
}
