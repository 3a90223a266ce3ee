/**
 * The register hook (`node --import seccomp-ts/register`, `--require`, NODE_OPTIONS) on the
 * blog's examples, run in child processes with the built dist/ (the test runner builds it).
 * The program is test/fixtures/register/myos.mjs: it prints `started` first, then one line per
 * step (uname, mkdir DIR, spawn, env), then `done`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../_util/tools.js';

const FIX = join(ROOT, 'test', 'fixtures', 'register');
const MYOS = join(FIX, 'myos.mjs');
const ESM_HOOK = join(ROOT, 'dist', 'register.js');
const CJS_HOOK = join(ROOT, 'dist', 'register.cjs');
for (const f of [ESM_HOOK, CJS_HOOK]) {
  if (!existsSync(f)) throw new Error(`${f} is missing: build first (npx tsup; npm test builds)`);
}

/** How the hook is loaded. */
type Form = 'import' | 'require' | 'NODE_OPTIONS' | 'import by name' | 'require by name';
const FORMS: readonly Form[] = ['import', 'require', 'NODE_OPTIONS', 'import by name', 'require by name'];

/** The environment without anything the hook reads, so only what a case sets is seen. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SECCOMP_') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

/**
 * Run myos.mjs with `steps` through the hook in `form`. The by-name forms run from the
 * repository root, so `seccomp-ts/register` resolves through the package's own "exports"
 * (self-reference); the path forms run from another directory.
 */
function run(form: Form, vars: Record<string, string>, steps: string[] = ['uname']): SpawnSyncReturns<string> {
  const env = cleanEnv(vars);
  let pre: string[];
  switch (form) {
    case 'import': pre = ['--import', ESM_HOOK]; break;
    case 'require': pre = ['--require', CJS_HOOK]; break;
    case 'NODE_OPTIONS': pre = []; env.NODE_OPTIONS = `--import ${ESM_HOOK}`; break;
    case 'import by name': pre = ['--import', 'seccomp-ts/register']; break;
    case 'require by name': pre = ['--require', 'seccomp-ts/register']; break;
  }
  const cwd = form.endsWith('by name') ? ROOT : tmpdir();
  return spawnSync(process.execPath, [...pre, MYOS, ...steps], { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

const adding = (...names: string[]): string => names.map((n) => `adding ${n} to the process seccomp filter\n`).join('');
const show = (r: SpawnSyncReturns<string>): string => `status=${r.status} signal=${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

test('without any variable the hook does nothing', () => {
  for (const form of FORMS) {
    const r = run(form, {}, ['uname', 'env']);
    assert.is(r.status, 0, `${form}: ${show(r)}`);
    assert.is(r.stderr, '', form);
    assert.is(r.stdout, 'started\nMy OS is Linux!\nenv: []\ndone\n', form);
  }
});

test('deny uname: the program is killed by SIGSYS at uname, in every form', () => {
  for (const form of FORMS) {
    const r = run(form, { SECCOMP_SYSCALL_DENY: 'uname' });
    assert.is(r.signal, 'SIGSYS', `${form}: ${show(r)}`);
    assert.is(r.stderr, adding('uname'), form);
    assert.is(r.stdout, 'started\n', form); // ran up to the call, not past it
  }
});

test('a policy file turning uname and mkdir into ENETDOWN: the program sees "network is down"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'register-'));
  try {
    for (const form of ['import', 'require'] as const) {
      const target = join(dir, `made-${form}`);
      const r = run(form, { SECCOMP_POLICY: join(FIX, 'enetdown.yaml') }, ['uname', 'mkdir', target]);
      assert.is(r.status, 0, `${form}: ${show(r)}`);
      assert.is(r.stdout, 'started\nuname failed: ENETDOWN\nmkdir failed: ENETDOWN\ndone\n', form);
      assert.is(r.stderr, adding('uname', 'mkdir'), form);
      assert.not.ok(existsSync(target), `${form}: mkdir must not have happened`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deny execve: spawning a program fails (the forked child dies at execve), the parent goes on', () => {
  for (const form of ['import', 'require'] as const) {
    const plain = run(form, {}, ['spawn']);
    assert.match(plain.stdout, /child: status=0 signal=null error=none stdout="Doing arbitrary code execution!!!\\n"/, form);
    const r = run(form, { SECCOMP_SYSCALL_DENY: 'execve' }, ['spawn']);
    assert.is(r.status, 0, `${form}: ${show(r)}`);
    assert.is(r.stdout, 'started\nchild: status=null signal=SIGSYS error=none stdout=""\ndone\n', form);
    assert.is(r.stderr, adding('execve'), form);
  }
});

test('allowlist: @node-runtime plus the program\'s own calls runs it; without them it is killed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'register-'));
  try {
    for (const form of ['import', 'require', 'NODE_OPTIONS'] as const) {
      const target = join(dir, `made-${form.replace(/\W/g, '')}`);
      const ok = run(form, { SECCOMP_SYSCALL_ALLOW: '@node-runtime:uname:mkdir' }, ['uname', 'mkdir', target]);
      assert.is(ok.status, 0, `${form}: ${show(ok)}`);
      assert.is(ok.stdout, 'started\nMy OS is Linux!\nmkdir ok\ndone\n', form);
      assert.is(ok.stderr, adding('@node-runtime', 'uname', 'mkdir'), form);
      assert.ok(existsSync(target), form);

      const noUname = run(form, { SECCOMP_SYSCALL_ALLOW: '@node-runtime:mkdir' }, ['uname']);
      assert.is(noUname.signal, 'SIGSYS', `${form}: ${show(noUname)}`);
      assert.is(noUname.stdout, 'started\n', form);

      const noMkdir = run(form, { SECCOMP_SYSCALL_ALLOW: '@node-runtime:uname' }, ['uname', 'mkdir', join(dir, 'never')]);
      assert.is(noMkdir.signal, 'SIGSYS', `${form}: ${show(noMkdir)}`);
      assert.is(noMkdir.stdout, 'started\nMy OS is Linux!\n', form);
      assert.not.ok(existsSync(join(dir, 'never')), form);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SECCOMP_DEFAULT_ACTION=log: a denied call is allowed (and logged), the program keeps running', () => {
  for (const form of ['import', 'require'] as const) {
    const r = run(form, { SECCOMP_SYSCALL_DENY: 'uname', SECCOMP_DEFAULT_ACTION: 'log' }, ['uname', 'spawn']);
    assert.is(r.status, 0, `${form}: ${show(r)}`);
    assert.match(r.stdout, /^started\nMy OS is Linux!\nchild: status=0 /, form);
    assert.is(r.stderr, adding('uname'), form);
    // The filter is there: /proc/self/status of the program says so.
    const st = spawnSync(process.execPath, [`--${form}`, form === 'import' ? ESM_HOOK : CJS_HOOK, '-p', 'require("fs").readFileSync("/proc/self/status","utf8").match(/^Seccomp:\\s*(\\d)/m)[1]'], { env: cleanEnv({ SECCOMP_SYSCALL_DENY: 'uname', SECCOMP_DEFAULT_ACTION: 'log', SECCOMP_QUIET: '1' }), encoding: 'utf8' });
    assert.is(st.stdout.trim(), '2', `${form}: ${st.stderr}`);
  }
});

test('one `adding` line per listed entry, as given (groups not expanded); SECCOMP_QUIET=1 silences them', () => {
  const ignored = 'seccomp-ts: warning: SECCOMP_SYSCALL_DENY is ignored (SECCOMP_SYSCALL_ALLOW is set)\n';
  const cases: [Record<string, string>, string][] = [
    [{ SECCOMP_SYSCALL_DENY: 'uname:reboot:@swap' }, adding('uname', 'reboot', '@swap')],
    [{ SECCOMP_SYSCALL_DENY: 'reboot', SECCOMP_DEFAULT_ACTION: 'log' }, adding('reboot')],
    [{ SECCOMP_SYSCALL_ALLOW: '@node-runtime:uname', SECCOMP_SYSCALL_DENY: 'mkdir' }, ignored + adding('@node-runtime', 'uname')],
    [{ SECCOMP_SYSCALL_DENY: 'uname:reboot', SECCOMP_QUIET: '1' }, ''],
    [{ SECCOMP_SYSCALL_ALLOW: '@node-runtime:uname', SECCOMP_QUIET: '1' }, ''],
  ];
  for (const [vars, stderr] of cases) {
    const r = run('import', vars, ['env']); // `env` makes no call any of these lists kills
    assert.is(r.status, 0, `${JSON.stringify(vars)}: ${show(r)}`);
    assert.is(r.stderr, stderr, JSON.stringify(vars));
  }
});

test('the variables are gone from process.env inside the program (SECCOMP_QUIET is left alone)', () => {
  for (const form of ['import', 'require'] as const) {
    const r = run(form, { SECCOMP_SYSCALL_ALLOW: '@node-runtime:uname', SECCOMP_SYSCALL_DENY: 'mkdir', SECCOMP_DEFAULT_ACTION: 'log', SECCOMP_QUIET: '1' }, ['env']);
    assert.is(r.stdout, 'started\nenv: ["SECCOMP_QUIET"]\ndone\n', `${form}: ${show(r)}`);
    const p = run(form, { SECCOMP_POLICY: join(FIX, 'enetdown.yaml') }, ['env']);
    assert.is(p.stdout, 'started\nenv: []\ndone\n', `${form}: ${show(p)}`);
  }
});

test('bad input: exit 1, exactly one `seccomp-ts:` line, the program never starts', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['unknown syscall', { SECCOMP_SYSCALL_DENY: 'uname:unamex' }, /unamex.*did you mean uname/],
    ['unknown syscall in an allowlist', { SECCOMP_SYSCALL_ALLOW: '@node-runtime:opne' }, /opne/],
    ['unknown group', { SECCOMP_SYSCALL_ALLOW: '@node-runtim' }, /@node-runtim/],
    ['bogus default action', { SECCOMP_SYSCALL_DENY: 'uname', SECCOMP_DEFAULT_ACTION: 'bogus' }, /SECCOMP_DEFAULT_ACTION.*bogus/],
    ['default action alone', { SECCOMP_DEFAULT_ACTION: 'log' }, /SECCOMP_DEFAULT_ACTION/],
    ['empty list', { SECCOMP_SYSCALL_DENY: '' }, /SECCOMP_SYSCALL_DENY/],
    ['empty entry', { SECCOMP_SYSCALL_DENY: 'uname::mkdir' }, /empty/],
    ['missing policy file', { SECCOMP_POLICY: join(FIX, 'missing.yaml') }, /missing\.yaml/],
    ['policy file with a syntax error', { SECCOMP_POLICY: join(FIX, 'syntax-error.yaml') }, /syntax-error\.yaml:\d+:\d+/],
    ['policy file and a list', { SECCOMP_POLICY: join(FIX, 'enetdown.yaml'), SECCOMP_SYSCALL_DENY: 'uname' }, /cannot be combined/],
  ];
  // Each case in one form, the forms taking turns: the hook code is the same, the start-up path differs.
  const forms = ['import', 'require', 'NODE_OPTIONS'] as const;
  cases.forEach(([what, vars, message], i) => {
    {
      const form = forms[i % forms.length]!;
      const r = run(form, vars);
      const label = `${what} (${form}): ${show(r)}`;
      assert.is(r.status, 1, label);
      assert.is(r.signal, null, label);
      assert.is(r.stdout, '', label); // not even `started`
      const lines = r.stderr.split('\n');
      assert.is(lines.length, 2, label); // one line and its newline
      assert.match(lines[0]!, /^seccomp-ts: /, label);
      assert.match(lines[0]!, message, label);
      assert.not.match(r.stderr, /\n\s+at /, label); // no stack trace
    }
  });
});

test('a kernel refusal fails closed too: under a filter that makes seccomp() fail, the program never runs', () => {
  for (const [flag, hook] of [['--import', ESM_HOOK], ['--require', CJS_HOOK]] as const) {
    const outer = spawnSync(process.execPath, ['--import', ESM_HOOK, join(FIX, 'nested.mjs'), flag, hook], {
      env: cleanEnv({ SECCOMP_POLICY: join(FIX, 'deny-seccomp.yaml'), SECCOMP_QUIET: '1' }),
      encoding: 'utf8',
    });
    assert.is(outer.status, 0, show(outer));
    const inner = JSON.parse(outer.stdout) as { status: number; signal: string | null; stdout: string; stderr: string };
    assert.is(inner.status, 1, outer.stdout);
    assert.is(inner.stdout, '', outer.stdout);
    // SECCOMP_QUIET=1 reaches the inner hook too, so its one line is the error.
    assert.match(inner.stderr, /^seccomp-ts: cannot install the seccomp filter: [^\n]*EPERM[^\n]*\n$/, outer.stdout);
  }
});

test('--import and --require together install one filter and print the lines once', () => {
  const r = spawnSync(process.execPath, ['--import', ESM_HOOK, '--require', CJS_HOOK, '-p', 'require("fs").readFileSync("/proc/self/status","utf8").match(/^Seccomp_filters:\\s*(\\d+)/m)[1]'], {
    env: cleanEnv({ SECCOMP_SYSCALL_DENY: 'reboot' }),
    encoding: 'utf8',
  });
  assert.is(r.status, 0, show(r));
  assert.is(r.stdout.trim(), '1');
  assert.is(r.stderr, adding('reboot'));
});

test('the package exports ./register for import and require', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  assert.equal(pkg.exports['./register'], { import: './dist/register.js', require: './dist/register.cjs' });
});

test.run();
