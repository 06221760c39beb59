// A control call made on an instance that does not run the app goes to the one that does, and its answer comes
// back unchanged: any instance's admin API (and so `cutover --admin` pointed at any of them) can deploy or switch.
// A call that arrives forwarded is never forwarded again, so a leader change in mid-flight cannot loop.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import type { LeaderStatus } from '../admin/control-gate.ts';
import { readJsonBody } from '../admin/request-body.ts';
import { CutoverError } from '../core/errors.ts';

export const FORWARDED_BY = 'x-cutover-forwarded-by';
export const ANSWERED_BY = 'x-cutover-leader';
/** A rollback that redeploys a retired version answers only once it is live; deployments answer at once. */
const FORWARD_TIMEOUT_MS = 10 * 60_000;

export function isForwarded(req: IncomingMessage): boolean {
  return req.headers[FORWARDED_BY] !== undefined;
}

/** Sends `req` (a POST with a JSON body) to `leader` as `from`, and relays its answer to `res`. */
export async function forwardControl(req: IncomingMessage, res: ServerResponse, url: URL, leader: LeaderStatus, from: string): Promise<void> {
  const body = JSON.stringify(await readJsonBody(req));
  const headers: Record<string, string> = { 'content-type': 'application/json', [FORWARDED_BY]: from };
  if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(`${leader.adminUrl}${url.pathname}${url.search}`, {
      method: 'POST', headers, body, headersTimeout: FORWARD_TIMEOUT_MS, bodyTimeout: FORWARD_TIMEOUT_MS,
    });
  } catch (err) {
    const message = `instance ${leader.id}, which runs this app, did not answer at ${leader.adminUrl} (${(err as Error).message}); ` +
      'if it died, another instance takes over once its lease runs out (state.etcd.lease)';
    throw new CutoverError('LEADER_UNREACHABLE', 503, message, { cause: err });
  }
  const text = await answer.body.text();
  res.writeHead(answer.statusCode, {
    'content-type': String(answer.headers['content-type'] ?? 'application/json; charset=utf-8'),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    [ANSWERED_BY]: leader.id,
  });
  res.end(text);
}
