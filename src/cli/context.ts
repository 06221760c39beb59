import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { AdminClient, DEFAULT_ADMIN_URL } from './admin-client.ts';
import { stdout, type Output } from './output.ts';

/** What every verb that talks to the admin API needs, from the global flags and the environment. */
export interface CliContext {
  readonly client: AdminClient;
  readonly out: Output;
  readonly who: string;
}

export function contextOf(command: Command): CliContext {
  const globals = command.optsWithGlobals<{ admin?: string }>();
  const url = globals.admin ?? process.env.CUTOVER_ADMIN ?? DEFAULT_ADMIN_URL;
  const token = process.env.CUTOVER_TOKEN ?? null;
  const who = `cli:${process.env.USER ?? process.env.LOGNAME ?? safeUserName()}`;
  return { client: new AdminClient({ url, token }), out: stdout, who };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
