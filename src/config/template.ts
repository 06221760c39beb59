// `{{name}}` placeholders in a process driver's command, cwd and env, and in verify checks' expected values:
// `{{version}}`, `{{env}}`, `{{port}}`, `{{instance}}`. The grammar is shared with the config validator
// (src/config/template-syntax.ts), which refuses unknown names at load time.

import { PLACEHOLDER } from './template-syntax.ts';

/**
 * `text` with every `{{name}}` (or `{{ name }}`) replaced by `vars[name]`, in one pass, so a value that itself
 * contains `{{...}}` is never expanded again. A placeholder whose name is not in `vars` throws a RangeError: the
 * validator already refused such names in the config, so reaching one here is a bug in the caller, and leaving
 * `{{version}}` in a command or an expected body would fail later with a far more puzzling message.
 * Braces that are not a placeholder (`{{`, `{{ a b }}`, JSON, shell) are kept as they are.
 */
export function fillTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    if (Object.hasOwn(vars, name)) return vars[name]!;
    throw new RangeError(`template variable {{${name}}} has no value; known here: ${known(vars)}`);
  });
}

function known(vars: Readonly<Record<string, string>>): string {
  const names = Object.keys(vars);
  return names.length === 0 ? 'none' : names.map((n) => `{{${n}}}`).join(', ');
}
