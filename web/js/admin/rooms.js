// The rooms list: search by name, each room's status and links, its actions (live meeting,
// edit, new links, delete with or without its recordings), bulk delete.
import { $, button } from "../dom.js";
import { call } from "./api.js";
import { showLive } from "./live.js";
import { editRoom } from "./room-form.js";

export async function loadRooms() {
  const name = $("#search").value.trim();
  const page = await call("GET", `/rooms?limit=100${name ? `&name=${encodeURIComponent(name)}` : ""}`);
  const rows = page.items.map(roomRow);
  $("#rooms").replaceChildren(...rows);
  $("#empty").hidden = rows.length > 0;
}

function linksCell(room) {
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
  return links;
}

async function deleteRoom(room) {
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
  actions.append(button("Delete", `Delete ${room.name}`, () => deleteRoom(room), true));
  row.append(pick, name, status, linksCell(room), actions);
  return row;
}

let searchTimer = 0;
$("#search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadRooms, 250);
});

$("#bulk-delete").addEventListener("click", async () => {
  const ids = [...document.querySelectorAll("#rooms .pick:checked")].map((box) => box.value);
  if (!ids.length || !confirm(`Delete ${ids.length} room(s)? Anyone in them is disconnected.`)) return;
  await call("DELETE", `/rooms?ids=${ids.map(encodeURIComponent).join(",")}&with_meeting=force`);
  $("#bulk-delete").disabled = true;
  await loadRooms();
});
