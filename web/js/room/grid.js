// The video grid: a tile per participant (camera and microphone), and one more while they
// share a screen (key "<participant id>:screen"). Tiles come with the first media that
// arrives for them (or, for us, on joining) and go when their participant leaves; a screen
// tile also goes when its video is unpublished.
import { $ } from "../dom.js";
import { initialState } from "./state.js";

const tiles = new Map(); // key -> tile element
const shown = new Map(); // track id -> {key, kind}: where its media plays
let current = initialState(); // the state last rendered

function label(el, key) {
  const [participantId, what] = key.split(":");
  const person = current.people.get(participantId);
  const name = person ? person.nickname + (participantId === current.me?.id ? " (you)" : "") : "";
  const flags = !person ? "" : what ? " - screen"
    : `${person.muted.audio ? " - muted" : ""}${person.hand_raised ? " - hand raised" : ""}`;
  el.querySelector(".name").textContent = name + flags;
  el.querySelector(".avatar").textContent = person ? person.nickname.slice(0, 1).toUpperCase() : "";
  el.querySelector(".avatar").hidden = Boolean(el.querySelector("video").srcObject) && !(person?.muted.video);
}

function tile(key) {
  let el = tiles.get(key);
  if (!el) {
    const [participantId, what] = key.split(":");
    el = document.createElement("div");
    el.className = what ? "tile screen" : "tile";
    el.dataset.participant = participantId;
    if (what) el.dataset.screen = "true";
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound plays through the audio element
    const audio = document.createElement("audio");
    audio.autoplay = true;
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.setAttribute("aria-hidden", "true");
    const name = document.createElement("span");
    name.className = "name";
    el.append(video, audio, avatar, name);
    $("#grid").append(el);
    tiles.set(key, el);
    el.classList.toggle("speaking", key === current.speaker);
  }
  label(el, key);
  return el;
}

function drop(key) {
  tiles.get(key)?.remove();
  tiles.delete(key);
}

// Our own camera, from the devices we opened (the avatar gives way to the picture).
export function showLocal(stream) {
  const el = tile(current.me.id);
  el.querySelector("video").srcObject = new MediaStream(stream.getVideoTracks());
  label(el, current.me.id);
}

// Media arrived on the subscriber connection; info is the server's track it carries.
export function showTrack({ track, info }) {
  if (!info) return;
  const screen = info.source === "screen" || info.source === "screen_audio";
  const key = screen ? `${info.participant_id}:screen` : info.participant_id;
  shown.set(info.id, { key, kind: track.kind });
  const el = tile(key);
  if (track.kind === "video") {
    el.querySelector("video").srcObject = new MediaStream([track]);
    el.querySelector(".avatar").hidden = true;
  } else {
    el.querySelector("audio").srcObject = new MediaStream([track]);
  }
}

export function render(state) {
  const previous = current;
  current = state;
  for (const id of previous.people.keys()) {
    if (!state.people.has(id)) for (const key of [id, `${id}:screen`]) drop(key);
  }
  for (const [trackId, { key, kind }] of shown) {
    if (state.tracks.has(trackId)) continue;
    shown.delete(trackId);
    const el = tiles.get(key);
    if (!el) continue;
    if (key.endsWith(":screen") && kind === "video") {
      drop(key); // the screen share ended: its tile goes
    } else if (kind === "video") {
      el.querySelector("video").srcObject = null;
      el.querySelector(".avatar").hidden = false;
    } else {
      el.querySelector("audio").srcObject = null;
    }
  }
  if (state.speaker !== previous.speaker) {
    for (const [key, el] of tiles) el.classList.toggle("speaking", key === state.speaker);
  }
  if (state.people !== previous.people || state.me !== previous.me) {
    for (const key of tiles.keys()) if (!key.includes(":")) tile(key);
    if (state.me) tile(state.me.id);
  }
}

export function toggleLayout() {
  const speaker = $("#layout").getAttribute("aria-pressed") !== "true";
  $("#layout").setAttribute("aria-pressed", String(speaker));
  $("#layout").textContent = speaker ? "Grid view" : "Speaker view";
  $("#grid").classList.toggle("speaker-layout", speaker);
}
