// One environment of one app: version, role, state, its targets with their health, and three live charts of
// the traffic it takes (request rate, error rate, p99).
import { createChart, drawLine } from './charts.js';
import { el, replaceChildren, setAttr, setText } from './dom.js';
import { ago, duration, millis, origin, percent, rate, time } from './format.js';

/** The figures charted, each with the least top of its y axis so that noise near zero stays flat. */
const FIGURES = [
  { key: 'rps', title: 'Requests', unit: rate, floor: 1 },
  { key: 'errorRate', title: 'Errors', unit: percent, floor: 0.01 },
  { key: 'p99Ms', title: 'p99', unit: millis, floor: 10 },
];

export class EnvPanel {
  /** @param {string} app @param {'blue' | 'green'} color */
  constructor(app, color) {
    this.color = color;
    this.role = el('span', { class: 'role' });
    this.version = el('p', { class: 'version' });
    this.state = el('dd', { class: 'state' });
    this.since = el('dd', { class: 'since' });
    this.targets = el('ul', { class: 'targets' });
    this.figures = FIGURES.map((f) => this.figure(app, f));
    const heading = el('h3', { id: `env-${app}-${color}` }, el('span', { class: 'swatch', 'aria-hidden': 'true' }), color, ' ', this.role);
    this.root = el(
      'article',
      { class: 'env', 'data-color': color, 'aria-labelledby': heading.id },
      heading,
      this.version,
      el('dl', { class: 'facts' }, el('div', {}, el('dt', {}, 'State'), this.state), el('div', {}, el('dt', {}, 'Since'), this.since)),
      el('div', { class: 'figures' }, ...this.figures.map((f) => f.root)),
      el('h4', {}, 'Targets'),
      this.targets,
    );
  }

  /**
   * @param {object} env the environment's part of the app status
   * @param {{ at: number, rps: number, errorRate: number, p99Ms: number | null, requests: number }[]} points
   * @param {object | null} now the environment's current figures, from the traffic call
   * @param {{ now: number, spanMs: number }} span
   */
  update(env, points, now, span) {
    this.root.dataset.role = env.role;
    this.root.dataset.state = env.state;
    setText(this.role, env.role);
    setText(this.version, env.version ?? 'nothing deployed');
    setAttr(this.version, 'data-empty', env.version === null);
    setText(this.state, env.state);
    setText(this.since, `${time(env.since)} (${ago(env.since)})`);
    setAttr(this.since, 'title', new Date(env.since).toISOString());
    replaceChildren(this.targets, targetItems(env));
    for (const f of this.figures) this.drawFigure(f, points, now, span);
  }

  figure(app, f) {
    const value = el('strong', { class: 'value' }, '–');
    const scale = el('span', { class: 'scale' });
    const chart = createChart(this.color);
    const root = el('figure', { class: `figure ${f.key}` }, el('figcaption', {}, f.title, ' ', value, scale), chart);
    return { ...f, app, root, value, scale, chart };
  }

  drawFigure(f, points, now, span) {
    const series = points.map((p) => ({ at: p.at, value: p.requests === 0 && f.key !== 'rps' ? null : p[f.key] }));
    const current = now === null ? null : now.requests === 0 && f.key !== 'rps' ? null : now[f.key];
    const label = `${f.title} of ${f.app} ${this.color} over the last ${duration(span.spanMs)}: now ${f.unit(current)}`;
    const top = drawLine(f.chart, series, { ...span, floor: f.floor, label });
    setText(f.value, f.unit(current));
    setText(f.scale, `axis to ${f.unit(top)}`);
  }
}

function targetItems(env) {
  if (env.targets.length === 0) {
    const why = env.state === 'retired' ? 'retired: its instances were stopped' : 'no targets';
    return [el('li', { class: 'none' }, why)];
  }
  const instances = new Map((env.instances ?? []).map((i) => [i.url, i]));
  return env.targets.map((t) => {
    const instance = instances.get(t.url);
    const pid = instance && instance.pid !== null ? ` · pid ${instance.pid}` : '';
    const restarts = instance && instance.restarts > 0 ? ` · ${instance.restarts} restarts` : '';
    return el(
      'li',
      { class: 'target', 'data-healthy': String(t.healthy) },
      el('span', { class: 'health' }, t.healthy ? 'healthy' : 'unhealthy'),
      el('span', { class: 'url' }, origin(t.url)),
      el('span', { class: 'counts' }, `${t.inflight} in flight · ${t.requests} requests · ${t.failures} failures${pid}${restarts}`),
      t.lastError && !t.healthy ? el('span', { class: 'error' }, t.lastError) : null,
    );
  });
}
