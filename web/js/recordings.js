// Recordings as both pages see them: which statuses are under way, what can be played, how a
// length and a size read, and the REST calls on one recording. No DOM: the room page and the
// admin console each lay them out their own way.

// A recording is under way while it is one of these; then complete, failed or aborted.
export const UNDER_WAY = new Set(["starting", "active", "ending"]);

export function playable(rec) {
  return Boolean(rec.media_url) && (rec.status === "complete" || (rec.status === "failed" && rec.size_bytes > 0));
}

export function recordedAt(rec) {
  return new Date(rec.started_at || rec.created_at).toLocaleString();
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatSize(bytes) {
  if (!bytes) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${unit ? value.toFixed(value < 10 ? 1 : 0) : value} ${units[unit]}`;
}

// The calls, through an api from http.js's apiClient (it carries the credentials).
export function recordingsApi(api) {
  const one = (id) => `/recordings/${encodeURIComponent(id)}`;
  const ids = (list) => list.map(encodeURIComponent).join(",");
  return {
    list: (query) => api("GET", `/recordings?${query}`),
    get: (id) => api("GET", one(id)),
    share: (id) => api("POST", `${one(id)}/share`),
    unshare: (id) => api("DELETE", `${one(id)}/share`),
    remove: (id) => api("DELETE", one(id)),
    removeMany: (list) => api("DELETE", `/recordings?ids=${ids(list)}`),
    stop: (id) => api("POST", `${one(id)}/stop`),
    start: (roomId) => api("POST", `/rooms/${encodeURIComponent(roomId)}/recordings`, { json: {} }),
    zipUrl: (list) => `/api/v1/recordings/download?ids=${ids(list)}`,
  };
}
