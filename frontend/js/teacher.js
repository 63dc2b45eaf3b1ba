// The teacher key on the dashboard and history pages. The link the server prints carries it
// in the fragment (#token=…), which browsers never send to the server; the page keeps it in
// sessionStorage (this tab only, gone when it closes) and removes it from the address bar,
// so it is not bookmarked, shared or shown on a projector.

import { needsServer, serverIsBack } from "./needs-server.js";
import { t } from "./i18n.js";
import { $ } from "./view.js";

const STORAGE_KEY = "teacherToken";

function takeFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (!token) return;
  sessionStorage.setItem(STORAGE_KEY, token);
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

takeFromLink();

export function teacherToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function teacherHeaders(headers = {}) {
  const token = teacherToken();
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

// fetch with the key; a 401 tells the teacher how to get in instead of failing silently.
// A page whose server is unreachable says it needs the server (needs-server.js).
export async function teacherFetch(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { ...options, headers: teacherHeaders(options.headers) });
  } catch (error) {
    needsServer();
    throw error;
  }
  serverIsBack();
  if (response.status === 401) needKey();
  return response;
}

export function needKey() {
  const note = $("need-key");
  if (note) note.hidden = false;
}

// The teacher's pages (dashboard, wall) show their live feed's state on the connection badge.
export function showConnection(state, text) {
  $("connection").dataset.state = state;
  $("connection").textContent = text;
}

// Join a room's live feed (the server leaves the previous one): on connect and on a room change.
export function watchRoom(socket, room) {
  socket.emit("watch", { room }, (ack) => {
    if (ack?.ok) showConnection("connected", t("connection.live"));
    else if (ack?.code === "bad_room") showConnection("offline", t("connection.badRoom"));
    else {
      showConnection("offline", t("connection.noKey"));
      needKey();
    }
  });
}
