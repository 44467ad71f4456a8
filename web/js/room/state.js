// The meeting as the room page knows it, and how each signaling message changes it:
// reduce(state, message) -> state is pure (no DOM, no I/O, the input is never changed), so it
// is tested without a page (tests/e2e/test_room_state.py). Views render from the state.
//
// Besides the server's messages (docs/signaling.md) it takes two of the page's own:
//   {type: "record_requested", ref}  the moderator asked to start or stop a recording
//   {type: "banner", text}           something to tell the user in the banner
import { UNDER_WAY } from "../recordings.js";

export function initialState() {
  return {
    me: null, // our participant, once joined
    people: new Map(), // participant id -> participant (us included), in join order
    tracks: new Map(), // track id -> {id, participant_id, kind, source}
    chat: [], // chat messages, oldest first; fresh: false for the history sent on joining
    chatEnabled: false,
    screenShareEnabled: false,
    speaker: null, // participant id of the active speaker
    recording: null, // the recording under way: {recording_id, status, error}, or null
    recordRef: null, // the ref of our start/stop request still unanswered
    notice: null, // {text}: the last word on the recording (a new object each time)
    banner: null, // {text}: the last thing to tell the user (a new object each time)
  };
}

function recordingEnded(message) {
  if (message.status === "complete") return "The recording stopped and was saved.";
  if (message.status === "failed") return `The recording failed: ${message.error || "no reason given"}.`;
  return "The recording stopped before anything was recorded.";
}

const MUTED_WHAT = { audio: "microphone", video: "camera" };

export function reduce(state, message) {
  switch (message.type) {
    case "joined": { // also after a resume: the snapshot is the truth, the chat log is kept
      const known = new Set(state.chat.map((m) => m.id));
      const missed = message.chat_history.filter((m) => !known.has(m.id)).map((m) => ({ ...m, fresh: false }));
      return {
        ...state,
        me: message.you,
        people: new Map([message.you, ...message.participants].map((p) => [p.id, p])),
        tracks: new Map(message.tracks.map((t) => [t.id, t])),
        chat: missed.length ? [...state.chat, ...missed] : state.chat,
        chatEnabled: message.chat_enabled,
        screenShareEnabled: message.screen_share_enabled,
        speaker: message.active_speaker ?? null,
        recording: message.recording && UNDER_WAY.has(message.recording.status) ? message.recording : null,
      };
    }
    case "participant_joined":
    case "participant_updated": {
      const person = message.participant;
      const people = new Map(state.people).set(person.id, person);
      return { ...state, people, me: person.id === state.me?.id ? person : state.me };
    }
    case "participant_left": {
      const people = new Map(state.people);
      people.delete(message.participant_id);
      const tracks = new Map([...state.tracks].filter(([, t]) => t.participant_id !== message.participant_id));
      return { ...state, people, tracks };
    }
    case "track_published":
      return { ...state, tracks: new Map(state.tracks).set(message.track.id, message.track) };
    case "track_unpublished": {
      if (!state.tracks.has(message.track_id)) return state;
      const tracks = new Map(state.tracks);
      tracks.delete(message.track_id);
      return { ...state, tracks };
    }
    case "chat":
      return { ...state, chat: [...state.chat, { ...message, fresh: true }] };
    case "active_speaker":
      return { ...state, speaker: message.participant_id };
    case "recording":
      if (UNDER_WAY.has(message.status)) {
        // A new one: the last notice is old news.
        return { ...state, recording: message, recordRef: null, notice: state.recording ? state.notice : null };
      }
      return { ...state, recording: null, recordRef: null, notice: { text: recordingEnded(message) } };
    case "record_requested":
      return { ...state, recordRef: message.ref };
    case "muted_by_moderator":
      return { ...state, banner: { text: `A moderator turned off your ${MUTED_WHAT[message.kind] || "screen share"}.` } };
    case "banner":
      return { ...state, banner: { text: message.text } };
    case "error":
      if (message.ref && message.ref === state.recordRef) {
        const what = state.recording ? "The recording could not be stopped" : "The meeting could not be recorded";
        return { ...state, recordRef: null, notice: { text: `${what}: ${message.message}.` } };
      }
      if (message.code === "forbidden") return { ...state, banner: { text: message.message } };
      return state;
    default:
      return state;
  }
}
