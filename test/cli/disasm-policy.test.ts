// `seccomp-ts disasm POLICY` compiles the policy first (issue: "disasm FILE|POLICY --format dot"):
// the text equals `compile`'s, the dot output renders with Graphviz, and an explicit input format
// still reads the file as that.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { failsOneLine, runCli } from '../_util/cli.js';
import { needTool, ROOT } from '../_util/tools.js';

const ALLOW = join(ROOT, 'examples', 'allowlist.yaml');
const haveDot = needTool('dot', 'graphviz');

test('disasm POLICY prints what compile prints, for each --arch', () => {
  for (const arch of [undefined, 'x86_64', 'aarch64']) {
    const a = arch ? ['--arch', arch] : [];
    const d = runCli(['disasm', ALLOW, ...a, '--no-header']);
    const c = runCli(['compile', ALLOW, ...a, '--format', 'text']);
    assert.is(d.status, 0, d.err);
    assert.is(c.status, 0, c.err);
    const body = (s: string) => s.split('\n').filter((l) => /^ \d{4}: /.test(l)).join('\n');
    assert.ok(body(d.out).length > 0);
    assert.is(body(d.out), body(c.out), `--arch ${arch}`);
  }
});

(haveDot ? test : test.skip)('disasm POLICY --format dot renders with graphviz', () => {
  const d = runCli(['disasm', ALLOW, '--arch', 'x86_64', '--format', 'dot']);
  assert.is(d.status, 0, d.err);
  const svg = spawnSync('dot', ['-Tsvg'], { input: d.out, encoding: 'utf8' });
  assert.is(svg.status, 0, svg.stderr);
  assert.match(svg.stdout, /<svg/);
  assert.match(svg.stdout, /ALLOW/);
  assert.match(svg.stdout, /KILL_PROCESS/);
});

test('an explicit --format text reads a policy as assembly (and says why it is not)', () => {
  failsOneLine(['disasm', ALLOW, '--format', 'text'], /line \d+/);
});

test('a policy with an error is one line', () => {
  failsOneLine(['disasm', '-'], /<stdin>:1:\d+: .*alow/, 'defaultAction: alow\n');
});

test.run();
