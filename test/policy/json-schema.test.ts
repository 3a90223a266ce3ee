// `seccomp-ts schema` is for editors and other tools: check it with a real JSON Schema validator
// (Debian's python3-jsonschema, Draft 2020-12) on every file in examples/ and on policies that
// must be rejected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../src/policy/index.js';
import { IN_CI, ROOT } from '../_util/tools.js';

const PY = '/usr/bin/python3';
const haveJsonschema = spawnSync(PY, ['-c', 'import jsonschema'], { stdio: 'ignore' }).status === 0;
if (!haveJsonschema) {
  process.stdout.write(
    IN_CI
      ? '  ! /usr/bin/python3 cannot import jsonschema (Debian package python3-jsonschema); CI=true, so these tests fail\n'
      : '  SKIP: /usr/bin/python3 cannot import jsonschema (apt-get install python3-jsonschema); JSON Schema validation skipped\n',
  );
}
const run = haveJsonschema || IN_CI ? test : test.skip;

// Validates each document of a JSON list against the schema; prints one line per document:
// "ok" or the first error message.
const VALIDATE = `
import json, sys, jsonschema
req = json.load(sys.stdin)
v = jsonschema.Draft202012Validator(req["schema"])
jsonschema.Draft202012Validator.check_schema(req["schema"])
for doc in req["docs"]:
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    print("ok" if not errs else "error: " + errs[0].message.replace("\\n", " "))
`;

function validate(docs: unknown[]): string[] {
  const input = JSON.stringify({ schema: policyJsonSchema(), docs });
  const r = spawnSync(PY, ['-c', VALIDATE], { input, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n');
}

/** A YAML policy as JSON data (integers that do not fit a double would lose precision, so the examples write those as strings). */
const asJson = (text: string): unknown => parse(text);

run('every file in examples/ is valid against the JSON Schema', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 3, files.join(','));
  const verdicts = validate(files.map((f) => asJson(readFileSync(join(ROOT, 'examples', f), 'utf8'))));
  files.forEach((f, i) => assert.is(verdicts[i], 'ok', f));
});

run('policies the compiler refuses for their shape are invalid against the schema too', () => {
  const bad: [string, string][] = [
    ['unknown top-level key', 'defaultAction: allow\nrules: []\nextra: 1\n'],
    ['missing defaultAction', 'rules: []\n'],
    ['unknown action', 'defaultAction: alow\nrules: []\n'],
    ['errno out of range', 'defaultAction: { errno: 5000 }\nrules: []\n'],
    ['index > 5', 'defaultAction: allow\nrules:\n  - syscalls: [read]\n    action: allow\n    args: [{ index: 6, op: eq, value: 1 }]\n'],
    ['unknown op', 'defaultAction: allow\nrules:\n  - syscalls: [read]\n    action: allow\n    args: [{ index: 0, op: eqq, value: 1 }]\n'],
    ['empty syscalls', 'defaultAction: allow\nrules:\n  - syscalls: []\n    action: allow\n'],
    ['unknown key in a rule', 'defaultAction: allow\nrules:\n  - syscalls: [read]\n    action: allow\n    argz: []\n'],
  ];
  const verdicts = validate(bad.map(([, y]) => asJson(y)));
  bad.forEach(([name], i) => assert.match(verdicts[i] ?? '', /^error: /, name));
  // And the same policies with the mistake fixed are valid, so the verdicts above are about the mistake.
  const good = validate([asJson('defaultAction: allow\nrules: []\n'), asJson('defaultAction: { errno: 4095 }\nrules:\n  - syscalls: [read]\n    action: allow\n    args: [{ index: 5, op: masked_eq, mask: 0xff, value: 1 }]\n')]);
  assert.equal(good, ['ok', 'ok']);
});

test.run();
