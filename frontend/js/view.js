// Small DOM helpers shared by the pages. Server text always goes in as textContent,
// and images only as PNG data URLs, so nothing from the network becomes markup.

export function $(selector, root = document) {
  return root.querySelector(`[data-testid="${selector}"]`);
}

export function percent(value) {
  return `${Math.round(value * 100)}%`;
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
  const image = element("img", { attributes: { alt: `drawing read as ${attempt.digit ?? "nothing"}`, width: 56, height: 56 } });
  image.src = pngDataUrl(attempt.preview);
  return image;
}

export function timeOf(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}
