// The fleet map: every placed lamp as a square on a <canvas>, in Web Mercator so that an
// optional tile server lines up. Drawing is batched: one path per colour, lamps outside the
// view skipped, and at most one frame per animation frame; live state changes ask for a
// repaint at most LIVE_INTERVAL_MS apart, pan and zoom at once.

export const LIVE_INTERVAL_MS = 250;

/** The state categories, in drawing order (later ones on top), with colour and label. */
export const CATEGORIES = [
  { key: "off", label: "Off", color: "#3d5a80" },
  { key: "unknown", label: "No report yet", color: "#7b8794" },
  { key: "dimmed", label: "Dimmed", color: "#f5a524" },
  { key: "full", label: "Full", color: "#fff4c2" },
  { key: "override", label: "Override", color: "#c084fc" },
  { key: "fault", label: "Fault", color: "#ff4d4f" },
  { key: "offline", label: "Offline", color: "#9aa5b1", hollow: true },
];
const CATEGORY_INDEX = Object.fromEntries(CATEGORIES.map((category, index) => [category.key, index]));

/** Dimmed lamps are drawn in this many shades, darker for lower levels. */
const DIM_SHADES = 5;
const DIM_COLORS = Array.from({ length: DIM_SHADES }, (_, shade) => {
  const t = (shade + 1) / DIM_SHADES;
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(120, 250)}, ${mix(70, 180)}, ${mix(10, 40)})`;
});

/** A lamp's category from its state (see app.js's lamp records). */
export function categoryOf(lamp) {
  if (!lamp.online) return "offline";
  if (lamp.faults && lamp.faults.length > 0) return "fault";
  if (lamp.mode === "override") return "override";
  if (lamp.level === null || lamp.level === undefined) return "unknown";
  if (!lamp.lit || lamp.level <= 0) return "off";
  if (lamp.level >= 100) return "full";
  return "dimmed";
}

const TILE_SIZE = 256;
const MIN_SCALE = 256; // the whole world in one tile
const MAX_SCALE = 256 * 2 ** 22; // about 4 cm a pixel

/** Longitude and latitude (degrees) to Web Mercator x, y in [0, 1]. */
export function project(longitude, latitude) {
  const clamped = Math.max(-85.05112878, Math.min(85.05112878, latitude));
  const sin = Math.sin((clamped * Math.PI) / 180);
  return [(longitude + 180) / 360, 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)];
}

/** Metres per world unit at latitude (for the scale bar and lamp size). */
function metresPerUnit(latitude) {
  return 40075016.686 * Math.cos((latitude * Math.PI) / 180);
}

export class FleetMap {
  /**
   * @param canvas the <canvas>
   * @param lamps  the app's lamp records (array; index = slot), each with x, y (projected,
   *               NaN when unplaced) and state fields
   * @param handlers { select(indices, additive), open(index), viewChanged() }
   */
  constructor(canvas, handlers) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { alpha: false });
    this.handlers = handlers;
    this.lamps = [];
    this.selection = new Set();
    this.centerX = 0.5;
    this.centerY = 0.5;
    this.scale = MIN_SCALE;
    this.tiles = null; // URL template, when a tile server is configured
    this.tileCache = new Map();
    this.frameRequested = false;
    this.lastDraw = 0;
    this.liveTimer = 0;
    this.box = null; // shift-drag selection box in CSS pixels
    this.stats = { frames: 0, drawn: 0, lastMs: 0, totalMs: 0, maxMs: 0 };
    this.pointers = new Map();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.bindInput();
    this.resize();
  }

  setLamps(lamps) {
    this.lamps = lamps;
    let placed = 0;
    for (const lamp of lamps) if (!Number.isNaN(lamp.x)) placed += 1;
    this.canvas.dataset.lamps = String(placed);
    this.invalidate();
  }

  setTiles(template) {
    this.tiles = template || null;
    this.tileCache.clear();
    this.invalidate();
  }

  setSelection(selection) {
    this.selection = selection;
    this.invalidate();
  }

  /** Fits the view to the placed lamps (or the given indices). */
  fit(indices) {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const each = indices || this.lamps.keys();
    for (const index of each) {
      const lamp = this.lamps[index];
      if (!lamp || Number.isNaN(lamp.x)) continue;
      minX = Math.min(minX, lamp.x);
      maxX = Math.max(maxX, lamp.x);
      minY = Math.min(minY, lamp.y);
      maxY = Math.max(maxY, lamp.y);
    }
    if (minX === Infinity) return;
    const width = Math.max(this.width - 48, 50);
    const height = Math.max(this.height - 48, 50);
    const spanX = Math.max(maxX - minX, 1e-7);
    const spanY = Math.max(maxY - minY, 1e-7);
    this.centerX = (minX + maxX) / 2;
    this.centerY = (minY + maxY) / 2;
    this.scale = this.clampScale(Math.min(width / spanX, height / spanY, 256 * 2 ** 19));
    this.invalidate();
    this.handlers.viewChanged();
  }

  centerOn(index) {
    const lamp = this.lamps[index];
    if (!lamp || Number.isNaN(lamp.x)) return;
    this.centerX = lamp.x;
    this.centerY = lamp.y;
    this.scale = Math.max(this.scale, 256 * 2 ** 17);
    this.invalidate();
  }

  clampScale(scale) {
    return Math.max(MIN_SCALE, Math.min(MAX_SCALE, scale));
  }

  /** Zooms by `factor` keeping the world point under (px, py) (CSS pixels) in place. */
  zoom(factor, px = this.width / 2, py = this.height / 2) {
    const [wx, wy] = this.toWorld(px, py);
    this.scale = this.clampScale(this.scale * factor);
    this.centerX = wx - (px - this.width / 2) / this.scale;
    this.centerY = wy - (py - this.height / 2) / this.scale;
    this.invalidate();
    this.handlers.viewChanged();
  }

  pan(dx, dy) {
    this.centerX -= dx / this.scale;
    this.centerY -= dy / this.scale;
    this.invalidate();
  }

  toWorld(px, py) {
    return [this.centerX + (px - this.width / 2) / this.scale, this.centerY + (py - this.height / 2) / this.scale];
  }

  toScreen(x, y) {
    return [(x - this.centerX) * this.scale + this.width / 2, (y - this.centerY) * this.scale + this.height / 2];
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, rect.width);
    this.height = Math.max(1, rect.height);
    this.ratio = ratio;
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.invalidate();
  }

  /** Pan, zoom, selection: repaint in the next frame. */
  invalidate() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.draw());
  }

  /** Live state changed: repaint, at most once every LIVE_INTERVAL_MS. */
  invalidateLive() {
    if (this.frameRequested || this.liveTimer) return;
    const wait = LIVE_INTERVAL_MS - (performance.now() - this.lastDraw);
    if (wait <= 0) {
      this.invalidate();
    } else {
      this.liveTimer = setTimeout(() => {
        this.liveTimer = 0;
        this.invalidate();
      }, wait);
    }
  }

  draw() {
    this.frameRequested = false;
    const started = performance.now();
    const context = this.context;
    const ratio = this.ratio;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = "#0b1422";
    context.fillRect(0, 0, this.width, this.height);
    if (this.tiles) this.drawTiles(context);
    this.drawGrid(context);
    const drawn = this.drawLamps(context);
    if (this.box) {
      const { x0, y0, x1, y1 } = this.box;
      context.strokeStyle = "#38bdf8";
      context.lineWidth = 1;
      context.setLineDash([4, 3]);
      context.strokeRect(Math.min(x0, x1) + 0.5, Math.min(y0, y1) + 0.5, Math.abs(x1 - x0), Math.abs(y1 - y0));
      context.setLineDash([]);
      context.fillStyle = "rgba(56, 189, 248, 0.12)";
      context.fillRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
    }
    this.drawScale(context);
    const elapsed = performance.now() - started;
    this.lastDraw = performance.now();
    const stats = this.stats;
    stats.frames += 1;
    stats.drawn = drawn;
    stats.lastMs = elapsed;
    stats.totalMs += elapsed;
    stats.maxMs = Math.max(stats.maxMs, elapsed);
    this.canvas.dataset.frames = String(stats.frames);
    this.canvas.dataset.drawn = String(drawn);
    if (this.handlers.drawn) this.handlers.drawn(stats);
  }

  /** Lamp squares, one path per colour; returns how many were in view. */
  drawLamps(context) {
    const metres = metresPerUnit(this.latitudeAtCenter());
    const pixelsPerMetre = this.scale / metres;
    const size = Math.max(3, Math.min(14, pixelsPerMetre * 14));
    const half = size / 2;
    const buckets = CATEGORIES.map(() => []);
    const dimBuckets = DIM_COLORS.map(() => []);
    const left = -size, top = -size, right = this.width + size, bottom = this.height + size;
    const scale = this.scale, offsetX = this.width / 2 - this.centerX * scale, offsetY = this.height / 2 - this.centerY * scale;
    const lamps = this.lamps;
    let drawn = 0;
    for (let index = 0; index < lamps.length; index += 1) {
      const lamp = lamps[index];
      const x = lamp.x * scale + offsetX;
      if (!(x >= left && x <= right)) continue; // also skips NaN (unplaced)
      const y = lamp.y * scale + offsetY;
      if (y < top || y > bottom) continue;
      drawn += 1;
      const category = categoryOf(lamp);
      if (category === "dimmed") {
        dimBuckets[Math.min(DIM_SHADES - 1, Math.floor((lamp.level / 100) * DIM_SHADES))].push(x, y);
      } else {
        buckets[CATEGORY_INDEX[category]].push(x, y);
      }
    }
    const fill = (points, color) => {
      if (points.length === 0) return;
      context.fillStyle = color;
      context.beginPath();
      for (let i = 0; i < points.length; i += 2) context.rect(points[i] - half, points[i + 1] - half, size, size);
      context.fill();
    };
    CATEGORIES.forEach((category, index) => {
      if (category.key === "dimmed") {
        dimBuckets.forEach((points, shade) => fill(points, DIM_COLORS[shade]));
      } else if (category.hollow) {
        const points = buckets[index];
        if (points.length === 0) return;
        context.strokeStyle = category.color;
        context.lineWidth = Math.max(1, size / 5);
        context.beginPath();
        for (let i = 0; i < points.length; i += 2) context.rect(points[i] - half, points[i + 1] - half, size, size);
        context.stroke();
      } else {
        fill(buckets[index], category.color);
      }
    });
    if (this.selection.size > 0) {
      context.strokeStyle = "#22d3ee";
      context.lineWidth = 2;
      context.beginPath();
      const ring = half + 3;
      for (const index of this.selection) {
        const lamp = lamps[index];
        if (!lamp || Number.isNaN(lamp.x)) continue;
        const x = lamp.x * scale + offsetX, y = lamp.y * scale + offsetY;
        if (x < left || x > right || y < top || y > bottom) continue;
        context.rect(x - ring, y - ring, ring * 2, ring * 2);
      }
      context.stroke();
    }
    return drawn;
  }

  latitudeAtCenter() {
    const n = Math.PI - 2 * Math.PI * this.centerY;
    return (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  }

  /** A faint grid every power of ten metres, so the plain background still shows distance. */
  drawGrid(context) {
    const metres = metresPerUnit(this.latitudeAtCenter());
    const pixelsPerMetre = this.scale / metres;
    let step = 10 ** Math.ceil(Math.log10(60 / pixelsPerMetre));
    if (!Number.isFinite(step) || step <= 0) return;
    const stepUnits = step / metres;
    const [x0, y0] = this.toWorld(0, 0);
    const [x1, y1] = this.toWorld(this.width, this.height);
    context.strokeStyle = "rgba(148, 163, 184, 0.08)";
    context.lineWidth = 1;
    context.beginPath();
    for (let x = Math.floor(x0 / stepUnits) * stepUnits; x <= x1; x += stepUnits) {
      const [sx] = this.toScreen(x, 0);
      context.moveTo(Math.round(sx) + 0.5, 0);
      context.lineTo(Math.round(sx) + 0.5, this.height);
    }
    for (let y = Math.floor(y0 / stepUnits) * stepUnits; y <= y1; y += stepUnits) {
      const [, sy] = this.toScreen(0, y);
      context.moveTo(0, Math.round(sy) + 0.5);
      context.lineTo(this.width, Math.round(sy) + 0.5);
    }
    context.stroke();
  }

  drawScale(context) {
    const metres = metresPerUnit(this.latitudeAtCenter());
    const pixelsPerMetre = this.scale / metres;
    const target = 120 / pixelsPerMetre;
    const magnitude = 10 ** Math.floor(Math.log10(target));
    const nice = [5, 2, 1].map((m) => m * magnitude).find((value) => value <= target) || magnitude;
    const length = nice * pixelsPerMetre;
    const x = 14, y = this.height - 16;
    context.strokeStyle = "#cbd5e1";
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(x, y - 5);
    context.lineTo(x, y);
    context.lineTo(x + length, y);
    context.lineTo(x + length, y - 5);
    context.stroke();
    context.fillStyle = "#cbd5e1";
    context.font = "12px system-ui, sans-serif";
    context.fillText(nice >= 1000 ? `${nice / 1000} km` : `${nice} m`, x + length + 6, y);
  }

  drawTiles(context) {
    const zoom = Math.max(0, Math.min(19, Math.round(Math.log2(this.scale / TILE_SIZE))));
    const tiles = 2 ** zoom;
    const tilePixels = this.scale / tiles;
    const [x0, y0] = this.toWorld(0, 0);
    const [x1, y1] = this.toWorld(this.width, this.height);
    const first = [Math.floor(x0 * tiles), Math.max(0, Math.floor(y0 * tiles))];
    const last = [Math.floor(x1 * tiles), Math.min(tiles - 1, Math.floor(y1 * tiles))];
    if ((last[0] - first[0] + 1) * (last[1] - first[1] + 1) > 400) return;
    for (let ty = first[1]; ty <= last[1]; ty += 1) {
      for (let tx = first[0]; tx <= last[0]; tx += 1) {
        const wrapped = ((tx % tiles) + tiles) % tiles;
        const image = this.tile(zoom, wrapped, ty);
        if (!image.complete || image.naturalWidth === 0) continue;
        const [sx, sy] = this.toScreen(tx / tiles, ty / tiles);
        context.drawImage(image, sx, sy, tilePixels + 0.5, tilePixels + 0.5);
      }
    }
    // Darken the tiles so the lamps' colours stay readable.
    context.fillStyle = "rgba(11, 20, 34, 0.55)";
    context.fillRect(0, 0, this.width, this.height);
  }

  tile(z, x, y) {
    const key = `${z}/${x}/${y}`;
    let image = this.tileCache.get(key);
    if (!image) {
      if (this.tileCache.size > 600) this.tileCache.clear();
      image = new Image();
      image.onload = () => this.invalidate();
      image.src = this.tiles.replace("{z}", z).replace("{x}", x).replace("{y}", y);
      this.tileCache.set(key, image);
    }
    return image;
  }

  /** The placed lamp nearest to (px, py) within `radius` CSS pixels, or -1. */
  lampAt(px, py, radius = 10) {
    let best = -1;
    let bestDistance = radius * radius;
    for (let index = 0; index < this.lamps.length; index += 1) {
      const lamp = this.lamps[index];
      if (Number.isNaN(lamp.x)) continue;
      const [x, y] = this.toScreen(lamp.x, lamp.y);
      const distance = (x - px) ** 2 + (y - py) ** 2;
      if (distance <= bestDistance) {
        best = index;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** Placed lamps inside a screen rectangle. */
  lampsIn(x0, y0, x1, y1) {
    const [wx0, wy0] = this.toWorld(Math.min(x0, x1), Math.min(y0, y1));
    const [wx1, wy1] = this.toWorld(Math.max(x0, x1), Math.max(y0, y1));
    const found = [];
    this.lamps.forEach((lamp, index) => {
      if (lamp.x >= wx0 && lamp.x <= wx1 && lamp.y >= wy0 && lamp.y <= wy1) found.push(index);
    });
    return found;
  }

  bindInput() {
    const canvas = this.canvas;
    let drag = null;
    const position = (event) => {
      const rect = canvas.getBoundingClientRect();
      return [event.clientX - rect.left, event.clientY - rect.top];
    };
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      const [x, y] = position(event);
      this.pointers.set(event.pointerId, { x, y });
      if (this.pointers.size === 2) {
        drag = { pinch: this.pinchDistance(), scale: this.scale };
        return;
      }
      drag = { x, y, startX: x, startY: y, box: event.shiftKey, moved: false, additive: event.shiftKey || event.ctrlKey || event.metaKey };
      if (drag.box) this.box = { x0: x, y0: y, x1: x, y1: y };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) {
        this.hover(position(event));
        return;
      }
      const [x, y] = position(event);
      if (this.pointers.has(event.pointerId)) this.pointers.set(event.pointerId, { x, y });
      if (drag.pinch) {
        const distance = this.pinchDistance();
        if (distance > 0) {
          const center = this.pinchCenter();
          this.zoom((drag.scale * (distance / drag.pinch)) / this.scale, center.x, center.y);
        }
        return;
      }
      if (Math.abs(x - drag.startX) + Math.abs(y - drag.startY) > 4) drag.moved = true;
      if (drag.box) {
        this.box.x1 = x;
        this.box.y1 = y;
        this.invalidate();
      } else if (drag.moved) {
        this.pan(x - drag.x, y - drag.y);
        canvas.classList.add("panning");
      }
      drag.x = x;
      drag.y = y;
    });
    const end = (event) => {
      this.pointers.delete(event.pointerId);
      if (!drag) return;
      if (drag.pinch) {
        if (this.pointers.size === 0) drag = null;
        return;
      }
      canvas.classList.remove("panning");
      if (drag.box && drag.moved) {
        const { x0, y0, x1, y1 } = this.box;
        this.handlers.select(this.lampsIn(x0, y0, x1, y1), true);
      } else if (!drag.moved && event.type === "pointerup") {
        const index = this.lampAt(drag.startX, drag.startY);
        if (index >= 0) {
          this.handlers.select([index], drag.additive, true);
        } else if (!drag.additive) {
          this.handlers.select([], false);
        }
      }
      this.box = null;
      drag = null;
      this.invalidate();
      this.handlers.viewChanged();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const [x, y] = position(event);
        const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
        this.zoom(Math.exp(-delta * 0.0015), x, y);
      },
      { passive: false },
    );
    canvas.addEventListener("keydown", (event) => {
      const step = 60;
      const keys = {
        ArrowLeft: () => this.pan(step, 0),
        ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step),
        ArrowDown: () => this.pan(0, -step),
        "+": () => this.zoom(1.5),
        "=": () => this.zoom(1.5),
        "-": () => this.zoom(1 / 1.5),
        "0": () => this.fit(),
        Escape: () => this.handlers.select([], false),
      };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }

  hover([x, y]) {
    const index = this.lampAt(x, y, 8);
    this.canvas.title = index >= 0 ? this.handlers.describe(index) : "";
    this.canvas.classList.toggle("over-lamp", index >= 0);
  }

  pinchDistance() {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }

  pinchCenter() {
    const [a, b] = [...this.pointers.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }
}
