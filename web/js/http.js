// The one way the pages call the REST API: JSON in and out, a problem document (RFC 9457)
// as an HttpError carrying its status, the caller's credentials as headers.

export class HttpError extends Error {
  constructor(status, problem) {
    super(problem.detail || `the server answered ${status}`);
    this.name = "HttpError";
    this.status = status;
    this.problem = problem; // the problem document: {type, title, status, detail, ...}
  }
}

// json: a body sent as JSON; body: one sent as it is (a file). 204 resolves to null.
export async function request(method, path, { json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new HttpError(response.status, data);
  return data;
}

// A caller of /api/v1 with its own credentials (a link's secret, the console's session
// header); onError sees every failure before the caller does.
export function apiClient({ headers = {}, onError = null } = {}) {
  return async (method, path, { json, body, headers: extra = {} } = {}) => {
    try {
      return await request(method, `/api/v1${path}`, { json, body, headers: { ...headers, ...extra } });
    } catch (error) {
      onError?.(error, path);
      throw error;
    }
  };
}

// An error's message as a sentence: "Recording is off for this room."
export function sentence(error) {
  return `${error.message[0].toUpperCase()}${error.message.slice(1)}.`;
}

// The API hands out absolute URLs under the server's public address. The pages are served by
// meetbox itself, so media and downloads are fetched from where the page came from.
export function local(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}
