// The classroom code (server/rooms.py): read from the page's ?room=, sent with frames and with
// the dashboard's reads. No code is the default room "". The server checks the code; the page
// only applies the same rule so a typo in the dashboard's field is shown at once.

const ROOM_CODE = /^[A-Za-z0-9_-]{1,16}$/;

export function currentRoom() {
  return new URLSearchParams(location.search).get("room") ?? "";
}

export function isRoomCode(room) {
  return room === "" || ROOM_CODE.test(room);
}

// Query parameters for a room: "room=7B&", or nothing for the default room.
export function roomQuery(room) {
  return room ? `room=${encodeURIComponent(room)}&` : "";
}

// Show another room in the address bar, keeping any fragment, without reloading.
export function showRoomInAddress(room) {
  const params = new URLSearchParams(location.search);
  if (room) params.set("room", room);
  else params.delete("room");
  const query = params.toString();
  history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  linkRoom(room);
}

// Links marked data-room-link (the dashboard's link to the wall) go to the page's room: set when the
// page loads and whenever it shows another room. Their other parameters (?lang=) stay.
export function linkRoom(room = currentRoom()) {
  for (const link of document.querySelectorAll("a[data-room-link]")) {
    const url = new URL(link.getAttribute("href"), location.href);
    if (room) url.searchParams.set("room", room);
    else url.searchParams.delete("room");
    link.setAttribute("href", `${url.pathname}${url.search}`);
  }
}

linkRoom();
