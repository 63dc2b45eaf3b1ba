// The dashboard's kiosk panel (teacher key): every kiosk's latest heartbeat (GET /api/kiosks,
// server/api/kiosks.py): last seen, whether it answers online, from the browser, or is silent (no
// heartbeat for 90 s: its network or power is gone), attempts today and deliveries waiting.
// Hidden while no kiosk has ever said hello.

import { formatNumber, formatTime, t } from "./i18n.js";
import { teacherFetch } from "./teacher.js";
import { $, element } from "./view.js";

const REFRESH_MS = 30000;
const STATES = { online: "kiosks.online", offline: "kiosks.offline", silent: "kiosks.silent" };
const COLUMNS = ["kiosks.id", "kiosks.state", "kiosks.lastSeen", "kiosks.today", "kiosks.waiting", "kiosks.model"];

async function translated() {
  while (!document.documentElement.dataset.translated) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function refresh() {
  let body;
  try {
    const response = await teacherFetch("/api/kiosks");
    if (!response.ok) return;
    body = await response.json();
  } catch {
    return; // the server is down: the page says so (needs-server.js)
  }
  const panel = $("kiosks");
  panel.hidden = body.kiosks.length === 0;
  const table = $("kiosk-table");
  const head = element("tr");
  for (const key of COLUMNS) head.append(element("th", { text: t(key), attributes: { scope: "col" } }));
  const rows = body.kiosks.map((kiosk) => {
    const row = element("tr", { attributes: { "data-kiosk": kiosk.kiosk_id, "data-state": kiosk.state } });
    row.append(
      element("th", { text: kiosk.kiosk_id, attributes: { scope: "row", translate: "no" } }),
      element("td", { text: t(STATES[kiosk.state] ?? "kiosks.silent"), className: `kiosk-${kiosk.state}` }),
      element("td", { text: formatTime(kiosk.last_seen) }),
      element("td", { text: formatNumber(kiosk.attempts_today) }),
      element("td", { text: formatNumber(kiosk.waiting), attributes: { "data-testid": "kiosk-waiting" } }),
      element("td", { text: kiosk.model_version || "–", attributes: { translate: "no" } }),
    );
    return row;
  });
  table.replaceChildren(element("thead"), element("tbody"));
  table.firstChild.append(head);
  table.lastChild.append(...rows);
}

await translated();
refresh();
setInterval(refresh, REFRESH_MS);
