// The "Recent events" list: every control event from the stream as one sentence, newest first. The list is an
// aria-live region, so a screen reader hears each switch, rollback or phase as it happens.
import { el } from './dom.js';
import { origin, time } from './format.js';

const MAX_ENTRIES = 50;

/** @param {HTMLOListElement} list @param {object} e an event from /api/events */
export function appendEvent(list, e) {
  const item = el('li', { 'data-type': e.type, 'data-app': e.app ?? null }, el('time', { datetime: new Date(e.at).toISOString() }, time(e.at)), ' ', describeEvent(e));
  list.prepend(item);
  while (list.children.length > MAX_ENTRIES) list.lastElementChild.remove();
}

/** One sentence for an event. */
export function describeEvent(e) {
  const app = e.app ? `${e.app}: ` : '';
  const by = e.who ? ` by ${e.who}` : '';
  switch (e.type) {
    case 'deployment':
      return `${app}${e.version} on ${e.color} is ${e.phase}${e.message ? ` — ${e.message}` : ''}`;
    case 'switch':
      return `${app}switched from ${e.from ?? 'nothing'} to ${e.to} (${e.version})${by}`;
    case 'rollback':
      return `${app}rolled back from ${e.from} to ${e.to} (${e.version})${by}`;
    case 'retire':
      return `${app}${e.env} (${e.version}) retired: its standby time ran out`;
    case 'pause':
      return `${app}paused until ${time(e.until)}${by}`;
    case 'resume':
      return `${app}resumed${by}`;
    case 'target.health':
      return `${app}${e.env} target ${origin(e.target)} is ${e.healthy ? 'healthy' : 'unhealthy'}${e.reason ? `: ${e.reason}` : ''}`;
    case 'app.unhealthy':
      return `${app}every live target of ${e.env} is failing its health checks${e.reason ? `: ${e.reason}` : ''}`;
    case 'config.reloaded':
      return `config reloaded${list(' added', e.added)}${list(' removed', e.removed)}${list(' needs a restart for', e.needsRestart)}`;
    default:
      if (e.type.startsWith('instance.')) return `${app}${e.env} instance ${origin(e.target ?? '')} ${e.type.slice(9)}${e.detail ? `: ${e.detail}` : ''}`;
      return `${app}${e.type}`;
  }
}

function list(label, names) {
  return Array.isArray(names) && names.length > 0 ? `;${label} ${names.join(', ')}` : '';
}
