// The end view: why the meeting is over for you, and whether joining again makes sense.
import { $ } from "../dom.js";
import { show } from "./sections.js";

const REASONS = {
  left: "You left the meeting.",
  kicked: "A moderator removed you from the meeting.",
  replaced: "You joined this meeting from another tab or device.",
  ended_by_moderator: "A moderator ended the meeting for everyone.",
  ended_by_api: "The meeting was ended by the organiser.",
  room_deleted: "The room was deleted.",
  session_length_reached: "The meeting reached its time limit.",
  server_shutting_down: "The server is restarting. Try again in a moment.",
  timeout: "You were away too long and left the meeting.",
  media_failed: "Your audio and video connection was lost.",
  media_unavailable: "The meeting's audio and video could not be restored. Try again in a moment.",
  connection_lost: "The connection to the server was lost.",
};
const CAN_REJOIN = new Set(["left", "replaced", "server_shutting_down", "timeout", "media_failed", "media_unavailable", "connection_lost"]);

export function isOver() {
  return !$("#end").hidden;
}

export function openEnd(reason, maySeeRecordings) {
  $("#end-reason").textContent = REASONS[reason] || "The meeting is over for you.";
  $("#end").dataset.reason = reason;
  $("#rejoin").hidden = !CAN_REJOIN.has(reason);
  $("#end-recordings").hidden = !maySeeRecordings;
  show("end");
}

$("#rejoin").addEventListener("click", () => location.reload());
