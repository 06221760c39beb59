// The current (or last) deployment as a progress line through its phases, and the app's history as a timeline.
import { el, replaceChildren, setText } from './dom.js';
import { ago, duration, millis, percent, time } from './format.js';

/** The lifecycle in order (DESIGN.md); `failed` and `rolled-back` end it early. */
export const PHASES = ['starting', 'health-gate', 'verifying', 'ready', 'switching', 'watching', 'done'];
const ENDS = new Set(['done', 'failed', 'rolled-back']);

/** The parts of a card that show deployments, built once. */
export function createDeploymentViews() {
  const caption = el('p', { class: 'caption' });
  const steps = el('ol', { class: 'phases' });
  const message = el('p', { class: 'message' });
  const progress = el('section', { class: 'deployment', 'aria-label': 'Deployment progress' }, caption, steps, message);
  const list = el('ol', { class: 'timeline' });
  const history = el('section', { class: 'history' }, el('h3', {}, 'History'), list);
  return { progress, history, caption, steps, message, list };
}

/**
 * @param {ReturnType<typeof createDeploymentViews>} views
 * @param {{ id: string, phase: string } | null} current the deployment in progress, from the app's status
 * @param {object[]} history newest first
 */
export function updateDeployments(views, current, history) {
  const record = (current && history.find((d) => d.id === current.id)) ?? history[0] ?? null;
  views.progress.hidden = record === null;
  if (record !== null) {
    const phase = current?.id === record.id ? latest(current.phase, record.phase) : record.phase;
    updateProgress(views, record, phase);
  }
  replaceChildren(views.list, history.length === 0 ? [el('li', { class: 'none' }, 'No deployments yet.')] : history.map(entry));
}

function updateProgress(views, d, phase) {
  setText(views.caption, deploymentCaption(d, phase));
  views.progress.dataset.phase = phase;
  replaceChildren(views.steps, steps(d, phase));
  const last = d.phases.at(-1);
  setText(views.message, (phase === 'failed' || phase === 'rolled-back' ? d.reason : last?.message) ?? '');
}

/**
 * "Deploying v2 to green · started … by …"; once it ended, "Last deployment: …". A deployment rolled back by hand and
 * switched back is not deploying again: "Switched back to v2 on green".
 */
export function deploymentCaption(d, phase) {
  const open = !ENDS.has(phase);
  const switchedBack = open && d.phases.some((p) => p.phase === 'rolled-back');
  const lead = switchedBack ? `Switched back to ${d.version} on ${d.color}` : open ? `Deploying ${d.version} to ${d.color}` : `Last deployment: ${d.version} to ${d.color}`;
  const end = d.finishedAt ? ` · ${outcomeWord(phase)} after ${duration(d.finishedAt - d.createdAt)}` : ` · ${phase}`;
  return `${lead} · started ${time(d.createdAt)} by ${d.who}${end}`;
}

/** One <li> per phase of the lifecycle, each reached, current, failed, skipped or to come. */
function steps(d, phase) {
  const reached = new Map(d.phases.map((p) => [p.phase, p]));
  const lastReached = Math.max(...d.phases.map((p) => PHASES.indexOf(p.phase)));
  const items = PHASES.map((name, i) => {
    const at = reached.get(name)?.at;
    let state = at !== undefined ? 'done' : i < lastReached ? 'skipped' : 'pending';
    if (name === phase && !ENDS.has(phase)) state = 'current';
    if (i === lastReached && (phase === 'failed' || phase === 'rolled-back')) state = 'failed';
    const offset = at === undefined ? '' : name === 'starting' ? time(at) : `+${duration(at - d.createdAt)}`;
    return el(
      'li',
      { class: state, 'aria-current': state === 'current' ? 'step' : null },
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { class: 'name' }, name),
      el('span', { class: 'visually-hidden' }, ` (${state})`),
      el('span', { class: 'at' }, offset),
    );
  });
  if (phase === 'failed' || phase === 'rolled-back') {
    items.push(el('li', { class: 'end failed' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { class: 'name' }, phase)));
  }
  return items;
}

/** One deployment in the history. */
function entry(d) {
  const took = d.finishedAt ? duration(d.finishedAt - d.createdAt) : 'in progress';
  const figures = metricsLine(d.metrics);
  return el(
    'li',
    { class: 'entry', 'data-outcome': d.phase },
    el('span', { class: 'mark', 'aria-hidden': 'true' }),
    el(
      'div',
      { class: 'body' },
      el(
        'p',
        { class: 'head' },
        el('strong', { class: 'version' }, d.version),
        ` → ${d.color} · `,
        el('span', { class: 'outcome' }, outcomeWord(d.phase)),
        el('span', { class: 'meta' }, ` · ${time(d.createdAt)} (${ago(d.createdAt)}) · ${took} · by ${d.who}`),
      ),
      d.reason ? el('p', { class: 'reason' }, d.reason) : null,
      figures ? el('p', { class: 'metrics' }, figures) : null,
    ),
  );
}

function outcomeWord(phase) {
  return phase === 'done' ? 'done' : phase === 'rolled-back' ? 'rolled back' : phase;
}

/** The figures a deployment kept (analysis or baseline), in words. */
function metricsLine(m) {
  if (!m) return '';
  const parts = [];
  if (typeof m.requests === 'number') parts.push(`${m.requests} requests`);
  if (typeof m.errorRate === 'number') parts.push(`${percent(m.errorRate)} errors`);
  if (typeof m.p99Ms === 'number') parts.push(`p99 ${millis(m.p99Ms)}`);
  if (typeof m.baselineP99Ms === 'number') parts.push(`baseline p99 ${millis(m.baselineP99Ms)}`);
  if (typeof m.baselineErrorRate === 'number') parts.push(`baseline ${percent(m.baselineErrorRate)} errors`);
  return parts.join(' · ');
}

/** The status and the history can be a moment apart; the later phase of the two wins. */
function latest(a, b) {
  if (ENDS.has(b)) return b;
  return PHASES.indexOf(a) >= PHASES.indexOf(b) ? a : b;
}
