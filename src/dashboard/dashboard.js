// The dashboard's entry point. It keeps one model per app (status, history, traffic seconds) fed by three
// sources: the event stream (what changed, at once), the traffic call (every TICK_MS) and the status call (every
// TICK_MS, for the counters that change without an event). Every change schedules one render.
import { api, ApiError, newToken, NoTokenError } from './api.js';
import { AppCard } from './app-card.js';
import { confirmAction } from './dialogs.js';
import { el, setText } from './dom.js';
import { appendEvent } from './event-log.js';
import { followEvents } from './event-stream.js';
import { TrafficBuffer } from './traffic-buffer.js';

const TICK_MS = 2000;
const HISTORY_LIMIT = 20;
const NOTICE_MS = 15_000;
const REFRESH_DELAY_MS = 50;
const ANNOUNCE_AFTER_MS = 1000;
/** Events after which the app's history is fetched again. */
const HISTORY_EVENTS = new Set(['deployment', 'switch', 'rollback', 'retire']);

/** @type {Map<string, { status: object, history: object[], traffic: TrafficBuffer, card: AppCard }>} */
const apps = new Map();
const $ = (id) => document.getElementById(id);
let renderQueued = false;
let refreshTimer = null;
const historyDue = new Set();
let streaming = false;
let ticking = false;
let noticeTimer;

start();

function start() {
  $('sign-in').addEventListener('click', () => signIn());
  follow();
  refreshAll().catch(failed);
  setInterval(() => tick().catch(failed), TICK_MS);
}

function follow() {
  if (streaming) return;
  streaming = true;
  followEvents({ onEvent, onState }).finally(() => (streaming = false));
}

/** Reads everything again: at the start, after a reconnect, a reload of the config or a `reset`. */
async function refreshAll() {
  const known = [...apps.keys()];
  await refreshStatus(); // apps new to the page fetch their history and traffic as they are added
  await Promise.all(known.filter((name) => apps.has(name)).flatMap((name) => [refreshHistory(name), refreshTraffic(name)]));
  $('apps').setAttribute('aria-busy', 'false');
}

async function tick() {
  // In a background tab the timers run slow anyway; catch up when it shows. A slow tick is not overlapped.
  if (document.hidden || ticking) return;
  ticking = true;
  try {
    await refreshStatus();
    await Promise.all([...apps.keys()].map(refreshTraffic));
  } finally {
    ticking = false;
  }
}

async function refreshStatus() {
  const list = await api('GET', '/api/apps');
  const names = new Set(list.map((s) => s.name));
  for (const [name, app] of apps) {
    if (names.has(name)) continue;
    app.card.root.remove();
    apps.delete(name);
  }
  for (const status of list) {
    const app = apps.get(status.name);
    if (app !== undefined) app.status = status;
    else addApp(status);
  }
  hideNotice('connection');
  if (apps.size === 0) $('apps').replaceChildren(el('p', { class: 'empty' }, 'No apps are configured.'));
  else $('apps').querySelector(':scope > p.empty')?.remove();
  render();
}

function addApp(status) {
  const card = new AppCard(status.name, (action, app) => act(action, app).catch((err) => failed(err, 'action')));
  apps.set(status.name, { status, history: [], traffic: new TrafficBuffer(), card });
  $('apps').append(card.root);
  void refreshHistory(status.name).catch(failed);
  void refreshTraffic(status.name).catch(failed);
}

async function refreshHistory(name) {
  const history = await api('GET', `/api/apps/${encodeURIComponent(name)}/deployments?limit=${HISTORY_LIMIT}`);
  const app = apps.get(name);
  if (app === undefined) return;
  app.history = history;
  render();
}

async function refreshTraffic(name) {
  const app = apps.get(name);
  if (app === undefined) return;
  const seconds = app.traffic.secondsToFetch(Date.now());
  const traffic = await api('GET', `/api/apps/${encodeURIComponent(name)}/traffic?seconds=${seconds}`);
  app.traffic.add(traffic);
  render();
}

/** Coalesces the updates of one moment into one render. */
function render() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    for (const app of apps.values()) {
      const now = app.traffic.now();
      const span = { now, spanMs: app.traffic.chartSpan(now) };
      app.card.update({ status: app.status, history: app.history, points: app.traffic.points(), traffic: app.traffic.latest }, span);
    }
  }, 0);
}

function onEvent(event) {
  // `reset`: the server no longer held the events this page missed, so read everything again.
  if (event.type === 'reset' || event.type === 'config.reloaded') return void refreshAll().catch(failed);
  appendEvent($('events'), event);
  queueRefresh(HISTORY_EVENTS.has(event.type) && apps.has(event.app) ? event.app : null);
}

/**
 * A burst of events (a replay, a deployment's phases) asks for the status once, and for each app's history
 * once, after REFRESH_DELAY_MS.
 */
function queueRefresh(historyOf) {
  if (historyOf !== null) historyDue.add(historyOf);
  refreshTimer ??= setTimeout(() => {
    refreshTimer = null;
    const names = [...historyDue];
    historyDue.clear();
    refreshStatus().catch(failed);
    for (const name of names) refreshHistory(name).catch(failed);
  }, REFRESH_DELAY_MS);
}

function onState(state, detail) {
  const node = $('connection');
  node.dataset.state = state;
  $('sign-in').hidden = state !== 'no-token';
  if (state === 'live') {
    setText(node, 'live');
    // The first connection replays what happened before the page opened: read that out to no one, then speak
    // each new event as it comes.
    setTimeout(() => $('events').setAttribute('aria-live', 'polite'), ANNOUNCE_AFTER_MS);
    // Events may have been missed while the stream was down (past what the server replays): read it all again.
    refreshAll().catch(failed);
  } else if (state === 'reconnecting') setText(node, `reconnecting… (${detail})`);
  else setText(node, 'the admin API needs a token');
}

/** Asks for confirmation, then calls the admin API; the events that follow update the page. */
async function act(action, name) {
  const app = apps.get(name);
  if (app === undefined) return;
  // What the dialog shows is what is confirmed: a flip says what was live then, even if the page updates meanwhile.
  const shown = app.status;
  const choice = await confirmAction(describeAction(action, shown));
  if (choice === null) return;
  const button = app.card.buttons[action];
  button.setAttribute('aria-busy', 'true');
  try {
    // If another flip came first, it is refused rather than undoing it; so is one to a version deployed meanwhile.
    const version = shown.envs[flipColor(action, shown)].version;
    const flip = { force: choice.force, who: 'dashboard', from: shown.live, ...(version === null ? {} : { version }) };
    const body = action === 'pause' ? { maxMs: choice.maxMs, who: 'dashboard' } : action === 'resume' ? { who: 'dashboard' } : flip;
    app.status = await api('POST', `/api/apps/${encodeURIComponent(name)}/${action}`, body);
    hideNotice('action');
    render();
  } finally {
    button.removeAttribute('aria-busy');
  }
}

/** The environment a switch (the ready candidate) or a rollback (the other one) of `status` makes live. */
function flipColor(action, status) {
  if (action === 'rollback') return status.live === 'blue' ? 'green' : 'blue';
  return status.envs.blue.state === 'ready' && status.live !== 'blue' ? 'blue' : 'green';
}

/** The confirmation dialog's words for an action on an app in its current state. */
function describeAction(action, status) {
  const env = (color) => `${color} (${status.envs[color].version})`;
  const live = status.live;
  const other = flipColor('rollback', status);
  const ready = flipColor('switch', status);
  switch (action) {
    case 'switch':
      return {
        title: `Switch ${status.name} to ${ready}?`,
        text: `All new requests go to ${env(ready)}.${live ? ` ${env(live)} finishes the requests it has and stays warm as standby.` : ''}`,
        ok: `Switch to ${ready}`,
        force: true,
      };
    case 'rollback': {
      const retired = status.envs[other].state === 'retired';
      const how = retired ? ` ${other} was retired, so ${status.envs[other].version} is first deployed there again.` : ' At once: it is still warm.';
      return { title: `Roll back ${status.name} to ${other}?`, text: `All new requests go back to ${env(other)}.${how}`, ok: 'Roll back', force: true, danger: true };
    }
    case 'pause':
      return { title: `Pause ${status.name}?`, text: 'New requests are held (up to 1000) until you resume, or until the time below runs out.', ok: 'Pause', pause: true, danger: true };
    default:
      return { title: `Resume ${status.name}?`, text: 'The held requests are released in the order they came.', ok: 'Resume' };
  }
}

async function signIn() {
  try {
    await newToken();
    follow();
    await refreshAll();
  } catch (err) {
    failed(err);
  }
}

/**
 * Shows what went wrong. A failed action stays until the next action or NOTICE_MS; a failed refresh until the
 * next refresh that works.
 */
function failed(err, kind = 'connection') {
  if (err instanceof NoTokenError) return onState('no-token');
  const text = err instanceof ApiError ? `${err.message} (${err.code})` : `The admin API could not be reached: ${err.message}`;
  const notice = $('notice');
  setText(notice, text);
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === 'action') noticeTimer = setTimeout(() => hideNotice('action'), NOTICE_MS);
}

function hideNotice(kind) {
  const notice = $('notice');
  if (notice.dataset.kind === kind) notice.hidden = true;
}
