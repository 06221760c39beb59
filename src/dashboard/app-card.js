// One app on the page: its name and live environment, its action buttons, the deployment in progress, blue and
// green side by side, the share of traffic each takes, and its history.
import { createChart, drawStacked } from './charts.js';
import { el, setAttr, setText } from './dom.js';
import { EnvPanel } from './env-panel.js';
import { duration, percent, rate, time } from './format.js';
import { createDeploymentViews, updateDeployments } from './timeline.js';

export const ACTIONS = ['switch', 'rollback', 'pause', 'resume'];
const LABELS = { switch: 'Switch', rollback: 'Roll back', pause: 'Pause', resume: 'Resume' };

export class AppCard {
  /**
   * @param {string} name
   * @param {(action: string, app: string) => void} onAction
   */
  constructor(name, onAction) {
    this.name = name;
    const id = `app-${name}`;
    this.summary = el('p', { class: 'summary' });
    this.flags = el('p', { class: 'flags' });
    this.alerts = el('p', { class: 'alerts', role: 'alert' });
    this.buttons = Object.fromEntries(ACTIONS.map((a) => [a, el('button', { type: 'button', class: a, 'data-action': a }, LABELS[a])]));
    for (const [action, button] of Object.entries(this.buttons)) button.addEventListener('click', () => onAction(action, name));
    this.deployments = createDeploymentViews();
    this.envs = { blue: new EnvPanel(name, 'blue'), green: new EnvPanel(name, 'green') };
    this.share = createShareViews(name);
    this.root = el(
      'section',
      { class: 'app', 'data-app': name, 'aria-labelledby': `${id}-title` },
      el(
        'header',
        { class: 'app-head' },
        el('div', {}, el('h2', { id: `${id}-title` }, name), this.summary, this.flags),
        el('div', { class: 'actions', role: 'group', 'aria-label': `Actions on ${name}` }, ...Object.values(this.buttons)),
      ),
      this.alerts,
      this.deployments.progress,
      el('div', { class: 'envs' }, this.envs.blue.root, this.envs.green.root),
      this.share.root,
      this.deployments.history,
    );
  }

  /**
   * Shows the app as the model has it now. Called whenever any part changed, and once a tick for the charts.
   * @param {{ status: object, history: object[], points: { blue: object[], green: object[] }, traffic: object | null }} model
   * @param {{ now: number, spanMs: number }} span the time the charts cover, ending now
   */
  update(model, span) {
    const { status, history, points, traffic } = model;
    this.updateHead(status);
    updateDeployments(this.deployments, status.deployment, history);
    for (const color of ['blue', 'green']) this.envs[color].update(status.envs[color], points[color], traffic?.envs[color] ?? null, span);
    updateShare(this.share, this.name, points, traffic, span);
  }

  updateHead(status) {
    const live = status.live === null ? null : status.envs[status.live];
    const liveText = live === null ? 'nothing is live yet' : `live: ${live.color} ${live.version}`;
    const hosts = status.hosts.length === 0 ? 'default app' : status.hosts.join(', ');
    setText(this.summary, `${liveText} · ${hosts} · ${status.driver} driver · switch ${status.switchMode}`);
    setText(this.flags, flagsText(status));
    this.flags.hidden = this.flags.textContent === '';
    setText(this.alerts, status.alerts.join(' '));
    this.alerts.hidden = status.alerts.length === 0;
    this.root.dataset.live = status.live ?? '';
    const allowed = allowedActions(status);
    for (const action of ACTIONS) {
      setAttr(this.buttons[action], 'disabled', !allowed[action].ok);
      setAttr(this.buttons[action], 'title', allowed[action].why);
    }
  }
}

/** What each button may do now; the server checks again and says why when it refuses. */
export function allowedActions(status) {
  const live = status.live;
  const other = live === null ? null : status.envs[live === 'blue' ? 'green' : 'blue'];
  const ready = Object.values(status.envs).find((e) => e.state === 'ready' && e.color !== live);
  const standby = other !== null && (other.state === 'standby' || (other.state === 'retired' && other.version !== null));
  return {
    switch: ready ? { ok: true, why: `make ${ready.color} (${ready.version}) live` } : { ok: false, why: 'no candidate is ready' },
    rollback: standby ? { ok: true, why: `make ${other.color} (${other.version}) live again` } : { ok: false, why: 'there is no standby to roll back to' },
    pause: status.paused === null ? { ok: live !== null, why: live !== null ? 'hold new requests' : 'nothing is live' } : { ok: false, why: 'already paused' },
    resume: status.paused !== null ? { ok: true, why: 'release the held requests' } : { ok: false, why: 'not paused' },
  };
}

function flagsText(status) {
  const flags = [];
  if (status.paused !== null) flags.push(`paused until ${time(status.paused.until)}, ${status.paused.held} requests held`);
  if (status.busy !== null) flags.push(`busy: ${status.busy}`);
  return flags.join(' · ');
}

function createShareViews(app) {
  const bar = el('div', { class: 'share-bar', 'aria-hidden': 'true' }, el('span', { class: 'blue' }), el('span', { class: 'green' }));
  const text = el('p', { class: 'share-text' });
  const total = el('strong', { class: 'value' }, '–');
  const scale = el('span', { class: 'scale' });
  const chart = createChart('stacked');
  const root = el(
    'section',
    { class: 'traffic', 'aria-label': `Traffic of ${app}` },
    el('h3', {}, 'Share of traffic'),
    bar,
    text,
    el('figure', { class: 'figure' }, el('figcaption', {}, 'All requests ', total, scale), chart),
  );
  return { root, bar, text, total, scale, chart };
}

function updateShare(views, app, points, traffic, span) {
  const share = { blue: traffic?.envs.blue.share ?? null, green: traffic?.envs.green.share ?? null };
  const [blueBar, greenBar] = views.bar.children;
  // CSSOM (not a style attribute), which the page's Content-Security-Policy allows.
  blueBar.style.flexGrow = String(share.blue ?? 0);
  greenBar.style.flexGrow = String(share.green ?? 0);
  views.bar.dataset.empty = String(share.blue === null);
  const words = share.blue === null ? 'no requests in the last seconds' : `blue ${percent(share.blue)} · green ${percent(share.green)}`;
  setText(views.text, words);
  const label = `Requests of ${app} over the last ${duration(span.spanMs)}, blue below green`;
  const top = drawStacked(views.chart, points, { ...span, label });
  const now = traffic === null ? null : traffic.envs.blue.rps + traffic.envs.green.rps;
  setText(views.total, rate(now));
  setText(views.scale, `axis to ${rate(top)}`);
}
