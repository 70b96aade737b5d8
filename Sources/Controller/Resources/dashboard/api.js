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

  /**
   * Every lamp, in pages of 10,000 (the API's largest): the first says how many there are,
   * the rest are asked for four at a time (the daemon encodes them in parallel). `progress(loaded,
   * total)` after each page.
   */
  async allLamps(query = "", progress = () => {}) {
    const size = 10000;
    const first = await this.get(`/lamps?limit=${size}&offset=0${query}`);
    let loaded = first.lamps.length;
    progress(loaded, first.total);
    const offsets = [];
    for (let offset = size; offset < first.total; offset += size) offsets.push(offset);
    const read = async (offset) => {
      const page = await this.get(`/lamps?limit=${size}&offset=${offset}${query}`);
      loaded += page.lamps.length;
      progress(loaded, first.total);
      return page.lamps;
    };
    const pages = [];
    for (let start = 0; start < offsets.length; start += 4) {
      pages.push(...(await Promise.all(offsets.slice(start, start + 4).map(read))));
    }
    // A lamp registered between the pages can shift the ids; the stream's unknown-lamp reload mends that.
    const seen = new Set();
    const lamps = [];
    for (const lamp of [first.lamps, ...pages].flat()) {
      if (!seen.has(lamp.id)) {
        seen.add(lamp.id);
        lamps.push(lamp);
      }
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
