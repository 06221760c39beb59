import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillTemplate } from './template.ts';

const VARS = { version: 'v2', env: 'green', port: '3001', instance: '0' };

test('fillTemplate replaces each placeholder and keeps other braces', () => {
  const cases: { desc: string; text: string; want: string }[] = [
    { desc: 'no placeholders', text: 'node app.js', want: 'node app.js' },
    { desc: 'one', text: './releases/{{version}}', want: './releases/v2' },
    { desc: 'several, repeated', text: '{{env}}-{{instance}}:{{port}} {{env}}', want: 'green-0:3001 green' },
    { desc: 'spaces inside the braces', text: '{{ version }}', want: 'v2' },
    { desc: 'JSON braces', text: `echo '{"a":{"b":1}}'`, want: `echo '{"a":{"b":1}}'` },
    { desc: 'not a name', text: '{{ a b }} {{}} {{1x}} {version}', want: '{{ a b }} {{}} {{1x}} {version}' },
    { desc: 'triple braces', text: '{{{version}}}', want: '{v2}' },
    { desc: 'an empty text', text: '', want: '' },
  ];
  for (const { desc, text, want } of cases) assert.equal(fillTemplate(text, VARS), want, desc);
});

test('a value holding a placeholder is not expanded again', () => {
  assert.equal(fillTemplate('{{version}} {{env}}', { version: '{{env}}', env: 'blue' }), '{{env}} blue');
});

test('a value with $ patterns is pasted literally', () => {
  assert.equal(fillTemplate('v={{version}}', { version: "$&$1$'" }), "v=$&$1$'");
});

test('an unknown name throws, naming it and the known ones', () => {
  assert.throws(() => fillTemplate('{{verison}}', VARS), {
    name: 'RangeError',
    message: 'template variable {{verison}} has no value; known here: {{version}}, {{env}}, {{port}}, {{instance}}',
  });
  assert.throws(() => fillTemplate('{{toString}}', {}), { message: 'template variable {{toString}} has no value; known here: none' });
});
