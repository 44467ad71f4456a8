// The page a room link opens: join -> devices -> meeting -> end.
import { MeetboxClient } from "./meetbox-client.js";

const $ = (selector) => document.querySelector(selector);
const secret = new URLSearchParams(location.hash.slice(1)).get("secret");

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
  connection_lost: "The connection to the server was lost.",
};
const CAN_REJOIN = new Set(["left", "replaced", "server_shutting_down", "timeout", "media_failed", "connection_lost"]);
const ROLES = { moderator: "a moderator", speaker: "a speaker", recordings: "a recordings viewer" };

const state = {
  preview: null,
  stream: null,
  client: null,
  me: null,
  people: new Map(), // participant id -> info
  tiles: new Map(), // participant id (or "<id>:screen") -> tile element
  trackTiles: new Map(), // track id -> {key, kind}: where it shows
  screen: null,
  unread: 0,
};
window.meetboxRoom = state; // for tests and the curious

function show(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
  const heading = document.querySelector(`#${id} h1`);
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

function problem(text) {
  $("#problem-text").textContent = text;
  show("problem");
}

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `the server answered ${response.status}`);
  return data;
}

// -- join view ------------------------------------------------------------------------------

function applyTheme(theme) {
  const style = document.documentElement.style;
  style.setProperty("--primary", theme.primary);
  style.setProperty("--bg", theme.background);
  style.setProperty("--speaking", theme.accent);
  style.setProperty("--text", theme.text);
  if (theme.base === "light") {
    style.setProperty("--panel", "#ffffff");
    style.setProperty("--muted", "#4b5468");
    style.colorScheme = "light";
  }
  const brand = document.createElement("p");
  brand.className = "brand";
  if (theme.logo_url) {
    const logo = document.createElement("img");
    logo.src = theme.logo_url;
    logo.alt = theme.brand_text || "";
    brand.append(logo);
  }
  if (theme.brand_text) brand.append(document.createTextNode(theme.brand_text));
  if (brand.childNodes.length) $("#join").prepend(brand);
}

async function start() {
  if (!secret) return problem("This link is incomplete: it should end with #secret=... Ask the organiser for the whole link.");
  try {
    state.preview = await api("/api/v1/join/preview", { secret });
  } catch (error) {
    return problem(`${error.message}.`);
  }
  const { room, role, theme } = state.preview;
  if (theme) applyTheme(theme);
  for (const el of document.querySelectorAll("[data-room-name]")) el.textContent = room.name;
  if (role === "recordings") return show("recordings");
  document.title = `${room.name} - meetbox`;
  $("[data-role]").textContent = ROLES[role] || role;
  $("#nickname").value = localStorage.getItem("meetbox.nickname") || "";
  show("join");
}

$("#join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const nickname = $("#nickname").value.trim();
  if (!nickname) return;
  localStorage.setItem("meetbox.nickname", nickname);
  show("devices");
  await openDevices();
});

// -- device view ----------------------------------------------------------------------------

function openDevices(constraints) {
  // Joining waits for this: a click on Join while the camera is still opening must not
  // enter the meeting without publishing.
  $("#enter").disabled = true;
  state.devicesReady = openDevicesNow(constraints).finally(() => { $("#enter").disabled = false; });
  return state.devicesReady;
}

async function openDevicesNow(constraints = { audio: true, video: { width: 640, height: 360 } }) {
  state.stream?.getTracks().forEach((track) => track.stop());
  try {
    state.stream = await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    state.stream = null;
    $("#device-note").textContent = "No camera or microphone could be opened; you can still join to watch and listen.";
    $("#device-note").hidden = false;
  }
  $("#preview").srcObject = state.stream;
  await listDevices();
  meter();
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[$("#camera-select"), "videoinput"], [$("#mic-select"), "audioinput"]]) {
    const current = state.stream?.getTracks().find((t) => t.kind === (kind === "videoinput" ? "video" : "audio"));
    select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
      const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
      option.selected = current?.getSettings().deviceId === d.deviceId;
      return option;
    }));
  }
}

for (const select of [$("#camera-select"), $("#mic-select")]) {
  select.addEventListener("change", () => openDevices({
    audio: { deviceId: { exact: $("#mic-select").value } },
    video: { deviceId: { exact: $("#camera-select").value }, width: 640, height: 360 },
  }));
}

let meterFrame = 0;
function meter() {
  cancelAnimationFrame(meterFrame);
  const audio = state.stream?.getAudioTracks()[0];
  if (!audio) return;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([audio])).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const draw = () => {
    if ($("#devices").hidden) { context.close(); return; }
    analyser.getByteTimeDomainData(samples);
    const peak = samples.reduce((max, v) => Math.max(max, Math.abs(v - 128)), 0);
    const level = Math.min(100, Math.round((peak / 128) * 100 * 2));
    $("#level").style.width = `${level}%`;
    $(".meter").setAttribute("aria-valuenow", String(level));
    meterFrame = requestAnimationFrame(draw);
  };
  draw();
}

$("#enter").addEventListener("click", enter);

// -- meeting view ---------------------------------------------------------------------------

async function enter() {
  $("#enter").disabled = true;
  await state.devicesReady;
  let grant;
  try {
    grant = await api("/api/v1/join", { secret, nickname: localStorage.getItem("meetbox.nickname") });
  } catch (error) {
    $("#enter").disabled = false;
    return problem(`${error.message}.`);
  }
  // This page is served by meetbox itself: its WebSocket is on the same origin.
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const client = new MeetboxClient(wsUrl, grant.token, { iceServers: grant.ice_servers });
  state.client = client;
  client.addEventListener("message", ({ detail }) => onMessage(detail));
  client.addEventListener("track", ({ detail }) => onTrack(detail));
  client.addEventListener("reconnecting", () => banner("Connection lost. Reconnecting..."));
  client.addEventListener("reconnected", () => banner(""));
  client.addEventListener("close", ({ detail }) => { if (client.joined) finish(detail.bye || "connection_lost"); });
  let refusal = null; // the server says why before it closes
  client.addEventListener("message", ({ detail }) => {
    if (detail.type === "error" && !client.joined) refusal = detail;
  });
  let joined;
  try {
    joined = await client.connect();
  } catch (error) {
    const why = { room_full: "The meeting is full.", kicked: "You were removed from this meeting." };
    return problem(refusal ? (why[refusal.code] || `${refusal.message}.`) : "The meeting could not be joined. Try the link again in a moment.");
  }
  state.me = joined.you;
  for (const person of [joined.you, ...joined.participants]) state.people.set(person.id, person);
  for (const message of joined.chat_history) addChat(message, false);
  $("#chat-toggle").hidden = !joined.chat_enabled;
  $("#screen").hidden = !joined.screen_share_enabled || !navigator.mediaDevices.getDisplayMedia;
  $("#end-all").hidden = state.me.role !== "moderator";
  $("#invite").hidden = !state.preview.invite_url;
  show("meeting");
  renderPeople();
  if (state.stream) {
    const audio = state.stream.getAudioTracks()[0];
    const video = state.stream.getVideoTracks()[0];
    if (audio && $("#start-mic-off").checked) setMuted("audio", true);
    if (video && $("#start-cam-off").checked) setMuted("video", true);
    tile(state.me.id).querySelector("video").srcObject = new MediaStream(state.stream.getVideoTracks());
    tile(state.me.id); // the avatar gives way to the picture
    try {
      await client.publish(state.stream);
    } catch (error) {
      banner(`Your camera and microphone could not be shared: ${error.message}`);
    }
  }
  $("#mic").disabled = !state.stream?.getAudioTracks().length;
  $("#cam").disabled = !state.stream?.getVideoTracks().length;
}

function banner(text) {
  $("#banner").textContent = text;
  $("#banner").hidden = !text;
}

// A tile per participant (camera and microphone), and one more while they share a screen
// (key "<participant id>:screen").
function tile(key) {
  const [participantId, what] = key.split(":");
  let el = state.tiles.get(key);
  if (!el) {
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
    state.tiles.set(key, el);
  }
  const person = state.people.get(participantId);
  const label = person ? person.nickname + (participantId === state.me?.id ? " (you)" : "") : "";
  const flags = !person ? "" : what ? " - screen"
    : `${person.muted.audio ? " - muted" : ""}${person.hand_raised ? " - hand raised" : ""}`;
  el.querySelector(".name").textContent = label + flags;
  el.querySelector(".avatar").textContent = person ? person.nickname.slice(0, 1).toUpperCase() : "";
  el.querySelector(".avatar").hidden = Boolean(el.querySelector("video").srcObject) && !(person?.muted.video);
  return el;
}

function onTrack({ track, info }) {
  if (!info) return;
  const screen = info.source === "screen" || info.source === "screen_audio";
  const key = screen ? `${info.participant_id}:screen` : info.participant_id;
  state.trackTiles.set(info.id, { key, kind: track.kind });
  const el = tile(key);
  if (track.kind === "video") {
    el.querySelector("video").srcObject = new MediaStream([track]);
    el.querySelector(".avatar").hidden = true;
  } else {
    el.querySelector("audio").srcObject = new MediaStream([track]);
  }
}

function onMessage(message) {
  switch (message.type) {
    case "participant_joined":
    case "participant_updated":
      state.people.set(message.participant.id, message.participant);
      if (message.participant.id === state.me?.id) state.me = message.participant;
      renderPeople();
      break;
    case "participant_left":
      state.people.delete(message.participant_id);
      for (const key of [message.participant_id, `${message.participant_id}:screen`]) {
        state.tiles.get(key)?.remove();
        state.tiles.delete(key);
      }
      renderPeople();
      break;
    case "track_unpublished": {
      const shown = state.trackTiles.get(message.track_id);
      state.trackTiles.delete(message.track_id);
      const el = shown && state.tiles.get(shown.key);
      if (!el) break;
      if (shown.key.endsWith(":screen") && shown.kind === "video") {
        el.remove(); // the screen share ended: its tile goes
        state.tiles.delete(shown.key);
      } else if (shown.kind === "video") {
        el.querySelector("video").srcObject = null;
        el.querySelector(".avatar").hidden = false;
      } else {
        el.querySelector("audio").srcObject = null;
      }
      break;
    }
    case "chat":
      addChat(message, true);
      break;
    case "active_speaker":
      for (const [id, el] of state.tiles) el.classList.toggle("speaking", id === message.participant_id);
      break;
    case "muted_by_moderator":
      setMuted(message.kind === "screen" ? "screen" : message.kind, true, false);
      banner(`A moderator turned off your ${message.kind === "audio" ? "microphone" : message.kind === "video" ? "camera" : "screen share"}.`);
      break;
    case "error":
      if (message.code === "forbidden") banner(message.message);
      break;
  }
}

function renderPeople() {
  const list = $("#people");
  list.replaceChildren();
  for (const person of state.people.values()) {
    const item = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${person.nickname}${person.id === state.me?.id ? " (you)" : ""} - ${person.role}`
      + `${person.hand_raised ? " - hand raised" : ""}${person.muted.audio ? " - muted" : ""}`;
    item.append(who);
    if (state.me?.role === "moderator" && person.id !== state.me.id) {
      const mute = document.createElement("button");
      mute.type = "button";
      mute.textContent = "Mute";
      mute.setAttribute("aria-label", `Mute ${person.nickname}`);
      mute.disabled = person.muted.audio;
      mute.addEventListener("click", () => state.client.send({ type: "mute_participant", participant_id: person.id, kind: "audio" }));
      const kick = document.createElement("button");
      kick.type = "button";
      kick.className = "danger";
      kick.textContent = "Remove";
      kick.setAttribute("aria-label", `Remove ${person.nickname} from the meeting`);
      kick.addEventListener("click", () => {
        if (confirm(`Remove ${person.nickname} from the meeting?`)) {
          state.client.send({ type: "kick", participant_id: person.id });
        }
      });
      item.append(mute, kick);
    }
    list.append(item);
    if (state.tiles.has(person.id) || person.id === state.me?.id) tile(person.id);
  }
  $("#people-title").textContent = `People (${state.people.size})`;
}

function addChat(message, fresh) {
  const item = document.createElement("li");
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = `${message.nickname} - ${new Date(message.sent_at).toLocaleTimeString()}`;
  item.append(from, document.createTextNode(message.text));
  $("#chat-log").append(item);
  $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
  if (fresh && $("#chat-panel").hidden && message.participant_id !== state.me?.id) {
    state.unread += 1;
    $("#unread").textContent = String(state.unread);
    $("#unread").hidden = false;
  }
}

$("#chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("#chat-text").value.trim();
  if (!text) return;
  state.client.send({ type: "chat", text });
  $("#chat-text").value = "";
});

function togglePanel(panel, button) {
  const open = $(panel).hidden;
  $(panel).hidden = !open;
  $(button).setAttribute("aria-expanded", String(open));
  $("#side").hidden = $("#people-panel").hidden && $("#chat-panel").hidden;
  if (panel === "#chat-panel" && open) {
    state.unread = 0;
    $("#unread").hidden = true;
    $("#chat-text").focus();
  }
}
$("#people-toggle").addEventListener("click", () => togglePanel("#people-panel", "#people-toggle"));
$("#chat-toggle").addEventListener("click", () => togglePanel("#chat-panel", "#chat-toggle"));

function setMuted(kind, muted, tell = true) {
  if (kind === "screen") {
    if (muted && state.screen) stopScreen();
    return;
  }
  const track = kind === "audio" ? state.stream?.getAudioTracks()[0] : state.stream?.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !muted;
  const button = kind === "audio" ? $("#mic") : $("#cam");
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = kind === "audio" ? (muted ? "Unmute" : "Mute") : (muted ? "Start video" : "Stop video");
  if (tell && state.client?.joined) state.client.send({ type: "set_mute", kind, muted });
}
$("#mic").addEventListener("click", () => setMuted("audio", $("#mic").getAttribute("aria-pressed") !== "true"));
$("#cam").addEventListener("click", () => setMuted("video", $("#cam").getAttribute("aria-pressed") !== "true"));

$("#hand").addEventListener("click", () => {
  const raised = $("#hand").getAttribute("aria-pressed") !== "true";
  $("#hand").setAttribute("aria-pressed", String(raised));
  $("#hand").textContent = raised ? "Lower hand" : "Raise hand";
  state.client.send({ type: "raise_hand", raised });
});

$("#screen").addEventListener("click", async () => {
  if (state.screen) return stopScreen();
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const track = stream.getVideoTracks()[0];
    state.screen = track;
    track.addEventListener("ended", stopScreen);
    await state.client.publish(stream, { [track.id]: "screen" });
    $("#screen").setAttribute("aria-pressed", "true");
    $("#screen").textContent = "Stop sharing";
  } catch (error) {
    state.screen = null;
    if (error.name !== "NotAllowedError") banner(`The screen could not be shared: ${error.message}`);
  }
});

async function stopScreen() {
  const track = state.screen;
  if (!track) return;
  state.screen = null;
  track.stop();
  $("#screen").setAttribute("aria-pressed", "false");
  $("#screen").textContent = "Share screen";
  await state.client.unpublish(track);
}

$("#invite").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(state.preview.invite_url);
    banner("Invite link copied: whoever opens it joins as a speaker.");
  } catch {
    banner(`Invite link: ${state.preview.invite_url}`);
  }
  setTimeout(() => banner(""), 4000);
});

$("#layout").addEventListener("click", () => {
  const speaker = $("#layout").getAttribute("aria-pressed") !== "true";
  $("#layout").setAttribute("aria-pressed", String(speaker));
  $("#layout").textContent = speaker ? "Grid view" : "Speaker view";
  $("#grid").classList.toggle("speaker-layout", speaker);
});

$("#leave").addEventListener("click", () => state.client.send({ type: "leave" }));
$("#end-all").addEventListener("click", () => {
  if (confirm("End the meeting for everyone?")) state.client.send({ type: "end_meeting" });
});

// -- end view -------------------------------------------------------------------------------

function finish(reason) {
  if (!$("#end").hidden) return;
  state.client?.close();
  state.stream?.getTracks().forEach((track) => track.stop());
  state.screen?.stop();
  $("#end-reason").textContent = REASONS[reason] || "The meeting is over for you.";
  $("#end").dataset.reason = reason;
  $("#rejoin").hidden = !CAN_REJOIN.has(reason);
  show("end");
}
$("#rejoin").addEventListener("click", () => location.reload());

start();
