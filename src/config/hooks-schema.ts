// `hooks:` (shell commands run at points of a deployment) and `webhooks:` (URLs told about every event): the two
// ways a deployment reaches the world outside cutover.

import type { HookName, HooksConfig, WebhooksConfig } from './config.ts';
import { DEFAULT_HOOK_TIMEOUT_MS, DEFAULT_WEBHOOKS, MAX_WEBHOOK_RETRIES } from './defaults.ts';
import { joinPath } from './keys.ts';
import { type ConfigReader, isAbsent, isMapping } from './reader.ts';

export const HOOK_NAMES: readonly HookName[] = ['preDeploy', 'preSwitch', 'postSwitch', 'onRollback', 'onFailure'];

/** `cwd` is the config file's directory, so `./migrate.sh` means the script next to the config. */
export function readHooks(raw: unknown, path: string, r: ConfigReader, cwd: string): HooksConfig {
  const hooks = r.section(raw, path, HOOK_KEYS);
  const commands: Partial<Record<HookName, string>> = {};
  for (const name of HOOK_NAMES) {
    const command = r.optionalString(hooks[name], `${path}.${name}`);
    if (command !== null) commands[name] = command;
  }
  return { commands, timeoutMs: r.duration(hooks.timeout, `${path}.timeout`, DEFAULT_HOOK_TIMEOUT_MS), cwd };
}

export function readWebhooks(raw: unknown, path: string, r: ConfigReader): WebhooksConfig {
  if (isAbsent(raw)) return DEFAULT_WEBHOOKS;
  if (Array.isArray(raw)) return { ...DEFAULT_WEBHOOKS, urls: readUrls(raw, path, r) };
  if (!isMapping(raw)) {
    r.problem(path, 'must be a list of URLs, like [https://hooks.example.com/deploys]');
    return DEFAULT_WEBHOOKS;
  }
  const webhooks = r.section(raw, path, WEBHOOK_KEYS);
  return {
    urls: readUrlList(webhooks.urls, path, r),
    timeoutMs: r.duration(webhooks.timeout, `${path}.timeout`, DEFAULT_WEBHOOKS.timeoutMs),
    retries: r.integer(webhooks.retries, `${path}.retries`, DEFAULT_WEBHOOKS.retries, { min: 0, max: MAX_WEBHOOK_RETRIES }),
  };
}

const HOOK_KEYS = { known: [...HOOK_NAMES, 'timeout'] };
const WEBHOOK_KEYS = { known: ['urls', 'timeout', 'retries'] };

function readUrlList(raw: unknown, path: string, r: ConfigReader): string[] {
  if (Array.isArray(raw)) return readUrls(raw, `${path}.urls`, r);
  if (isAbsent(raw)) r.problem(path, 'needs urls, like { urls: [https://hooks.example.com/deploys] }');
  else r.problem(`${path}.urls`, 'must be a list of URLs, like [https://hooks.example.com/deploys]');
  return [];
}

function readUrls(raw: readonly unknown[], path: string, r: ConfigReader): string[] {
  const urls: string[] = [];
  raw.forEach((value, i) => {
    const problem = urlProblem(value) ?? (urls.includes(value as string) ? 'is listed twice' : undefined);
    if (problem) r.problem(joinPath(path, i), problem);
    else urls.push(value as string);
  });
  return urls;
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a URL, like https://hooks.example.com/deploys';
  if (!URL.canParse(value)) return 'is not a URL, like https://hooks.example.com/deploys';
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:' ? undefined : 'must be an http:// or https:// URL';
}
