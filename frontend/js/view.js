// Small DOM helpers shared by the pages. Server text always goes in as textContent,
// and images only as PNG data URLs, so nothing from the network becomes markup.

import { formatPercent, formatTime, t } from "./i18n.js";

export function $(selector, root = document) {
  return root.querySelector(`[data-testid="${selector}"]`);
}

// A share for people to read, as the page's language writes it: "91%", "91 %"...
export function percent(value) {
  return formatPercent(value);
}

// A share for CSS (a bar's width): always "91%", whatever the language.
export function cssPercent(value) {
  return `${Math.round(value * 1000) / 10}%`;
}

export function pngDataUrl(value) {
  return typeof value === "string" && value.startsWith("data:image/png;base64,") ? value : "";
}

export function element(tag, { text, className, attributes = {} } = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export function thumbnail(attempt) {
  const alt =
    attempt.digit === null || attempt.digit === undefined
      ? t("attempt.thumbnailNothing")
      : t("attempt.thumbnail", { digit: attempt.digit });
  const image = element("img", { attributes: { alt, width: 56, height: 56 } });
  image.src = pngDataUrl(attempt.preview);
  return image;
}

// When an attempt was made, as a <time> in the page's language.
export function timeOf(seconds) {
  const when = new Date(seconds * 1000);
  return element("time", { text: formatTime(seconds), attributes: { datetime: when.toISOString() } });
}
