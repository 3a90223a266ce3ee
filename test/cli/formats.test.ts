/**
 * The CLI's policy formats, through the built CLI (the test runner builds dist/; by hand: npx
 * tsup): OCI/Docker profiles read for a container (--caps, --kernel, --arch), systemd lines and
 * unit files (--systemd, --systemd-unit), policies written in those formats (--to) and read back,
 * the one-line-per-architecture summary of names an architecture lacks, and one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber } from '../../src/arch/index.js';
import { emulate } from '../../src/bpf/emulator.js';
import type { Instruction } from '../../src/bpf/insn.js';
import { compile } from '../../src/policy/filter.js';
import { policyFromOci } from '../../src/policy/oci.js';
import { policyFromSystemd } from '../../src/policy/systemd.js';
import { CLI, failsOneLine, runCli } from '../_util/cli.js';
import { ROOT, sharedFixture } from '../_util/tools.js';

const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-formats-'));
const FIX = join(ROOT, 'test', 'fixtures', 'formats');
const CONTAINER = join(FIX, 'cli', 'container.json');
const ROUNDTRIP = join(FIX, 'cli', 'roundtrip.yaml');
const MISSING = join(FIX, 'cli', 'missing.yaml');
const WEB = join(FIX, 'systemd', 'web.service');
const DENY = join(FIX, 'systemd', 'deny.service');
const ARGS = join(ROOT, 'examples', 'args.yaml');
const MOBY = sharedFixture('moby-default.json');

function ok(args: string[]) {
  const r = runCli(args);
  assert.is(r.status, 0, `${args.join(' ')}: exit ${r.status}, stderr ${r.err}`);
  return r;
}

interface JsonFilter {
  arches: string[];
  endian: 'little' | 'big';
  instructions: Instruction[];
}

/** `compile ... --format json`, parsed. */
function compiled(args: string[]): JsonFilter {
  return JSON.parse(ok(['compile', ...args, '--format', 'json']).out) as JsonFilter;
}

/** What a compiled filter does for a call without arguments: `allow`, `errno(1)`, `kill_process`, ... */
function decide(f: JsonFilter, arch: string, name: string): string {
  const a = getArch(arch);
  const nr = syscallNumber(a, name);
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${arch}`);
  const r = emulate(f.instructions, { nr: (nr | a.syscallBit) >>> 0, arch: a.auditArch, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] }, { endian: f.endian });
  return r.action.name === 'errno' ? `errno(${r.action.data})` : r.action.name;
}

function decisions(f: JsonFilter, arch: string, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, decide(f, arch, n)]));
}

// --- OCI profiles: the container -----------------------------------------------------------

(MOBY ? test : test.skip)("moby's profile: --caps CAP_SYS_ADMIN instead of Docker's default set gives another filter", () => {
  const names = ['mount', 'unshare', 'setns', 'chroot', 'read'];
  const byDefault = decisions(compiled([MOBY!, '--arch', 'x86_64']), 'x86_64', names);
  const admin = compiled([MOBY!, '--arch', 'x86_64', '--caps', 'CAP_SYS_ADMIN']);
  const withAdmin = decisions(admin, 'x86_64', names);
  // includes.caps CAP_SYS_ADMIN: mount, unshare, setns are allowed only with it.
  for (const n of ['mount', 'unshare', 'setns']) {
    assert.is(byDefault[n], 'errno(1)', `${n} without CAP_SYS_ADMIN`);
    assert.is(withAdmin[n], 'allow', `${n} with CAP_SYS_ADMIN`);
  }
  // --caps replaces the default set: chroot needs CAP_SYS_CHROOT, which Docker grants by default.
  assert.is(byDefault.chroot, 'allow');
  assert.is(withAdmin.chroot, 'errno(1)');
  assert.is(withAdmin.read, 'allow');
  // CAP_ optional, any case.
  assert.equal(compiled([MOBY!, '--arch', 'x86_64', '--caps', 'sys_admin']).instructions, admin.instructions);
  // none / all
  assert.is(decide(compiled([MOBY!, '--arch', 'x86_64', '--caps', 'none']), 'x86_64', 'chroot'), 'errno(1)');
  const all = compiled([MOBY!, '--arch', 'x86_64', '--caps', 'all']);
  for (const n of ['mount', 'chroot', 'ptrace', 'reboot', 'init_module']) assert.is(decide(all, 'x86_64', n), 'allow', `${n} with all capabilities`);
});

test('OCI includes/excludes: --kernel against minKernel, --caps against caps (all of includes, any of excludes)', () => {
  const names = ['pidfd_open', 'personality', 'mount', 'unshare', 'chroot', 'read'];
  const old = decisions(compiled([CONTAINER, '--kernel', '4.0']), 'x86_64', names);
  const recent = decisions(compiled([CONTAINER, '--kernel', '6.1']), 'x86_64', names);
  assert.is(old.pidfd_open, 'errno(1)', 'includes.minKernel 5.3 on 4.0');
  assert.is(recent.pidfd_open, 'allow', 'includes.minKernel 5.3 on 6.1');
  assert.is(old.personality, 'allow', 'excludes.minKernel 5.0 on 4.0');
  assert.is(recent.personality, 'errno(1)', 'excludes.minKernel 5.0 on 6.1');
  // Docker's default set has CAP_SYS_CHROOT (excludes chroot), not CAP_SYS_ADMIN.
  assert.equal([recent.mount, recent.unshare, recent.chroot, recent.read], ['errno(1)', 'errno(1)', 'errno(1)', 'allow']);
  const admin = decisions(compiled([CONTAINER, '--kernel', '6.1', '--caps', 'SYS_ADMIN']), 'x86_64', names);
  assert.equal([admin.mount, admin.unshare, admin.chroot], ['allow', 'errno(1)', 'allow']);
  const both = decisions(compiled([CONTAINER, '--kernel', '6.1', '--caps', 'cap_sys_admin,cap_net_admin']), 'x86_64', names);
  assert.equal([both.mount, both.unshare], ['allow', 'allow']);
  // The default kernel is the running one.
  assert.equal(compiled([CONTAINER]).instructions, compiled([CONTAINER, '--kernel', release()]).instructions);
});

(MOBY ? test : test.skip)("OCI --arch: the first is the host, the list the filter's architectures", () => {
  assert.equal(compiled([MOBY!, '--arch', 'x86_64,i386']).arches, ['x86_64', 'i386']);
  assert.equal(compiled([MOBY!, '--arch', 'aarch64']).arches, ['aarch64']);
  // includes.arches: arm_fadvise64_64 is allowed for an arm64 host, not for an x86_64 host reading the same profile.
  assert.is(decide(compiled([MOBY!, '--arch', 'aarch64,arm']), 'arm', 'arm_fadvise64_64'), 'allow');
  assert.is(decide(compiled([MOBY!, '--arch', 'x86_64,arm']), 'arm', 'arm_fadvise64_64'), 'errno(1)');
});

test('check, diff and explain read OCI profiles for --caps/--kernel too', () => {
  const explained = (extra: string[]) => /^decision: *(.*)$/m.exec(ok(['explain', CONTAINER, '--syscall', 'mount', '--arch', 'x86_64', ...extra]).out)?.[1];
  assert.is(explained([]), 'errno(EPERM)');
  assert.is(explained(['--caps', 'CAP_SYS_ADMIN']), 'allow');
  // The profile as read for kernel 4.0, written out: diff reads the original for the kernel it is told.
  const old = join(TMP, 'container-4.0.json');
  ok(['compile', CONTAINER, '--kernel', '4.0', '--to', 'oci', '-o', old]);
  assert.is(runCli(['diff', CONTAINER, old, '--kernel', '4.0']).status, 0);
  const d = runCli(['diff', CONTAINER, old, '--kernel', '6.1']);
  assert.is(d.status, 1, d.err);
  assert.match(d.out, /pidfd_open/);
  // check compiles what the container gets: more allowed calls with all capabilities than with none.
  const size = (extra: string[]) => (JSON.parse(ok(['check', CONTAINER, '--json', ...extra]).out) as { instructions: number }).instructions;
  const text = readFileSync(CONTAINER, 'utf8');
  const lib = (caps: string[]) => compile(policyFromOci(text, { caps, kernel: '6.1' }).policy).instructions.length;
  assert.is(size(['--caps', 'none', '--kernel', '6.1']), lib([]));
  assert.is(size(['--caps', 'all', '--kernel', '6.1']), lib(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_CHROOT']));
  assert.is.not(size(['--caps', 'none', '--kernel', '6.1']), size(['--caps', 'all', '--kernel', '6.1']));
});

// --- systemd --------------------------------------------------------------------------------

test('--systemd lines: allow and deny lists, errno settings, decisions as the library reads them', () => {
  const allow = ['SystemCallFilter=@basic-io', 'SystemCallErrorNumber=EPERM'];
  const f = compiled(allow.flatMap((l) => ['--systemd', l]).concat(['--arch', 'x86_64']));
  assert.equal(decisions(f, 'x86_64', ['read', 'write', 'mount', 'ptrace']), { read: 'allow', write: 'allow', mount: 'errno(1)', ptrace: 'errno(1)' });
  assert.equal(f.instructions, [...compile(policyFromSystemd(allow, { arches: ['x86_64'] })).instructions]);
  const deny = compiled(['--systemd', 'SystemCallFilter=~@mount', '--systemd', 'SystemCallFilter=~ptrace:EACCES', '--arch', 'x86_64']);
  assert.equal(decisions(deny, 'x86_64', ['read', 'mount', 'ptrace']), { read: 'allow', mount: 'kill_process', ptrace: 'errno(13)' });
});

test('--systemd-unit: a whole unit file (other keys and sections ignored), --arch as the machine ABIs', () => {
  const web = compiled(['--systemd-unit', WEB, '--arch', 'x86_64,i386,x32']);
  // SystemCallArchitectures=native: only x86_64 is served; i386 calls get the bad-architecture action.
  assert.equal(web.arches, ['x86_64']);
  assert.is(decide(web, 'i386', 'read'), 'kill_process');
  assert.equal(decisions(web, 'x86_64', ['read', 'reboot', 'setrlimit']), { read: 'allow', reboot: 'errno(1)', setrlimit: 'errno(1)' });
  assert.equal(web.instructions, [...compile(policyFromSystemd(readFileSync(WEB, 'utf8'), { arches: ['x86_64', 'i386', 'x32'] })).instructions]);
  const deny = compiled(['--systemd-unit', DENY, '--arch', 'x86_64,i386,x32']);
  assert.equal(deny.arches, ['x86_64', 'i386', 'x32']);
  for (const arch of deny.arches) {
    assert.equal(decisions(deny, arch, ['read', 'mount', 'chroot', 'ptrace']), { read: 'allow', mount: 'kill_process', chroot: 'allow', ptrace: 'errno(1)' }, arch);
  }
});

// --- --to -----------------------------------------------------------------------------------

test('--to oci: the written profile, read back by compile/diff, decides like the policy', () => {
  const out = join(TMP, 'roundtrip.json');
  const w = ok(['compile', ROUNDTRIP, '--to', 'oci', '-o', out]);
  assert.is(w.err, '');
  assert.match(readFileSync(out, 'utf8'), /"defaultAction": "SCMP_ACT_ERRNO"/);
  const d = runCli(['diff', ROUNDTRIP, out]);
  assert.is(d.status, 0, d.out + d.err);
  // To standard output without -o; --arch narrows the written architectures.
  const narrowed = ok(['compile', ROUNDTRIP, '--arch', 'x86_64', '--to', 'oci']);
  assert.equal((JSON.parse(narrowed.out) as { architectures: string[] }).architectures, ['SCMP_ARCH_X86_64']);
  // A bad-architecture action OCI cannot carry is said, in one line.
  const lists = ok(['compile', '--deny', 'ptrace', '--to', 'oci']);
  assert.match(lists.err, /^seccomp-ts: note: [^\n]*no bad-architecture action[^\n]*kill_process[^\n]*\n$/);
});

(MOBY ? test : test.skip)("--to oci of moby's profile (read for a container) reads back to the same filter", () => {
  for (const extra of [[], ['--caps', 'SYS_ADMIN', '--kernel', '4.0']]) {
    const out = join(TMP, `moby-${extra.length}.json`);
    ok(['compile', MOBY!, ...extra, '--to', 'oci', '-o', out]);
    const d = runCli(['diff', MOBY!, out, ...extra]);
    assert.is(d.status, 0, `${extra.join(' ')}: ${d.out.slice(-400)} ${d.err}`);
  }
});

test('--to systemd: lines that read back to the same filter; a policy with argument checks is refused', () => {
  for (const policy of [['--deny', 'ptrace,mount'], ['--allow', 'read,write,exit_group', '--default', 'errno(EPERM)']]) {
    const unit = join(TMP, `${policy[0]!.slice(2)}.service`);
    const lines = ok(['compile', ...policy, '--to', 'systemd', '-o', unit]);
    assert.is(lines.err, '');
    assert.match(readFileSync(unit, 'utf8'), /^SystemCallFilter=/m);
    const a = join(TMP, `${policy[0]!.slice(2)}-a.bpf`);
    const b = join(TMP, `${policy[0]!.slice(2)}-b.bpf`);
    ok(['compile', ...policy, '-o', a]);
    ok(['compile', '--systemd-unit', unit, '-o', b]);
    const d = runCli(['diff', a, b]);
    assert.is(d.status, 0, d.out + d.err);
  }
  failsOneLine(['compile', ARGS, '--to', 'systemd'], /no systemd form: .*checks arguments/);
  failsOneLine(['compile', ARGS, '--to', 'oci'], /no OCI form/);
});

// --- warnings -------------------------------------------------------------------------------

const SUMMARY = /^seccomp-ts: warning: (\d+) syscalls? of \S+ (?:do|does) not exist on (\S+) and (?:are|is) skipped there: (.*) \(--strict makes this an error; -v lists each with its position\)$/;
const EACH = /^seccomp-ts: warning: \S+:\d+:\d+: syscall '([^']+)' does not exist on (\S+); skipped there$/;

/** Summary lines per arch against -v's individual lines for the same input. */
function checkSummary(args: string[]): Map<string, number> {
  const lines = ok(['compile', ...args]).err.trimEnd().split('\n');
  const each = ok(['compile', ...args, '-v']).err.trimEnd().split('\n');
  const perArch = new Map<string, Set<string>>();
  for (const l of each) {
    const m = EACH.exec(l);
    if (m) perArch.set(m[2]!, (perArch.get(m[2]!) ?? new Set()).add(m[1]!));
  }
  assert.ok(perArch.size > 0, `-v lists the names: ${each.join('\n')}`);
  const summaries = lines.filter((l) => SUMMARY.test(l));
  assert.not.ok(lines.some((l) => EACH.test(l)), 'no individual lines without -v');
  assert.is(summaries.length, perArch.size, `one summary line per architecture:\n${lines.join('\n')}`);
  const counts = new Map<string, number>();
  for (const s of summaries) {
    const [, n, arch, names] = SUMMARY.exec(s)!;
    assert.is(Number(n), perArch.get(arch!)?.size, `${arch}: the count of distinct names`);
    const shown = names!.replace(/, \.\.\.$/, '').split(', ');
    for (const x of shown) assert.ok(perArch.get(arch!)!.has(x), `${x} on ${arch}`);
    counts.set(arch!, Number(n));
  }
  return counts;
}

test('names an architecture lacks: one warning line per architecture, -v lists each', () => {
  const counts = checkSummary([MISSING]);
  assert.equal([...counts.keys()], ['x86_64', 'i386', 'x32']);
  assert.is(counts.get('i386'), 1);
  // --strict still makes the first one an error.
  failsOneLine(['compile', MISSING, '--strict'], /does not exist on x86_64 \(strict mode\)/);
});

(MOBY ? test : test.skip)("moby's profile for x86_64,i386,x32: one warning line per architecture, entries left out in one note", () => {
  const counts = checkSummary([MOBY!, '--arch', 'x86_64,i386,x32']);
  assert.is(counts.size, 3);
  const err = ok(['compile', MOBY!, '--arch', 'x86_64,i386,x32']).err;
  assert.ok(err.split('\n').length < 10, err);
  assert.match(err, /^seccomp-ts: note: \d+ syscalls\[\] entries of \S+ are left out by their includes\/excludes for this container \(host x86_64, kernel \d+\.\d+, Docker's default capabilities; -v lists each\)$/m);
  assert.match(ok(['compile', MOBY!, '--arch', 'x86_64', '-v']).err, /^seccomp-ts: note: \S+: syscalls\[\d+\]: skipped \(.*mount.*\): includes.caps: CAP_SYS_ADMIN not granted$/m);
});

(process.platform === 'linux' && process.arch === 'x64' ? test : test.skip)('exec summarises the same way', () => {
  const policy = join(TMP, 'exec.yaml');
  writeFileSync(policy, 'defaultAction: allow\nbadArchAction: kill_process\narchitectures: [x86_64, i386]\nrules:\n  - syscalls: [kexec_load, socketcall, chown32, stat64]\n    action: kill_process\n');
  const r = spawnSync(process.execPath, [CLI, 'exec', '--policy', policy, '--', process.execPath, '-e', 'process.exit(0)'], { timeout: 60000 });
  const err = r.stderr.toString('utf8');
  assert.is(r.status, 0, err);
  const lines = err.trimEnd().split('\n');
  assert.is(lines.length, 1, err);
  assert.match(lines[0]!, / 3 syscalls of \S+exec\.yaml do not exist on x86_64 .*: socketcall, chown32, stat64 /);
  for (const l of lines) assert.match(l, /^seccomp-ts: warning: \d+ syscalls? of \S+ (do|does) not exist on \S+ and (are|is) skipped there: .*\('seccomp-ts compile -v' lists each with its position\)$/);
});

// --- bad input ------------------------------------------------------------------------------

test('bad input: one line on stderr, exit 2', () => {
  const bad = join(TMP, 'bad.service');
  writeFileSync(bad, '[Service]\nSystemCallFilter=read\nSystemCallFilter=@fliesystem\n');
  failsOneLine(['compile', CONTAINER, '--kernel', 'banana'], /--kernel must be a kernel version X\.Y.*'banana'/);
  failsOneLine(['compile', CONTAINER, '--caps', 'CAP_SYS_ADMN'], /unknown capability 'CAP_SYS_ADMN'/);
  failsOneLine(['compile', CONTAINER, '--caps', 'SYS_ADMIN,,KILL'], /empty entry/);
  failsOneLine(['compile', ARGS, '--caps', 'SYS_ADMIN'], /--caps only applies to OCI/);
  failsOneLine(['compile', ARGS, '--kernel', '5.10'], /--kernel only applies to OCI/);
  failsOneLine(['compile', '--allow', 'read', '--caps', 'SYS_ADMIN'], /--caps only applies to OCI/);
  failsOneLine(['compile', '--systemd', 'SystemCallFilter=@basic-io', '--kernel', '5.10'], /--kernel only applies to OCI/);
  failsOneLine(['check', ARGS, '--caps', 'SYS_ADMIN'], /check: --caps only applies to OCI/);
  failsOneLine(['diff', ARGS, ROUNDTRIP, '--kernel', '5.10'], /diff: --kernel only applies to OCI/);
  failsOneLine(['explain', CONTAINER, '--syscall', 'read', '--kernel', 'x.y'], /explain: --kernel must be/);
  failsOneLine(['compile', ARGS, '--systemd', 'SystemCallFilter=@basic-io'], /give no POLICY file or --allow\/--deny/);
  failsOneLine(['compile', '--allow', 'read', '--systemd', 'SystemCallFilter=@basic-io'], /give no POLICY file or --allow\/--deny/);
  failsOneLine(['compile', '--systemd', 'SystemCallFilter=read', '--systemd-unit', WEB], /not both/);
  failsOneLine(['compile', '--systemd', 'SystemCallFilter=read', '--systemd', 'SystemCallFilter=raed'], /^seccomp-ts: --systemd:2:18: unknown syscall 'raed'/);
  failsOneLine(['compile', '--systemd-unit', bad], /bad\.service:3:18: unknown group '@fliesystem'/);
  failsOneLine(['compile', '--systemd-unit', join(TMP, 'absent.service')], /cannot read/);
  failsOneLine(['compile', ARGS, '--to', 'oci', '--format', 'json'], /--to writes the policy, --format the filter/);
  failsOneLine(['compile', ARGS, '--to', 'seccomp'], /--to must be one of oci, systemd/);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
