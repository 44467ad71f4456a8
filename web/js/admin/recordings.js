// The recordings page: every room's recordings, filtered by room and status; play one in a
// dialog, download, share and revoke, stop one under way, delete; zip or delete a selection.
import { $, button, cell, el, secretNote } from "../dom.js";
import { local, sentence } from "../http.js";
import { UNDER_WAY, formatDuration, formatSize, playable, recordedAt } from "../recordings.js";
import { call, recordings as calls } from "./api.js";

export const STATUS = {
  starting: "starting…", active: "recording", ending: "finishing…",
  complete: "complete", failed: "failed", aborted: "aborted",
};
const list = { items: [], cursor: null, shareUrls: new Map() };

function note(text) {
  $("#recordings-note").textContent = text;
}

export async function loadRecordingRooms() {
  const page = await call("GET", "/rooms?limit=100");
  const current = $("#recording-room").value;
  $("#recording-room").replaceChildren(new Option("All rooms", ""),
    ...page.items.map((room) => new Option(room.name, room.id, false, room.id === current)));
}

export async function loadRecordings(more = false) {
  const query = new URLSearchParams({ limit: "50" });
  if ($("#recording-room").value) query.set("room_id", $("#recording-room").value);
  for (const status of $("#recording-status").value.split(",").filter(Boolean)) query.append("status", status);
  if (more && list.cursor) query.set("cursor", list.cursor);
  try {
    const page = await calls.list(query);
    list.items = more ? [...list.items, ...page.items] : page.items;
    list.cursor = page.next_cursor;
  } catch (error) {
    note(`The recordings could not be loaded: ${error.message}.`);
    return;
  }
  // Rows whose recording did not change stay, so a refresh does not stop a selection.
  const old = new Map([...document.querySelectorAll("#recordings tr")].map((row) => [row.dataset.recording, row]));
  const rows = list.items.map((rec) => {
    const key = `${rec.status}|${rec.shared}|${rec.size_bytes}`;
    const row = old.get(rec.id);
    return row && row.dataset.key === key ? row : recordingRow(rec, key);
  });
  $("#recordings").replaceChildren(...rows);
  $("#recordings-empty").hidden = rows.length > 0;
  $("#recordings-more").hidden = !list.cursor;
  picked();
}

function picked() {
  const ids = [...document.querySelectorAll("#recordings .pick:checked")].map((box) => box.value);
  $("#recordings-zip").disabled = !ids.length
    || ids.some((id) => !playable(list.items.find((rec) => rec.id === id) || {}));
  $("#recordings-bulk-delete").disabled = !ids.length;
  const boxes = document.querySelectorAll("#recordings .pick");
  $("#recordings-all").checked = boxes.length > 0 && ids.length === boxes.length;
  return ids;
}

// A button whose failure is told in the note.
function act(label, aria, onClick, danger) {
  return button(label, aria, async () => {
    try {
      await onClick();
    } catch (error) {
      note(sentence(error));
    }
  }, danger);
}

function recordingRow(rec, key) {
  const row = document.createElement("tr");
  row.dataset.recording = rec.id;
  row.dataset.status = rec.status;
  row.dataset.key = key;
  const when = recordedAt(rec);
  const what = `the recording of ${rec.room_name} on ${when}`;
  const pick = document.createElement("td");
  if (!UNDER_WAY.has(rec.status)) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.value = rec.id;
    box.setAttribute("aria-label", `Select ${what}`);
    box.addEventListener("change", picked);
    pick.append(box);
  }
  const status = cell(STATUS[rec.status] || rec.status);
  if (rec.error) status.append(document.createElement("br"), el("span", "error", rec.error));
  if (rec.shared) status.append(document.createElement("br"), document.createTextNode("shared"));
  const actions = document.createElement("td");
  const shown = document.createElement("div");
  if (playable(rec)) {
    actions.append(button("Play", `Play ${what}`, () => play(rec, when)));
    const download = el("a", "", "Download");
    download.href = local(rec.download_url);
    download.download = "";
    download.setAttribute("aria-label", `Download ${what}`);
    actions.append(download);
    actions.append(act(rec.shared ? "New share link" : "Share", `Share ${what}`, async () => {
      const { url } = await calls.share(rec.id);
      list.shareUrls.set(rec.id, url);
      await loadRecordings();
      try {
        await navigator.clipboard.writeText(url);
        note("Share link copied.");
      } catch {
        note("Share link made: copy it from its row.");
      }
    }));
  }
  if (rec.shared) {
    actions.append(act("Revoke share", `Revoke the share link of ${what}`, async () => {
      await calls.unshare(rec.id);
      list.shareUrls.delete(rec.id);
      note("The share link no longer works.");
      await loadRecordings();
    }));
    const url = list.shareUrls.get(rec.id);
    if (url) secretNote(shown, "Share link (whoever has it can watch, until revoked):", url);
  }
  if (UNDER_WAY.has(rec.status)) {
    if (rec.status !== "ending") {
      actions.append(act("Stop", `Stop ${what}`, async () => {
        await calls.stop(rec.id);
        await loadRecordings();
      }, true));
    }
  } else {
    actions.append(act("Delete", `Delete ${what}`, async () => {
      if (!confirm(`Delete ${what}? Its file goes too.`)) return;
      await calls.remove(rec.id);
      note("Recording deleted.");
      await loadRecordings();
    }, true));
  }
  actions.append(shown);
  row.append(pick, cell(rec.room_name), cell(when), cell(formatDuration(rec.duration_s)),
    cell(formatSize(rec.size_bytes)), status, actions);
  return row;
}

function play(rec, when) {
  $("#player-title").textContent = `${rec.room_name}, ${when}`;
  $("#player-video").src = local(rec.media_url);
  $("#player").showModal();
}
$("#player").addEventListener("close", () => {
  $("#player-video").pause();
  $("#player-video").removeAttribute("src");
  $("#player-video").load();
});

$("#recording-filter").addEventListener("submit", async (event) => {
  event.preventDefault();
  await loadRecordings();
});
$("#recordings-refresh").addEventListener("click", () => loadRecordings());
$("#recordings-more").addEventListener("click", () => loadRecordings(true));
$("#recordings-all").addEventListener("change", () => {
  for (const box of document.querySelectorAll("#recordings .pick")) box.checked = $("#recordings-all").checked;
  picked();
});

$("#recordings-zip").addEventListener("click", () => {
  const ids = picked();
  if (!ids.length) return;
  const link = document.createElement("a");
  link.href = calls.zipUrl(ids);
  link.download = "recordings.zip";
  document.body.append(link);
  link.click();
  link.remove();
});

$("#recordings-bulk-delete").addEventListener("click", async () => {
  const ids = picked();
  if (!ids.length || !confirm(`Delete ${ids.length} recording(s)? Their files go too.`)) return;
  try {
    const result = await calls.removeMany(ids);
    const failed = result.failed.map((f) => `${f.id}: ${f.detail}`).join("; ");
    note(`${result.deleted.length} deleted.${failed ? ` Not deleted: ${failed}.` : ""}`);
  } catch (error) {
    note(sentence(error));
  }
  await loadRecordings();
});
