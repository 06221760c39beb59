import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { BadRequestError } from '../core/errors.ts';
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
  const url = adminUrl(globals.admin ?? process.env.CUTOVER_ADMIN ?? DEFAULT_ADMIN_URL);
  const token = process.env.CUTOVER_TOKEN ?? null;
  const who = `cli:${process.env.USER ?? process.env.LOGNAME ?? safeUserName()}`;
  return { client: new AdminClient({ url, token }), out: stdout, who };
}

/** The admin URL, checked here so that a typo is named as one rather than as an unreachable server. */
function adminUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadRequestError(`the admin URL "${value}" is not a URL; write it like http://127.0.0.1:9900`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadRequestError(`the admin URL "${value}" must start with http:// or https://`);
  return value;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
