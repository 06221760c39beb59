// `{{name}}` placeholders in commands, paths and checks, filled in per deployment and per instance by
// src/deploy/template.ts. The grammar lives here so that the validator can refuse a misspelt `{{verison}}` at load
// time, where a typo costs a line in `cutover validate`, instead of during a deployment.

import { closestWord } from './keys.ts';

/** The variables a process driver's command, cwd and env values may use. */
export const INSTANCE_VARS = ['version', 'env', 'port', 'instance'] as const;

/** The variables a verify check's expected body and JSON values may use. */
export const CHECK_VARS = ['version', 'env'] as const;

/**
 * `{{name}}` or `{{ name }}`. Anything else with braces (`{{`, `{{ a b }}`, `{ {x} }`) is plain text, so JSON or
 * shell braces in a command need no escaping.
 */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The placeholder names in `text`, in order of appearance, each once. */
export function placeholderNames(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** A sentence about the first placeholder that is not one of `allowed`, or undefined when all are. */
export function templateProblem(text: string, allowed: readonly string[]): string | undefined {
  const unknown = placeholderNames(text).find((name) => !allowed.includes(name));
  if (unknown === undefined) return undefined;
  const guess = closestWord(unknown, allowed);
  const hint = guess ? `did you mean {{${guess}}}?` : `the variables here are ${allowed.map((v) => `{{${v}}}`).join(', ')}`;
  return `uses {{${unknown}}}, which is not a template variable; ${hint}`;
}
