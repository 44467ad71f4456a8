// The controls bar: microphone, camera, screen share, hand, layout, the people and chat
// panels, the invite link, leave and (for moderators) end for all.
import { $ } from "../dom.js";
import * as chat from "./chat.js";
import { toggleLayout } from "./grid.js";
import { endForAll } from "./moderation.js";
import { devices } from "./prejoin.js";

let page = null; // {client, preview}: the room page's, once joined
let say = () => {}; // shows a line in the banner ("" hides it)
let screen = null; // the screen track we share, or null

const send = (message) => page.client.send(message);

export function screenTrack() {
  return screen;
}

// kind: "audio", "video" or "screen"; tell: whether the server hears of it (not when a
// moderator did it: the server knows).
export function setMuted(kind, muted, tell = true) {
  if (kind === "screen") {
    if (muted && screen) stopScreen();
    return;
  }
  const track = kind === "audio" ? devices.stream?.getAudioTracks()[0] : devices.stream?.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !muted;
  const button = kind === "audio" ? $("#mic") : $("#cam");
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = kind === "audio" ? (muted ? "Unmute" : "Mute") : (muted ? "Start video" : "Stop video");
  if (tell && page?.client?.joined) send({ type: "set_mute", kind, muted });
}

async function shareScreen() {
  if (screen) return stopScreen();
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const track = stream.getVideoTracks()[0];
    screen = track;
    track.addEventListener("ended", stopScreen);
    await page.client.publish(stream, { [track.id]: "screen" });
    $("#screen").setAttribute("aria-pressed", "true");
    $("#screen").textContent = "Stop sharing";
  } catch (error) {
    screen = null;
    if (error.name !== "NotAllowedError") say(`The screen could not be shared: ${error.message}`);
  }
}

async function stopScreen() {
  const track = screen;
  if (!track) return;
  screen = null;
  track.stop();
  $("#screen").setAttribute("aria-pressed", "false");
  $("#screen").textContent = "Share screen";
  await page.client.unpublish(track);
}

function togglePanel(panel, button) {
  const open = $(panel).hidden;
  $(panel).hidden = !open;
  $(button).setAttribute("aria-expanded", String(open));
  $("#side").hidden = $("#people-panel").hidden && $("#chat-panel").hidden;
  if (panel === "#chat-panel" && open) chat.opened();
}

async function copyInvite() {
  try {
    await navigator.clipboard.writeText(page.preview.invite_url);
    say("Invite link copied: whoever opens it joins as a speaker.");
  } catch {
    say(`Invite link: ${page.preview.invite_url}`);
  }
  setTimeout(() => say(""), 4000);
}

function toggleHand() {
  const raised = $("#hand").getAttribute("aria-pressed") !== "true";
  $("#hand").setAttribute("aria-pressed", String(raised));
  $("#hand").textContent = raised ? "Lower hand" : "Raise hand";
  send({ type: "raise_hand", raised });
}

export function init(roomPage, banner) {
  page = roomPage;
  say = banner;
}

// Which controls this participant gets, once joined.
export function offer({ me, screenShareEnabled, recordingEnabled, maySeeRecordings }) {
  $("#screen").hidden = !screenShareEnabled || !navigator.mediaDevices.getDisplayMedia;
  $("#end-all").hidden = me.role !== "moderator";
  $("#invite").hidden = !page.preview.invite_url;
  $("#record").hidden = me.role !== "moderator" || !recordingEnabled;
  $("#recordings-link").hidden = !maySeeRecordings;
}

export function devicesShared() {
  $("#mic").disabled = !devices.stream?.getAudioTracks().length;
  $("#cam").disabled = !devices.stream?.getVideoTracks().length;
}

$("#mic").addEventListener("click", () => setMuted("audio", $("#mic").getAttribute("aria-pressed") !== "true"));
$("#cam").addEventListener("click", () => setMuted("video", $("#cam").getAttribute("aria-pressed") !== "true"));
$("#hand").addEventListener("click", toggleHand);
$("#screen").addEventListener("click", shareScreen);
$("#invite").addEventListener("click", copyInvite);
$("#layout").addEventListener("click", toggleLayout);
$("#people-toggle").addEventListener("click", () => togglePanel("#people-panel", "#people-toggle"));
$("#chat-toggle").addEventListener("click", () => togglePanel("#chat-panel", "#chat-toggle"));
$("#leave").addEventListener("click", () => send({ type: "leave" }));
$("#end-all").addEventListener("click", () => endForAll(send));
