// The teacher's pages (dashboard, history) read everything from the server: when it cannot be reached
// (the service worker may still show the page itself), they say so instead of staying empty.

import { t } from "./i18n.js";
import { element } from "./view.js";

export function needsServer() {
  if (document.querySelector("[data-testid=needs-server]")) return;
  const note = element("p", {
    text: t("offline.needsServer"),
    className: "panel need-key",
    attributes: { "data-testid": "needs-server", role: "alert" },
  });
  (document.querySelector("main") ?? document.body).prepend(note);
}

export function serverIsBack() {
  document.querySelector("[data-testid=needs-server]")?.remove();
}

addEventListener("offline", needsServer);
