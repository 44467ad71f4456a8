// The share page (/recording/{id}#share=...): one recording, to watch and download.
import { $ } from "../dom.js";
import { local, sentence } from "../http.js";
import { formatDuration, formatSize, playable, recordedAt } from "../recordings.js";
import { STATUS } from "./recordings.js";
import { problem, show } from "./sections.js";

// calls: recordingsApi() over the share secret.
export async function openShared(id, calls) {
  let rec;
  try {
    rec = await calls.get(id);
  } catch (error) {
    return problem(error.status === 404
      ? "This share link no longer works: it was revoked or replaced by a newer one, or the recording was deleted. Ask whoever shared it for a new link."
      : sentence(error));
  }
  document.title = `Recording of ${rec.room_name} - meetbox`;
  $("#shared-title").textContent = `Recording of ${rec.room_name}`;
  const when = recordedAt(rec);
  $("#shared-when").textContent = [when, formatDuration(rec.duration_s), formatSize(rec.size_bytes)].filter(Boolean).join(" · ");
  if (playable(rec)) {
    $("#shared-video").src = local(rec.media_url);
    $("#shared-video").setAttribute("aria-label", `Recording of ${rec.room_name}, ${when}`);
    $("#shared-video").hidden = false;
    $("#shared-download").href = local(rec.download_url);
    $("#shared-actions").hidden = false;
  } else {
    $("#shared-when").textContent += ` · ${STATUS[rec.status] || rec.status}`;
  }
  show("shared");
}
