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

async function loadThemes() {
  const page = await call("GET", "/themes?limit=100");
  const current = $("#room-theme").value;
  $("#room-theme").replaceChildren(new Option("Default", ""),
    ...page.items.map((theme) => new Option(theme.name, theme.id, false, theme.id === current)));
}

$("#theme-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#theme-error").hidden = true;
  try {
    const brand = $("#theme-brand").value.trim();
    const theme = await call("POST", "/themes", {
      name: $("#theme-name").value,
      base: $("#theme-base").value,
      primary: $("#theme-primary").value,
      background: $("#theme-background").value,
      accent: $("#theme-accent").value,
      text: $("#theme-text").value,
      brand_text: brand || null,
    });
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
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete ${room.name}`);
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete ${room.name}? Anyone in it is disconnected.`)) return;
    await call("DELETE", `/rooms/${encodeURIComponent(room.id)}?with_meeting=force`);
    await loadRooms();
  });
  actions.append(remove);
  row.append(name, status, links, actions);
  return row;
}

$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#create-error").hidden = true;
  const max = $("#room-max").value;
  try {
    await call("POST", "/rooms", {
      name: $("#room-name").value,
      kind: $("#room-kind").value,
      max_participants: max ? Number(max) : null,
      theme_id: $("#room-theme").value || null,
      config: { chat: { enabled: $("#room-chat").checked }, screen_share: { enabled: $("#room-screen").checked } },
    });
    $("#room-name").value = "";
    await loadRooms();
  } catch (error) {
    $("#create-error").textContent = error.message;
    $("#create-error").hidden = false;
  }
});

try {
  await call("GET", "/admin/session");
  await showConsole();
} catch {
  showLogin();
}
