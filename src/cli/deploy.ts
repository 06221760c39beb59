import { Command } from 'commander';
import { CutoverError } from '../core/errors.ts';
import type { DeploymentRecord, PhaseEntry } from '../core/types.ts';
import type { AdminClient } from './admin-client.ts';
import { contextOf } from './context.ts';
import { clockTime, paint, seconds, type Output } from './output.ts';

const POLL_MS = 100;

/**
 * `cutover deploy APP --version V --target URL...`: deploys to the candidate environment and shows each phase as
 * it happens. Exit 0 once the version is live (or ready, with --no-switch or `switch: manual`), 1 with the reason.
 */
export function deployCommand(): Command {
  return new Command('deploy')
    .description('deploy a version to the candidate environment, then switch to it')
    .argument('<app>', 'the app')
    // Checked in the action, not by commander, which checks required options before arguments: `cutover deploy`
    // alone should first hear that the app is missing.
    .option('--version <version>', 'the version label (required)')
    .option('--target <url>', 'a target URL such as http://127.0.0.1:3001 (repeat for several)', collect, [])
    .option('--no-switch', 'stop when the candidate is ready; switch later with `cutover switch`')
    .option('--wait', 'also wait through the analysis bake; exit 1 if the deployment was rolled back')
    .option('--json', 'print the deployment record as JSON at the end')
    .action(async (app: string, opts: DeployFlags, command: Command) => {
      if (opts.version === undefined) command.error("error: required option '--version <version>' not specified");
      const ctx = contextOf(command);
      const started = await ctx.client
        .post<{ deployment: DeploymentRecord; willSwitch: boolean }>(
          `/api/apps/${encodeURIComponent(app)}/deployments`,
          { version: opts.version, targets: opts.target, switch: opts.switch, who: ctx.who },
        )
        .catch((err: unknown) => Promise.reject(inFlagTerms(err)));
      const progress = opts.json ? null : new Progress(ctx.out);
      const end = await follow(ctx.client, started.deployment, { willSwitch: started.willSwitch, throughBake: Boolean(opts.wait) }, progress);
      if (opts.json) ctx.out.line(JSON.stringify(end, null, 2));
      if (end.phase === 'failed' || end.phase === 'rolled-back') {
        throw new CutoverError('DEPLOY_FAILED', 500, `deployment ${end.id} of ${end.version} ${end.phase}: ${end.reason ?? 'no reason given'}`);
      }
      if (!opts.json) ctx.out.line(summary(end, app));
    });
}

/** The API's refusals name the field of its body (`"targets"`); the user of this verb typed the flag that fills it. */
function inFlagTerms(err: unknown): unknown {
  if (!(err instanceof CutoverError) || err.code !== 'BAD_REQUEST') return err;
  return new CutoverError(err.code, err.status, err.message.replaceAll('"targets"', '--target'), { cause: err, details: err.details });
}

interface DeployFlags {
  version?: string;
  target: string[];
  switch: boolean;
  json?: boolean;
  wait?: boolean;
}

interface FollowUntil {
  readonly willSwitch: boolean;
  readonly throughBake: boolean;
}

/** Polls the deployment until it ends (or is ready and will not switch by itself), reporting each new phase. */
async function follow(client: AdminClient, d: DeploymentRecord, until: FollowUntil, progress: Progress | null): Promise<DeploymentRecord> {
  let shown = 0;
  for (;;) {
    for (; shown < d.phases.length; shown++) progress?.phase(d.phases[shown]!);
    if (isEnd(d, until)) {
      progress?.finish();
      return d;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    progress?.tick();
    d = await client.get<DeploymentRecord>(`/api/apps/${encodeURIComponent(d.app)}/deployments/${d.id}`);
  }
}

/** Live is the end unless --wait asks for the bake too; ready is the end when nothing will switch. */
function isEnd(d: DeploymentRecord, until: FollowUntil): boolean {
  if (d.phase === 'done' || d.phase === 'failed' || d.phase === 'rolled-back') return true;
  if (d.phase === 'ready') return !until.willSwitch;
  return d.phase === 'watching' && !until.throughBake;
}

/** Plain lines when piped; on a terminal, the current phase as a live line with elapsed time. */
class Progress {
  private current: PhaseEntry | null = null;

  constructor(private readonly out: Output) {}

  phase(entry: PhaseEntry): void {
    this.clearLive();
    const colour = entry.phase === 'failed' || entry.phase === 'rolled-back' ? 'red' : entry.phase === 'done' ? 'green' : 'blue';
    const message = entry.message ? `  ${entry.message}` : '';
    this.out.line(`${clockTime(entry.at)}  ${paint(this.out, colour, entry.phase.padEnd(11))}${message}`);
    this.current = entry;
  }

  tick(): void {
    if (!this.out.tty || this.current === null) return;
    process.stdout.write(`\r\x1b[2K  … ${this.current.phase} for ${seconds(Date.now() - this.current.at)}`);
  }

  finish(): void {
    this.clearLive();
  }

  private clearLive(): void {
    if (this.out.tty) process.stdout.write('\r\x1b[2K');
  }
}

function summary(d: DeploymentRecord, app: string): string {
  if (d.phase === 'ready') return `${d.version} is ready on ${d.color}; run \`cutover switch ${app}\` to make it live`;
  if (d.phase === 'watching') return `${d.version} is live on ${d.color}; its bake goes on (\`cutover deploy --wait\` waits for it)`;
  return `${d.version} is live on ${d.color}`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
