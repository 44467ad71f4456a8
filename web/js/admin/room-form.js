// One room in detail: the form that creates a room or edits one (limits, auto-delete,
// chat, screen share, recording and who may watch its recordings, closed).
import { $ } from "../dom.js";
import { call } from "./api.js";

let editing = null; // the room being edited, or null: the form creates
let saved = async () => {};

// done: runs after a room was created or saved (the list shows it).
export function onSaved(done) {
  saved = done;
}

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

function toLocalInput(iso) {
  const when = new Date(iso);
  return new Date(when.getTime() - when.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export function editRoom(room) {
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
    await saved();
  } catch (error) {
    $("#create-error").textContent = error.message;
    $("#create-error").hidden = false;
  }
});
