// How figures read on the page: short, with their unit, and "–" for what is not known.

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** `14:03:07`, with the date in front when it is not today. */
export function time(ms) {
  if (ms === null || ms === undefined) return '–';
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today ? clock.format(date) : `${day.format(date)} ${clock.format(date)}`;
}

/** `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`. */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** How long ago: `just now`, `40 s ago`, `3 min ago`. */
export function ago(ms, now = Date.now()) {
  const d = now - ms;
  return d < 2000 ? 'just now' : `${duration(d).replace(/ \d+ s$/, '')} ago`;
}

export function rate(rps) {
  if (rps === null || rps === undefined) return '–';
  return `${rps >= 100 || rps === 0 ? Math.round(rps) : rps.toFixed(1)} req/s`;
}

/** An error rate (0..1) as a percentage. */
export function percent(share) {
  if (share === null || share === undefined) return '–';
  const p = share * 100;
  return `${p === 0 || p >= 10 ? Math.round(p) : p.toFixed(p < 1 ? 2 : 1)}%`;
}

export function millis(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms >= 10 ? Math.round(ms) : ms.toFixed(1)} ms`;
}

/** The URL without its scheme: what fits in a target row. */
export function origin(url) {
  return url.replace(/^https?:\/\//, '');
}
