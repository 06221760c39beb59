// The `verify` phase: smoke checks against a candidate target (runChecks), and the user's own suite or a hook run
// as a shell command (runCommand). Both report a plain sentence per outcome, which becomes a failed deployment's
// reason, so every message names what was seen and what was expected.

import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import type { VerifyCheck } from '../config/config.ts';
import { abortReason } from '../core/abort-reason.ts';
import { formatDuration } from '../config/duration.ts';
import { describeError } from '../health/health-probe.ts';
import { fillTemplate } from '../config/template.ts';

export interface CheckResult {
  /** The check's name, like "GET /version". */
  readonly check: string;
  readonly ok: boolean;
  /** What happened: "answered 200" when it passed, else the reason, like `version was "v1", expected "v2"`. */
  readonly got: string;
  /** From sending the request to the end of the body read. */
  readonly ms: number;
}

export interface RunChecksOptions {
  /** The target's origin, like http://127.0.0.1:3001. */
  readonly baseUrl: string;
  /** Template values for bodyContains and json, like { version: 'v2', env: 'green' }. */
  readonly vars: Readonly<Record<string, string>>;
  readonly dispatcher?: Dispatcher;
  /** Sent with every check, over the check's own (e.g. the preview header when checking through the proxy). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the checks still to run (cutover is stopping); they fail with "cancelled". */
  readonly signal?: AbortSignal;
}

/** Runs every check in order, one at a time, so a failing one never hides the others' outcome. */
export async function runChecks(checks: readonly VerifyCheck[], options: RunChecksOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push(await runCheck(check, options));
  return results;
}

export function firstFailure(results: readonly CheckResult[]): CheckResult | null {
  return results.find((result) => !result.ok) ?? null;
}

export interface CommandResult {
  /** Exit status 0, within the time. */
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last MAX_OUTPUT_BYTES of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly ms: number;
  readonly timedOut: boolean;
}

export interface RunCommandOptions {
  /** Added to cutover's own environment, so PATH and HOME stay as the operator set them. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly timeoutMs: number;
  /** Stops the command like a timeout does, without calling it one (cutover is stopping). */
  readonly signal?: AbortSignal;
}

/**
 * Runs `command` with /bin/sh -c in a process group of its own. On timeout (or abort) the whole group gets SIGTERM,
 * then SIGKILL after KILL_GRACE_MS, so a script's children (`npm test` → node → browser) do not outlive it.
 * Resolves once the shell exits; it never rejects.
 */
export function runCommand(command: string, options: RunCommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => new CommandRun(command, options, resolve).start());
}

/** Bodies are read only as far as a check needs them, and never past this. */
export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_OUTPUT_BYTES = 64 * 1024;
/** Between SIGTERM and SIGKILL for a command that ran out of time. */
export const KILL_GRACE_MS = 2_000;

async function runCheck(check: VerifyCheck, options: RunChecksOptions): Promise<CheckResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(check.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await send(check, options, signal);
    const body = needsBody(check) ? await readBounded(response.body) : await discard(response.body);
    const ms = elapsed(started);
    const problem = verdict(check, response.statusCode, body, ms, options.vars);
    return { check: check.name, ok: problem === null, got: problem ?? `answered ${response.statusCode}`, ms };
  } catch (err) {
    const why = options.signal?.aborted ? cancelled(options.signal) : timeout.aborted ? `timed out after ${formatDuration(check.timeoutMs)}` : describeError(err);
    return { check: check.name, ok: false, got: `failed: ${why}`, ms: elapsed(started) };
  }
}

function send(check: VerifyCheck, options: RunChecksOptions, signal: AbortSignal) {
  // Header names are case-insensitive (RFC 9110 §5.1); lower-casing lets a later layer replace an earlier one.
  const headers: Record<string, string> = { 'user-agent': 'cutover-verify' };
  for (const [name, value] of [...Object.entries(check.headers), ...Object.entries(options.headers ?? {})]) {
    headers[name.toLowerCase()] = value;
  }
  // The path is appended to the origin, never resolved against it, so no check can leave the target.
  return request(`${new URL(options.baseUrl).origin}${check.path}`, {
    method: check.method as Dispatcher.HttpMethod,
    headers,
    // The signal times the whole exchange, head and body, so undici's own timeouts are left at their defaults.
    signal,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
}

function needsBody(check: VerifyCheck): boolean {
  return check.bodyContains !== null || check.json !== null;
}

interface Body {
  readonly text: string;
  /** The body went on past MAX_BODY_BYTES; `text` is its start. */
  readonly cut: boolean;
}

async function readBounded(stream: AsyncIterable<Buffer> & { destroy(): void }): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      stream.destroy();
      return { text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8'), cut: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), cut: false };
}

async function discard(body: { dump(): Promise<void> }): Promise<null> {
  await body.dump();
  return null;
}

// In the order a person debugging would want them: a wrong status explains a wrong body, and both matter more
// than speed.
function verdict(
  check: VerifyCheck, status: number, body: Body | null, ms: number, vars: Readonly<Record<string, string>>,
): string | null {
  return statusProblem(check, status) ??
    bodyProblem(check, body, vars) ??
    jsonProblem(check, body, vars) ??
    (check.maxLatencyMs !== null && ms > check.maxLatencyMs ? `took ${ms}ms, over ${check.maxLatencyMs}ms` : null);
}

function statusProblem(check: VerifyCheck, status: number): string | null {
  if (check.status === null) return status >= 200 && status < 300 ? null : `answered ${status}`;
  return status === check.status ? null : `answered ${status}, expected ${check.status}`;
}

function bodyProblem(check: VerifyCheck, body: Body | null, vars: Readonly<Record<string, string>>): string | null {
  if (check.bodyContains === null || body === null) return null;
  const wanted = fillTemplate(check.bodyContains, vars);
  if (body.text.includes(wanted)) return null;
  return `${body.cut ? 'the first 1 MiB of the body' : 'body'} did not contain ${JSON.stringify(wanted)}`;
}

function jsonProblem(check: VerifyCheck, body: Body | null, vars: Readonly<Record<string, string>>): string | null {
  if (check.json === null || body === null) return null;
  if (body.cut) return 'body is over 1 MiB, too big to check as JSON';
  let document: unknown;
  try {
    document = JSON.parse(body.text);
  } catch {
    return 'body is not JSON';
  }
  for (const [path, expected] of Object.entries(check.json)) {
    const wanted = typeof expected === 'string' ? fillTemplate(expected, vars) : expected;
    const found = lookup(document, path);
    if (found.present && found.value === wanted) continue;
    const was = found.present ? `was ${shortJson(found.value)}` : 'is missing';
    return `${path} ${was}, expected ${JSON.stringify(wanted)}`;
  }
  return null;
}

// "items.0.id": a numeric segment indexes an array; only own properties count, so "constructor" is never found.
function lookup(document: unknown, path: string): { present: boolean; value?: unknown } {
  let value = document;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return { present: false };
    value = (value as Record<string, unknown>)[key];
  }
  return { present: true, value };
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** One command from spawn to the shell's exit: output kept in a bounded tail, the group killed on time-out. */
class CommandRun {
  private readonly started = performance.now();
  private readonly output = new OutputTail(MAX_OUTPUT_BYTES);
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timedOut = false;
  private stopped = false;
  private settled = false;

  constructor(
    private readonly command: string,
    private readonly options: RunCommandOptions,
    private readonly resolve: (result: CommandResult) => void,
  ) {}

  start(): void {
    const { cwd, env, signal } = this.options;
    if (signal?.aborted) return this.finish(null, null, 'not started: cancelled');
    try {
      // detached: the shell leads a new process group, which is what a kill of -pid reaches.
      this.child = spawn('/bin/sh', ['-c', this.command], {
        cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      return this.finish(null, null, `could not start: ${(err as Error).message}`);
    }
    this.watch(this.child);
  }

  private watch(child: ChildProcess): void {
    child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk));
    child.on('error', (err) => this.finish(null, null, startFailure(err, this.options.cwd)));
    child.on('exit', (code, signal) => this.afterExit(child, code, signal));
    this.timer = setTimeout(() => this.stop(true), this.options.timeoutMs);
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => this.stop(false);

  // Output still in the pipes arrives before 'close'; but a background child that inherited them can hold them
  // open for good, so 'close' is waited for only briefly.
  private afterExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const done = () => this.finish(code, signal, null);
    const wait = setTimeout(() => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      done();
    }, 100);
    child.once('close', () => {
      clearTimeout(wait);
      done();
    });
  }

  private stop(timedOut: boolean): void {
    if (this.settled || !this.child?.pid) return;
    this.timedOut = timedOut;
    this.stopped = true;
    const pid = this.child.pid;
    killGroup(pid, 'SIGTERM');
    // Not cleared on exit: children that ignore SIGTERM may outlive the shell, and must go too.
    setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }

  private finish(exitCode: number | null, signal: NodeJS.Signals | null, failure: string | null): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const output = failure ?? this.output.text();
    const ok = failure === null && exitCode === 0 && !this.stopped;
    this.resolve({ ok, exitCode, signal, output, ms: elapsed(this.started), timedOut: this.timedOut });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already gone, which is the goal.
  }
}

// spawn reports a missing cwd as "spawn /bin/sh ENOENT", which blames the shell.
function startFailure(err: NodeJS.ErrnoException, cwd: string): string {
  if (err.code === 'ENOENT') return `could not start: no such directory ${cwd}`;
  return `could not start: ${err.message}`;
}

/** The last `limit` bytes of what a command wrote, marked when the start was cut. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const over = this.size - this.limit;
      if (first.length <= over) this.chunks.shift();
      else this.chunks[0] = first.subarray(over);
      const cut = Math.min(first.length, over);
      this.size -= cut;
      this.dropped += cut;
    }
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    // A cut may split a multi-byte character; its remains decode as U+FFFD and mean nothing.
    return this.dropped === 0 ? text : `[${this.dropped} earlier bytes cut]\n${text.replace(/^\uFFFD+/, '')}`;
  }
}

/** A check cut short by the deployment's stop: `cancelled`, with the stop's reason when it gave one. */
function cancelled(signal: AbortSignal): string {
  const reason = abortReason(signal, '');
  return reason === '' ? 'cancelled' : `cancelled (${reason})`;
}
