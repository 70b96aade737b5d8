// A night of a lighting program as an SVG chart: the level from local noon to the next local
// noon as a step line (fades as slopes), the night shaded from sunset to sunrise, the sun's
// crossings and the hours marked, and "now" when it falls in the night.

const SVG = "http://www.w3.org/2000/svg";

function element(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws `preview` (GET /programs/NAME/preview) into `container`, replacing what was there. */
export function drawProgramChart(container, preview) {
  const width = 960, height = 300;
  const margin = { left: 48, right: 28, top: 40, bottom: 34 };
  const start = Date.parse(preview.start), end = Date.parse(preview.end);
  const x = (time) => margin.left + ((time - start) / (end - start)) * (width - margin.left - margin.right);
  const y = (level) => margin.top + (1 - level / 100) * (height - margin.top - margin.bottom);
  const svg = element("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    class: "program-chart",
    "aria-label": `Level of program ${preview.program} through the night of ${preview.date}`,
  });
  svg.append(element("title", {}, `Program ${preview.program}, night of ${preview.date}`));

  const sun = Object.fromEntries(preview.sun.map((event) => [event.event, Date.parse(event.at)]));
  const nightFrom = sun.sunset ?? (preview.polar === "polar night" ? start : null);
  const nightTo = sun.sunrise ?? (preview.polar === "polar night" ? end : null);
  if (nightFrom !== null && nightTo !== null) {
    svg.append(element("rect", {
      x: x(nightFrom), y: margin.top, width: Math.max(0, x(nightTo) - x(nightFrom)),
      height: height - margin.top - margin.bottom, class: "night",
    }));
  }

  // Level gridlines and labels.
  for (const level of [0, 25, 50, 75, 100]) {
    svg.append(element("line", { x1: margin.left, x2: width - margin.right, y1: y(level), y2: y(level), class: "grid" }));
    svg.append(element("text", { x: margin.left - 6, y: y(level) + 4, class: "axis", "text-anchor": "end" }, `${level}%`));
  }
  // Hours, every two, from the local noon that starts the night.
  for (let hour = 0; hour <= 24; hour += 2) {
    const time = start + hour * 3600e3;
    svg.append(element("line", { x1: x(time), x2: x(time), y1: height - margin.bottom, y2: height - margin.bottom + 5, class: "tick" }));
    svg.append(element("text", { x: x(time), y: height - margin.bottom + 18, class: "axis", "text-anchor": "middle" },
      `${String((12 + hour) % 24).padStart(2, "0")}:00`));
  }

  // Sun crossings: sunset and sunrise labelled on the upper line, outside their pair; civil
  // dusk and dawn on the lower one, inside it, so close pairs do not overlap.
  const placement = {
    sunset: { row: 0, anchor: "end", dx: -3 }, "civil dusk": { row: 1, anchor: "start", dx: 3 },
    "civil dawn": { row: 1, anchor: "end", dx: -3 }, sunrise: { row: 0, anchor: "start", dx: 3 },
  };
  for (const event of preview.sun) {
    const at = x(Date.parse(event.at));
    const place = placement[event.event] || { row: 0, anchor: "middle", dx: 0 };
    svg.append(element("line", { x1: at, x2: at, y1: margin.top - 14 + place.row * 14, y2: height - margin.bottom, class: "sun" }));
    svg.append(element("text", { x: at + place.dx, y: margin.top - 18 + place.row * 14, class: "sun-label", "text-anchor": place.anchor },
      `${event.event.replace("civil ", "")} ${event.localTime.replace(" +1", "")}`));
  }

  // The level: a step line, fades as slopes.
  let level = preview.levelAtStart;
  let path = `M ${x(start)} ${y(level)}`;
  for (const point of preview.points) {
    const at = Date.parse(point.at);
    const fadeEnd = Math.min(end, at + point.fadeSeconds * 1000);
    path += ` L ${x(at)} ${y(level)} L ${x(fadeEnd)} ${y(point.level)}`;
    level = point.level;
  }
  path += ` L ${x(end)} ${y(level)}`;
  svg.append(element("path", { d: `${path} L ${x(end)} ${y(0)} L ${x(start)} ${y(0)} Z`, class: "level-area" }));
  svg.append(element("path", { d: path, class: "level" }));
  for (const point of preview.points) {
    const marker = element("circle", { cx: x(Date.parse(point.at)), cy: y(point.level), r: 4, class: "point" });
    marker.append(element("title", {}, `${point.localTime}: ${point.change} (${point.trigger})`));
    svg.append(marker);
  }

  const now = Date.now();
  if (now >= start && now <= end) {
    svg.append(element("line", { x1: x(now), x2: x(now), y1: margin.top, y2: height - margin.bottom, class: "now" }));
    svg.append(element("text", { x: x(now) + 4, y: height - margin.bottom - 6, class: "now-label" }, "now"));
  }
  container.replaceChildren(svg);
}
