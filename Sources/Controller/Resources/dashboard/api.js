// The operator API from the browser: every call carries the token as a bearer header; errors
// become ApiError with the API's own message ({"error": ..., "field": ...}).

/** A refused or failed call: status 0 when the daemon could not be reached. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

/** A client of /api/v1 with one token. `onUnauthorized` is called on any 401. */
export class Api {
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized || (() => {});
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`/api/v1${path}`, init);
    } catch (error) {
      throw new ApiError(0, "cannot reach the daemon");
    }
    if (response.status === 204) return null;
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
    }
    if (!response.ok) {
      const message = data && data.error ? data.error : `HTTP ${response.status}`;
      const failure = new ApiError(response.status, message, data && data.field);
      if (response.status === 401) this.onUnauthorized(failure);
      throw failure;
    }
    return data;
  }

  get(path) {
    return this.call("GET", path);
  }

  post(path, body) {
    return this.call("POST", path, body);
  }

  /** Every lamp, a page of 10,000 at a time; `progress(loaded, total)` after each page. */
  async allLamps(query = "", progress = () => {}) {
    const lamps = [];
    let total = Infinity;
    while (lamps.length < total) {
      const page = await this.get(`/lamps?limit=10000&offset=${lamps.length}${query}`);
      total = page.total;
      for (const lamp of page.lamps) lamps.push(lamp);
      progress(lamps.length, total);
      if (page.lamps.length === 0) break;
    }
    return lamps;
  }
}

/** Checks a token: its name and role (GET /whoami), or ApiError. */
export async function whoAmI(token) {
  return new Api(token).get("/whoami");
}

/** The stream's WebSocket URL on this page's origin. */
export function streamURL(token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/stream?token=${encodeURIComponent(token)}`;
}
