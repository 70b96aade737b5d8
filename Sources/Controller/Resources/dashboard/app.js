// The Lamplighter dashboard: sign-in, the fleet map kept live by the event stream, commands
// with their progress, a lamp's detail, lighting programs, events and the audit log. Plain
// ES modules served by lamplighterd itself: no build step, nothing fetched from elsewhere.
//
// Data flow: the stream is subscribed first (all status reports, statusIntervalSeconds 0, so
// no final level of a fade is thinned away), then every lamp is read in pages of 10,000;
// events that arrive meanwhile are held and replayed on top of the pages, so nothing is lost.
// Events change the lamp records at once; the map and the counters repaint at most four
// times a second. After a reconnect the lamps are read again.

import { Api, ApiError, whoAmI, streamURL } from "./api.js";
import { CATEGORIES, FleetMap, categoryOf, project } from "./map.js";
import { drawProgramChart } from "./program-chart.js";

const TOKEN_KEY = "lamplighter.token";
const MESSAGE_KEY = "lamplighter.signinMessage";
const SELECTION_GROUP_KEY = "lamplighter.selectionGroup";
const SELECTION_DESCRIPTION = "dashboard selection";
const LIVE_EVENTS_SHOWN = 40;
const LIST_LIMIT = 200;

const $ = (id) => document.getElementById(id);
const numbers = new Intl.NumberFormat("en");
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

const app = {
  api: null,
  who: null,
  lamps: [],
  index: new Map(),
  map: null,
  selection: new Set(),
  socket: null,
  socketAttempts: 0,
  reconnectTimer: 0,
  subscribed: null,
  held: null, // events that arrived while the lamps were being read
  loadedOnce: false,
  reloadTimer: 0,
  countsDirty: true,
  listsDirty: true,
  liveEvents: [],
  liveDirty: false,
  command: null,
  detailId: null,
  detailTimer: 0,
  groups: [],
  createdSelectionGroup: false,
  signingOut: false,
  programsLoaded: false,
  firstFramePending: false,
  streamMessages: 0,
  loading: null, // the read of every lamp under way
  loadAgain: false,
  oldestUnshown: null, // the daemon's time of the oldest lamp change not yet drawn
  latencies: [], // { at, ms }: per frame, from the oldest change in it to the frame
};

// MARK: Small helpers

function element(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "–";
}

function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${decimal.format(value)}%`;
}

function watts(value) {
  return value >= 1000 ? `${decimal.format(value / 1000)} kW` : `${decimal.format(value)} W`;
}

function showError(id, error) {
  $(id).textContent = error ? (error instanceof Error ? error.message : String(error)) : "";
}

function setText(id, text, value) {
  const node = $(id);
  if (!node) return;
  if (node.textContent !== text) node.textContent = text;
  if (value !== undefined) node.dataset.value = String(value);
}

// MARK: Sign-in

async function boot() {
  $("signin-form").addEventListener("submit", signIn);
  const token = sessionStorage.getItem(TOKEN_KEY);
  const message = sessionStorage.getItem(MESSAGE_KEY);
  sessionStorage.removeItem(MESSAGE_KEY);
  if (token) {
    try {
      const who = await whoAmI(token);
      return start(token, who);
    } catch (error) {
      if (error.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        return showSignIn(`That token is no longer valid: ${error.message}. Sign in again.`);
      }
      return showSignIn(error.message);
    }
  }
  showSignIn(message || "");
}

function showSignIn(message) {
  $("app").hidden = true;
  $("signin").hidden = false;
  showError("signin-error", message);
  document.body.dataset.state = "signin";
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return showError("signin-error", "Paste an API token.");
  $("signin-button").disabled = true;
  showError("signin-error", "");
  try {
    const who = await whoAmI(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    await start(token, who);
  } catch (error) {
    if (error.status === 401) {
      showError("signin-error", `That token was refused: ${error.message}.`);
    } else if (error.status === 0) {
      showError("signin-error", "Cannot reach the daemon: is lamplighterd running?");
    } else {
      showError("signin-error", error.message);
    }
    document.body.dataset.state = "refused";
  } finally {
    $("signin-button").disabled = false;
  }
}

/** Forgets the token and starts over (a reload clears every view and the stream). */
async function signOut(message) {
  if (app.signingOut) return;
  app.signingOut = true;
  const group = sessionStorage.getItem(SELECTION_GROUP_KEY);
  if (group && app.api && !message) {
    try {
      await app.api.call("DELETE", `/groups/${encodeURIComponent(group)}`);
    } catch (error) {
      // Gone already, or not ours to delete: nothing to do.
    }
  }
  sessionStorage.removeItem(SELECTION_GROUP_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  if (message) sessionStorage.setItem(MESSAGE_KEY, message);
  if (app.socket) app.socket.close(1000, "signed out");
  location.hash = "";
  location.reload();
}

async function start(token, who) {
  app.api = new Api(token, (error) => signOut(`Your token stopped working: ${error.message}. Sign in again.`));
  app.who = who;
  document.body.dataset.role = who.role;
  if (who.role === "viewer") {
    for (const node of document.querySelectorAll('[data-role="operator"]')) node.remove();
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  setText("who-name", who.name);
  setText("who-role", who.role);
  document.body.dataset.state = "app";
  $("signout").addEventListener("click", () => signOut());

  app.map = new FleetMap($("map"), {
    select: selectFromMap,
    viewChanged: () => {},
    describe: describeLamp,
    drawn: afterDraw,
  });
  app.map.setTiles(who.mapTiles);
  $("zoom-in").addEventListener("click", () => app.map.zoom(1.6));
  $("zoom-out").addEventListener("click", () => app.map.zoom(1 / 1.6));
  $("zoom-fit").addEventListener("click", () => app.map.fit());
  buildLegend();
  bindViews();
  bindFind();
  if ($("command-form")) bindCommands();
  window.addEventListener("pagehide", () => {
    const group = sessionStorage.getItem(SELECTION_GROUP_KEY);
    if (group && app.createdSelectionGroup) {
      fetch(`/api/v1/groups/${encodeURIComponent(group)}`, {
        method: "DELETE", keepalive: true, headers: { Authorization: `Bearer ${app.api.token}` },
      }).catch(() => {});
      sessionStorage.removeItem(SELECTION_GROUP_KEY);
    }
  });
  exposeForTests();
  await connectStream();
  await loadFleet();
  loadGroups();
}

// MARK: The fleet

/** A lamp record from a LampView. */
function lampRecord(view) {
  const placed = typeof view.latitude === "number" && typeof view.longitude === "number";
  const [x, y] = placed ? project(view.longitude, view.latitude) : [NaN, NaN];
  const reported = view.reported || null;
  return {
    id: view.id,
    name: view.name || null,
    groups: view.groups || [],
    latitude: placed ? view.latitude : null,
    longitude: placed ? view.longitude : null,
    x,
    y,
    online: view.online,
    level: reported ? reported.level : null,
    lit: reported ? reported.lit : false,
    mode: reported ? reported.mode : null,
    faults: reported ? reported.faults : [],
    power: reported ? reported.powerWatts : 0,
    program: view.program || null,
  };
}

/** Reads every lamp (one read at a time: a read asked for meanwhile runs once more after it). */
async function loadFleet() {
  if (app.loading) {
    app.loadAgain = true;
    return app.loading;
  }
  app.loading = readFleet();
  try {
    await app.loading;
  } finally {
    app.loading = null;
  }
  if (app.loadAgain) {
    app.loadAgain = false;
    await loadFleet();
  }
}

async function readFleet() {
  app.held = [];
  const message = $("map-message");
  if (!app.loadedOnce) message.textContent = "Reading the lamps…";
  let views;
  try {
    views = await app.api.allLamps("", (loaded, total) => {
      if (!app.loadedOnce) message.textContent = `Reading the lamps: ${numbers.format(loaded)} of ${numbers.format(total)}`;
    });
  } catch (error) {
    app.held = null;
    message.textContent = `Cannot read the lamps: ${error.message}`;
    return;
  }
  const lamps = views.map(lampRecord);
  const index = new Map(lamps.map((lamp, slot) => [lamp.id, slot]));
  const selected = [...app.selection].map((slot) => app.lamps[slot] && app.lamps[slot].id);
  app.lamps = lamps;
  app.index = index;
  app.selection = new Set(selected.map((id) => index.get(id)).filter((slot) => slot !== undefined));
  const held = app.held;
  app.held = null;
  for (const event of held) applyEvent(event, true);
  app.map.setLamps(lamps);
  app.map.setSelection(app.selection);
  const placed = Number($("map").dataset.lamps);
  if (!app.loadedOnce) {
    // For benchmarks: milliseconds from navigation to the lamps read, and to their first frame.
    $("map").dataset.lampsReadMs = String(Math.round(performance.now()));
    app.firstFramePending = true;
    app.map.fit();
    app.loadedOnce = true;
  }
  message.textContent =
    lamps.length === 0
      ? "No lamps are registered yet: lampctl lamps generate --count 1000 --latitude 52.37 --longitude 4.90"
      : placed === 0
        ? "No lamp has a place: register latitude and longitude to see them here."
        : "";
  const datalist = $("lamp-ids");
  datalist.replaceChildren(...lamps.slice(0, 2000).map((lamp) => element("option", { value: lamp.id })));
  app.countsDirty = true;
  app.listsDirty = true;
  $("map").dataset.loaded = "true";
  updateSelectionCount();
  app.map.invalidate();
}

/** Reads every lamp again soon (a lamp we do not know appeared, or the stream reconnected). */
function scheduleReload(delay = 1500) {
  if (app.reloadTimer) return;
  app.reloadTimer = setTimeout(() => {
    app.reloadTimer = 0;
    loadFleet();
  }, delay);
}

async function loadGroups() {
  try {
    app.groups = (await app.api.get("/groups")).filter((group) => !(group.description || "").startsWith(SELECTION_DESCRIPTION));
  } catch (error) {
    app.groups = [];
  }
  const select = $("target-group");
  if (select) {
    select.replaceChildren(
      ...app.groups.map((group) => element("option", { value: group.name, text: `${group.name} (${numbers.format(group.lamps)})` })),
    );
    if (app.groups.length === 0) select.append(element("option", { value: "", text: "no groups" }));
  }
}

// MARK: The live stream

function connectStream() {
  clearTimeout(app.reconnectTimer);
  setConnection("connecting", "connecting…");
  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    const socket = new WebSocket(streamURL(app.api.token));
    app.socket = socket;
    app.subscribed = settle;
    // Read the lamps even if the stream does not answer soon; it catches up when it does.
    setTimeout(settle, 4000);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ op: "subscribe", channels: ["fleet"], statusIntervalSeconds: 0 }));
    });
    socket.addEventListener("message", (message) => {
      app.streamMessages += 1;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (event.type === "subscribed") {
        const reconnected = app.socketAttempts > 0;
        app.socketAttempts = 0;
        setConnection("live", "live");
        settle();
        if (reconnected && app.loadedOnce) loadFleet();
        return;
      }
      if (app.held) app.held.push(event);
      else applyEvent(event);
    });
    socket.addEventListener("close", (close) => {
      settle();
      if (app.socket !== socket || app.signingOut) return;
      if (close.code === 4401) {
        signOut(`The event stream refused the token: ${close.reason || "not valid"}. Sign in again.`);
        return;
      }
      app.socketAttempts += 1;
      const wait = Math.min(10000, 500 * 2 ** Math.min(app.socketAttempts, 5)) * (0.75 + Math.random() * 0.5);
      const why = close.reason ? ` (${close.reason})` : "";
      setConnection("down", `stream closed${why}; reconnecting in ${Math.round(wait / 1000)} s`);
      app.reconnectTimer = setTimeout(connectStream, wait);
    });
  });
}

function setConnection(state, text) {
  const node = $("connection");
  node.dataset.state = state;
  node.textContent = text;
  $("app").dataset.live = state === "live" ? "true" : "false";
}

/** Applies one stream event to the lamp records; `replayed`: held while the lamps were read. */
function applyEvent(event, replayed = false) {
  const slot = event.lamp !== undefined ? app.index.get(event.lamp) : undefined;
  const lamp = slot === undefined ? null : app.lamps[slot];
  switch (event.type) {
    case "lamp.online":
    case "lamp.offline":
      if (!lamp) return scheduleReload();
      lamp.online = event.type === "lamp.online";
      noteLive(event, event.type === "lamp.online" ? "online" : "offline");
      break;
    case "lamp.status":
      if (!lamp) return scheduleReload();
      lamp.online = true;
      lamp.level = event.level;
      lamp.lit = event.lit;
      lamp.mode = event.mode;
      lamp.faults = event.faults || [];
      lamp.power = event.powerWatts || 0;
      break;
    case "lamp.fault":
      if (!lamp) return;
      lamp.faults = event.raised
        ? [...new Set([...lamp.faults, event.fault])]
        : lamp.faults.filter((fault) => fault !== event.fault);
      noteLive(event, `${event.raised ? "fault" : "fault cleared"}: ${event.fault}`);
      break;
    case "command.progress":
    case "command.applied":
      commandEvent(event);
      return;
    case "error":
      noteLive(event, `stream: ${event.error}`);
      return;
    default:
      if (event.lamp) noteLive(event, `${event.kind || event.type}${event.detail ? `: ${event.detail}` : ""}`);
      return;
  }
  app.countsDirty = true;
  app.listsDirty = true;
  if (!replayed) {
    const at = Date.parse(event.at);
    if (at && (app.oldestUnshown === null || at < app.oldestUnshown)) app.oldestUnshown = at;
  }
  app.map.invalidateLive();
  if (lamp && lamp.id === app.detailId) scheduleDetail();
}

function noteLive(event, text) {
  app.liveEvents.push({ at: event.at, lamp: event.lamp || "", text, type: event.type });
  if (app.liveEvents.length > LIVE_EVENTS_SHOWN) app.liveEvents.splice(0, app.liveEvents.length - LIVE_EVENTS_SHOWN);
  app.liveDirty = true;
  if (app.map) app.map.invalidateLive();
}

// MARK: After each frame: counters, legend, lists (at most as often as the map repaints)

function afterDraw(stats) {
  if (app.oldestUnshown !== null) {
    // How long the oldest change in this frame waited to be seen (the daemon's clock stamps
    // events; it runs on the operator's network, so the clocks are close).
    const now = Date.now();
    app.latencies.push({ at: now, ms: now - app.oldestUnshown });
    if (app.latencies.length > 500) app.latencies.splice(0, app.latencies.length - 500);
    app.oldestUnshown = null;
  }
  if (app.firstFramePending) {
    app.firstFramePending = false;
    $("map").dataset.firstFrameMs = String(Math.round(performance.now()));
  }
  if (app.countsDirty) {
    app.countsDirty = false;
    updateCounts();
  }
  if (app.listsDirty) {
    app.listsDirty = false;
    updateUnplaced();
    if (app.command) renderCommand();
  }
  if (app.liveDirty) {
    app.liveDirty = false;
    renderLive();
  }
}

function counts() {
  const result = { total: app.lamps.length, online: 0, lit: 0, dimmed: 0, off: 0, offline: 0, fault: 0, power: 0 };
  const categories = Object.fromEntries(CATEGORIES.map((category) => [category.key, 0]));
  for (const lamp of app.lamps) {
    categories[categoryOf(lamp)] += 1;
    if (lamp.faults.length > 0) result.fault += 1;
    if (!lamp.online) {
      result.offline += 1;
      continue;
    }
    result.online += 1;
    result.power += lamp.power;
    if (lamp.level === null) continue;
    if (lamp.lit && lamp.level > 0) {
      result.lit += 1;
      if (lamp.level < 100) result.dimmed += 1;
    } else {
      result.off += 1;
    }
  }
  result.categories = categories;
  return result;
}

function updateCounts() {
  const now = counts();
  for (const key of ["total", "online", "lit", "dimmed", "off", "offline", "fault"]) {
    setText(`count-${key}`, numbers.format(now[key]), now[key]);
  }
  setText("count-power", watts(now.power), Math.round(now.power));
  for (const category of CATEGORIES) {
    setText(`legend-${category.key}`, numbers.format(now.categories[category.key]), now.categories[category.key]);
  }
}

function buildLegend() {
  $("legend").replaceChildren(
    ...CATEGORIES.map((category) =>
      element(
        "li",
        {},
        element("span", { class: `swatch swatch-${category.key}`, "aria-hidden": "true" }),
        `${category.label} `,
        element("span", { id: `legend-${category.key}`, class: "legend-count", text: "0" }),
      ),
    ),
  );
}

function updateUnplaced() {
  const unplaced = [];
  for (let slot = 0; slot < app.lamps.length; slot += 1) if (Number.isNaN(app.lamps[slot].x)) unplaced.push(slot);
  $("unplaced-panel").hidden = unplaced.length === 0;
  if (unplaced.length === 0) return;
  $("unplaced-title").textContent = `Without a place (${numbers.format(unplaced.length)})`;
  $("unplaced").replaceChildren(...lampButtons(unplaced));
}

/** Buttons that open lamps, at most LIST_LIMIT, then "and N more". */
function lampButtons(slots) {
  const items = slots.slice(0, LIST_LIMIT).map((slot) => {
    const lamp = app.lamps[slot];
    return element(
      "li",
      {},
      element(
        "button",
        { type: "button", class: "link", onclick: () => openLamp(slot, true) },
        element("span", { class: `dot swatch-${categoryOf(lamp)}`, "aria-hidden": "true" }),
        lamp.id,
      ),
    );
  });
  if (slots.length > LIST_LIMIT) items.push(element("li", { class: "more", text: `and ${numbers.format(slots.length - LIST_LIMIT)} more` }));
  return items;
}

function renderLive() {
  $("live-events").replaceChildren(
    ...app.liveEvents
      .slice()
      .reverse()
      .map((event) =>
        element(
          "li",
          { class: `live-${event.type.replace(/[^a-z-]/g, "-")}` },
          element("time", { datetime: event.at, text: time(event.at) }),
          " ",
          event.lamp ? element("button", { type: "button", class: "link", onclick: () => openLampById(event.lamp) }, event.lamp) : "",
          event.lamp ? " " : "",
          event.text,
        ),
      ),
  );
}

function describeLamp(slot) {
  const lamp = app.lamps[slot];
  if (!lamp) return "";
  const state = lamp.online ? (lamp.level === null ? "no report yet" : `${percent(lamp.level)} ${lamp.mode || ""}`) : "offline";
  return `${lamp.id}${lamp.name ? ` (${lamp.name})` : ""}: ${state}${lamp.faults.length ? `, fault: ${lamp.faults.join(", ")}` : ""}`;
}

// MARK: Selection and lamp detail

function selectFromMap(slots, additive, clicked) {
  if (!additive) app.selection = new Set();
  if (clicked && additive && slots.length === 1 && app.selection.has(slots[0])) {
    app.selection.delete(slots[0]);
  } else {
    for (const slot of slots) app.selection.add(slot);
  }
  app.map.setSelection(app.selection);
  updateSelectionCount();
  if (clicked && slots.length === 1) openLamp(slots[0], false);
  const choice = $("target-selection");
  if (choice && app.selection.size > 0) choice.checked = true;
}

function updateSelectionCount() {
  const node = $("selection-count");
  if (node) node.textContent = numbers.format(app.selection.size);
  $("map").dataset.selected = String(app.selection.size);
}

function bindFind() {
  $("detail-close").addEventListener("click", () => {
    app.detailId = null;
    $("detail-panel").hidden = true;
    $("map").focus();
  });
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("find-id").value.trim();
    if (!openLampById(id, true)) showError("find-error", `No lamp ${id} is registered.`);
    else showError("find-error", "");
  });
}

function openLampById(id, select = false) {
  const slot = app.index.get(id);
  if (slot === undefined) return false;
  openLamp(slot, select);
  return true;
}

/** Shows a lamp's detail; `select` also makes it the selection and centres the map on it. */
function openLamp(slot, select) {
  const lamp = app.lamps[slot];
  if (!lamp) return;
  if (select) {
    app.selection = new Set([slot]);
    app.map.setSelection(app.selection);
    app.map.centerOn(slot);
    updateSelectionCount();
    if (location.hash && location.hash !== "#map") location.hash = "#map";
  }
  app.detailId = lamp.id;
  $("detail-panel").hidden = false;
  $("detail-title").textContent = `Lamp ${lamp.id}`;
  loadDetail();
}

function scheduleDetail() {
  if (app.detailTimer) return;
  app.detailTimer = setTimeout(() => {
    app.detailTimer = 0;
    loadDetail();
  }, 500);
}

async function loadDetail() {
  const id = app.detailId;
  if (!id) return;
  let view;
  try {
    view = await app.api.get(`/lamps/${encodeURIComponent(id)}`);
  } catch (error) {
    $("detail").replaceChildren(element("p", { class: "error", text: error.message }));
    return;
  }
  if (app.detailId !== id) return;
  renderDetail(view);
}

function renderDetail(view) {
  const desired = view.desired;
  const reported = view.reported;
  const rows = [];
  const row = (label, ...value) => rows.push(element("div", {}, element("dt", { text: label }), element("dd", {}, ...value)));
  if (view.name) row("Name", view.name);
  row("State", element("span", { class: `dot swatch-${categoryOf(lampRecord(view))}`, "aria-hidden": "true" }),
    view.online ? "online" : "offline", view.lastSeen ? ` · last heard ${dateTime(view.lastSeen)}` : " · never connected");
  let asked = desired.mode;
  if (desired.level !== undefined) asked += ` ${percent(desired.level)}`;
  if (desired.overrideUntil) asked += ` until ${dateTime(desired.overrideUntil)}`;
  if (desired.fadeSeconds) asked += `, fade ${desired.fadeSeconds} s`;
  row("Desired", `${asked} (version ${desired.version})`);
  if (reported) {
    row("Reported", `${percent(reported.level)} ${reported.lit ? "lit" : "dark"}, ${reported.mode} (version ${reported.appliedVersion})` +
      `${view.converged ? "" : " · not yet applied"}`);
    row("Power", `${watts(reported.powerWatts)}, ${numbers.format(reported.energyWattHours)} Wh, ${reported.burnHours} h lit`);
    if (reported.temperatureCelsius !== undefined) row("Temperature", `${reported.temperatureCelsius} °C`);
    row("Faults", reported.faults.length ? reported.faults.join(", ") : "none");
    if (reported.firmware) row("Firmware", reported.firmware);
    row("Reported at", dateTime(reported.reportedAt));
  } else {
    row("Reported", "nothing yet");
  }
  if (view.program) {
    const expected = view.expectedLevel !== undefined ? `; asks for ${percent(view.expectedLevel)} now` : "";
    row("Program", `${view.program}, revision ${view.programRevision ?? "–"} held${expected}`);
  } else if (view.expectedLevel !== undefined) {
    row("Program", `default; asks for ${percent(view.expectedLevel)} now`);
  }
  if (view.groups.length) row("Groups", view.groups.join(", "));
  if (typeof view.latitude === "number") row("Place", `${view.latitude}, ${view.longitude}`);
  if (view.wattage) row("Rated", `${view.wattage} W`);
  const events = (view.recentEvents || []).map((event) =>
    element("tr", {}, element("td", {}, element("time", { datetime: event.at, text: dateTime(event.at) })),
      element("td", { text: event.kind }), element("td", { text: event.detail })));
  $("detail").replaceChildren(
    element("dl", { class: "facts" }, ...rows),
    element("h3", { text: "Recent events" }),
    events.length
      ? element("table", { class: "table compact" },
          element("thead", {}, element("tr", {}, element("th", { scope: "col", text: "Time" }), element("th", { scope: "col", text: "Kind" }),
            element("th", { scope: "col", text: "Detail" }))),
          element("tbody", {}, ...events))
      : element("p", { class: "help", text: "none" }),
  );
}

// MARK: Commands

function bindCommands() {
  $("command-form").addEventListener("submit", sendCommand);
  $("action").addEventListener("change", showCommandFields);
  $("clear-selection").addEventListener("click", () => selectFromMap([], false));
  $("target-group").addEventListener("change", () => {
    $("target-group-choice").checked = true;
  });
  showCommandFields();
}

function showCommandFields() {
  const action = $("action").value;
  for (const row of document.querySelectorAll("#command-form [data-for]")) {
    const shown = row.dataset.for.split(" ").includes(action);
    row.hidden = !shown;
    for (const input of row.querySelectorAll("input")) input.disabled = !shown;
  }
}

async function sendCommand(event) {
  event.preventDefault();
  showError("command-error", "");
  const action = $("action").value;
  const body = { action };
  if (action === "level" || action === "override") body.level = Number($("level").value);
  if (["level", "on", "off", "override", "resume"].includes(action)) body.fadeSeconds = Number($("fade").value || 0);
  if (action === "override") body.durationSeconds = Math.round(Number($("duration").value) * 60);
  const kind = document.querySelector('input[name="target"]:checked').value;
  const send = $("send");
  send.disabled = true;
  try {
    let slots = null;
    if (kind === "selection") {
      slots = [...app.selection];
      if (slots.length === 0) throw new Error("Select lamps first: click a lamp, shift-click more, or shift-drag a box on the map.");
      body.target = slots.length === 1 ? `lamp:${app.lamps[slots[0]].id}` : await selectionGroup(slots);
    } else if (kind === "group") {
      const group = $("target-group").value;
      if (!group) throw new Error("Choose a group.");
      body.target = `group:${group}`;
      slots = [];
      app.lamps.forEach((lamp, slot) => lamp.groups.includes(group) && slots.push(slot));
    } else {
      body.target = "all";
    }
    const accepted = await app.api.post("/commands", body);
    trackCommand(accepted, body, slots);
  } catch (error) {
    showError("command-error", error instanceof ApiError && error.field ? `${error.message}` : error.message);
  } finally {
    send.disabled = false;
  }
}

/**
 * A command to several lamps picked on the map goes to a group of this tab's own (the API
 * addresses a lamp, a group or all): its members are set to the selection, all or none,
 * then the command targets the group. It is deleted on sign-out and when the tab closes.
 */
async function selectionGroup(slots) {
  let name = sessionStorage.getItem(SELECTION_GROUP_KEY);
  if (!name) {
    const suffix = Array.from(crypto.getRandomValues(new Uint8Array(3)), (byte) => byte.toString(16).padStart(2, "0")).join("");
    name = `sel.${app.who.name.slice(0, 48)}.${suffix}`;
    sessionStorage.setItem(SELECTION_GROUP_KEY, name);
  }
  try {
    await app.api.post("/groups", { name, description: `${SELECTION_DESCRIPTION} of ${app.who.name} (safe to delete)` });
    app.createdSelectionGroup = true;
  } catch (error) {
    if (error.status !== 409) throw error;
  }
  const current = (await app.api.allLamps(`&group=${encodeURIComponent(name)}`)).map((lamp) => lamp.id);
  const wanted = slots.map((slot) => app.lamps[slot].id);
  const wantedSet = new Set(wanted);
  const currentSet = new Set(current);
  const add = wanted.filter((id) => !currentSet.has(id));
  const remove = current.filter((id) => !wantedSet.has(id));
  if (add.length || remove.length) await app.api.post(`/groups/${encodeURIComponent(name)}/members`, { add, remove });
  return `group:${name}`;
}

function trackCommand(accepted, body, slots) {
  if (app.command && app.command.timer) clearTimeout(app.command.timer);
  const words = {
    level: `dim to ${percent(body.level)}`, on: "on", off: "off", resume: "resume the program", identify: "identify",
    override: `override ${percent(body.level)} for ${Math.round(body.durationSeconds / 60)} min`,
  };
  const selected = body.target.startsWith("group:sel.");
  const target = selected ? `${numbers.format(accepted.lamps)} selected lamps` : `${body.target} (${numbers.format(accepted.lamps)} lamps)`;
  app.command = {
    id: accepted.id,
    title: `Command ${accepted.id}: ${words[body.action] || body.action} → ${target}`,
    total: accepted.lamps,
    slots,
    progress: null,
    started: Date.now(),
    timer: 0,
  };
  $("progress").hidden = false;
  $("progress").dataset.command = String(accepted.id);
  renderCommand();
  pollCommand();
}

async function pollCommand() {
  const command = app.command;
  if (!command) return;
  try {
    const progress = await app.api.get(`/commands/${command.id}`);
    if (app.command !== command) return;
    command.progress = progress;
    renderCommand();
  } catch (error) {
    showError("command-error", error.message);
  }
  const progress = command.progress;
  const waiting = !progress || progress.pending > progress.offline;
  if (app.command === command && waiting && Date.now() - command.started < 120000) {
    command.timer = setTimeout(pollCommand, 1000);
  }
}

function commandEvent(event) {
  const progress = event.command;
  if (!progress) return;
  if (app.command && progress.id === app.command.id) {
    app.command.progress = progress;
    renderCommand();
  }
  if (event.type === "command.applied") {
    noteLive(event, `command ${progress.id} ${progress.action} to ${progress.target}: applied ${numbers.format(progress.applied)} / ${numbers.format(progress.total)}`);
  }
}

function renderCommand() {
  const command = app.command;
  if (!command) return;
  const progress = command.progress;
  setText("progress-title", command.title);
  const bar = $("progress-bar");
  if (!progress) {
    bar.removeAttribute("value");
    setText("progress-text", "sent; waiting for the lamps…");
    return;
  }
  bar.max = Math.max(1, progress.total);
  bar.value = progress.applied;
  const latency = progress.appliedLatency ? ` · acknowledged within ${decimal.format(progress.appliedLatency.max)} ms` : "";
  const done = progress.pending === 0 ? "done: " : progress.pending === progress.offline ? "waiting for offline lamps: " : "";
  setText(
    "progress-text",
    `${done}applied ${numbers.format(progress.applied)} / ${numbers.format(progress.total)} · refused ${numbers.format(progress.failed)}` +
      ` · pending ${numbers.format(progress.pending)} (offline ${numbers.format(progress.offline)})${latency}`,
  );
  $("progress").dataset.applied = String(progress.applied);
  $("progress").dataset.pending = String(progress.pending);
  const refused = progress.failedLamps || [];
  $("refused-details").hidden = refused.length === 0;
  if (refused.length) {
    $("refused-details").querySelector("summary").textContent = `Refused (${numbers.format(progress.failed)})`;
    $("refused-list").replaceChildren(...lampButtons(refused.map((id) => app.index.get(id)).filter((slot) => slot !== undefined)));
  }
  const offline = (command.slots || [...app.lamps.keys()]).filter((slot) => app.lamps[slot] && !app.lamps[slot].online);
  const showOffline = progress.offline > 0 && offline.length > 0;
  $("offline-details").hidden = !showOffline;
  if (showOffline) {
    $("offline-details").querySelector("summary").textContent = `Offline (${numbers.format(offline.length)})`;
    $("offline-list").replaceChildren(...lampButtons(offline));
  }
}

// MARK: Views: map, programs, events, audit

function bindViews() {
  window.addEventListener("hashchange", route);
  route();
  $("program-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showPreview();
  });
  $("program-name").addEventListener("change", () => {
    $("program-latitude").value = "";
    $("program-longitude").value = "";
    showPreview();
  });
  $("events-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadHistory("events");
  });
  $("events-more").addEventListener("click", () => loadHistory("events", true));
  if ($("audit-form")) {
    $("audit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadHistory("audit");
    });
    $("audit-more").addEventListener("click", () => loadHistory("audit", true));
  }
}

function route() {
  let view = (location.hash || "#map").slice(1);
  if (!["map", "programs", "events", "audit"].includes(view) || !$(`view-${view}`)) view = "map";
  for (const name of ["map", "programs", "events", "audit"]) {
    const section = $(`view-${name}`);
    if (section) section.hidden = name !== view;
    const tab = $(`tab-${name}`);
    if (tab) {
      if (name === view) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
  }
  document.body.dataset.view = view;
  if (view === "map" && app.map) app.map.resize();
  if (view === "programs" && !app.programsLoaded) loadPrograms();
  if (view === "events" && !$("events-rows").children.length) loadHistory("events");
  if (view === "audit" && !$("audit-rows").children.length) loadHistory("audit");
}

async function loadPrograms() {
  app.programsLoaded = true;
  showError("program-error", "");
  let programs;
  try {
    programs = await app.api.get("/programs");
  } catch (error) {
    app.programsLoaded = false;
    return showError("program-error", error);
  }
  app.programs = programs;
  const select = $("program-name");
  select.replaceChildren(...programs.map((program) => element("option", { value: program.name, text: program.name })));
  if (programs.length === 0) {
    $("program-summary").textContent = "No lighting programs yet: lampctl program set NAME FILE, then lampctl program assign NAME all.";
    return;
  }
  showPreview();
}

async function showPreview() {
  const name = $("program-name").value;
  if (!name) return;
  showError("program-error", "");
  const program = (app.programs || []).find((candidate) => candidate.name === name);
  // The place: as typed, else the middle of the lamps running it, else the daemon's default.
  let latitude = $("program-latitude").value;
  let longitude = $("program-longitude").value;
  const running = [];
  app.lamps.forEach((lamp, slot) => lamp.program === name && running.push(slot));
  if (latitude === "" && longitude === "") {
    const placed = running.map((slot) => app.lamps[slot]).filter((lamp) => lamp.latitude !== null);
    if (placed.length) {
      latitude = (placed.reduce((sum, lamp) => sum + lamp.latitude, 0) / placed.length).toFixed(5);
      longitude = (placed.reduce((sum, lamp) => sum + lamp.longitude, 0) / placed.length).toFixed(5);
    }
  }
  const query = new URLSearchParams();
  if ($("program-date").value) query.set("date", $("program-date").value);
  if (latitude !== "" && longitude !== "") {
    query.set("latitude", latitude);
    query.set("longitude", longitude);
  }
  if (program) $("program-source").textContent = program.source;
  $("program-lamps").replaceChildren(...lampButtons(running));
  let preview;
  try {
    preview = await app.api.get(`/programs/${encodeURIComponent(name)}/preview?${query}`);
  } catch (error) {
    $("program-chart").replaceChildren();
    $("program-points").replaceChildren();
    return showError("program-error", error.field === "latitude" ? `${error.message}; or type a latitude and longitude.` : error);
  }
  $("program-date").value = preview.date;
  $("program-latitude").value = preview.latitude;
  $("program-longitude").value = preview.longitude;
  const sun = preview.sun.map((event) => `${event.event} ${event.localTime}`).join(", ");
  $("program-summary").textContent =
    `${preview.program}, revision ${preview.revision}: night of ${preview.date} at ${preview.latitude}, ${preview.longitude} ` +
    `(time zone ${preview.timeZone}); ${preview.polar ? `${preview.polar}; ` : ""}${sun}. ` +
    `Assigned to ${numbers.format(preview.lamps)} lamps.`;
  drawProgramChart($("program-chart"), preview);
  $("program-points").replaceChildren(
    ...preview.points.map((point) =>
      element("tr", {}, element("td", { text: point.localTime }), element("td", { text: point.change }),
        element("td", {}, element("code", { text: point.trigger })), element("td", { text: point.fadeSeconds ? `${point.fadeSeconds} s` : "–" }))),
  );
  if (preview.points.length === 0) {
    $("program-points").append(element("tr", {}, element("td", { colspan: 4, text: "no switch points this night" })));
  }
}

/** The events or audit table, newest first; `older` appends the page before the last row. */
async function loadHistory(kind, older = false) {
  const rows = $(`${kind}-rows`);
  const query = new URLSearchParams({ limit: "100" });
  if (kind === "events") {
    if ($("events-lamp").value.trim()) query.set("lamp", $("events-lamp").value.trim());
    if ($("events-kind").value) query.set("kind", $("events-kind").value);
  } else {
    if ($("audit-actor").value.trim()) query.set("actor", $("audit-actor").value.trim());
    if ($("audit-action").value) query.set("action", $("audit-action").value);
  }
  if (older && rows.dataset.last) query.set("before", rows.dataset.last);
  showError(`${kind}-error`, "");
  let entries;
  try {
    entries = await app.api.get(`/${kind}?${query}`);
  } catch (error) {
    return showError(`${kind}-error`, error);
  }
  const cells =
    kind === "events"
      ? (entry) => [
          element("td", {}, element("time", { datetime: entry.at, text: dateTime(entry.at) })),
          element("td", {}, element("button", { type: "button", class: "link", onclick: () => openLampById(entry.lamp, true) }, entry.lamp)),
          element("td", { text: entry.kind }),
          element("td", { text: entry.detail }),
        ]
      : (entry) => [
          element("td", {}, element("time", { datetime: entry.at, text: dateTime(entry.at) })),
          element("td", { text: entry.actor }),
          element("td", { text: entry.role }),
          element("td", { text: entry.action }),
          element("td", { text: entry.target }),
          element("td", { text: entry.detail }),
          element("td", { class: entry.outcome === "ok" ? "" : "refused", text: entry.outcome }),
        ];
  const built = entries.map((entry) => element("tr", {}, ...cells(entry)));
  if (older) rows.append(...built);
  else rows.replaceChildren(...built);
  if (!older && entries.length === 0) rows.append(element("tr", {}, element("td", { colspan: 7, text: "nothing yet" })));
  if (entries.length) rows.dataset.last = String(entries[entries.length - 1].id);
  $(`${kind}-more`).hidden = entries.length < 100;
}

// MARK: For tests and benchmarks: read-only views of the page's state

function exposeForTests() {
  window.lamplighterDashboard = Object.freeze({
    lamp(id) {
      const slot = app.index.get(id);
      if (slot === undefined) return null;
      const lamp = app.lamps[slot];
      return { id: lamp.id, online: lamp.online, level: lamp.level, lit: lamp.lit, mode: lamp.mode, faults: [...lamp.faults], category: categoryOf(lamp) };
    },
    counts,
    countWhere(category) {
      return app.lamps.filter((lamp) => categoryOf(lamp) === category).length;
    },
    levels() {
      const levels = {};
      for (const lamp of app.lamps) levels[lamp.level] = (levels[lamp.level] || 0) + 1;
      return levels;
    },
    /** The longest wait of a lamp change for its frame in frames drawn at or after `since` (Date.now() ms). */
    eventToScreen(since) {
      const recent = app.latencies.filter((entry) => entry.at >= since).map((entry) => entry.ms);
      return { frames: recent.length, maxMs: recent.length ? Math.max(...recent) : null };
    },
    mapStats() {
      return { ...app.map.stats, lamps: app.lamps.length, selected: app.selection.size, streamMessages: app.streamMessages };
    },
  });
}

boot();
