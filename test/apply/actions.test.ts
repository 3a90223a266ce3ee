/**
 * Every seccomp action, observed in a real process: a child installs a filter with apply() and
 * then makes the filtered call. getppid (via process.ppid) is the target because Node itself
 * never calls it; mkdir shows the errno as a Node user sees it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeAction, MAX_ERRNO } from '../../src/bpf/seccomp.js';
import { line, NR, onSyscalls, runChild, wire, X86_64_LINUX, type Step } from './_child.js';

const it = X86_64_LINUX ? test : test.skip;
if (!X86_64_LINUX) process.stdout.write(`  SKIP: apply kernel tests need Linux on x86_64 (this is ${process.platform}/${process.arch})\n`);

const ENETDOWN = 100;
const ENOSYS = 38;

const applyOn = (nrs: number[], action: number): Step[] => [
  { op: 'dumpable0' }, // no core file from the SIGSYS cases
  { op: 'apply', filter: wire(onSyscalls(nrs, action)) },
];

it('errno: mkdir fails with exactly the errno the filter returns, and nothing is created', () => {
  const dir = `/tmp/seccomp-ts-apply-${process.pid}-never-created`;
  const r = runChild([...applyOn([NR.mkdir, NR.mkdirat], encodeAction('errno', ENETDOWN)), { op: 'mkdir', path: dir }, { op: 'ppid' }]);
  assert.is(r.status, 0, r.stderr);
  assert.is(line(r, 'apply').ok, true);
  const m = line(r, 'mkdir');
  assert.is(m.ok, false);
  assert.is(m.error?.code, 'ENETDOWN');
  assert.match(m.error?.message ?? '', /network is down/i);
  // Other calls are unaffected.
  assert.is(line(r, 'ppid').value, process.pid);
});

it('errno: data above MAX_ERRNO is clamped by the kernel to 4095', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('errno', 5000)), { op: 'syscall', nr: NR.getppid }]);
  assert.is(r.status, 0, r.stderr);
  assert.equal([line(r, 'syscall').value, line(r, 'syscall').errno], [-1, MAX_ERRNO]);
});

it('kill_process: the whole process dies with SIGSYS at the call', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('kill_process')), { op: 'ppid' }, { op: 'status' }]);
  assert.is(r.signal, 'SIGSYS');
  assert.is(line(r, 'apply').ok, true);
  assert.not.ok(r.lines.some((l) => l.op === 'ppid' || l.op === 'status'), 'nothing runs after the call');
});

it('kill_process: a handler for SIGSYS does not save the process', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('kill_process')), { op: 'sigsys' }]);
  assert.is(r.signal, 'SIGSYS');
  assert.not.ok(r.lines.some((l) => l.op === 'sigsys'));
});

it('trap: without a handler SIGSYS kills the process', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('trap', 7)), { op: 'ppid' }]);
  assert.is(r.signal, 'SIGSYS');
  assert.not.ok(r.lines.some((l) => l.op === 'ppid'));
});

it('trap: with a handler, SIGSYS is delivered and the process goes on', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('trap', 7)), { op: 'sigsys' }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const s = line(r, 'sigsys');
  assert.is(s.caught, 1);
  // The call did not run: the kernel rolled the registers back, so "getppid" returned its own number.
  assert.is(s.value, NR.getppid);
  assert.is(line(r, 'status').seccomp, 2);
});

it('kill_thread: only the calling thread dies, the process carries on', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('kill_thread')), { op: 'workerPpid' }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const w = line(r, 'workerPpid');
  assert.is(w.survived, false, 'the worker thread must not get past getppid');
  assert.is(w.gone, true, 'the worker thread is gone');
  assert.is(line(r, 'status').seccomp, 2);
});

it('kill_thread: without it the same worker survives (the check above can fail)', () => {
  const r = runChild([...applyOn([NR.getppid], encodeAction('allow')), { op: 'workerPpid' }]);
  assert.is(r.status, 0, r.stderr);
  assert.equal([line(r, 'workerPpid').survived, line(r, 'workerPpid').gone], [true, false]);
});

for (const [name, action] of [['trace', encodeAction('trace', 1)], ['user_notif', encodeAction('user_notif')]] as const) {
  it(`${name} with nobody listening: the call fails with ENOSYS`, () => {
    const r = runChild([...applyOn([NR.getppid], action), { op: 'syscall', nr: NR.getppid }, { op: 'syscall', nr: NR.getpid }]);
    assert.is(r.status, 0, r.stderr);
    assert.equal([line(r, 'syscall').value, line(r, 'syscall').errno], [-1, ENOSYS]);
    assert.ok(Number(line(r, 'syscall', 1).value) > 0, 'getpid is not filtered');
  });
}

for (const name of ['log', 'allow'] as const) {
  it(`${name}: the call runs normally`, () => {
    const r = runChild([...applyOn([NR.getppid], encodeAction(name)), { op: 'syscall', nr: NR.getppid }, { op: 'ppid' }]);
    assert.is(r.status, 0, r.stderr);
    assert.equal([line(r, 'syscall').value, line(r, 'syscall').errno], [process.pid, 0]);
    assert.is(line(r, 'ppid').value, process.pid);
  });
}

it('calls not listed get the default action (log here), listed ones their own', () => {
  const r = runChild([
    { op: 'apply', filter: wire(onSyscalls([NR.getppid], encodeAction('errno', ENETDOWN), encodeAction('log'))) },
    { op: 'syscall', nr: NR.getppid },
    { op: 'syscall', nr: NR.getpid },
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(line(r, 'syscall').errno, ENETDOWN);
  assert.ok(Number(line(r, 'syscall', 1).value) > 0);
});

test.run();
