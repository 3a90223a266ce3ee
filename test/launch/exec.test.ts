import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Instruction } from '../../src/bpf/insn.js';
import { SECCOMP_RET_ERRNO } from '../../src/bpf/seccomp.js';
import { LaunchError } from '../../src/launch/errors.js';
import { layoutStringArray, prepareExec, resolveCommand } from '../../src/launch/exec.js';
import { ALLOW_ALL, denylist, execChild, tempDir } from './_helpers.js';

const onX64 = process.platform === 'linux' && process.arch === 'x64';
const dir = tempDir('exec');
const a = join(dir, 'a');
const b = join(dir, 'b');
for (const d of [a, b, join(b, 'subdir')]) mkdirSync(d, { recursive: true });
writeFileSync(join(a, 'tool'), '#!/bin/sh\n');
chmodSync(join(a, 'tool'), 0o755);
writeFileSync(join(b, 'tool'), 'not executable');
writeFileSync(join(b, 'plain'), 'not executable');
mkdirSync(join(a, 'subdir'));

type Case = [name: string, command: string, path: string | undefined, expect: string | [code: string, status: number]];
const CASES: Case[] = [
  ['found on PATH', 'tool', `${a}:${b}`, join(a, 'tool')],
  ['a non-executable earlier entry is skipped', 'tool', `${b}:${a}`, join(a, 'tool')],
  ['only non-executable candidates: 126', 'plain', `${a}:${b}`, ['NOT_EXECUTABLE', 126]],
  ['not on PATH: 127', 'no-such-tool', `${a}:${b}`, ['NOT_FOUND', 127]],
  ['directories on PATH are skipped', 'subdir', `${a}:${b}`, ['NOT_FOUND', 127]],
  ['a name with / is used as is', join(a, 'tool'), '', join(a, 'tool')],
  ['a missing path: 127', join(a, 'missing'), `${a}`, ['NOT_FOUND', 127]],
  ['a directory path: 126', join(a, 'subdir'), `${a}`, ['NOT_EXECUTABLE', 126]],
  ['a non-executable path: 126', join(b, 'plain'), `${a}`, ['NOT_EXECUTABLE', 126]],
  ['empty name', '', `${a}`, ['NOT_FOUND', 127]],
];
for (const [name, command, path, expect] of CASES) {
  test(`resolveCommand: ${name}`, () => {
    if (typeof expect === 'string') {
      assert.is(resolveCommand(command, path), expect);
      return;
    }
    try {
      resolveCommand(command, path);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, LaunchError);
      assert.is((e as LaunchError).code, expect[0]);
      assert.is((e as LaunchError).exitStatus, expect[1]);
      assert.not.match((e as Error).message, /\n/);
    }
  });
}

test('resolveCommand: an empty PATH entry means the current directory', () => {
  const cwd = process.cwd();
  try {
    process.chdir(a);
    assert.is(resolveCommand('tool', `/nonexistent::${b}`), './tool');
  } finally {
    process.chdir(cwd);
  }
});

test('layoutStringArray: NULL-terminated pointer table, then the NUL-terminated strings', () => {
  const base = 0x10000n;
  const bytes = layoutStringArray(['ab', '', 'c'], base);
  const v = new DataView(bytes.buffer);
  const table = 8 * 4;
  assert.equal([0, 1, 2, 3].map((i) => v.getBigUint64(8 * i, true)), [base + 32n, base + 35n, base + 36n, 0n]);
  assert.equal([...bytes.subarray(table)], [0x61, 0x62, 0, 0, 0x63, 0]);
});

test('prepareExec: the stub\'s argv convention and the environment', () => {
  const p = prepareExec(ALLOW_ALL, ['tool', 'x', 'y z'], { path: a, env: { A: '1', B: undefined, C: 'x=y' }, argv0: 'zero' });
  assert.equal(p.argv, ['seccomp-ts-launcher', join(a, 'tool'), 'zero', 'x', 'y z']);
  assert.equal(p.envp, ['A=1', 'C=x=y']);
  assert.equal([...p.stub.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.throws(() => prepareExec(ALLOW_ALL, ['tool', 'a\0b'], { path: a }), (e: unknown) => e instanceof LaunchError && e.code === 'EXEC');
  assert.throws(() => prepareExec(ALLOW_ALL, [], {}), (e: unknown) => e instanceof LaunchError && e.code === 'NOT_FOUND');
});

/** Run the child fixture, which execSandboxed's itself into argv. */
function launch(program: Instruction[], argv: string[], input?: string) {
  // Without input, stdin is /dev/null: bash sources ~/.bashrc when its stdin is a socket.
  return execChild({ program, argv }, { input, env: { ...process.env, FOO: 'from-parent' }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

(onX64 ? test : test.skip)('execSandboxed replaces the Node process: same pid, confined, stdio and env intact', () => {
  // `exec grep` reads its own status: a grep run as a child of sh could catch sh mid-fork, with
  // every signal blocked.
  const r = launch(ALLOW_ALL, ['sh', '-c', 'echo $$ $FOO; exec grep -E "^(NoNewPrivs|Seccomp|SigIgn|SigBlk):" /proc/self/status']);
  assert.is(r.status, 0, r.stderr);
  const [pidLine, ...lines] = r.stdout.trim().split('\n');
  assert.is(pidLine, `${r.pid} from-parent`);
  assert.equal(lines.map((l) => l.replace(/\s+/g, ' ')), ['SigBlk: 0000000000000000', 'SigIgn: 0000000000000000', 'NoNewPrivs: 1', 'Seccomp: 2']);
  const c = launch(ALLOW_ALL, ['cat'], 'from stdin\n');
  assert.is(c.stdout, 'from stdin\n');
});

(onX64 ? test : test.skip)('execSandboxed: exit status and killing signal are the target\'s own', () => {
  assert.is(launch(ALLOW_ALL, ['sh', '-c', 'exit 7']).status, 7);
  assert.is(launch(ALLOW_ALL, ['sh', '-c', 'kill -TERM $$']).signal, 'SIGTERM');
});

(onX64 ? test : test.skip)('execSandboxed: a command not found is one line and status 127, before anything runs', () => {
  const r = launch(ALLOW_ALL, ['no-such-command-seccomp-ts']);
  assert.is(r.status, 127);
  assert.is(r.stderr, 'seccomp-ts: no-such-command-seccomp-ts: command not found\n');
});

(onX64 ? test : test.skip)('execSandboxed: a policy denying execve lets bash start and kills its exec', () => {
  const r = launch(denylist(['execve'], (SECCOMP_RET_ERRNO | 1) >>> 0), ['bash', '-c', 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!']);
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.signal, 'SIGSYS');
});

test.run();
