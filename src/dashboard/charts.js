// Small hand-written SVG charts over a fixed time span ending now, so every chart on the page lines up in time.
// The SVG stretches to its box (preserveAspectRatio="none"); strokes keep their width through CSS
// `vector-effect: non-scaling-stroke`, and every number is written in HTML beside the chart, not in the SVG.

const NS = 'http://www.w3.org/2000/svg';
const W = 300;
const H = 60;

/**
 * An empty chart: an <svg role="img"> whose accessible name is kept up to date by `draw`.
 * @param {string} className
 */
export function createChart(className) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', `chart ${className}`);
  svg.append(element('title'));
  return svg;
}

/**
 * Draws one series as a line over a filled area. `points` are `{ at, value }`, value null for "no data" (a gap).
 * @param {SVGSVGElement} svg
 * @param {{ at: number, value: number | null }[]} points
 * @param {{ now: number, spanMs: number, floor: number, label: string }} o floor: the least top of the y axis
 * @returns {number} the top of the y axis
 */
export function drawLine(svg, points, o) {
  const max = niceCeiling(Math.max(o.floor, ...points.map((p) => p.value ?? 0)));
  const x = (at) => ((at - (o.now - o.spanMs)) / o.spanMs) * W;
  const y = (v) => H - (v / max) * (H - 2);
  const runs = splitAtGaps(points.filter((p) => p.at >= o.now - o.spanMs - 1000));
  const line = runs.map((run) => 'M' + run.map((p) => `${fmt(x(p.at))},${fmt(y(p.value))}`).join('L')).join('');
  const area = runs
    .map((run) => `M${fmt(x(run[0].at))},${H}` + run.map((p) => `L${fmt(x(p.at))},${fmt(y(p.value))}`).join('') + `L${fmt(x(run.at(-1).at))},${H}Z`)
    .join('');
  replace(svg, o.label, [path('area', area), path('line', line)]);
  return max;
}

/**
 * The app's traffic as two stacked areas, blue below green, so both the total and each one's part show.
 * @param {SVGSVGElement} svg
 * @param {{ blue: { at: number, rps: number }[], green: { at: number, rps: number }[] }} series
 * @param {{ now: number, spanMs: number, label: string }} o
 * @returns {number} the top of the y axis
 */
export function drawStacked(svg, series, o) {
  const green = new Map(series.green.map((p) => [p.at, p.rps]));
  const times = [...new Set([...series.blue.map((p) => p.at), ...green.keys()])]
    .filter((at) => at >= o.now - o.spanMs - 1000)
    .sort((a, b) => a - b);
  const blue = new Map(series.blue.map((p) => [p.at, p.rps]));
  const max = niceCeiling(Math.max(1, ...times.map((at) => (blue.get(at) ?? 0) + (green.get(at) ?? 0))));
  const x = (at) => ((at - (o.now - o.spanMs)) / o.spanMs) * W;
  const y = (v) => H - (v / max) * (H - 2);
  const band = (lower, upper) => {
    if (times.length === 0) return '';
    const top = times.map((at) => `${fmt(x(at))},${fmt(y(upper(at)))}`);
    const bottom = times.map((at) => `${fmt(x(at))},${fmt(y(lower(at)))}`).reverse();
    return `M${top.join('L')}L${bottom.join('L')}Z`;
  };
  const b = (at) => blue.get(at) ?? 0;
  const g = (at) => green.get(at) ?? 0;
  replace(svg, o.label, [path('band blue', band(() => 0, b)), path('band green', band(b, (at) => b(at) + g(at)))]);
  return max;
}

/** 1, 2, 2.5, 5 times a power of ten: an axis top that reads well. */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function splitAtGaps(points) {
  const runs = [];
  let run = [];
  for (const p of points) {
    if (p.value === null) {
      if (run.length > 0) runs.push(run);
      run = [];
    } else run.push(p);
  }
  if (run.length > 0) runs.push(run);
  // A lone point draws nothing as a line; widen it to a short flat step so it shows.
  return runs.map((r) => (r.length === 1 ? [r[0], { at: r[0].at + 1000, value: r[0].value }] : r));
}

function replace(svg, label, shapes) {
  const title = svg.firstChild;
  title.textContent = label;
  svg.setAttribute('aria-label', label);
  while (svg.lastChild !== title) svg.lastChild.remove();
  svg.append(...shapes);
}

function path(className, d) {
  const p = element('path');
  p.setAttribute('class', className);
  p.setAttribute('d', d || 'M0,0');
  return p;
}

function element(name) {
  return document.createElementNS(NS, name);
}

function fmt(n) {
  return Math.round(n * 10) / 10;
}
