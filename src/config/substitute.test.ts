import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv } from './substitute.ts';

test('substituteEnv replaces references from the given env', () => {
  const env = { TOKEN: 'abcdefghijklmnopqrstuvwxyz', PORT: '9000', EMPTY: '' };
  const cases: { desc: string; text: string; want: string }[] = [
    { desc: 'a set variable', text: 'token: ${TOKEN}', want: 'token: abcdefghijklmnopqrstuvwxyz' },
    { desc: 'inside a value', text: 'listen: 127.0.0.1:${PORT}', want: 'listen: 127.0.0.1:9000' },
    { desc: 'a default for an unset variable', text: 'x: ${NOPE:-fallback}', want: 'x: fallback' },
    { desc: 'a default for an empty variable', text: 'x: ${EMPTY:-fallback}', want: 'x: fallback' },
    { desc: 'an empty default', text: 'x: ${NOPE:-}', want: 'x: ' },
    { desc: 'a default with a colon', text: 'x: ${NOPE:-127.0.0.1:80}', want: 'x: 127.0.0.1:80' },
    { desc: 'a set but empty variable without default', text: 'x: ${EMPTY}', want: 'x: ' },
    { desc: 'the $${ escape', text: 'x: $${TOKEN}', want: 'x: ${TOKEN}' },
    { desc: 'a lone dollar', text: 'x: $5 and $$', want: 'x: $5 and $$' },
    { desc: 'several on one line', text: '${PORT}-${PORT}', want: '9000-9000' },
    { desc: 'inside a flow mapping', text: 'admin: { token: ${TOKEN} }', want: 'admin: { token: abcdefghijklmnopqrstuvwxyz }' },
    { desc: 'inside quotes', text: 'x: "${PORT}"', want: 'x: "9000"' },
    { desc: 'a comment is left alone', text: '# token: ${UNSET}\nx: 1 # ${UNSET}', want: '# token: ${UNSET}\nx: 1 # ${UNSET}' },
    { desc: 'a quoted # is not a comment', text: 'x: "a # ${PORT}"', want: 'x: "a # 9000"' },
    { desc: 'a # without a space before is not a comment', text: 'x: a#${PORT}', want: 'x: a#9000' },
    { desc: 'a block scalar is not a comment', text: 'x: |\n  # ${PORT}\n', want: 'x: |\n  # 9000\n' },
  ];
  for (const { desc, text, want } of cases) {
    const result = substituteEnv(text, env);
    assert.deepEqual(result.problems, [], desc);
    assert.equal(result.text, want, desc);
  }
});

test('substituteEnv lists every unset variable and bad reference with its line', () => {
  const text = ['listen: ${LISTEN}', 'admin:', '  token: ${TOKEN}', 'x: ${not valid}', 'y: ${OPEN', 'z: ${}'].join('\n');
  const { problems } = substituteEnv(text, {});
  assert.deepEqual(
    problems.map((p) => [p.path, p.message.slice(0, p.message.indexOf(';'))]),
    [
      ['', 'line 1: environment variable LISTEN is not set'],
      ['', 'line 3: environment variable TOKEN is not set'],
      ['', 'line 4: "${not valid}" is not a variable reference like ${NAME} or ${NAME:-default}'],
      ['', 'line 5: "${OPEN" is not a variable reference like ${NAME} or ${NAME:-default}'],
      ['', 'line 6: "${}" is not a variable reference like ${NAME} or ${NAME:-default}'],
    ],
  );
  assert.match(problems[0]!.message, /give a default with \$\{LISTEN:-default\}/);
});
