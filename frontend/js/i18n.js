// Languages: every string a page shows comes from a message catalogue, frontend/i18n/<language>.json
// (flat JSON, "key": "text with {placeholders}"), fetched when the page opens; there is no build step.
//
// The language is, in this order: ?lang= in the address, the room's language (a hook: the server
// does not send one yet; a page passes it as setUpLanguage({ room })), the browser's languages
// (navigator.languages: what it sends as Accept-Language), then English. <html lang> and dir
// follow it (Arabic is right-to-left), and the page's static text is translated from attributes:
//   data-i18n="key"                  the element's text; a {name} in the text is replaced by the
//                                    child element marked data-i18n-slot="name" (kept, not rebuilt)
//   data-i18n-aria-label="key", data-i18n-title, data-i18n-placeholder, data-i18n-alt: that attribute
// Strings built in JavaScript use t(key, params); numbers and percentages go through Intl.NumberFormat
// for the language. Server errors carry stable codes: errorText shows the catalogue's message for the
// code, and the server's own (English) message only for a code the catalogue does not know.

export const LANGUAGES = ["en", "de", "es", "fr", "ar"];
const RIGHT_TO_LEFT = new Set(["ar"]);
const FALLBACK = "en";
const ATTRIBUTES = ["aria-label", "title", "placeholder", "alt"];

let language = FALLBACK;
let chosenInAddress = false;
let messages = {};
let english = {};

// The supported language a BCP 47 tag ("fr-FR", "de", "ar-EG") names, or null.
export function supportedLanguage(tag) {
  if (typeof tag !== "string") return null;
  const base = tag.trim().toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.includes(base) ? base : null;
}

// The language to show: ?lang=, then the room's, then the browser's, then English.
export function pickLanguage({ search = location.search, room = null, browser = browserLanguages() } = {}) {
  const candidates = [new URLSearchParams(search).get("lang"), room, ...browser];
  for (const candidate of candidates) {
    const found = supportedLanguage(candidate);
    if (found) return found;
  }
  return FALLBACK;
}

function browserLanguages() {
  if (navigator.languages?.length) return [...navigator.languages];
  return navigator.language ? [navigator.language] : [];
}

async function catalogue(name) {
  const response = await fetch(new URL(`../i18n/${name}.json`, import.meta.url));
  if (!response.ok) throw new Error(`catalogue ${name}: HTTP ${response.status}`);
  return response.json();
}

// Load the chosen language's catalogue (and English, for anything missing), set <html lang dir>
// and translate the page. Returns the language. `room`: the room's language, when one is known.
export async function setUpLanguage({ room = null } = {}) {
  const wanted = pickLanguage({ room });
  chosenInAddress = supportedLanguage(new URLSearchParams(location.search).get("lang")) !== null;
  const [base, chosen] = await Promise.all([
    catalogue(FALLBACK).catch(() => ({})),
    wanted === FALLBACK ? null : catalogue(wanted).catch(() => null),
  ]);
  english = base;
  language = chosen ? wanted : FALLBACK;
  messages = chosen ?? english;
  const root = document.documentElement;
  root.lang = language;
  root.dir = RIGHT_TO_LEFT.has(language) ? "rtl" : "ltr";
  translatePage(document);
  root.dataset.translated = language; // the page's text is in its language now
  return language;
}

export function currentLanguage() {
  return language;
}

export function has(key) {
  return Object.hasOwn(messages, key) || Object.hasOwn(english, key);
}

// The text for `key` in the page's language, {name} replaced by params.name.
export function t(key, params = {}) {
  const text = messages[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

// Translate every marked element under `root` (the document, or a part built later).
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) translateElement(node);
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    }
  }
  if (chosenInAddress) {
    for (const link of root.querySelectorAll("a[href^='/']")) link.href = keepLanguage(link.getAttribute("href"));
  }
}

function translateElement(node) {
  const text = t(node.dataset.i18n);
  const slots = new Map([...node.querySelectorAll(":scope > [data-i18n-slot]")].map((slot) => [slot.dataset.i18nSlot, slot]));
  if (slots.size === 0) {
    node.textContent = text;
    return;
  }
  // "Attempts: {count}": text around the kept child element(s), in the language's word order.
  const parts = text.split(/\{(\w+)\}/).map((part, index) => {
    if (index % 2 === 0) return document.createTextNode(part);
    return slots.get(part) ?? document.createTextNode(`{${part}}`);
  });
  node.replaceChildren(...parts.filter((part) => part.nodeType !== Node.TEXT_NODE || part.data !== ""));
}

// A same-site address that keeps ?lang= when the language was chosen in the address.
export function keepLanguage(href) {
  if (!chosenInAddress) return href;
  const url = new URL(href, location.href);
  if (url.origin !== location.origin) return href;
  url.searchParams.set("lang", language);
  return `${url.pathname}${url.search}${url.hash}`;
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(language, options).format(value);
}

// 0.91 -> "91%", "91 %", "‎91‎%‎"..., as the language writes it.
export function formatPercent(value, digits = 0) {
  return formatNumber(value, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatTime(seconds) {
  return new Intl.DateTimeFormat(language, { timeStyle: "medium" }).format(new Date(seconds * 1000));
}

// A server error ({code, message}) in the page's language; the server's own message only for a
// code the catalogues do not know (a newer server), and a general one when there is neither.
export function errorText(error) {
  const code = error?.code;
  if (typeof code === "string" && has(`errors.${code}`)) return t(`errors.${code}`);
  return typeof error?.message === "string" && error.message ? error.message : t("errors.unknown");
}
