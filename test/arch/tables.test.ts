import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARCHES,
  ArchError,
  allSyscallNames,
  getArch,
  resolveSyscall,
  syscallName,
  syscallNumber,
  syscallTable,
  syscallTableFile,
  type ArchName,
} from '../../src/arch/index.js';
import { generateTables, LATER_SYSCALLS, TABLES } from '../../tools/gen-syscall-tables.js';
import { IN_CI, ROOT } from '../_util/tools.js';
import { kernelSource } from '../_util/kernel-src.js';

// Facts from the kernel's tables (arch/*/syscall*.tbl, scripts/syscall.tbl), as a filter sees them.
const SPOT: [ArchName, string, number][] = [
  ['x86_64', 'read', 0],
  ['x86_64', 'openat', 257],
  ['x86_64', 'uretprobe', 335],
  ['i386', 'read', 3],
  ['i386', 'socketcall', 102],
  ['i386', 'set_thread_area', 243],
  ['x32', 'read', 0x40000000],
  ['x32', 'rt_sigaction', 0x40000000 + 512],
  ['x32', 'execve', 0x40000000 + 520],
  ['aarch64', 'openat', 56],
  ['aarch64', 'renameat', 38],
  ['aarch64', 'memfd_secret', 447],
  ['arm', 'read', 3],
  ['arm', 'openat', 322],
  ['arm', 'cacheflush', 0x0f0002],
  ['arm', 'set_tls', 0x0f0005],
  ['riscv64', 'openat', 56],
  ['riscv64', 'riscv_flush_icache', 259],
  ['riscv64', 'riscv_hwprobe', 258],
  ['ppc64le', 'read', 3],
  ['ppc64le', 'ugetrlimit', 190],
  ['s390x', 'uname', 122],
  ['s390x', 'getrlimit', 191],
  ['mipsel', 'read', 4003],
  ['mipsel', 'cacheflush', 4147],
  ['mips64el', 'read', 5000],
  ['mips64el', 'openat', 5247],
  ['loongarch64', 'openat', 56],
  ['loongarch64', 'clone3', 435],
];

test('spot checks of known numbers', () => {
  for (const [arch, name, nr] of SPOT) {
    assert.is(syscallNumber(arch, name), nr, `${arch} ${name}`);
    assert.is(resolveSyscall(arch, name), nr, `${arch} ${name}`);
    assert.is(syscallName(arch, nr), name, `${arch} ${nr}`);
  }
});

// Absent on purpose: generic-table arches without the ABI that carries the call, and rows with no entry point.
const ABSENT: [ArchName, string][] = [
  ['aarch64', 'open'],
  ['riscv64', 'renameat'],
  ['loongarch64', 'getrlimit'],
  ['loongarch64', 'memfd_secret'],
  ['x86_64', 'afs_syscall'], // reserved row without entry point
  ['x86_64', 'set_thread_area'], // '64' row without entry point (only i386 has it)
  ['x32', 'uselib'],
  ['ppc64', 'getrlimit'], // ppc64 calls it ugetrlimit; getrlimit is sys_ni_syscall there
  ['s390x', 'readdir'], // 31-bit compat entry only
];

test('syscalls an ABI lacks are absent', () => {
  for (const [arch, name] of ABSENT) assert.is(syscallNumber(arch, name), undefined, `${arch} ${name}`);
  // x86_64 '64' rows never leak into x32, and x32 rows never into x86_64
  assert.is(syscallNumber('x32', 'rt_sigaction'), 0x40000000 + 512);
  assert.is(syscallNumber('x86_64', 'rt_sigaction'), 13);
});

test('6.13-6.18 additions are present on every ABI with the unified number', () => {
  const offset: Partial<Record<ArchName, number>> = { mipsel: 4000, mips64el: 5000 };
  for (const a of ARCHES) {
    for (const l of LATER_SYSCALLS) {
      const want = ((l.nr + (offset[a.name] ?? 0)) | a.syscallBit) >>> 0;
      assert.is(syscallNumber(a, l.name), want, `${a.name} ${l.name}`);
    }
  }
  assert.equal(
    LATER_SYSCALLS.map((l) => [l.name, l.nr]),
    [
      ['setxattrat', 463],
      ['getxattrat', 464],
      ['listxattrat', 465],
      ['removexattrat', 466],
      ['open_tree_attr', 467],
      ['file_getattr', 468],
      ['file_setattr', 469],
    ],
  );
});

test('ppc64 and ppc64le share one table', () => {
  assert.equal([...syscallTable('ppc64')], [...syscallTable('ppc64le')]);
});

test('table invariants: sorted, unique numbers, per-ABI ranges', () => {
  const range: Record<ArchName, [number, number]> = {
    x86_64: [0, 512],
    x32: [0x40000000, 0x40000000 + 1024],
    i386: [0, 1024],
    aarch64: [0, 1024],
    arm: [0, 0x0f0000 + 0x10],
    riscv64: [0, 1024],
    ppc64le: [0, 1024],
    ppc64: [0, 1024],
    s390x: [0, 1024],
    mips64el: [5000, 6000],
    mipsel: [4000, 5000],
    loongarch64: [0, 1024],
  };
  for (const a of ARCHES) {
    const t = syscallTable(a);
    assert.ok(t.size > 250, `${a.name} has ${t.size} syscalls`);
    let prev = -1;
    const nrs = new Set<number>();
    for (const [name, nr] of t) {
      assert.ok(/^[a-z_][a-z0-9_]*$/.test(name), `${a.name}: odd name ${name}`);
      assert.ok(nr > prev, `${a.name}: ${name} out of order`);
      prev = nr;
      nrs.add(nr);
      const [lo, hi] = range[a.name];
      assert.ok(nr >= lo && nr < hi, `${a.name}: ${name}=${nr} outside [${lo}, ${hi})`);
      if (a.syscallBit) assert.ok((nr & a.syscallBit) !== 0, `${a.name}: ${name} lacks the syscall bit`);
    }
    assert.is(nrs.size, t.size, `${a.name}: duplicate numbers`);
    const f = syscallTableFile(a);
    assert.is(f.arch, a.name);
    assert.match(f.generated, 'do not edit');
    assert.match(f.source, /Linux \d+\.\d+/);
  }
});

test('every ABI has a table file and a generator entry', () => {
  assert.equal(Object.keys(TABLES).sort(), ARCHES.map((a) => a.name).sort());
  for (const a of ARCHES) assert.ok(existsSync(join(ROOT, 'syscall-tables', `${a.name}.json`)), a.name);
});

test('allSyscallNames is the union of the tables', () => {
  const all = allSyscallNames();
  let total = 0;
  for (const a of ARCHES) {
    for (const n of syscallTable(a).keys()) {
      assert.ok(all.has(n), n);
      total++;
    }
  }
  assert.ok(all.size >= syscallTable('i386').size && all.size < total);
  assert.ok(all.has('set_thread_area') && all.has('riscv_hwprobe') && all.has('cacheflush'));
});

test('resolveSyscall errors carry a code and suggestions', () => {
  const cases: [ArchName, string, string, string[]][] = [
    ['x86_64', 'opnat', 'UNKNOWN_SYSCALL', ['openat']],
    ['aarch64', 'open', 'SYSCALL_NOT_ON_ARCH', ['openat']],
    ['x86_64', 'set_thread_area', 'SYSCALL_NOT_ON_ARCH', []],
    ['x86_64', 'qwxzv', 'UNKNOWN_SYSCALL', []],
  ];
  for (const [arch, name, code, first] of cases) {
    try {
      resolveSyscall(arch, name);
      assert.unreachable(`${arch} ${name} resolved`);
    } catch (e) {
      assert.instance(e, ArchError);
      const err = e as ArchError;
      assert.is(err.name, 'ArchError');
      assert.is(err.code, code, `${arch} ${name}`);
      assert.equal(err.suggestions.slice(0, first.length), first, `${arch} ${name}: ${err.suggestions}`);
      assert.ok(!err.message.includes('\n'), 'one line');
      if (err.suggestions.length) assert.match(err.message, `did you mean ${err.suggestions.join(', ')}?`);
      if (code === 'SYSCALL_NOT_ON_ARCH') assert.match(err.message, 'it does on');
    }
  }
  try {
    resolveSyscall('mipsel', 'opena');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, "unknown syscall 'opena' on mipsel (did you mean openat, open");
  }
});

test('syscallName masks to u32 and rejects unknown numbers', () => {
  assert.is(syscallName('x32', 0x40000000 | 0), 'read');
  assert.is(syscallName('x32', 0), undefined, 'x32 numbers carry the bit');
  assert.is(syscallName('x86_64', 0x40000000), undefined);
  assert.is(syscallName('x86_64', 99999), undefined);
  assert.is(syscallName('mipsel', 3), undefined);
  assert.is(syscallName(getArch('amd64'), 1), 'write');
});

// The committed JSON must be exactly what the generator makes from the kernel source.
const KSRC = kernelSource();
const haveSrc = !!KSRC || IN_CI;
(haveSrc ? test : test.skip)('committed tables equal the generator output', () => {
  assert.ok(KSRC && existsSync(join(KSRC, 'arch', 'x86', 'entry', 'syscalls', 'syscall_64.tbl')), 'no kernel source tree (see the line printed above)');
  const tables = generateTables(KSRC!);
  assert.is(tables.length, ARCHES.length);
  for (const t of tables) {
    const committed = readFileSync(join(ROOT, 'syscall-tables', t.file), 'utf8');
    assert.ok(committed === t.json, `syscall-tables/${t.file} is stale: run npm run gen:syscalls -- "$SECCOMP_TS_KERNEL_SRC"`);
  }
});

test.run();
