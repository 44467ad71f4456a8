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
// A recording is under way while it is one of these; then complete, failed or aborted.
const UNDER_WAY = new Set(["starting", "active", "ending"]);
const REC_TEXT = { starting: "REC starting…", active: "REC", ending: "REC stopping…" };
const REC_SPOKEN = {
  starting: "Recording is starting.",
  active: "This meeting is being recorded.",
  ending: "Recording is stopping.",
};
const REC_STATUS = {
  starting: "Starting…",
  active: "Recording now",
  ending: "Finishing the file…",
  complete: "Complete",
  failed: "Failed",
  aborted: "Stopped before anything was recorded",
};

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
  recording: null, // the meeting's recording under way: {recording_id, status, error}
  recordRef: null, // the ref of our start/stop request still unanswered
  speaker: null, // participant id of the active speaker
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

// The API hands out absolute URLs under the server's public address. This page is served by
// meetbox itself, so media and downloads are fetched from where the page came from.
function local(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

// A REST call with the link's (or share link's) secret in a header; errors carry the status
// and the problem's detail.
async function request(method, path, headers = {}) {
  const response = await fetch(path, { method, headers });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
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
  if (location.pathname.startsWith("/recording/")) return openShared();
  if (!secret) return problem("This link is incomplete: it should end with #secret=... Ask the organiser for the whole link.");
  try {
    state.preview = await api("/api/v1/join/preview", { secret });
  } catch (error) {
    return problem(`${error.message}.`);
  }
  const { room, role, theme } = state.preview;
  if (theme) applyTheme(theme);
  for (const el of document.querySelectorAll("[data-room-name]")) el.textContent = room.name;
  const recordingsHref = `/recordings/${encodeURIComponent(room.id)}#secret=${encodeURIComponent(secret)}`;
  for (const el of [$("#recordings-link"), $("#end-recordings")]) el.href = recordingsHref;
  if (role === "recordings" || location.pathname.startsWith("/recordings/")) return openRecordings();
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
  $("#record").hidden = state.me.role !== "moderator" || state.preview.room.config.recording?.enabled === false;
  $("#recordings-link").hidden = !maySeeRecordings();
  renderRecording();
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
    el.classList.toggle("speaking", key === state.speaker);
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

/** Highlight whoever speaks now; tiles made later pick it up from state.speaker. */
function showSpeaker(participantId) {
  state.speaker = participantId;
  for (const [id, el] of state.tiles) el.classList.toggle("speaking", id === participantId);
}

function onMessage(message) {
  switch (message.type) {
    case "joined": // also after resuming: the recording may have changed meanwhile
      state.recording = message.recording && UNDER_WAY.has(message.recording.status) ? message.recording : null;
      renderRecording();
      showSpeaker(message.active_speaker ?? null);
      break;
    case "recording":
      onRecording(message);
      break;
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
      showSpeaker(message.participant_id);
      break;
    case "muted_by_moderator":
      setMuted(message.kind === "screen" ? "screen" : message.kind, true, false);
      banner(`A moderator turned off your ${message.kind === "audio" ? "microphone" : message.kind === "video" ? "camera" : "screen share"}.`);
      break;
    case "error":
      if (message.ref && message.ref === state.recordRef) {
        state.recordRef = null;
        recordingNotice(`${state.recording ? "The recording could not be stopped" : "The meeting could not be recorded"}: ${message.message}.`);
        renderRecording();
      } else if (message.code === "forbidden") {
        banner(message.message);
      }
      break;
  }
}

// -- recording in the meeting ----------------------------------------------------------------

function maySeeRecordings() {
  const access = state.preview.room.config.recording?.access || "moderator";
  return (state.preview.role === "moderator" && access !== "admin")
    || (state.preview.role === "speaker" && access === "moderator_speaker");
}

function onRecording(message) {
  if (UNDER_WAY.has(message.status)) {
    if (!state.recording) $("#rec-notice").hidden = true; // a new one: the last notice is old news
    state.recording = message;
  } else {
    state.recording = null;
    if (message.status === "complete") recordingNotice("The recording stopped and was saved.");
    else if (message.status === "failed") recordingNotice(`The recording failed: ${message.error || "no reason given"}.`);
    else recordingNotice("The recording stopped before anything was recorded.");
  }
  state.recordRef = null;
  renderRecording();
}

function renderRecording() {
  const rec = state.recording;
  $("#rec").hidden = !rec;
  if (rec) {
    $("#rec").dataset.status = rec.status;
    $("#rec-text").textContent = REC_TEXT[rec.status];
    $("#rec-spoken").textContent = REC_SPOKEN[rec.status];
  }
  const button = $("#record");
  button.textContent = rec ? "Stop recording" : "Record";
  button.classList.toggle("danger", Boolean(rec));
  button.disabled = Boolean(state.recordRef) || rec?.status === "starting" || rec?.status === "ending";
}

let noticeTimer = 0;
function recordingNotice(text) {
  clearTimeout(noticeTimer);
  $("#rec-notice").textContent = text;
  $("#rec-notice").hidden = false;
  noticeTimer = setTimeout(() => { $("#rec-notice").hidden = true; }, 12000);
}

$("#record").addEventListener("click", () => {
  if (!state.client?.joined) return;
  state.recordRef = `record-${Date.now()}`;
  state.client.send({ type: state.recording ? "stop_recording" : "start_recording", ref: state.recordRef });
  renderRecording();
});

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
  $("#end-recordings").hidden = !maySeeRecordings();
  show("end");
}
$("#rejoin").addEventListener("click", () => location.reload());

// -- recordings view (the recordings link, or a moderator's link at /recordings/...) --------

const list = { items: [], cursor: null, poll: 0, shareUrls: new Map() };

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

async function openRecordings() {
  document.title = `Recordings of ${state.preview.room.name} - meetbox`;
  show("recordings");
  await loadRecordings();
}

function linkHeaders() {
  return { "X-Meetbox-Link": secret };
}

function recordingsStatus(text) {
  $("#recordings-status").textContent = text;
}

// more: the next page after what is shown; otherwise the newest again (as many as shown).
async function loadRecordings(more = false) {
  clearTimeout(list.poll);
  $("#recordings-refresh").disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(more ? 20 : Math.min(100, Math.max(20, list.items.length))) });
    if (more && list.cursor) query.set("cursor", list.cursor);
    const page = await request("GET", `/api/v1/recordings?${query}`, linkHeaders());
    list.items = more ? [...list.items, ...page.items] : page.items;
    list.cursor = page.next_cursor;
    recordingsStatus("");
    renderRecordings();
  } catch (error) {
    if (error.status === 403) {
      $("#recordings-forbidden").hidden = false;
      $("#recordings-refresh").hidden = true;
      $("#recording-list").replaceChildren();
      return;
    }
    recordingsStatus(`The recordings could not be loaded: ${error.message}.`);
  } finally {
    $("#recordings-refresh").disabled = false;
  }
  // While one is under way, look again now and then: it becomes playable when it ends.
  if (list.items.some((rec) => UNDER_WAY.has(rec.status))) list.poll = setTimeout(loadRecordings, 4000);
}

$("#recordings-refresh").addEventListener("click", () => loadRecordings());
$("#recordings-more").addEventListener("click", () => loadRecordings(true));

// Items are kept while their status stays, so a refresh does not interrupt a playing video.
function renderRecordings() {
  const old = new Map([...document.querySelectorAll("#recording-list > li")].map((li) => [li.dataset.recording, li]));
  const items = list.items.map((rec) => {
    const key = `${rec.status}|${rec.size_bytes}|${rec.duration_s}`;
    let item = old.get(rec.id);
    if (!item || item.dataset.key !== key) item = recordingItem(rec, key);
    recordingActions(item, rec);
    return item;
  });
  $("#recording-list").replaceChildren(...items);
  $("#recordings-empty").hidden = items.length > 0;
  $("#recordings-more").hidden = !list.cursor;
}

function recordingItem(rec, key) {
  const item = document.createElement("li");
  item.className = "recording";
  item.dataset.recording = rec.id;
  item.dataset.status = rec.status;
  item.dataset.key = key;
  const when = new Date(rec.started_at || rec.created_at).toLocaleString();
  const title = document.createElement("h2");
  title.textContent = when;
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = [formatDuration(rec.duration_s), formatSize(rec.size_bytes), REC_STATUS[rec.status] || rec.status]
    .filter(Boolean).join(" · ");
  item.append(title, meta);
  if (rec.error) {
    const error = document.createElement("p");
    error.className = "error";
    error.textContent = rec.status === "failed" ? `Failed: ${rec.error}` : rec.error;
    item.append(error);
  }
  if (playable(rec)) {
    const video = document.createElement("video");
    video.controls = true;
    video.playsInline = true;
    video.preload = "metadata";
    video.src = local(rec.media_url);
    video.setAttribute("aria-label", `Recording of ${when}`);
    item.append(video);
  } else if (UNDER_WAY.has(rec.status)) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "It can be played and downloaded once it has ended.";
    item.append(note);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const shared = document.createElement("div");
  shared.className = "share";
  item.append(actions, shared);
  return item;
}

function actionButton(label, aria, onClick, danger = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  if (danger) b.className = "danger";
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await onClick();
    } catch (error) {
      recordingsStatus(`${error.message[0].toUpperCase()}${error.message.slice(1)}.`);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

function recordingActions(item, rec) {
  const when = new Date(rec.started_at || rec.created_at).toLocaleString();
  const actions = item.querySelector(".actions");
  actions.replaceChildren();
  if (playable(rec) && rec.download_url) {
    const download = document.createElement("a");
    download.className = "button download";
    download.href = local(rec.download_url);
    download.download = "";
    download.textContent = "Download";
    download.setAttribute("aria-label", `Download the recording of ${when}`);
    actions.append(download);
  }
  const manage = state.preview.role === "moderator";
  if (manage && !UNDER_WAY.has(rec.status)) {
    if (playable(rec)) {
      actions.append(actionButton(rec.shared ? "New share link" : "Share", `Share the recording of ${when}`, async () => {
        const { url } = await request("POST", `/api/v1/recordings/${encodeURIComponent(rec.id)}/share`, linkHeaders());
        list.shareUrls.set(rec.id, url);
        rec.shared = true;
        recordingActions(item, rec);
        let copied = false;
        try {
          await navigator.clipboard.writeText(url);
          copied = true;
        } catch {
          // no clipboard (permission, insecure origin): the link is shown to copy by hand
        }
        recordingsStatus(copied ? "Share link copied." : "Share link made: copy it from below.");
      }));
    }
    if (rec.shared) {
      actions.append(actionButton("Revoke share", `Revoke the share link of the recording of ${when}`, async () => {
        await request("DELETE", `/api/v1/recordings/${encodeURIComponent(rec.id)}/share`, linkHeaders());
        list.shareUrls.delete(rec.id);
        rec.shared = false;
        recordingActions(item, rec);
        recordingsStatus("The share link no longer works.");
      }));
    }
    actions.append(actionButton("Delete", `Delete the recording of ${when}`, async () => {
      if (!confirm(`Delete the recording of ${when}? This cannot be undone.`)) return;
      await request("DELETE", `/api/v1/recordings/${encodeURIComponent(rec.id)}`, linkHeaders());
      list.items = list.items.filter((other) => other.id !== rec.id);
      renderRecordings();
      recordingsStatus("Recording deleted.");
    }, true));
  }
  const share = item.querySelector(".share");
  const url = rec.shared ? list.shareUrls.get(rec.id) : null;
  share.replaceChildren();
  if (url) {
    const label = document.createElement("p");
    label.className = "note";
    label.textContent = "Share link: whoever has it can watch and download this recording, until it is revoked.";
    const code = document.createElement("code");
    code.className = "share-url";
    code.textContent = url;
    share.append(label, code);
  } else if (rec.shared && manage) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "Shared: a share link to it works.";
    share.append(note);
  }
}

// -- share page (/recording/{id}#share=...) --------------------------------------------------

async function openShared() {
  const share = new URLSearchParams(location.hash.slice(1)).get("share");
  const id = decodeURIComponent(location.pathname.split("/")[2] || "");
  if (!share || !id) {
    return problem("This share link is incomplete: it should end with #share=... Ask whoever shared it for the whole link.");
  }
  let rec;
  try {
    rec = await request("GET", `/api/v1/recordings/${encodeURIComponent(id)}`, { "X-Meetbox-Share": share });
  } catch (error) {
    return problem(error.status === 404
      ? "This share link no longer works: it was revoked or replaced by a newer one, or the recording was deleted. Ask whoever shared it for a new link."
      : `${error.message[0].toUpperCase()}${error.message.slice(1)}.`);
  }
  document.title = `Recording of ${rec.room_name} - meetbox`;
  $("#shared-title").textContent = `Recording of ${rec.room_name}`;
  const when = new Date(rec.started_at || rec.created_at).toLocaleString();
  $("#shared-when").textContent = [when, formatDuration(rec.duration_s), formatSize(rec.size_bytes)].filter(Boolean).join(" · ");
  if (playable(rec)) {
    $("#shared-video").src = local(rec.media_url);
    $("#shared-video").setAttribute("aria-label", `Recording of ${rec.room_name}, ${when}`);
    $("#shared-video").hidden = false;
    $("#shared-download").href = local(rec.download_url);
    $("#shared-actions").hidden = false;
  } else {
    $("#shared-when").textContent += ` · ${REC_STATUS[rec.status] || rec.status}`;
  }
  show("shared");
}

start();
