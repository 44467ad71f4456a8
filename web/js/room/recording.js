// Recording in the meeting: the REC indicator everyone sees (its live region announces
// changes), the last word on a recording (a notice for 12 s) and the moderator's Record button.
import { $ } from "../dom.js";

const REC_TEXT = { starting: "REC starting…", active: "REC", ending: "REC stopping…" };
const REC_SPOKEN = {
  starting: "Recording is starting.",
  active: "This meeting is being recorded.",
  ending: "Recording is stopping.",
};

let noticeTimer = 0;

export function render(state, previous) {
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
  if (state.notice === previous.notice) return;
  if (!state.notice) {
    $("#rec-notice").hidden = true;
    return;
  }
  clearTimeout(noticeTimer);
  $("#rec-notice").textContent = state.notice.text;
  $("#rec-notice").hidden = false;
  noticeTimer = setTimeout(() => { $("#rec-notice").hidden = true; }, 12000);
}

// The Record button asks to start or stop; ask(ref, type) sends and remembers the ref.
export function onRecord(ask) {
  $("#record").addEventListener("click", () => ask(`record-${Date.now()}`));
}
