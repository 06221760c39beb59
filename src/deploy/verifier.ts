import type { VerifyConfig } from '../config/config.ts';
import type { CandidateRoute } from '../proxy/listeners.ts';
import { firstFailure, runChecks, runCommand, type CheckResult } from './verify.ts';

/** How to reach an app's candidate through cutover's own data path (a preview listener, or the header). */
export type PreviewRoute = CandidateRoute;

export interface VerifyRequest {
  readonly config: VerifyConfig;
  readonly targets: readonly string[];
  /** Template values: version, env, app. */
  readonly vars: Readonly<Record<string, string>>;
  readonly preview: PreviewRoute | null;
  /** Where `verify.command` runs: the config file's folder. */
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/**
 * The `verifying` phase: every check against every candidate target, then once through the preview route (which
 * proves the route the switch will use works), then the user's smoke suite. Resolves null when all pass, or a
 * sentence naming the first failure: the check, where, and what it got.
 */
export async function verifyCandidate(req: VerifyRequest): Promise<string | null> {
  const { checks } = req.config;
  if (checks.length > 0) {
    for (const target of req.targets) {
      const failed = firstFailure(await runChecks(checks, { baseUrl: target, vars: req.vars, signal: req.signal }));
      if (failed !== null) return describe(failed, `on ${target}`);
    }
    if (req.preview !== null) {
      const { url, headers, dispatcher } = req.preview;
      const results = await runChecks(checks, { baseUrl: url, vars: req.vars, headers, signal: req.signal, ...(dispatcher ? { dispatcher } : {}) });
      const failed = firstFailure(results);
      if (failed !== null) return describe(failed, 'through the preview route');
    }
  }
  return req.config.command === null ? null : runSmokeSuite(req, req.config.command);
}

async function runSmokeSuite(req: VerifyRequest, command: string): Promise<string | null> {
  const env: Record<string, string> = {
    CUTOVER_APP: req.vars.app ?? '',
    CUTOVER_VERSION: req.vars.version ?? '',
    CUTOVER_ENV: req.vars.env ?? '',
    CUTOVER_PREVIEW_URL: req.preview?.url ?? req.targets[0] ?? '',
  };
  for (const [name, value] of Object.entries(req.preview?.headers ?? {})) {
    env.CUTOVER_PREVIEW_HEADER = name;
    env.CUTOVER_PREVIEW_SECRET = value;
  }
  const result = await runCommand(command, { env, cwd: req.cwd, timeoutMs: req.config.commandTimeoutMs, signal: req.signal });
  if (result.ok) return null;
  const how = result.timedOut ? `timed out after ${Math.round(result.ms / 1000)}s` : `exited with ${result.exitCode ?? result.signal}`;
  return `verify.command ${how}: ${lastLine(result.output)}`;
}

function describe(result: CheckResult, where: string): string {
  return `check "${result.check}" ${where}: ${result.got}`;
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return lines[lines.length - 1]?.slice(0, 300) ?? '';
}
