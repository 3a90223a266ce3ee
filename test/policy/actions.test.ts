import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from '../../src/bpf/seccomp.js';
import { PolicyError, formatAction, parseAction } from '../../src/policy/index.js';

// Expected values are built from the uapi constants, not from encodeAction.
const GOOD: [input: unknown, value: number][] = [
  ['allow', SECCOMP_RET_ALLOW],
  ['log', SECCOMP_RET_LOG],
  ['kill_process', SECCOMP_RET_KILL_PROCESS],
  ['kill', SECCOMP_RET_KILL_PROCESS],
  ['kill_thread', SECCOMP_RET_KILL_THREAD],
  ['trap', SECCOMP_RET_TRAP],
  ['user_notif', SECCOMP_RET_USER_NOTIF],
  [' allow ', SECCOMP_RET_ALLOW],
  ['errno(EPERM)', SECCOMP_RET_ERRNO | 1],
  ['errno(1)', SECCOMP_RET_ERRNO | 1],
  ['errno( EACCES )', SECCOMP_RET_ERRNO | 13],
  ['errno(0x26)', SECCOMP_RET_ERRNO | 38],
  ['errno(EWOULDBLOCK)', SECCOMP_RET_ERRNO | 11],
  ['errno(0)', SECCOMP_RET_ERRNO | 0],
  ['errno(4095)', SECCOMP_RET_ERRNO | 4095],
  ['errno(EHWPOISON)', SECCOMP_RET_ERRNO | 133],
  ['trap(3)', SECCOMP_RET_TRAP | 3],
  ['trap(65535)', (SECCOMP_RET_TRAP | 0xffff) >>> 0],
  ['trace(7)', SECCOMP_RET_TRACE | 7],
  ['trace(0)', SECCOMP_RET_TRACE | 0],
  [{ errno: 'EPERM' }, SECCOMP_RET_ERRNO | 1],
  [{ errno: 1 }, SECCOMP_RET_ERRNO | 1],
  [{ errno: 13n }, SECCOMP_RET_ERRNO | 13],
  [{ errno: '13' }, SECCOMP_RET_ERRNO | 13],
  [{ errno: 4095 }, SECCOMP_RET_ERRNO | 4095],
  [{ trap: 3 }, SECCOMP_RET_TRAP | 3],
  [{ trap: 0n }, SECCOMP_RET_TRAP],
  [{ trace: 65535n }, (SECCOMP_RET_TRACE | 0xffff) >>> 0],
  [{ trace: '0x10' }, SECCOMP_RET_TRACE | 16],
];

for (const [input, value] of GOOD) {
  test(`parseAction(${JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))})`, () => {
    assert.is(parseAction(input), value >>> 0);
    // formatAction gives a canonical text that reads back to the same value.
    assert.is(parseAction(formatAction(value >>> 0)), value >>> 0);
  });
}

const BAD: [input: unknown, message: RegExp][] = [
  ['errno', /needs data: write errno\(EPERM\)/],
  ['trace', /needs data/],
  ['errno(4096)', /errno value 4096 is out of range 0\.\.4095/],
  [{ errno: 4096 }, /out of range 0\.\.4095/],
  [{ errno: -1 }, /errno value -1 is out of range/],
  ['errno(-1)', /out of range/],
  [{ trap: 65536 }, /trap value 65536 is out of range 0\.\.65535/],
  ['trace(65536)', /trace value 65536 is out of range 0\.\.65535/],
  [{ trace: 1.5 }, /trace needs a number, not 1\.5/],
  ['errno(EFOO)', /unknown errno name 'EFOO'/],
  ['errno(EPRM)', /did you mean EPERM/],
  [{ errno: 'eperm' }, /unknown errno name 'eperm' \(did you mean EPERM/],
  ['alow', /unknown action 'alow' \(did you mean allow\?\)/],
  ['kill-process', /did you mean kill_process/],
  ['ALLOW', /did you mean allow\? action names are lower case/],
  ['allow(1)', /action 'allow' takes no data/],
  ['erno(1)', /did you mean errno\(\.\.\.\)/],
  [{ allow: 1 }, /write it as the string 'allow'/],
  [{ errn: 1 }, /unknown action key 'errn' \(did you mean errno\?\)/],
  [{ errno: 1, trap: 2 }, /exactly one key .* not 'errno', 'trap'/],
  [{}, /exactly one key .* not none/],
  [5, /an action is a name .* not 5/],
  [0x7fff0000, /an action is a name/],
  [null, /not null/],
  [['allow'], /not a list/],
  [true, /not true/],
];

for (const [input, message] of BAD) {
  test(`parseAction rejects ${JSON.stringify(input)}`, () => {
    try {
      parseAction(input);
      assert.unreachable('accepted');
    } catch (e) {
      assert.instance(e, PolicyError);
      assert.is((e as PolicyError).code, 'ACTION');
      assert.match((e as Error).message, message);
      assert.not.match((e as Error).message, /\n/);
    }
  });
}

test('formatAction: canonical names', () => {
  const cases: [number, string][] = [
    [SECCOMP_RET_ALLOW, 'allow'],
    [SECCOMP_RET_KILL_PROCESS, 'kill_process'],
    [SECCOMP_RET_KILL_THREAD, 'kill_thread'],
    [SECCOMP_RET_TRAP, 'trap'],
    [SECCOMP_RET_TRAP | 9, 'trap(9)'],
    [SECCOMP_RET_ERRNO | 1, 'errno(EPERM)'],
    [SECCOMP_RET_ERRNO | 0, 'errno(0)'],
    [SECCOMP_RET_ERRNO | 58, 'errno(58)'], // no generic errno has number 58
    [SECCOMP_RET_TRACE | 0, 'trace(0)'],
    [SECCOMP_RET_USER_NOTIF, 'user_notif'],
    [SECCOMP_RET_LOG, 'log'],
  ];
  for (const [v, text] of cases) assert.is(formatAction(v >>> 0), text);
});

test('formatAction: values no policy can produce are shown in hex', () => {
  assert.is(formatAction(0x12340000), '0x12340000'); // unknown action (the kernel kills)
  assert.is(formatAction((SECCOMP_RET_ALLOW | 5) >>> 0), '0x7fff0005'); // data on allow
  assert.is(formatAction((SECCOMP_RET_ERRNO | 5000) >>> 0), '0x00051388'); // errno above MAX_ERRNO
});

test('every errno and every trap/trace datum round-trips through formatAction', () => {
  for (let n = 0; n <= 4095; n++) assert.is(parseAction(formatAction((SECCOMP_RET_ERRNO | n) >>> 0)), (SECCOMP_RET_ERRNO | n) >>> 0);
  for (let n = 0; n <= 0xffff; n += 257) {
    assert.is(parseAction(formatAction((SECCOMP_RET_TRAP | n) >>> 0)), (SECCOMP_RET_TRAP | n) >>> 0);
    assert.is(parseAction(formatAction((SECCOMP_RET_TRACE | n) >>> 0)), (SECCOMP_RET_TRACE | n) >>> 0);
  }
});

test.run();
