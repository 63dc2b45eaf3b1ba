// One attempt as a card: thumbnail of what the model saw, the digit read, and the label.
// Right and wrong are said with a mark and words, not only with colour.

import { t } from "./i18n.js";
import { element, thumbnail, timeOf } from "./view.js";

export function attemptCard(attempt) {
  const item = element("li", { attributes: { "data-attempt": attempt.attempt_id } });
  fillCard(item, attempt);
  return item;
}

export function fillCard(item, attempt) {
  item.replaceChildren(
    thumbnail(attempt),
    element("span", { text: attempt.digit ?? "–", className: "read", attributes: { "data-testid": "read" } }),
    labelLine(attempt),
    element("small", {}),
  );
  item.lastElementChild.append(timeOf(attempt.created_at));
}

function labelLine(attempt) {
  if (attempt.label === null || attempt.label === undefined) return element("small", { text: t("attempt.notLabelled") });
  const right = attempt.label === attempt.digit;
  return element("small", {
    text: right ? t("attempt.right", { label: attempt.label }) : t("attempt.wrong", { label: attempt.label }),
    className: right ? "labelled" : "wrong",
    attributes: { "data-testid": "label" },
  });
}
