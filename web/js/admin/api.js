// The console's calls: the session cookie, and X-Meetbox-Console: 1 on every request (the
// server's CSRF guard). A 401 anywhere but the login means the session is gone: log in again.
import { apiClient } from "../http.js";
import { recordingsApi } from "../recordings.js";

let unauthorized = () => {};

export function onUnauthorized(handler) {
  unauthorized = handler;
}

const api = apiClient({
  headers: { "X-Meetbox-Console": "1" },
  onError: (error, path) => { if (error.status === 401 && path !== "/admin/login") unauthorized(); },
});

// body: sent as JSON when given.
export function call(method, path, body) {
  return api(method, path, body === undefined ? {} : { json: body });
}

// A file as the request body, as it is (its own Content-Type).
export function upload(method, path, file) {
  return api(method, path, { body: file });
}

export const recordings = recordingsApi(api);
