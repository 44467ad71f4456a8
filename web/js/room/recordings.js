// The recordings view (the recordings link, or a moderator's link at /recordings/...): the
// room's recordings to play and download; a moderator also shares, revokes and deletes.
import { $, el } from "../dom.js";
import { local, sentence } from "../http.js";
import { UNDER_WAY, formatDuration, formatSize, playable, recordedAt } from "../recordings.js";
import { show } from "./sections.js";

export const STATUS = {
  starting: "Starting…",
  active: "Recording now",
  ending: "Finishing the file…",
  complete: "Complete",
  failed: "Failed",
  aborted: "Stopped before anything was recorded",
};

// Whether this link's role may see the room's recordings (the room's recording access).
export function maySeeRecordings(preview) {
  const access = preview.room.config.recording?.access || "moderator";
  return (preview.role === "moderator" && access !== "admin")
    || (preview.role === "speaker" && access === "moderator_speaker");
}

const list = { items: [], cursor: null, poll: 0, shareUrls: new Map(), calls: null, manage: false };

// calls: recordingsApi() over the link's secret.
export async function openRecordings(preview, calls) {
  list.calls = calls;
  list.manage = preview.role === "moderator";
  document.title = `Recordings of ${preview.room.name} - meetbox`;
  show("recordings");
  await load();
}

function status(text) {
  $("#recordings-status").textContent = text;
}

// more: the next page after what is shown; otherwise the newest again (as many as shown).
async function load(more = false) {
  clearTimeout(list.poll);
  $("#recordings-refresh").disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(more ? 20 : Math.min(100, Math.max(20, list.items.length))) });
    if (more && list.cursor) query.set("cursor", list.cursor);
    const page = await list.calls.list(query);
    list.items = more ? [...list.items, ...page.items] : page.items;
    list.cursor = page.next_cursor;
    status("");
    render();
  } catch (error) {
    if (error.status === 403) {
      $("#recordings-forbidden").hidden = false;
      $("#recordings-refresh").hidden = true;
      $("#recording-list").replaceChildren();
      return;
    }
    status(`The recordings could not be loaded: ${error.message}.`);
  } finally {
    $("#recordings-refresh").disabled = false;
  }
  // While one is under way, look again now and then: it becomes playable when it ends.
  if (list.items.some((rec) => UNDER_WAY.has(rec.status))) list.poll = setTimeout(load, 4000);
}

$("#recordings-refresh").addEventListener("click", () => load());
$("#recordings-more").addEventListener("click", () => load(true));

// Items are kept while their status stays, so a refresh does not interrupt a playing video.
function render() {
  const old = new Map([...document.querySelectorAll("#recording-list > li")].map((li) => [li.dataset.recording, li]));
  const items = list.items.map((rec) => {
    const key = `${rec.status}|${rec.size_bytes}|${rec.duration_s}`;
    let item = old.get(rec.id);
    if (!item || item.dataset.key !== key) item = recordingItem(rec, key);
    actions(item, rec);
    return item;
  });
  $("#recording-list").replaceChildren(...items);
  $("#recordings-empty").hidden = items.length > 0;
  $("#recordings-more").hidden = !list.cursor;
}

function recordingItem(rec, key) {
  const item = el("li", "recording");
  item.dataset.recording = rec.id;
  item.dataset.status = rec.status;
  item.dataset.key = key;
  const when = recordedAt(rec);
  const meta = [formatDuration(rec.duration_s), formatSize(rec.size_bytes), STATUS[rec.status] || rec.status];
  item.append(el("h2", "", when), el("p", "meta", meta.filter(Boolean).join(" · ")));
  if (rec.error) item.append(el("p", "error", rec.status === "failed" ? `Failed: ${rec.error}` : rec.error));
  if (playable(rec)) {
    const video = document.createElement("video");
    video.controls = true;
    video.playsInline = true;
    video.preload = "metadata";
    video.src = local(rec.media_url);
    video.setAttribute("aria-label", `Recording of ${when}`);
    item.append(video);
  } else if (UNDER_WAY.has(rec.status)) {
    item.append(el("p", "note", "It can be played and downloaded once it has ended."));
  }
  item.append(el("div", "actions"), el("div", "share"));
  return item;
}

// A button that is off while its call runs; a failure is told in the status line.
function actionButton(label, aria, onClick, danger = false) {
  const b = el("button", danger ? "danger" : "", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await onClick();
    } catch (error) {
      status(sentence(error));
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

function actions(item, rec) {
  const when = recordedAt(rec);
  const buttons = item.querySelector(".actions");
  buttons.replaceChildren();
  if (playable(rec) && rec.download_url) {
    const download = el("a", "button download", "Download");
    download.href = local(rec.download_url);
    download.download = "";
    download.setAttribute("aria-label", `Download the recording of ${when}`);
    buttons.append(download);
  }
  if (list.manage && !UNDER_WAY.has(rec.status)) {
    if (playable(rec)) {
      buttons.append(actionButton(rec.shared ? "New share link" : "Share", `Share the recording of ${when}`, async () => {
        const { url } = await list.calls.share(rec.id);
        list.shareUrls.set(rec.id, url);
        rec.shared = true;
        actions(item, rec);
        let copied = false;
        try {
          await navigator.clipboard.writeText(url);
          copied = true;
        } catch {
          // no clipboard (permission, insecure origin): the link is shown to copy by hand
        }
        status(copied ? "Share link copied." : "Share link made: copy it from below.");
      }));
    }
    if (rec.shared) {
      buttons.append(actionButton("Revoke share", `Revoke the share link of the recording of ${when}`, async () => {
        await list.calls.unshare(rec.id);
        list.shareUrls.delete(rec.id);
        rec.shared = false;
        actions(item, rec);
        status("The share link no longer works.");
      }));
    }
    buttons.append(actionButton("Delete", `Delete the recording of ${when}`, async () => {
      if (!confirm(`Delete the recording of ${when}? This cannot be undone.`)) return;
      await list.calls.remove(rec.id);
      list.items = list.items.filter((other) => other.id !== rec.id);
      render();
      status("Recording deleted.");
    }, true));
  }
  const share = item.querySelector(".share");
  const url = rec.shared ? list.shareUrls.get(rec.id) : null;
  share.replaceChildren();
  if (url) {
    const text = "Share link: whoever has it can watch and download this recording, until it is revoked.";
    share.append(el("p", "note", text), el("code", "share-url", url));
  } else if (rec.shared && list.manage) {
    share.append(el("p", "note", "Shared: a share link to it works."));
  }
}
