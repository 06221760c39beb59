// The admin API's view of a request target: an origin-form path (RFC 9112 §3.2.1) and its percent-decoded parts.
// Anything else is the caller's mistake, answered 400 like any other bad request.
import type { IncomingMessage } from 'node:http';
import { BadRequestError } from '../core/errors.ts';

/** The request's URL; a target that is not a path (`//host:port/`, `*`, an absolute URL) is refused. */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  if (!target.startsWith('/') || target.startsWith('//')) throw new BadRequestError(`the admin API answers paths only, not "${target.slice(0, 100)}"`);
  try {
    return new URL(target, 'http://admin');
  } catch {
    throw new BadRequestError(`"${target.slice(0, 100)}" is not a valid path`);
  }
}

/** One percent-encoded part of a path, decoded; a malformed escape (`%ZZ`, a cut UTF-8 sequence) is refused. */
export function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadRequestError(`"${part.slice(0, 100)}" in the path has a malformed percent escape`);
  }
}
