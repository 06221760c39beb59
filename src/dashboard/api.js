// Calls to the admin API from the page. With `admin.token` set every call needs `Authorization: Bearer`; the
// token is asked for once, when a call is refused with 401, and kept in sessionStorage: for this tab only, gone
// when it closes.
import { askToken } from './dialogs.js';

const TOKEN_KEY = 'cutover.adminToken';

/** An answer of the admin API that is not a 2xx, with its `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The user closed the token dialog without giving one. */
export class NoTokenError extends Error {
  constructor() {
    super('the admin API needs a token');
  }
}

let token = readToken();
/** One prompt at a time: every call refused meanwhile waits for the same answer. */
let asking = null;
/** The user cancelled the prompt: calls fail quietly until they ask to enter a token (`newToken`). */
let declined = false;

/** Authorization headers for the current token, if any. */
export function authHeaders() {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/**
 * fetch() with the token. On 401 the user is asked for a (new) token and the call made again. Rejects with
 * NoTokenError when the user cancels the prompt, and from then on without asking, until `newToken`.
 */
export async function authorizedFetch(path, init = {}) {
  for (;;) {
    const used = token;
    const res = await fetch(path, { ...init, cache: 'no-store', headers: { ...init.headers, ...authHeaders() } });
    if (res.status !== 401) return res;
    await res.body?.cancel();
    if (declined) throw new NoTokenError();
    // Another call may have got a new token while this one was on its way: try that one before asking.
    if (token === used) await ask(used !== null);
  }
}

/** A JSON call; resolves with the body, rejects with ApiError. */
export async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await authorizedFetch(path, init);
  const text = await res.text();
  const json = text === '' ? null : JSON.parse(text);
  if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? 'HTTP_' + res.status, json?.error?.message ?? res.statusText);
  return json;
}

/** Asks for a token because the user wants to give one (after cancelling the prompt before). */
export function newToken() {
  declined = false;
  return ask(false);
}

/** Asks for a token (again); `wasRefused` tells the dialog to say the last one did not work. */
function ask(wasRefused) {
  asking ??= askToken(wasRefused).then(
    (value) => {
      asking = null;
      declined = value === null;
      if (value === null) throw new NoTokenError();
      token = value;
      writeToken(value);
    },
    (err) => {
      asking = null;
      throw err;
    },
  );
  return asking;
}

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage can be disabled; then the token lives in this page only
  }
}

function writeToken(value) {
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // as above
  }
}
