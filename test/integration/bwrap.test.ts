/**
 * Filters compiled by the CLI, enforced by bubblewrap: `seccomp-ts compile POLICY -o filter.bpf`,
 * then `bwrap --bind / / --dev /dev --proc /proc --seccomp 3 3<filter.bpf CMD`. bwrap loads the
 * raw sock_filter bytes it reads from fd 3 just before it executes CMD. Runs the built CLI
 * (npx tsup first).
 *
 * bwrap needs a mount namespace: as root it just works; otherwise it needs unprivileged user
 * namespaces. The first case finds a command line that runs here, trying the README's first and
 * then lighter ones (--dev-bind / / mounts nothing new), and says clearly when none does.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IN_CI, ROOT, needTool } from '../_util/tools.js';
import { MYOS_C, gcc, tempDir } from '../launch/_helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const onLinux = process.platform === 'linux';
const haveBwrap = onLinux && needTool('bwrap', 'bubblewrap');
const dir = tempDir('bwrap');

/** Ways to run bwrap, the README's first. */
const CANDIDATES: readonly (readonly string[])[] = [
  ['--bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
  ['--dev-bind', '/', '/', '--proc', '/proc'],
  ['--dev-bind', '/', '/'],
];

let prefix: readonly string[] | undefined;
let probeReport = '';
function bwrapPrefix(): readonly string[] | undefined {
  if (prefix || probeReport) return prefix;
  const tried: string[] = [];
  for (const c of CANDIDATES) {
    const r = spawnSync('bwrap', [...c, '/bin/sh', '-c', 'echo works'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
    if (r.status === 0 && r.stdout === 'works\n') {
      prefix = c;
      return c;
    }
    tried.push(`bwrap ${c.join(' ')} -> status ${r.status}${r.error ? ` (${r.error.message})` : ''}: ${(r.stderr ?? '').trim()}`);
  }
  probeReport = `bwrap cannot run in this environment (it needs a mount namespace: root, or unprivileged user namespaces): ${tried.join('; ')}`;
  return undefined;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

let n = 0;
/** Compile a policy text with the CLI into a filter file. */
function compilePolicy(yaml: string): string {
  const policy = join(dir, `policy${n}.yaml`);
  const out = join(dir, `filter${n++}.bpf`);
  writeFileSync(policy, yaml);
  const r = cli(['compile', policy, '-o', out]);
  assert.is(r.status, 0, r.err);
  assert.is(readFileSync(out).length % 8, 0, 'whole sock_filter instructions');
  return out;
}

/** `bwrap PREFIX --seccomp 3 CMD` with the filter file open on fd 3. */
function underBwrap(filter: string, cmd: string[]) {
  const fd = openSync(filter, 'r');
  try {
    const r = spawnSync('bwrap', [...prefix!, '--seccomp', '3', ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd], timeout: 20000 });
    return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
  } finally {
    closeSync(fd);
  }
}

// Cases that need a working bwrap: registered as tests that fail (CI) or say SKIP (elsewhere) when it does not run.
function withBwrap(name: string, fn: () => void): void {
  (haveBwrap ? test : test.skip)(name, () => {
    if (!bwrapPrefix()) {
      if (IN_CI) assert.unreachable(probeReport);
      process.stdout.write(`  SKIP (${name}): bwrap does not run here, see above\n`);
      return;
    }
    fn();
  });
}

(haveBwrap ? test : test.skip)('bwrap runs here (which command line is printed)', () => {
  const p = bwrapPrefix();
  if (!p) {
    if (IN_CI) assert.unreachable(probeReport);
    process.stdout.write(`  SKIP: ${probeReport}\n`);
    return;
  }
  process.stdout.write(`  bwrap works as: bwrap ${p.join(' ')} --seccomp 3 3<filter.bpf CMD\n`);
  assert.ok(p.length > 0);
});

withBwrap('uname denied with errno(ENETDOWN): the uname command fails with "Network is down"; other commands run', () => {
  const f = compilePolicy('defaultAction: allow\nrules:\n  - syscalls: [uname]\n    action: { errno: ENETDOWN }\n');
  const u = underBwrap(f, ['uname']);
  assert.is(u.status, 1, u.err);
  assert.match(u.err, /Network is down/);
  assert.is(u.out, '');
  const ok = underBwrap(f, ['/bin/sh', '-c', 'echo allowed; cat /proc/self/status | grep -c "^Seccomp:[[:space:]]*2"']);
  assert.is(ok.out, 'allowed\n1\n', ok.err);
  assert.is(ok.status, 0);
  // The same command without the filter: uname works, so the filter made the difference.
  const plain = spawnSync('bwrap', [...prefix!, 'uname'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(plain.stdout, 'Linux\n', plain.stderr);
});

withBwrap('uname denied with kill_process: the command dies of SIGSYS (bwrap exits 128+31)', () => {
  const f = compilePolicy('defaultAction: allow\nrules:\n  - syscalls: [uname]\n    action: kill_process\n');
  const u = underBwrap(f, ['uname']);
  assert.ok(u.status === 128 + 31 || u.signal === 'SIGSYS', `status ${u.status} signal ${u.signal} stderr ${u.err}`);
  assert.is(u.out, '');
  const ok = underBwrap(f, ['echo', 'still', 'fine']);
  assert.is(ok.out, 'still fine\n', ok.err);
});

const haveLearnTools = haveBwrap && needTool('gcc') && needTool('strace');
(haveLearnTools ? withBwrap : test.skip)('a learned allowlist: with --keep-execve it runs myos under bwrap; without, bwrap\'s own execve is killed', () => {
  const myos = gcc(dir, 'myos', MYOS_C);
  for (const keep of [true, false]) {
    const policy = join(dir, `myos-${keep}.yaml`);
    const l = cli(['learn', ...(keep ? ['--keep-execve'] : []), '-o', policy, '--', myos]);
    assert.is(l.status, 0, l.err);
    const listsExecve = /^ {6}- execve\b/m.test(readFileSync(policy, 'utf8'));
    assert.is(listsExecve, keep, 'execve is listed exactly with --keep-execve');
    const bpf = join(dir, `myos-${keep}.bpf`);
    assert.is(cli(['compile', policy, '-o', bpf]).status, 0);
    const r = underBwrap(bpf, [myos]);
    if (keep) {
      assert.is(r.out, 'My OS is Linux!\n', r.err);
      assert.is(r.status, 0);
    } else {
      assert.ok(r.status === 128 + 31 || r.signal === 'SIGSYS', `status ${r.status} signal ${r.signal}`);
      assert.is(r.out, '');
    }
  }
});

test.run();
