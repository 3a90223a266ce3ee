/**
 * src/apply/host.ts keeps its own small table (apply may not import src/arch). Every fact in it
 * must agree with src/arch: names and aliases, AUDIT_ARCH value, byte order, word size, and
 * __NR_seccomp from the generated syscall tables.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, getArch, hostArch } from '../../src/arch/arches.js';
import { syscallNumber } from '../../src/arch/tables.js';
import { denotesHost, hostAbi, type HostAbi } from '../../src/apply/host.js';

const CASES: [string, 'little' | 'big'][] = [
  ['x64', 'little'], ['arm64', 'little'], ['ia32', 'little'], ['arm', 'little'], ['riscv64', 'little'],
  ['loong64', 'little'], ['s390x', 'big'], ['ppc64', 'little'], ['ppc64', 'big'],
];

for (const [nodeArch, endian] of CASES) {
  test(`${nodeArch} (${endian}-endian): agrees with src/arch`, () => {
    const h = hostAbi('linux', nodeArch, endian) as HostAbi;
    assert.ok(h, 'apply() supports it');
    const a = hostArch(nodeArch, endian === 'little' ? 'LE' : 'BE');
    assert.ok(a, 'src/arch knows it');
    assert.is(h.name, a!.name);
    assert.is(h.auditArch, a!.auditArch);
    assert.is(h.endian, a!.endian);
    assert.is(h.pointerBytes * 8, a!.bits);
    assert.is(h.seccompNr, syscallNumber(a!, 'seccomp'));
    // Every spelling src/arch accepts for this ABI denotes the host; no other ABI's does.
    for (const n of [a!.name, ...a!.aliases]) assert.ok(denotesHost(n, h), n);
    for (const other of ARCHES.filter((x) => x.name !== a!.name)) {
      for (const n of [other.name, ...other.aliases]) assert.not.ok(denotesHost(n, h), `${n} is not ${h.name}`);
    }
  });
}

test('not Linux, or a CPU apply() does not support: no host ABI', () => {
  assert.is(hostAbi('darwin', 'x64', 'little'), undefined);
  assert.is(hostAbi('win32', 'x64', 'little'), undefined);
  assert.is(hostAbi('linux', 'mips64el', 'little'), undefined); // MIPS errno numbers differ
  assert.is(hostAbi('linux', 'arm', 'big'), undefined);
});

test('compiled-filter arch entries: names, objects, AUDIT_ARCH numbers (never for x86_64, which x32 shares)', () => {
  const x86_64 = hostAbi('linux', 'x64', 'little')!;
  const aarch64 = hostAbi('linux', 'arm64', 'little')!;
  assert.ok(denotesHost('SCMP_ARCH_X86_64', x86_64));
  assert.ok(denotesHost(getArch('x86_64'), x86_64), 'an Arch object from src/arch');
  assert.not.ok(denotesHost(getArch('x32'), x86_64));
  assert.not.ok(denotesHost(0xc000003e, x86_64), 'x32 has the same AUDIT_ARCH');
  assert.ok(denotesHost(0xc00000b7, aarch64));
  assert.ok(denotesHost({ auditArch: 0xc00000b7 }, aarch64));
  assert.not.ok(denotesHost(null, aarch64));
  assert.not.ok(denotesHost(undefined, aarch64));
});

test.run();
