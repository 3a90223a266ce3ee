/**
 * Compiled filters in a real kernel: `seccomp-ts compile -o` writes the bytes bubblewrap's
 * `--seccomp FD` loads, and programs run under them in bwrap's sandbox (a child process, so the
 * test process itself never gets a filter). x86_64 hosts only: the policies name x86_64.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IN_CI, ROOT, needTool } from '../_util/tools.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-bwrap-'));
const X86 = process.arch === 'x64';
if (!X86) process.stdout.write('  SKIP: not an x86_64 host; the bwrap tests are skipped\n');
const HAVE = X86 && needTool('bwrap', 'bubblewrap');

/** Whether bwrap can build a sandbox here at all (user namespaces may be off outside CI). */
function bwrapWorks(): boolean {
  const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--', '/bin/true']);
  if (r.status === 0) return true;
  if (IN_CI) return true; // let the tests fail loudly
  process.stdout.write(`  SKIP: bwrap cannot create a sandbox here (${r.stderr.toString().trim().split('\n')[0]})\n`);
  return false;
}
const RUN = HAVE && bwrapWorks();

function compileTo(args: string[], name: string): string {
  const out = join(TMP, `${name}.bpf`);
  const r = spawnSync(process.execPath, [CLI, 'compile', ...args, '-o', out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return out;
}

/** Run `cmd` in bwrap with the filter at `bpf` on file descriptor 3. */
function sandboxed(bpf: string, cmd: string[]) {
  const fd = openSync(bpf, 'r');
  try {
    const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--seccomp', '3', '--', ...cmd], {
      stdio: ['ignore', 'pipe', 'pipe', fd],
      encoding: 'utf8',
      timeout: 20000,
    });
    return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
  } finally {
    closeSync(fd);
  }
}

(RUN ? test : test.skip)('deny list: the denied syscall kills, everything else runs', () => {
  const bpf = compileTo(['--deny', 'uname', '--arch', 'x86_64'], 'deny-uname');
  assert.is(sandboxed(bpf, ['/bin/true']).status, 0);
  const r = sandboxed(bpf, ['/bin/uname', '-s']);
  // bwrap reports the child's death by SIGSYS (31) as 128 + 31.
  assert.is(r.status, 128 + 31, `uname: status ${r.status} ${r.err}`);
});

(RUN ? test : test.skip)('errno action: the call fails with the chosen errno, the program goes on', () => {
  const policy = join(TMP, 'errno.yaml');
  writeFileSync(policy, 'defaultAction: allow\nrules:\n  - {syscalls: [uname], action: errno(EACCES)}\n');
  const file = compileTo([policy, '--arch', 'x86_64'], 'errno-uname');
  const r = sandboxed(file, ['/bin/uname', '-s']);
  assert.is(r.status, 1, r.err);
  assert.match(r.err, /Permission denied/);
});

(RUN && existsSync(join(ROOT, '..', 'shared', 'fixtures', 'moby-default.json')) ? test : test.skip)(
  "Docker's default profile: ordinary programs run, unshare is refused with EPERM",
  () => {
    const bpf = compileTo([join(ROOT, '..', 'shared', 'fixtures', 'moby-default.json'), '--arch', 'x86_64,i386,x32'], 'moby');
    assert.ok(readFileSync(bpf).length > 0);
    const ls = sandboxed(bpf, ['/bin/ls', '/']);
    assert.is(ls.status, 0, ls.err);
    assert.match(ls.out, /usr/);
    const sh = sandboxed(bpf, ['/bin/sh', '-c', 'echo $((6 * 7))']);
    assert.is(sh.out.trim(), '42', sh.err);
    const u = sandboxed(bpf, ['/usr/bin/unshare', '--user', '/bin/true']);
    assert.is.not(u.status, 0);
    assert.match(u.err, /Operation not permitted/);
  },
);

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
