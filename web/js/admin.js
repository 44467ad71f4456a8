// The admin console: log in with the admin password, then manage rooms through the REST API
// with the session cookie (every change carries X-Meetbox-Console: 1).
const $ = (selector) => document.querySelector(selector);

async function call(method, path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: { "Content-Type": "application/json", "X-Meetbox-Console": "1" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/admin/login") showLogin();
  if (!response.ok) throw new Error(data.detail || `the server answered ${response.status}`);
  return data;
}

function showLogin() {
  $("#console").hidden = true;
  $("#login").hidden = false;
  $("#password").focus();
}

async function showConsole() {
  $("#login").hidden = true;
  $("#console").hidden = false;
  await Promise.all([loadRooms(), loadThemes()]);
}

for (const tab of document.querySelectorAll(".tabs button")) {
  tab.addEventListener("click", async () => {
    for (const other of document.querySelectorAll(".tabs button")) other.removeAttribute("aria-current");
    tab.setAttribute("aria-current", "page");
    for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== tab.dataset.page;
    if (tab.dataset.page === "keys-page") await loadKeys();
    if (tab.dataset.page === "hooks-page") await loadHooks();
    if (tab.dataset.page === "rooms-page") await loadRooms();
    if (tab.dataset.page === "recordings-page") await Promise.all([loadRecordingRooms(), loadRecordings()]);
  });
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function button(label, aria, onClick, danger = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  if (danger) b.className = "danger";
  b.addEventListener("click", onClick);
  return b;
}

function secretNote(target, text, secret) {
  target.replaceChildren(document.createTextNode(text));
  const code = document.createElement("code");
  code.className = "secret";
  code.textContent = secret;
  target.append(code);
  target.hidden = false;
}

// -- API keys -------------------------------------------------------------------------------

async function loadKeys() {
  const page = await call("GET", "/api-keys?limit=100");
  $("#keys").replaceChildren(...page.items.map((key) => {
    const row = document.createElement("tr");
    const actions = document.createElement("td");
    if (!key.revoked_at) {
      actions.append(button("Revoke", `Revoke the key ${key.name}`, async () => {
        if (!confirm(`Revoke ${key.name}? Whatever uses it stops working.`)) return;
        await call("DELETE", `/api-keys/${encodeURIComponent(key.id)}`);
        await loadKeys();
      }, true));
    }
    row.append(cell(key.name), cell(`${key.prefix}...`),
      cell(key.revoked_at ? "revoked" : key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "never"), actions);
    return row;
  }));
}

$("#key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = await call("POST", "/api-keys", { name: $("#key-name").value });
  $("#key-name").value = "";
  secretNote($("#key-shown"), "The new key, shown only now:", created.key);
  await loadKeys();
});

// -- webhooks -------------------------------------------------------------------------------

async function loadHooks() {
  const page = await call("GET", "/webhooks?limit=100");
  const rows = await Promise.all(page.items.map(async (hook) => {
    const log = await call("GET", `/webhooks/${encodeURIComponent(hook.id)}/deliveries?limit=20`);
    const counts = {};
    for (const d of log.items) counts[d.status] = (counts[d.status] || 0) + 1;
    const row = document.createElement("tr");
    row.dataset.hook = hook.id;
    const actions = document.createElement("td");
    const result = document.createElement("span");
    result.className = "note";
    result.setAttribute("role", "status");
    actions.append(
      button("Test", `Send a test event to ${hook.url}`, async () => {
        const sent = await call("POST", `/webhooks/${encodeURIComponent(hook.id)}/test`);
        result.textContent = sent.status === "delivered" ? `delivered (${sent.last_status_code})` : `failed: ${sent.last_error}`;
      }),
      button("Delete", `Delete the webhook ${hook.url}`, async () => {
        if (!confirm(`Stop sending events to ${hook.url}?`)) return;
        await call("DELETE", `/webhooks/${encodeURIComponent(hook.id)}`);
        await loadHooks();
      }, true),
      result,
    );
    row.append(cell(hook.url), cell(hook.events.length ? hook.events.join(", ") : "all"),
      cell(Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "none yet"), actions);
    return row;
  }));
  $("#hooks").replaceChildren(...rows);
}

$("#hook-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#hook-error").hidden = true;
  try {
    const events = [...$("#hook-events").selectedOptions].map((o) => o.value);
    const hook = await call("POST", "/webhooks", { url: $("#hook-url").value, events });
    $("#hook-url").value = "";
    secretNote($("#hook-shown"), "Its signing secret, shown only now:", hook.secret);
    await loadHooks();
  } catch (error) {
    $("#hook-error").textContent = error.message;
    $("#hook-error").hidden = false;
  }
});

// -- recordings -----------------------------------------------------------------------------

const UNDER_WAY = new Set(["starting", "active", "ending"]);
const RECORDING_STATUS = {
  starting: "starting…", active: "recording", ending: "finishing…",
  complete: "complete", failed: "failed", aborted: "aborted",
};
const recordings = { items: [], cursor: null, shareUrls: new Map() };

// The API's URLs are under the public address; the console fetches them from its own origin.
function local(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function formatSize(bytes) {
  if (!bytes) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${unit ? value.toFixed(value < 10 ? 1 : 0) : value} ${units[unit]}`;
}

function playable(rec) {
  return Boolean(rec.media_url) && (rec.status === "complete" || (rec.status === "failed" && rec.size_bytes > 0));
}

function recordingsNote(text) {
  $("#recordings-note").textContent = text;
}

async function loadRecordingRooms() {
  const page = await call("GET", "/rooms?limit=100");
  const current = $("#recording-room").value;
  $("#recording-room").replaceChildren(new Option("All rooms", ""),
    ...page.items.map((room) => new Option(room.name, room.id, false, room.id === current)));
}

async function loadRecordings(more = false) {
  const query = new URLSearchParams({ limit: "50" });
  if ($("#recording-room").value) query.set("room_id", $("#recording-room").value);
  for (const status of $("#recording-status").value.split(",").filter(Boolean)) query.append("status", status);
  if (more && recordings.cursor) query.set("cursor", recordings.cursor);
  try {
    const page = await call("GET", `/recordings?${query}`);
    recordings.items = more ? [...recordings.items, ...page.items] : page.items;
    recordings.cursor = page.next_cursor;
  } catch (error) {
    recordingsNote(`The recordings could not be loaded: ${error.message}.`);
    return;
  }
  // Rows whose recording did not change stay, so a refresh does not stop a selection.
  const old = new Map([...document.querySelectorAll("#recordings tr")].map((row) => [row.dataset.recording, row]));
  const rows = recordings.items.map((rec) => {
    const key = `${rec.status}|${rec.shared}|${rec.size_bytes}`;
    const row = old.get(rec.id);
    return row && row.dataset.key === key ? row : recordingRow(rec, key);
  });
  $("#recordings").replaceChildren(...rows);
  $("#recordings-empty").hidden = rows.length > 0;
  $("#recordings-more").hidden = !recordings.cursor;
  pickedRecordings();
}

function pickedRecordings() {
  const picked = [...document.querySelectorAll("#recordings .pick:checked")].map((box) => box.value);
  $("#recordings-zip").disabled = !picked.length
    || picked.some((id) => !playable(recordings.items.find((rec) => rec.id === id) || {}));
  $("#recordings-bulk-delete").disabled = !picked.length;
  const boxes = document.querySelectorAll("#recordings .pick");
  $("#recordings-all").checked = boxes.length > 0 && picked.length === boxes.length;
  return picked;
}

function recordingRow(rec, key) {
  const row = document.createElement("tr");
  row.dataset.recording = rec.id;
  row.dataset.status = rec.status;
  row.dataset.key = key;
  const when = new Date(rec.started_at || rec.created_at).toLocaleString();
  const what = `the recording of ${rec.room_name} on ${when}`;
  const pick = document.createElement("td");
  if (!UNDER_WAY.has(rec.status)) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.value = rec.id;
    box.setAttribute("aria-label", `Select ${what}`);
    box.addEventListener("change", pickedRecordings);
    pick.append(box);
  }
  const status = cell(RECORDING_STATUS[rec.status] || rec.status);
  if (rec.error) {
    const error = document.createElement("span");
    error.className = "error";
    error.textContent = rec.error;
    status.append(document.createElement("br"), error);
  }
  if (rec.shared) status.append(document.createElement("br"), document.createTextNode("shared"));
  const actions = document.createElement("td");
  const shown = document.createElement("div");
  const act = (label, aria, onClick, danger) => button(label, aria, async () => {
    try {
      await onClick();
    } catch (error) {
      recordingsNote(`${error.message[0].toUpperCase()}${error.message.slice(1)}.`);
    }
  }, danger);
  if (playable(rec)) {
    actions.append(button("Play", `Play ${what}`, () => play(rec, when)));
    const download = document.createElement("a");
    download.href = local(rec.download_url);
    download.download = "";
    download.textContent = "Download";
    download.setAttribute("aria-label", `Download ${what}`);
    actions.append(download);
    actions.append(act(rec.shared ? "New share link" : "Share", `Share ${what}`, async () => {
      const { url } = await call("POST", `/recordings/${encodeURIComponent(rec.id)}/share`);
      recordings.shareUrls.set(rec.id, url);
      await loadRecordings();
      try {
        await navigator.clipboard.writeText(url);
        recordingsNote("Share link copied.");
      } catch {
        recordingsNote("Share link made: copy it from its row.");
      }
    }));
  }
  if (rec.shared) {
    actions.append(act("Revoke share", `Revoke the share link of ${what}`, async () => {
      await call("DELETE", `/recordings/${encodeURIComponent(rec.id)}/share`);
      recordings.shareUrls.delete(rec.id);
      recordingsNote("The share link no longer works.");
      await loadRecordings();
    }));
    const url = recordings.shareUrls.get(rec.id);
    if (url) secretNote(shown, "Share link (whoever has it can watch, until revoked):", url);
  }
  if (UNDER_WAY.has(rec.status)) {
    if (rec.status !== "ending") {
      actions.append(act("Stop", `Stop ${what}`, async () => {
        await call("POST", `/recordings/${encodeURIComponent(rec.id)}/stop`);
        await loadRecordings();
      }, true));
    }
  } else {
    actions.append(act("Delete", `Delete ${what}`, async () => {
      if (!confirm(`Delete ${what}? Its file goes too.`)) return;
      await call("DELETE", `/recordings/${encodeURIComponent(rec.id)}`);
      recordingsNote("Recording deleted.");
      await loadRecordings();
    }, true));
  }
  actions.append(shown);
  row.append(pick, cell(rec.room_name), cell(when), cell(formatDuration(rec.duration_s)),
    cell(formatSize(rec.size_bytes)), status, actions);
  return row;
}

function play(rec, when) {
  $("#player-title").textContent = `${rec.room_name}, ${when}`;
  $("#player-video").src = local(rec.media_url);
  $("#player").showModal();
}
$("#player").addEventListener("close", () => {
  $("#player-video").pause();
  $("#player-video").removeAttribute("src");
  $("#player-video").load();
});

$("#recording-filter").addEventListener("submit", async (event) => {
  event.preventDefault();
  await loadRecordings();
});
$("#recordings-refresh").addEventListener("click", () => loadRecordings());
$("#recordings-more").addEventListener("click", () => loadRecordings(true));
$("#recordings-all").addEventListener("change", () => {
  for (const box of document.querySelectorAll("#recordings .pick")) box.checked = $("#recordings-all").checked;
  pickedRecordings();
});

$("#recordings-zip").addEventListener("click", () => {
  const ids = pickedRecordings();
  if (!ids.length) return;
  const link = document.createElement("a");
  link.href = `/api/v1/recordings/download?ids=${ids.map(encodeURIComponent).join(",")}`;
  link.download = "recordings.zip";
  document.body.append(link);
  link.click();
  link.remove();
});

$("#recordings-bulk-delete").addEventListener("click", async () => {
  const ids = pickedRecordings();
  if (!ids.length || !confirm(`Delete ${ids.length} recording(s)? Their files go too.`)) return;
  try {
    const result = await call("DELETE", `/recordings?ids=${ids.map(encodeURIComponent).join(",")}`);
    const failed = result.failed.map((f) => `${f.id}: ${f.detail}`).join("; ");
    recordingsNote(`${result.deleted.length} deleted.${failed ? ` Not deleted: ${failed}.` : ""}`);
  } catch (error) {
    recordingsNote(`${error.message[0].toUpperCase()}${error.message.slice(1)}.`);
  }
  await loadRecordings();
});

// -- live meeting ---------------------------------------------------------------------------

let liveTimer = 0;

// The live meeting's recording: its status, and Start or Stop. While it starts or ends the
// panel looks again every two seconds.
async function showLiveRecording(room) {
  clearTimeout(liveTimer);
  if (room.config.recording?.enabled === false) {
    $("#live-recording").textContent = "Recording is off for this room.";
    $("#live-record").hidden = true;
    $("#live-stop").hidden = true;
    return;
  }
  let rec = null;
  try {
    const query = new URLSearchParams({ room_id: room.id, limit: "1" });
    for (const status of UNDER_WAY) query.append("status", status);
    rec = (await call("GET", `/recordings?${query}`)).items[0] || null;
  } catch (error) {
    $("#live-recording").textContent = `The recording status is unknown: ${error.message}.`;
  }
  if (rec) {
    $("#live-recording").dataset.status = rec.status;
    $("#live-recording").textContent = `Recording: ${RECORDING_STATUS[rec.status]}`;
  } else {
    delete $("#live-recording").dataset.status;
    $("#live-recording").textContent = "Not being recorded.";
  }
  $("#live-record").hidden = Boolean(rec);
  $("#live-stop").hidden = !rec;
  $("#live-stop").disabled = rec?.status === "ending";
  $("#live-record").onclick = async () => {
    $("#live-recording-error").hidden = true;
    $("#live-record").disabled = true;
    try {
      await call("POST", `/rooms/${encodeURIComponent(room.id)}/recordings`, {});
    } catch (error) {
      $("#live-recording-error").textContent = `${error.message[0].toUpperCase()}${error.message.slice(1)}.`;
      $("#live-recording-error").hidden = false;
    } finally {
      $("#live-record").disabled = false;
    }
    await showLiveRecording(room);
  };
  $("#live-stop").onclick = async () => {
    $("#live-recording-error").hidden = true;
    try {
      await call("POST", `/recordings/${encodeURIComponent(rec.id)}/stop`);
    } catch (error) {
      $("#live-recording-error").textContent = `${error.message[0].toUpperCase()}${error.message.slice(1)}.`;
      $("#live-recording-error").hidden = false;
    }
    await showLiveRecording(room);
  };
  if (rec && rec.status !== "active") {
    liveTimer = setTimeout(() => { if (!$("#live").hidden) showLiveRecording(room); }, 2000);
  }
}

async function showLive(room) {
  let meeting;
  try {
    meeting = await call("GET", `/rooms/${encodeURIComponent(room.id)}/meeting`);
  } catch {
    $("#live").hidden = true;
    return loadRooms();
  }
  $("#live-title").textContent = `Live meeting in ${room.name} (${meeting.participants.length})`;
  $("#live-people").replaceChildren(...meeting.participants.map((p) => {
    const item = document.createElement("li");
    item.append(document.createTextNode(`${p.nickname} - ${p.role}${p.hand_raised ? " - hand raised" : ""}`),
      button("Remove", `Remove ${p.nickname}`, async () => {
        await call("DELETE", `/rooms/${encodeURIComponent(room.id)}/meeting/participants/${encodeURIComponent(p.id)}`);
        await showLive(room);
      }, true));
    return item;
  }));
  $("#live-recording-error").hidden = true;
  await showLiveRecording(room);
  $("#live-end").onclick = async () => {
    if (!confirm(`End the meeting in ${room.name} for everyone?`)) return;
    await call("DELETE", `/rooms/${encodeURIComponent(room.id)}/meeting`);
    $("#live").hidden = true;
    await loadRooms();
  };
  $("#live").hidden = false;
}
$("#live-close").addEventListener("click", () => {
  clearTimeout(liveTimer);
  $("#live").hidden = true;
});

async function loadThemes() {
  const page = await call("GET", "/themes?limit=100");
  const current = $("#room-theme").value;
  $("#room-theme").replaceChildren(new Option("Default", ""),
    ...page.items.map((theme) => new Option(theme.name, theme.id, false, theme.id === current)));
  $("#themes").replaceChildren(...page.items.map(themeItem));
}

function themeItem(theme) {
  const item = document.createElement("li");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = theme.primary;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = theme.name;
  item.append(swatch, who);
  if (theme.logo_url) {
    const logo = document.createElement("img");
    logo.src = theme.logo_url;
    logo.alt = `${theme.name} logo`;
    item.append(logo);
  }
  const upload = document.createElement("input");
  upload.type = "file";
  upload.accept = "image/png,image/jpeg,image/gif,image/webp";
  upload.setAttribute("aria-label", `Logo for ${theme.name} (PNG, JPEG, GIF or WebP, at most 256 KiB)`);
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    if (!file) return;
    const response = await fetch(`/api/v1/themes/${encodeURIComponent(theme.id)}/logo`, {
      method: "PUT", body: file, headers: { "X-Meetbox-Console": "1" },
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      $("#theme-error").textContent = data.detail || `the server answered ${response.status}`;
      $("#theme-error").hidden = false;
    }
    await loadThemes();
  });
  item.append(upload, button("Edit", `Edit the theme ${theme.name}`, (event) => {
    event.preventDefault();
    editingTheme = theme;
    $("#theme-title").textContent = `Edit ${theme.name}`;
    $("#theme-submit").textContent = "Save theme";
    for (const field of ["name", "base", "primary", "background", "accent", "text"]) $(`#theme-${field}`).value = theme[field];
    $("#theme-brand").value = theme.brand_text || "";
    $("#theme-name").focus();
  }), button("Delete", `Delete the theme ${theme.name}`, async (event) => {
    event.preventDefault();
    if (!confirm(`Delete the theme ${theme.name}? Its rooms get the default look.`)) return;
    await call("DELETE", `/themes/${encodeURIComponent(theme.id)}`);
    await loadThemes();
  }, true));
  return item;
}

let editingTheme = null; // the theme being edited, or null: the form creates

$("#theme-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#theme-error").hidden = true;
  try {
    const brand = $("#theme-brand").value.trim();
    const body = {
      name: $("#theme-name").value,
      base: $("#theme-base").value,
      primary: $("#theme-primary").value,
      background: $("#theme-background").value,
      accent: $("#theme-accent").value,
      text: $("#theme-text").value,
      brand_text: brand || null,
    };
    const theme = editingTheme
      ? await call("PATCH", `/themes/${encodeURIComponent(editingTheme.id)}`, body)
      : await call("POST", "/themes", body);
    editingTheme = null;
    $("#theme-title").textContent = "New theme";
    $("#theme-submit").textContent = "Create theme";
    $("#theme-name").value = "";
    await loadThemes();
    $("#room-theme").value = theme.id;
  } catch (error) {
    $("#theme-error").textContent = error.message;
    $("#theme-error").hidden = false;
  }
});

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").hidden = true;
  try {
    await call("POST", "/admin/login", { password: $("#password").value });
    $("#password").value = "";
    await showConsole();
  } catch (error) {
    $("#login-error").textContent = `${error.message[0].toUpperCase()}${error.message.slice(1)}.`;
    $("#login-error").hidden = false;
  }
});

$("#logout").addEventListener("click", async () => {
  await call("POST", "/admin/logout");
  showLogin();
});

let searchTimer = 0;
$("#search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadRooms, 250);
});

async function loadRooms() {
  const name = $("#search").value.trim();
  const page = await call("GET", `/rooms?limit=100${name ? `&name=${encodeURIComponent(name)}` : ""}`);
  const rows = page.items.map(roomRow);
  $("#rooms").replaceChildren(...rows);
  $("#empty").hidden = rows.length > 0;
}

function roomRow(room) {
  const row = document.createElement("tr");
  row.dataset.room = room.id;
  const pick = document.createElement("td");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.className = "pick";
  box.value = room.id;
  box.setAttribute("aria-label", `Select ${room.name}`);
  box.addEventListener("change", () => {
    $("#bulk-delete").disabled = !document.querySelector("#rooms .pick:checked");
  });
  pick.append(box);
  const name = document.createElement("td");
  name.textContent = room.name;
  const status = document.createElement("td");
  status.textContent = room.status.replace("_", " ");
  const links = document.createElement("td");
  for (const role of ["moderator", "speaker"]) {
    const open = document.createElement("a");
    open.href = room.links[role].url;
    open.target = "_blank";
    open.rel = "noopener";
    open.textContent = `Join as ${role}`;
    open.dataset.role = role;
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", `Copy the ${role} link of ${room.name}`);
    copy.addEventListener("click", async () => {
      await navigator.clipboard.writeText(room.links[role].url);
      copy.textContent = "Copied";
    });
    links.append(open, copy, document.createElement("br"));
  }
  const actions = document.createElement("td");
  if (room.status === "active_meeting") {
    actions.append(button("Meeting", `Show the live meeting in ${room.name}`, () => showLive(room)));
  }
  actions.append(button("Edit", `Edit ${room.name}`, () => editRoom(room)));
  actions.append(button("New links", `Give ${room.name} new links (the old ones stop working)`, async () => {
    if (!confirm(`Replace the links of ${room.name}? The old links stop working at once.`)) return;
    await call("POST", `/rooms/${encodeURIComponent(room.id)}/links/rotate`, {});
    await loadRooms();
  }));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete ${room.name}`);
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete ${room.name}? Anyone in it is disconnected.`)) return;
    const path = `/rooms/${encodeURIComponent(room.id)}?with_meeting=force`;
    try {
      await call("DELETE", path);
    } catch (error) {
      if (!error.message.includes("with_recordings")) throw error;
      // The room has recordings: they go with it, or stay (listed under its name).
      if (confirm(`${room.name} has recordings. Delete them too?`)) {
        await call("DELETE", `${path}&with_recordings=force`);
      } else if (confirm(`Keep the recordings of ${room.name} and delete the room?`)) {
        await call("DELETE", `${path}&with_recordings=keep`);
      }
    }
    await loadRooms();
  });
  actions.append(remove);
  row.append(pick, name, status, links, actions);
  return row;
}

let editing = null; // the room being edited, or null: the form creates

function roomBody() {
  const number = (id) => ($(id).value ? Number($(id).value) : null);
  const auto = $("#room-auto").value;
  const body = {
    name: $("#room-name").value,
    max_participants: number("#room-max"),
    session_length_minutes: number("#room-length"),
    auto_delete_at: auto ? new Date(auto).toISOString() : null,
    delete_after_use: $("#room-after-use").checked,
    theme_id: $("#room-theme").value || null,
    config: {
      chat: { enabled: $("#room-chat").checked },
      screen_share: { enabled: $("#room-screen").checked },
      recording: { enabled: $("#room-recording").checked, access: $("#room-recording-access").value },
    },
  };
  if (editing) body.status = $("#room-closed").checked ? "closed" : "open";
  else body.kind = $("#room-kind").value;
  return body;
}

function editRoom(room) {
  editing = room;
  $("#create-title").textContent = `Edit ${room.name}`;
  $("#room-submit").textContent = "Save changes";
  $("#room-cancel").hidden = false;
  $("#room-closed-label").hidden = false;
  $("#room-kind").disabled = true;
  $("#room-name").value = room.name;
  $("#room-kind").value = room.kind;
  $("#room-theme").value = room.theme_id || "";
  $("#room-max").value = room.max_participants ?? "";
  $("#room-length").value = room.session_length_minutes ?? "";
  $("#room-auto").value = room.auto_delete_at ? toLocalInput(room.auto_delete_at) : "";
  $("#room-after-use").checked = room.delete_after_use;
  $("#room-chat").checked = room.config.chat.enabled;
  $("#room-screen").checked = room.config.screen_share.enabled;
  $("#room-recording").checked = room.config.recording?.enabled ?? true;
  $("#room-recording-access").value = room.config.recording?.access || "moderator";
  $("#room-closed").checked = room.status === "closed";
  $("#room-name").focus();
}

function toLocalInput(iso) {
  const when = new Date(iso);
  return new Date(when.getTime() - when.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function resetRoomForm() {
  editing = null;
  $("#create-form").reset();
  $("#create-title").textContent = "New room";
  $("#room-submit").textContent = "Create room";
  $("#room-cancel").hidden = true;
  $("#room-closed-label").hidden = true;
  $("#room-kind").disabled = false;
}
$("#room-cancel").addEventListener("click", resetRoomForm);

$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#create-error").hidden = true;
  try {
    if (editing) await call("PATCH", `/rooms/${encodeURIComponent(editing.id)}`, roomBody());
    else await call("POST", "/rooms", roomBody());
    resetRoomForm();
    await loadRooms();
  } catch (error) {
    $("#create-error").textContent = error.message;
    $("#create-error").hidden = false;
  }
});

$("#bulk-delete").addEventListener("click", async () => {
  const ids = [...document.querySelectorAll("#rooms .pick:checked")].map((box) => box.value);
  if (!ids.length || !confirm(`Delete ${ids.length} room(s)? Anyone in them is disconnected.`)) return;
  await call("DELETE", `/rooms?ids=${ids.map(encodeURIComponent).join(",")}&with_meeting=force`);
  $("#bulk-delete").disabled = true;
  await loadRooms();
});

try {
  await call("GET", "/admin/session");
  await showConsole();
} catch {
  showLogin();
}
