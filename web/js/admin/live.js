// A room's live meeting: who is in it (remove one), its recording (start, stop, status; it
// looks again every two seconds while one starts or ends), end it for everyone.
import { $, button } from "../dom.js";
import { sentence } from "../http.js";
import { UNDER_WAY } from "../recordings.js";
import { call, recordings } from "./api.js";
import { STATUS } from "./recordings.js";

let liveTimer = 0;
let gone = async () => {};

// done: runs when the meeting is over or could not be read (the list shows the room's status).
export function onGone(done) {
  gone = done;
}

function failed(error) {
  $("#live-recording-error").textContent = sentence(error);
  $("#live-recording-error").hidden = false;
}

async function showLiveRecording(room) {
  clearTimeout(liveTimer);
  if (room.config.recording?.enabled === false) {
    $("#live-recording").textContent = "Recording is off for this room.";
    $("#live-record").hidden = true;
    $("#live-stop").hidden = true;
    return;
  }
  let rec = null;
  try {
    const query = new URLSearchParams({ room_id: room.id, limit: "1" });
    for (const status of UNDER_WAY) query.append("status", status);
    rec = (await recordings.list(query)).items[0] || null;
  } catch (error) {
    $("#live-recording").textContent = `The recording status is unknown: ${error.message}.`;
  }
  if (rec) {
    $("#live-recording").dataset.status = rec.status;
    $("#live-recording").textContent = `Recording: ${STATUS[rec.status]}`;
  } else {
    delete $("#live-recording").dataset.status;
    $("#live-recording").textContent = "Not being recorded.";
  }
  $("#live-record").hidden = Boolean(rec);
  $("#live-stop").hidden = !rec;
  $("#live-stop").disabled = rec?.status === "ending";
  $("#live-record").onclick = async () => {
    $("#live-recording-error").hidden = true;
    $("#live-record").disabled = true;
    try {
      await recordings.start(room.id);
    } catch (error) {
      failed(error);
    } finally {
      $("#live-record").disabled = false;
    }
    await showLiveRecording(room);
  };
  $("#live-stop").onclick = async () => {
    $("#live-recording-error").hidden = true;
    try {
      await recordings.stop(rec.id);
    } catch (error) {
      failed(error);
    }
    await showLiveRecording(room);
  };
  if (rec && rec.status !== "active") {
    liveTimer = setTimeout(() => { if (!$("#live").hidden) showLiveRecording(room); }, 2000);
  }
}

export async function showLive(room) {
  const meetingPath = `/rooms/${encodeURIComponent(room.id)}/meeting`;
  let meeting;
  try {
    meeting = await call("GET", meetingPath);
  } catch {
    $("#live").hidden = true;
    return gone();
  }
  $("#live-title").textContent = `Live meeting in ${room.name} (${meeting.participants.length})`;
  $("#live-people").replaceChildren(...meeting.participants.map((p) => {
    const item = document.createElement("li");
    item.append(document.createTextNode(`${p.nickname} - ${p.role}${p.hand_raised ? " - hand raised" : ""}`),
      button("Remove", `Remove ${p.nickname}`, async () => {
        await call("DELETE", `${meetingPath}/participants/${encodeURIComponent(p.id)}`);
        await showLive(room);
      }, true));
    return item;
  }));
  $("#live-recording-error").hidden = true;
  await showLiveRecording(room);
  $("#live-end").onclick = async () => {
    if (!confirm(`End the meeting in ${room.name} for everyone?`)) return;
    await call("DELETE", meetingPath);
    $("#live").hidden = true;
    await gone();
  };
  $("#live").hidden = false;
}

$("#live-close").addEventListener("click", () => {
  clearTimeout(liveTimer);
  $("#live").hidden = true;
});
