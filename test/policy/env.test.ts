import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_LOG } from '../../src/bpf/seccomp.js';
import { policyFromEnv, policyFromLists } from '../../src/policy/index.js';
import { ROOT } from '../_util/tools.js';
import { catchPolicyError } from '../_util/errors.js';

const KILL = SECCOMP_RET_KILL_PROCESS >>> 0;

test('no SECCOMP_* variable: undefined (other variables do not count)', () => {
  assert.is(policyFromEnv({}), undefined);
  assert.is(policyFromEnv({ PATH: '/bin', SECCOMP_OTHER: 'x' }), undefined);
});

// [env, default action, [syscalls, action][] of the rules, names, ignored]
const GOOD: [Record<string, string>, number, [string[], number][], string[], string[]][] = [
  [{ SECCOMP_SYSCALL_ALLOW: 'read:write:@exit' }, KILL, [[['read', 'write', '@exit'], SECCOMP_RET_ALLOW]], ['SECCOMP_SYSCALL_ALLOW'], []],
  [{ SECCOMP_SYSCALL_ALLOW: ' read : write ' }, KILL, [[['read', 'write'], SECCOMP_RET_ALLOW]], ['SECCOMP_SYSCALL_ALLOW'], []],
  [
    { SECCOMP_SYSCALL_ALLOW: 'read', SECCOMP_DEFAULT_ACTION: 'log' },
    SECCOMP_RET_LOG,
    [[['read'], SECCOMP_RET_ALLOW]],
    ['SECCOMP_SYSCALL_ALLOW', 'SECCOMP_DEFAULT_ACTION'],
    [],
  ],
  [{ SECCOMP_SYSCALL_DENY: 'ptrace:mount' }, SECCOMP_RET_ALLOW, [[['ptrace', 'mount'], KILL]], ['SECCOMP_SYSCALL_DENY'], []],
  [
    { SECCOMP_SYSCALL_DENY: 'ptrace', SECCOMP_DEFAULT_ACTION: 'log' },
    SECCOMP_RET_ALLOW,
    [[['ptrace'], SECCOMP_RET_LOG]],
    ['SECCOMP_SYSCALL_DENY', 'SECCOMP_DEFAULT_ACTION'],
    [],
  ],
  // Both lists: the allow list wins and the deny list is reported as ignored.
  [{ SECCOMP_SYSCALL_ALLOW: 'read', SECCOMP_SYSCALL_DENY: 'ptrace' }, KILL, [[['read'], SECCOMP_RET_ALLOW]], ['SECCOMP_SYSCALL_ALLOW'], ['SECCOMP_SYSCALL_DENY']],
];

for (const [env, def, rules, names, ignored] of GOOD) {
  test(`policyFromEnv ${JSON.stringify(env)}`, () => {
    const r = policyFromEnv(env)!;
    assert.ok(r);
    assert.is(r.policy.defaultAction, def);
    assert.equal(r.policy.rules.map((x) => [x.syscalls, x.action]), rules);
    assert.is(r.policy.architectures, undefined); // the host's
    assert.equal(r.names, names);
    assert.equal(r.ignored, ignored);
    assert.is(r.policy.source, names[0]);
  });
}

test('SECCOMP_POLICY reads a policy file', () => {
  const path = join(ROOT, 'examples', 'allowlist.yaml');
  const r = policyFromEnv({ SECCOMP_POLICY: path })!;
  assert.equal(r.names, ['SECCOMP_POLICY']);
  assert.is(r.policy.source, path);
  assert.ok(r.policy.rules.length > 0);
});

const BAD: [Record<string, string>, string, RegExp][] = [
  [{ SECCOMP_SYSCALL_ALLOW: '' }, 'ENV', /^SECCOMP_SYSCALL_ALLOW is set but empty/],
  [{ SECCOMP_SYSCALL_DENY: '   ' }, 'ENV', /^SECCOMP_SYSCALL_DENY is set but empty/],
  [{ SECCOMP_SYSCALL_ALLOW: 'read::write' }, 'ENV', /^SECCOMP_SYSCALL_ALLOW: entry 2 of 3 is empty/],
  [{ SECCOMP_SYSCALL_ALLOW: 'read:' }, 'ENV', /^SECCOMP_SYSCALL_ALLOW: entry 2 of 2 is empty/],
  [{ SECCOMP_SYSCALL_DENY: ':ptrace' }, 'ENV', /^SECCOMP_SYSCALL_DENY: entry 1 of 2 is empty/],
  [{ SECCOMP_SYSCALL_ALLOW: 'read:reed' }, 'UNKNOWN_SYSCALL', /^SECCOMP_SYSCALL_ALLOW: unknown syscall 'reed' .*did you mean read/],
  [{ SECCOMP_SYSCALL_DENY: '@basic-oi' }, 'UNKNOWN_GROUP', /^SECCOMP_SYSCALL_DENY: unknown group '@basic-oi' \(did you mean @basic-io/],
  [{ SECCOMP_SYSCALL_ALLOW: 'read', SECCOMP_DEFAULT_ACTION: 'kill' }, 'ENV', /^SECCOMP_DEFAULT_ACTION must be 'log' .*not 'kill'/],
  [{ SECCOMP_SYSCALL_ALLOW: 'read', SECCOMP_DEFAULT_ACTION: '' }, 'ENV', /^SECCOMP_DEFAULT_ACTION must be 'log'/],
  [{ SECCOMP_DEFAULT_ACTION: 'log' }, 'ENV', /^SECCOMP_DEFAULT_ACTION is set, but neither SECCOMP_SYSCALL_ALLOW nor SECCOMP_SYSCALL_DENY is/],
  [{ SECCOMP_POLICY: 'p.yaml', SECCOMP_SYSCALL_ALLOW: 'read' }, 'ENV', /^SECCOMP_POLICY cannot be combined with SECCOMP_SYSCALL_ALLOW/],
  [{ SECCOMP_POLICY: 'p.yaml', SECCOMP_DEFAULT_ACTION: 'log' }, 'ENV', /^SECCOMP_POLICY cannot be combined with SECCOMP_DEFAULT_ACTION/],
  [{ SECCOMP_POLICY: '' }, 'ENV', /^SECCOMP_POLICY is set but empty/],
  [{ SECCOMP_POLICY: join(ROOT, 'no', 'such.yaml') }, 'READ', /such\.yaml: cannot read policy file \(ENOENT\)/],
  [{ SECCOMP_POLICY: join(ROOT, 'test', 'fixtures', 'policies', 'bad', 'unknown-action.yaml') }, 'ACTION', /unknown-action\.yaml:5:13: .*unknown action 'alow'/],
];

for (const [env, code, message] of BAD) {
  test(`policyFromEnv rejects ${JSON.stringify(env)}`, () => {
    const e = catchPolicyError(() => policyFromEnv(env));
    assert.is(e.code, code, e.message);
    assert.match(e.message, message);
    assert.not.match(e.message, /\n/);
  });
}

test('policyFromLists: actions as names or values, architectures', () => {
  const p = policyFromLists({ deny: ['ptrace'], denyAction: 'errno(EPERM)', architectures: ['x86_64', 'x32'] });
  assert.is(p.defaultAction, SECCOMP_RET_ALLOW);
  assert.equal(p.rules.map((r) => [r.syscalls, r.action]), [[['ptrace'], (SECCOMP_RET_ERRNO | 1) >>> 0]]);
  assert.equal(p.architectures, ['x86_64', 'x32']);
  const q = policyFromLists({ allow: ['read'], deny: ['@exit'], defaultAction: SECCOMP_RET_LOG });
  assert.is(q.defaultAction, SECCOMP_RET_LOG);
  assert.equal(q.rules.map((r) => [r.syscalls, r.action]), [[['read'], SECCOMP_RET_ALLOW], [['@exit'], KILL]]);
});

test('policyFromLists: errors', () => {
  assert.match(catchPolicyError(() => policyFromLists({})).message, /give an allow list or a deny list/);
  assert.match(catchPolicyError(() => policyFromLists({ allow: [] })).message, /^allow: the allow list is empty/);
  assert.match(catchPolicyError(() => policyFromLists({ allow: ['read'], defaultAction: 0x12340000 })).message, /^default action: unknown action '0x12340000'/);
  assert.match(catchPolicyError(() => policyFromLists({ deny: ['read'], denyAction: 'errno(9999)' })).message, /^deny action: errno value 9999 is out of range/);
  assert.is(catchPolicyError(() => policyFromLists({ allow: ['read'], architectures: ['vax'] })).code, 'ARCH');
});

test.run();
