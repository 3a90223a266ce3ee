import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { ARCHES, ArchError, archByAudit, getArch, hostArch, type ArchName } from '../../src/arch/index.js';
import { IN_CI } from '../_util/tools.js';
import { kernelSource } from '../_util/kernel-src.js';

// AUDIT_ARCH_* values (include/uapi/linux/audit.h with elf-em.h), endianness and word size per ABI.
const DESCR: [ArchName, number, 32 | 64, 'little' | 'big', number, string][] = [
  ['x86_64', 0xc000003e, 64, 'little', 0, 'AUDIT_ARCH_X86_64'],
  ['i386', 0x40000003, 32, 'little', 0, 'AUDIT_ARCH_I386'],
  ['x32', 0xc000003e, 64, 'little', 0x40000000, 'AUDIT_ARCH_X86_64'],
  ['aarch64', 0xc00000b7, 64, 'little', 0, 'AUDIT_ARCH_AARCH64'],
  ['arm', 0x40000028, 32, 'little', 0, 'AUDIT_ARCH_ARM'],
  ['riscv64', 0xc00000f3, 64, 'little', 0, 'AUDIT_ARCH_RISCV64'],
  ['ppc64le', 0xc0000015, 64, 'little', 0, 'AUDIT_ARCH_PPC64LE'],
  ['ppc64', 0x80000015, 64, 'big', 0, 'AUDIT_ARCH_PPC64'],
  ['s390x', 0x80000016, 64, 'big', 0, 'AUDIT_ARCH_S390X'],
  ['mips64el', 0xc0000008, 64, 'little', 0, 'AUDIT_ARCH_MIPSEL64'],
  ['mipsel', 0x40000008, 32, 'little', 0, 'AUDIT_ARCH_MIPSEL'],
  ['loongarch64', 0xc0000102, 64, 'little', 0, 'AUDIT_ARCH_LOONGARCH64'],
];

test('descriptors: audit value, bits, endianness, syscall bit', () => {
  assert.equal(
    ARCHES.map((a) => a.name),
    DESCR.map((d) => d[0]),
  );
  for (const [name, audit, bits, endian, bit] of DESCR) {
    const a = getArch(name);
    assert.is(a.auditArch, audit, name);
    assert.is(a.bits, bits, name);
    assert.is(a.endian, endian, name);
    assert.is(a.syscallBit, bit, name);
    // The audit value's own flags agree with the descriptor.
    assert.is((a.auditArch & 0x40000000) !== 0, endian === 'little', `${name} __AUDIT_ARCH_LE`);
    if (name !== 'x32') assert.is((a.auditArch & 0x80000000) !== 0, bits === 64, `${name} __AUDIT_ARCH_64BIT`);
  }
});

test('descriptors are frozen', () => {
  const a = getArch('x86_64');
  assert.ok(Object.isFrozen(ARCHES) && Object.isFrozen(a) && Object.isFrozen(a.aliases) && Object.isFrozen(a.argOffsets(0)));
  assert.throws(() => {
    (a as { bits: number }).bits = 32;
  });
});

// Cross-check the audit values against the kernel headers when a source tree is given.
const KSRC = kernelSource();
const auditH = KSRC ? join(KSRC, 'include', 'uapi', 'linux', 'audit.h') : '';
const elfH = KSRC ? join(KSRC, 'include', 'uapi', 'linux', 'elf-em.h') : '';
const haveHeaders = !!KSRC || IN_CI;
(haveHeaders ? test : test.skip)('audit values match include/uapi/linux/audit.h', () => {
  assert.ok(existsSync(auditH) && existsSync(elfH), 'no kernel headers (see the line printed above)');
  const em = new Map<string, number>();
  for (const m of readFileSync(elfH, 'utf8').matchAll(/^#define\s+(EM_\w+)\s+(0x[0-9a-f]+|\d+)/gim)) em.set(m[1]!, Number(m[2]));
  const flags: Record<string, number> = { __AUDIT_ARCH_64BIT: 0x80000000, __AUDIT_ARCH_LE: 0x40000000 };
  const audit = new Map<string, number>();
  for (const m of readFileSync(auditH, 'utf8').matchAll(/^#define\s+(AUDIT_ARCH_\w+)\s+\(([^)]*)\)/gm)) {
    let v = 0;
    for (const part of m[2]!.split('|').map((s) => s.trim())) v |= em.get(part) ?? flags[part] ?? NaN;
    audit.set(m[1]!, v >>> 0);
  }
  for (const [name, , , , , macro] of DESCR) assert.is(getArch(name).auditArch, audit.get(macro), `${name} ${macro}`);
});

test('argument offsets follow byte order', () => {
  // seccomp_data: nr@0 arch@4 instruction_pointer@8 args[6]@16, each u64 in native byte order.
  for (const a of ARCHES) {
    for (let i = 0; i < 6; i++) {
      const { lo, hi } = a.argOffsets(i);
      const base = 16 + 8 * i;
      assert.equal([lo, hi], a.endian === 'little' ? [base, base + 4] : [base + 4, base], `${a.name} arg${i}`);
    }
    const ip = a.argOffsets('ip');
    assert.equal([ip.lo, ip.hi], a.endian === 'little' ? [8, 12] : [12, 8], `${a.name} ip`);
  }
  assert.equal({ ...getArch('s390x').argOffsets(0) }, { lo: 20, hi: 16 });
  assert.equal({ ...getArch('ppc64').argOffsets(5) }, { lo: 60, hi: 56 });
  assert.equal({ ...getArch('ppc64le').argOffsets(5) }, { lo: 56, hi: 60 });
  for (const bad of [-1, 6, 1.5, NaN, '0' as unknown as number]) {
    try {
      getArch('x86_64').argOffsets(bad);
      assert.unreachable(String(bad));
    } catch (e) {
      assert.instance(e, ArchError);
      assert.is((e as ArchError).code, 'BAD_ARG_INDEX');
    }
  }
});

test('aliases resolve; case and _/- do not matter', () => {
  const cases: [string, ArchName][] = [
    ['x86_64', 'x86_64'],
    ['amd64', 'x86_64'],
    ['x86-64', 'x86_64'],
    ['x64', 'x86_64'],
    ['SCMP_ARCH_X86_64', 'x86_64'],
    ['scmp_arch_x86_64', 'x86_64'],
    ['i686', 'i386'],
    ['ia32', 'i386'],
    ['x86', 'i386'],
    ['386', 'i386'],
    ['SCMP_ARCH_X86', 'i386'],
    ['SCMP_ARCH_X32', 'x32'],
    ['arm64', 'aarch64'],
    ['AArch64', 'aarch64'],
    ['armv7l', 'arm'],
    ['SCMP_ARCH_ARM', 'arm'],
    ['SCMP_ARCH_RISCV64', 'riscv64'],
    ['powerpc64le', 'ppc64le'],
    ['SCMP_ARCH_PPC64', 'ppc64'],
    ['SCMP_ARCH_S390X', 's390x'],
    ['mips64le', 'mips64el'],
    ['SCMP_ARCH_MIPSEL64', 'mips64el'],
    ['mipsle', 'mipsel'],
    ['loong64', 'loongarch64'],
    [' x86_64 ', 'x86_64'],
  ];
  for (const [alias, name] of cases) assert.is(getArch(alias).name, name, alias);
});

test('aliases are unique across ABIs', () => {
  const seen = new Map<string, string>();
  for (const a of ARCHES) {
    for (const n of [a.name, ...a.aliases]) {
      const k = n.toLowerCase().replace(/_/g, '-');
      assert.ok(!seen.has(k) || seen.get(k) === a.name, `${n} names both ${seen.get(k)} and ${a.name}`);
      seen.set(k, a.name);
    }
  }
});

test('unknown architectures: ArchError with suggestions', () => {
  const cases: [string, string[]][] = [
    ['amd46', ['x86_64']],
    ['aarch46', ['aarch64']],
    ['ppc64el', ['ppc64le', 'ppc64']],
    ['sparc64', []],
    ['', []],
  ];
  for (const [input, want] of cases) {
    try {
      getArch(input);
      assert.unreachable(input);
    } catch (e) {
      assert.instance(e, ArchError);
      const err = e as ArchError;
      assert.is(err.code, 'UNKNOWN_ARCH');
      for (const w of want) assert.ok(err.suggestions.includes(w), `${input}: ${err.suggestions}`);
      if (want.length === 0) assert.equal(err.suggestions, [], input);
      assert.match(err.message, want.length ? 'did you mean' : 'known: x86_64');
    }
  }
});

test('archByAudit: x86_64 and x32 share a value', () => {
  assert.equal(
    archByAudit(0xc000003e).map((a) => a.name),
    ['x86_64', 'x32'],
  );
  assert.equal(
    archByAudit(0x80000016 | 0).map((a) => a.name),
    ['s390x'],
    'signed input is accepted',
  );
  assert.equal(archByAudit(0x12345678), []);
  for (const a of ARCHES) assert.ok(archByAudit(a.auditArch).includes(a));
});

test('hostArch maps process.arch and byte order', () => {
  const cases: [string, 'LE' | 'BE', ArchName | undefined][] = [
    ['x64', 'LE', 'x86_64'],
    ['ia32', 'LE', 'i386'],
    ['arm64', 'LE', 'aarch64'],
    ['arm', 'LE', 'arm'],
    ['arm', 'BE', undefined],
    ['ppc64', 'LE', 'ppc64le'],
    ['ppc64', 'BE', 'ppc64'],
    ['s390x', 'BE', 's390x'],
    ['riscv64', 'LE', 'riscv64'],
    ['mips64el', 'LE', 'mips64el'],
    ['mipsel', 'LE', 'mipsel'],
    ['mips', 'BE', undefined],
    ['loong64', 'LE', 'loongarch64'],
    ['ppc', 'BE', undefined],
    ['toString', 'LE', undefined],
  ];
  for (const [pa, e, want] of cases) assert.is(hostArch(pa, e)?.name, want, `${pa} ${e}`);
  // The real host, when it is one of the mapped ones, agrees with the OS's byte order.
  const h = hostArch();
  if (cases.some(([pa]) => pa === process.arch)) assert.ok(h, `process.arch ${process.arch}`);
  if (h) assert.is(h.endian, endianness() === 'LE' ? 'little' : 'big');
});

test.run();
