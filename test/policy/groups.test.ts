/**
 * The systemd-style syscall groups (src/policy/systemd-groups.ts): well-formed data, registered with
 * the policy's group registry, and resolving on every architecture.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, allSyscallNames, syscallNumber } from '../../src/arch/index.js';
import { encodeAction } from '../../src/bpf/seccomp.js';
import { expandGroup, groupDescription, isGroup } from '../../src/policy/groups.js';
import { resolvePolicy } from '../../src/policy/resolve.js';
import { SYSTEMD_GROUPS, SYSTEMD_GROUP_NAMES, expandSystemdGroup, systemdGroup } from '../../src/policy/systemd-groups.js';

/** The groups the task names; each must exist with systemd's name. */
const REQUIRED = [
  '@aio', '@basic-io', '@chown', '@clock', '@cpu-emulation', '@debug', '@file-system', '@io-event', '@ipc', '@keyring',
  '@memlock', '@module', '@mount', '@network-io', '@obsolete', '@pkey', '@privileged', '@process', '@raw-io', '@reboot',
  '@resources', '@sandbox', '@setuid', '@signal', '@swap', '@sync', '@system-service', '@timer', '@default',
];

test('every required group exists, with a one-line purpose', () => {
  for (const name of REQUIRED) {
    const g = systemdGroup(name);
    assert.ok(g, `${name} is defined`);
    assert.ok(g!.purpose.length > 10 && !g!.purpose.includes('\n'), `${name} has a one-line purpose`);
  }
  assert.equal([...SYSTEMD_GROUP_NAMES], [...SYSTEMD_GROUP_NAMES].sort(), 'listed alphabetically');
  assert.is(new Set(SYSTEMD_GROUP_NAMES).size, SYSTEMD_GROUP_NAMES.length, 'no duplicates');
});

test('members are known syscall names or defined groups, no duplicates, no cycles', () => {
  const all = allSyscallNames();
  for (const g of SYSTEMD_GROUPS) {
    assert.is(new Set(g.members).size, g.members.length, `${g.name}: a member is listed twice`);
    for (const m of g.members) {
      if (m.startsWith('@')) assert.ok(systemdGroup(m), `${g.name}: unknown group ${m}`);
      else assert.ok(all.has(m), `${g.name}: ${m} is a syscall on no architecture`);
    }
    // Throws on a cycle.
    assert.ok(expandSystemdGroup(g.name)!.length > 0, `${g.name} is not empty`);
  }
  assert.is(expandSystemdGroup('@no-such-group'), undefined);
});

test('nesting: @privileged and @system-service include their parts', () => {
  const members = (n: string) => new Set(expandSystemdGroup(n)!);
  const subset = (a: string, b: string) => [...members(a)].every((m) => members(b).has(m));
  for (const [part, whole] of [
    ['@chown', '@privileged'], ['@clock', '@privileged'], ['@module', '@privileged'], ['@mount', '@privileged'], ['@raw-io', '@privileged'],
    ['@reboot', '@privileged'], ['@swap', '@privileged'], ['@setuid', '@privileged'],
    ['@basic-io', '@system-service'], ['@file-system', '@system-service'], ['@network-io', '@system-service'], ['@default', '@system-service'],
    ['@signal', '@system-service'], ['@process', '@system-service'], ['@io-event', '@system-service'],
  ] as const) {
    assert.ok(subset(part, whole), `${part} is part of ${whole}`);
  }
  // What a service must not get from @system-service alone.
  for (const n of ['mount', 'reboot', 'init_module', 'kexec_load', 'swapon', 'settimeofday', 'iopl', 'bpf', 'ptrace']) {
    assert.not.ok(members('@system-service').has(n), `@system-service must not include ${n}`);
  }
  for (const n of ['read', 'openat', 'socket', 'clone', 'futex', 'mmap', 'epoll_wait', 'getpid']) {
    assert.ok(members('@system-service').has(n), `@system-service includes ${n}`);
  }
});

test('every group expands on every architecture to names that architecture has', () => {
  for (const arch of ARCHES) {
    for (const g of SYSTEMD_GROUPS) {
      const names = expandSystemdGroup(g.name, arch)!;
      for (const n of names) assert.ok(syscallNumber(arch, n) !== undefined, `${g.name} on ${arch.name}: ${n}`);
      // Names the architecture lacks are skipped, not lost: with them, the any-arch expansion.
      const any = new Set(expandSystemdGroup(g.name)!);
      assert.equal(names, [...any].filter((n) => syscallNumber(arch, n) !== undefined).sort());
    }
    // The groups every program leans on are never empty.
    for (const name of ['@basic-io', '@default', '@file-system', '@network-io', '@process', '@signal', '@system-service']) {
      assert.ok(expandSystemdGroup(name, arch)!.length > 3, `${name} on ${arch.name}`);
    }
  }
});

test('the groups are in the policy registry and resolve on every architecture without warnings', () => {
  for (const g of SYSTEMD_GROUPS) {
    assert.ok(isGroup(g.name), `${g.name} registered`);
    assert.is(groupDescription(g.name), g.purpose);
  }
  for (const arch of ARCHES) {
    for (const g of SYSTEMD_GROUPS) {
      assert.equal([...expandGroup(g.name, arch)!].sort(), expandSystemdGroup(g.name, arch), `${g.name} on ${arch.name}: registry and data agree`);
    }
    const policy = {
      defaultAction: encodeAction('kill_process'),
      badArchAction: encodeAction('kill_process'),
      architectures: [arch.name],
      rules: SYSTEMD_GROUPS.map((g) => ({ syscalls: [g.name], action: encodeAction('allow'), args: [] })),
      tests: [],
    };
    const resolved = resolvePolicy(policy);
    assert.equal(resolved.warnings.filter((w) => w.code === 'SYSCALL_NOT_ON_ARCH'), [], arch.name);
    const nrs = resolved.arches[0]!.syscalls;
    assert.ok(nrs.size > 150, `${arch.name}: ${nrs.size} syscalls covered`);
    for (const n of expandSystemdGroup('@system-service', arch)!) {
      assert.ok(nrs.has((syscallNumber(arch, n)! | arch.syscallBit) >>> 0), `${arch.name}: ${n}`);
    }
  }
});

test.run();
