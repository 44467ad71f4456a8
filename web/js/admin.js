// The admin console: log in with the admin password, then manage rooms, recordings, API
// keys, webhooks and themes through the REST API with the session cookie (admin/api.js).
import { call, onUnauthorized } from "./admin/api.js";
import { loadKeys } from "./admin/keys.js";
import { onGone } from "./admin/live.js";
import * as login from "./admin/login.js";
import { loadRecordingRooms, loadRecordings } from "./admin/recordings.js";
import { onSaved } from "./admin/room-form.js";
import { loadRooms } from "./admin/rooms.js";
import { loadThemes } from "./admin/themes.js";
import { loadHooks } from "./admin/webhooks.js";

async function showConsole() {
  document.querySelector("#login").hidden = true;
  document.querySelector("#console").hidden = false;
  await Promise.all([loadRooms(), loadThemes()]);
}

const PAGES = {
  "rooms-page": loadRooms,
  "recordings-page": () => Promise.all([loadRecordingRooms(), loadRecordings()]),
  "keys-page": loadKeys,
  "hooks-page": loadHooks,
};

for (const tab of document.querySelectorAll(".tabs button")) {
  tab.addEventListener("click", async () => {
    for (const other of document.querySelectorAll(".tabs button")) other.removeAttribute("aria-current");
    tab.setAttribute("aria-current", "page");
    for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== tab.dataset.page;
    await PAGES[tab.dataset.page]?.();
  });
}

onUnauthorized(login.showLogin);
login.init(showConsole);
onSaved(loadRooms);
onGone(loadRooms);

try {
  await call("GET", "/admin/session");
  await showConsole();
} catch {
  login.showLogin();
}
