// The page a room link opens: join -> devices -> meeting -> end; also the recordings view
// (/recordings/{room}) and a recording's share page (/recording/{id}#share=...).
// Signaling messages go through reduce() (room/state.js); the views render from the state.
import { $ } from "./dom.js";
import { apiClient } from "./http.js";
import { MeetboxClient } from "./meetbox-client.js";
import { recordingsApi } from "./recordings.js";
import * as chat from "./room/chat.js";
import * as controls from "./room/controls.js";
import { isOver, openEnd } from "./room/end.js";
import * as grid from "./room/grid.js";
import * as people from "./room/people.js";
import { devices, nickname, openJoin, startMuted } from "./room/prejoin.js";
import * as recording from "./room/recording.js";
import { maySeeRecordings, openRecordings } from "./room/recordings.js";
import { banner, problem, show } from "./room/sections.js";
import { openShared } from "./room/shared.js";
import { initialState, reduce } from "./room/state.js";
import { applyTheme } from "./room/theme.js";

const fragment = new URLSearchParams(location.hash.slice(1));
const secret = fragment.get("secret");
const api = apiClient();

const page = { preview: null, client: null, state: initialState() };
// For tests and the curious.
window.meetboxRoom = {
  get preview() { return page.preview; },
  get client() { return page.client; },
  get stream() { return devices.stream; },
  get state() { return page.state; },
  get me() { return page.state.me; },
  get people() { return page.state.people; },
};

const send = (message) => page.client.send(message);

function dispatch(message) {
  const previous = page.state;
  page.state = reduce(previous, message);
  const state = page.state;
  grid.render(state);
  people.render(state, previous, send);
  chat.render(state);
  recording.render(state, previous);
  if (state.banner !== previous.banner) banner(state.banner?.text ?? "");
}

const say = (text) => dispatch({ type: "banner", text });

async function start() {
  if (location.pathname.startsWith("/recording/")) {
    const share = fragment.get("share");
    const id = decodeURIComponent(location.pathname.split("/")[2] || "");
    if (!share || !id) {
      return problem("This share link is incomplete: it should end with #share=... Ask whoever shared it for the whole link.");
    }
    return openShared(id, recordingsApi(apiClient({ headers: { "X-Meetbox-Share": share } })));
  }
  if (!secret) return problem("This link is incomplete: it should end with #secret=... Ask the organiser for the whole link.");
  try {
    page.preview = await api("POST", "/join/preview", { json: { secret } });
  } catch (error) {
    return problem(`${error.message}.`);
  }
  const { room, role, theme } = page.preview;
  if (theme) applyTheme(theme);
  for (const el of document.querySelectorAll("[data-room-name]")) el.textContent = room.name;
  const recordingsHref = `/recordings/${encodeURIComponent(room.id)}#secret=${encodeURIComponent(secret)}`;
  for (const el of [$("#recordings-link"), $("#end-recordings")]) el.href = recordingsHref;
  if (role === "recordings" || location.pathname.startsWith("/recordings/")) {
    return openRecordings(page.preview, recordingsApi(apiClient({ headers: { "X-Meetbox-Link": secret } })));
  }
  document.title = `${room.name} - meetbox`;
  controls.init(page, say);
  chat.onSend(send);
  recording.onRecord((ref) => {
    if (!page.client?.joined) return;
    dispatch({ type: "record_requested", ref });
    send({ type: page.state.recording ? "stop_recording" : "start_recording", ref });
  });
  openJoin(page.preview, enter);
}

async function enter() {
  $("#enter").disabled = true;
  await devices.ready;
  let grant;
  try {
    grant = await api("POST", "/join", { json: { secret, nickname: nickname() } });
  } catch (error) {
    $("#enter").disabled = false;
    return problem(`${error.message}.`);
  }
  // This page is served by meetbox itself: its WebSocket is on the same origin.
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const client = new MeetboxClient(wsUrl, grant.token, { iceServers: grant.ice_servers });
  page.client = client;
  let refusal = null; // the server says why before it closes
  client.addEventListener("message", ({ detail }) => {
    if (detail.type === "error" && !client.joined) refusal = detail;
    dispatch(detail);
    if (detail.type === "muted_by_moderator") controls.setMuted(detail.kind, true, false);
  });
  client.addEventListener("track", ({ detail }) => grid.showTrack(detail));
  client.addEventListener("reconnecting", () => say("Connection lost. Reconnecting..."));
  client.addEventListener("reconnected", () => say(""));
  client.addEventListener("close", ({ detail }) => { if (client.joined) finish(detail.bye || "connection_lost"); });
  try {
    await client.connect();
  } catch {
    const why = { room_full: "The meeting is full.", kicked: "You were removed from this meeting." };
    return problem(refusal ? (why[refusal.code] || `${refusal.message}.`) : "The meeting could not be joined. Try the link again in a moment.");
  }
  const { me, screenShareEnabled } = page.state;
  controls.offer({
    me,
    screenShareEnabled,
    recordingEnabled: page.preview.room.config.recording?.enabled !== false,
    maySeeRecordings: maySeeRecordings(page.preview),
  });
  show("meeting");
  const stream = devices.stream;
  if (stream) {
    const muted = startMuted();
    if (stream.getAudioTracks()[0] && muted.audio) controls.setMuted("audio", true);
    if (stream.getVideoTracks()[0] && muted.video) controls.setMuted("video", true);
    grid.showLocal(stream);
    try {
      await client.publish(stream);
    } catch (error) {
      say(`Your camera and microphone could not be shared: ${error.message}`);
    }
  }
  controls.devicesShared();
}

function finish(reason) {
  if (isOver()) return;
  page.client?.close();
  devices.stream?.getTracks().forEach((track) => track.stop());
  controls.screenTrack()?.stop();
  openEnd(reason, maySeeRecordings(page.preview));
}

start();
