// The history page: one room's recent attempts from the store (?room=, else the default room),
// newest first, paged.

import { attemptCard } from "./attempts.js";
import { setUpLanguage } from "./i18n.js";
import { currentRoom } from "./room.js";
import { teacherFetch } from "./teacher.js";
import { $ } from "./view.js";

await setUpLanguage({ room: null }); // the room's language goes here once the server sends one

let before = null;

async function loadPage() {
  const query = new URLSearchParams({ limit: "24" });
  if (before !== null) query.set("before", before);
  if (currentRoom()) query.set("room", currentRoom());
  const response = await teacherFetch(`/api/attempts?${query}`);
  if (!response.ok) return;
  const page = await response.json();
  $("history").append(...page.attempts.map(attemptCard));
  before = page.next_before;
  $("more").hidden = before === null;
}

$("more").addEventListener("click", loadPage);
loadPage();
