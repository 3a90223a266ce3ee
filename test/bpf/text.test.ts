/**
 * The text form: golden disassemblies (regenerate with UPDATE_GOLDEN=1 and review the diff),
 * emulated decisions of each golden program, exact round trips on goldens and random programs,
 * and assembler errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, getArch, syscallNumber } from '../../src/arch/index.js';
import { decode, encode, type Endian } from '../../src/bpf/codec.js';
import { emulate } from '../../src/bpf/emulator.js';
import { errnoName, errnoNumber } from '../../src/bpf/errno.js';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { OPCODES } from '../../src/bpf/opcodes.js';
import { encodeAction, type ActionName, type SeccompData } from '../../src/bpf/seccomp.js';
import { assemble, assembleWithInfo, checkedArches, disassemble, type TextOptions } from '../../src/bpf/text.js';
import { verify } from '../../src/bpf/verifier.js';
import { archSymbols } from '../../src/symbols.js';
import { ROOT, needPythonSeccomp, rng, testSeed } from '../_util/tools.js';

const GOLDEN = join(ROOT, 'test', 'bpf', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const X86_64 = getArch('x86_64').auditArch;
const I386 = getArch('i386').auditArch;
const S390X = getArch('s390x').auditArch;
const nrOf = (arch: string, name: string): number => {
  const n = syscallNumber(arch as 'x86_64', name);
  if (n === undefined) throw new Error(`test bug: no ${name} on ${arch}`);
  return n;
};

/** seccomp_data for a call; args as BigInt. */
function call(arch: number, nr: number, args: bigint[] = [], ip = 0n): SeccompData {
  return { arch, nr, args, instructionPointer: ip };
}

interface Case {
  readonly what: string;
  readonly data: SeccompData;
  /** Expected action name and data, or the exact return value. */
  readonly expect: { action: ActionName; data?: number } | { value: number };
}

interface Golden {
  readonly name: string;
  readonly endian: Endian;
  /** From a hand-written instruction list, or from assembler source with labels. */
  readonly program: () => Instruction[];
  readonly cases: readonly Case[];
  /** Programs the kernel rejects: emulation must fail with BpfError EMULATE. */
  readonly rejected?: boolean;
}

const ret = (k: number) => stmt(0x06, k);
const asmX = (src: string, opts: TextOptions = {}) => assemble(src, { symbols: archSymbols, ...opts });

// The classic example filter of seccomp blog posts (an x86_64 "myos" sandbox): check the arch,
// make uname fail with EPERM, allow the rest, kill foreign arches. Written as raw instructions
// so the assembler is not involved in producing it.
const MYOS: Instruction[] = [
  stmt(0x20, 4), // A = arch
  jump(0x15, 0xc000003e, 0, 4), // if (A != AUDIT_ARCH_X86_64) goto kill
  stmt(0x20, 0), // A = nr
  jump(0x15, 63, 1, 0), // if (A == __NR_uname) goto eperm
  ret(0x7fff0000), // ALLOW
  ret(0x00050001), // ERRNO(EPERM)
  ret(0x80000000), // KILL_PROCESS
];

const MULTIARCH = `
# x86_64 and i386 allowed with their own numbers; x32 calls (nr bit 0x40000000) handled apart.
  A = arch
  if (A == ARCH_X86_64) goto x86_64
  if (A == ARCH_I386) goto i386
  return KILL_PROCESS
x86_64:
  A = sys_number
  if (A & 0x40000000) goto x32
  if (A == write) goto allow
  if (A == getpid) goto eperm
  return KILL_PROCESS
x32:
  if (A == 0x40000001) goto allow   # x32 write
  return KILL_THREAD
i386:
  A = sys_number
  if (A == write) goto allow
  if (A == getpid) goto eperm
  return KILL_PROCESS
allow: return ALLOW
eperm: return ERRNO(EPERM)
`;

const S390X_SRC = `
  A = arch
  if (A != ARCH_S390X) goto kill
  A = sys_number
  if (A == exit_group) goto allow
  if (A != write) goto enosys
  # write(fd, ...) only to fd 1 or 2: the high word must be 0
  A = args[0] >> 32
  if (A != 0) goto ebadf
  A = args[0]
  if (A == 1) goto allow
  if (A == 2) goto allow else goto ebadf
enosys: return ERRNO(ENOSYS)
ebadf: return ERRNO(EBADF)
allow: return ALLOW
kill: return KILL_PROCESS
`;

// Every load, store and ALU form; returns A so the result can be checked against plain JS below.
const ALU_SRC = `
  A = args[0]
  X = A
  A = args[0] >> 32
  A += X
  A += 0x3
  A -= 0x1
  A -= X
  mem[1] = A
  A = args[1]
  A *= 0x3
  A *= X
  X = 0x7
  A /= 0x2
  A /= X
  mem[15] = X
  A &= 0xfffff
  A |= 0x100000
  A ^= 0xff
  A ^= X
  X = mem[1]
  A |= X
  A &= X
  A = -A
  A <<= 0x4
  X = 0x3
  A <<= X
  A >>= 0x1
  A >>= X
  X = A
  A = mem[15]
  A += X
  mem[2] = A
  A = instruction_pointer
  X = A
  A = instruction_pointer >> 32
  A -= X
  X = A
  A = mem[2]
  A ^= X
  mem[3] = A
  A = args[2]
  X = A
  A = args[2] >> 32
  A += X
  X = A
  A = args[3]
  A += X
  X = A
  A = args[3] >> 32
  A += X
  X = A
  A = args[4]
  A += X
  X = A
  A = args[4] >> 32
  A += X
  X = A
  A = args[5]
  A += X
  X = A
  A = args[5] >> 32
  A += X
  X = mem[3]
  A ^= X
  X = len
  A += X
  mem[4] = A
  A = len
  X = mem[4]
  A += X
  A = X
  A += 0x1
  return A
`;

/** The ALU program's result in plain JS (u32 arithmetic), for the same inputs. */
function aluReference(args: bigint[], ip: bigint): number {
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  const u = (v: number) => v >>> 0;
  const a = [0, 1, 2, 3, 4, 5].map((i) => args[i] ?? 0n);
  let x = lo(a[0]);
  let acc = u(hi(a[0]) + x + 3 - 1 - x);
  const m1 = acc;
  acc = u(Math.imul(Math.imul(lo(a[1]), 3), x));
  x = 7;
  acc = u(Math.floor(Math.floor(acc / 2) / x));
  const m15 = x;
  acc = u(((((acc & 0xfffff) | 0x100000) ^ 0xff) ^ x));
  x = m1;
  acc = u((acc | x) & x);
  acc = u(-acc);
  acc = u(acc << 4);
  x = 3;
  acc = u(acc << 3);
  acc = acc >>> 1 >>> 3;
  x = acc;
  acc = u(m15 + x);
  const m2 = acc;
  x = lo(ip);
  acc = u(hi(ip) - x);
  x = acc;
  acc = u(m2 ^ x);
  const m3 = acc;
  let sum = 0;
  for (let i = 2; i < 6; i++) sum = u(sum + lo(a[i]) + hi(a[i]));
  acc = u(sum ^ m3);
  acc = u(acc + 64); // X = len
  const m4 = acc;
  return u(m4 + 1); // A = len; X = mem[4]; A += X; A = X; A += 1 -> m4 + 1
}

// Every jump form: K and X operands, positive and negated tests, both-branch form, goto.
const JUMPS_SRC = `
  A = sys_number
  X = 0x10
  if (A == X) goto eq_x
  if (A != 0x11) goto t1
  return ERRNO(11)
t1:
  if (A > 0x100) goto gt
  if (A <= 0x80) goto t2
  return ERRNO(12)
t2:
  if (A >= 0x40) goto ge else goto t3
t3:
  if (A < 0x20) goto t4
  return ERRNO(13)
t4:
  if (A & 0x1) goto odd
  if (!(A & 0x2)) goto t5
  return ERRNO(14)
t5:
  X = 0x8
  if (A > X) goto gt_x
  if (A >= X) goto ge_x
  X = 0x4
  if (A & X) goto set_x
  if (A != X) goto t6
  return ERRNO(15)
t6:
  goto last
eq_x: return ERRNO(1)
gt: return ERRNO(2)
ge: return ERRNO(3)
odd: return ERRNO(4)
gt_x: return ERRNO(5)
ge_x: return ERRNO(6)
set_x: return ERRNO(7)
last: return ERRNO(8)
`;

/** Expected ERRNO of the jump program for nr (the same tests, written as JS). */
function jumpsReference(nr: number): number {
  if (nr === 0x10) return 1;
  if (nr === 0x11) return 11;
  if (nr > 0x100) return 2;
  if (nr > 0x80) return 12;
  if (nr >= 0x40) return 3;
  if (nr >= 0x20) return 13;
  if (nr & 1) return 4;
  if (nr & 2) return 14;
  if (nr > 8) return 5;
  if (nr >= 8) return 6;
  if (nr & 4) return 7;
  return 8;
}

/** Every return action: nr i returns RETURNS[i] (the last one returns A = nr). */
const RETURNS: readonly number[] = [
  encodeAction('allow'), encodeAction('kill_process'), encodeAction('kill_thread'), encodeAction('errno', 1),
  encodeAction('errno', 4095), encodeAction('errno', 65535), encodeAction('trap'), encodeAction('trap', 5),
  encodeAction('trace'), encodeAction('trace', 7), encodeAction('log'), encodeAction('user_notif'),
  0x7fff0001, 0x12345678, 0x7ffc0001,
];
function returnsProgram(): Instruction[] {
  // A = nr; a JEQ ladder, each entry jumping to its own RET; fall through to RET A.
  const n = RETURNS.length;
  const p: Instruction[] = [stmt(0x20, 0)];
  for (let i = 0; i < n; i++) p.push(jump(0x15, i, n, 0)); // skips the rest of the ladder and RET A
  p.push(stmt(0x16)); // return A
  for (const v of RETURNS) p.push(ret(v));
  return p;
}

// Instructions without a statement form, and classic-only ones: kept exactly as raw lines.
const RAW: Instruction[] = [
  stmt(0x28, 12), // ld_h_abs
  stmt(0x50, 1), // ld_b_ind
  stmt(0xb1, 14), // ldx_b_msh
  stmt(0x94, 3), // mod_k (A %= 3)
  stmt(0x20, 0x41), // A = data[0x41]
  stmt(0x00, 0x12345678), // A = 0x12345678
  stmt(0x61, 16), // X = mem[16]
  { code: 0x20, jt: 1, jf: 0, k: 0 }, // jt on a non-jump
  stmt(0x87, 5), // txa with a k
  stmt(0x16, 1), // ret A with a k
  { code: 0x1234, jt: 1, jf: 2, k: 5 }, // not an opcode
  { code: 0x05, jt: 1, jf: 0, k: 0 }, // JA with a jt
  jump(0x1d, 7, 0, 0), // jeq_x with a k
  jump(0x15, 0, 200, 0), // target past the end
  stmt(0x05, 0xffffffff), // JA past the end
  jump(0x45, 0, 1, 0), // if (A & 0x0) goto +1
  stmt(0x06, 0),
  ret(0),
];

const GOLDENS: readonly Golden[] = [
  {
    name: 'myos',
    endian: 'little',
    program: () => MYOS,
    cases: [
      { what: 'uname fails with EPERM', data: call(X86_64, 63), expect: { action: 'errno', data: errnoNumber('EPERM') } },
      { what: 'read is allowed', data: call(X86_64, 0), expect: { action: 'allow' } },
      { what: 'i386 is killed', data: call(I386, 122), expect: { action: 'kill_process' } },
      // The example has no x32 check, so x32 uname (0x4000003f) is simply allowed: a known weakness.
      { what: 'x32 uname slips through', data: call(X86_64, 0x40000000 | 63), expect: { action: 'allow' } },
    ],
  },
  {
    name: 'multiarch',
    endian: 'little',
    program: () => asmX(MULTIARCH),
    cases: [
      { what: 'x86_64 write', data: call(X86_64, nrOf('x86_64', 'write')), expect: { action: 'allow' } },
      { what: 'x86_64 getpid', data: call(X86_64, nrOf('x86_64', 'getpid')), expect: { action: 'errno', data: 1 } },
      { what: 'x86_64 read', data: call(X86_64, nrOf('x86_64', 'read')), expect: { action: 'kill_process' } },
      { what: 'i386 write (4)', data: call(I386, nrOf('i386', 'write')), expect: { action: 'allow' } },
      { what: 'i386 getpid', data: call(I386, nrOf('i386', 'getpid')), expect: { action: 'errno', data: 1 } },
      { what: 'i386 exit (1 = x86_64 write)', data: call(I386, nrOf('i386', 'exit')), expect: { action: 'kill_process' } },
      { what: 'x32 write', data: call(X86_64, nrOf('x32', 'write')), expect: { action: 'allow' } },
      { what: 'x32 read', data: call(X86_64, nrOf('x32', 'read')), expect: { action: 'kill_thread' } },
      { what: 'aarch64', data: call(getArch('aarch64').auditArch, 64), expect: { action: 'kill_process' } },
    ],
  },
  {
    name: 's390x',
    endian: 'big',
    program: () => asmX(S390X_SRC, { endian: 'big' }),
    cases: [
      { what: 'write(1)', data: call(S390X, nrOf('s390x', 'write'), [1n]), expect: { action: 'allow' } },
      { what: 'write(2)', data: call(S390X, nrOf('s390x', 'write'), [2n, 0xffffffffffffffffn]), expect: { action: 'allow' } },
      { what: 'write(3)', data: call(S390X, nrOf('s390x', 'write'), [3n]), expect: { action: 'errno', data: errnoNumber('EBADF') } },
      { what: 'write(2 + 2^32)', data: call(S390X, nrOf('s390x', 'write'), [(1n << 32n) + 2n]), expect: { action: 'errno', data: errnoNumber('EBADF') } },
      { what: 'read', data: call(S390X, nrOf('s390x', 'read')), expect: { action: 'errno', data: errnoNumber('ENOSYS') } },
      { what: 'exit_group', data: call(S390X, nrOf('s390x', 'exit_group')), expect: { action: 'allow' } },
      { what: 'x86_64', data: call(X86_64, 1, [1n]), expect: { action: 'kill_process' } },
    ],
  },
  {
    name: 'alu',
    endian: 'little',
    program: () => asmX(ALU_SRC),
    cases: [
      [[0n, 0n], 0n],
      [[0x1_0000_0005n, 9n, 0xffffffffffffffffn, 3n, 1n << 40n, 7n], 0x1234_5678_9abc_def0n],
      [[0xdeadbeefn, 0xfeedfacecafebeefn, 1n, 2n, 3n, 0xffffffffn], 0x7fffffffffffn],
    ].map(([args, ip], i) => ({
      what: `inputs ${i}`,
      data: call(X86_64, 0, args as bigint[], ip as bigint),
      expect: { value: aluReference(args as bigint[], ip as bigint) },
    })),
  },
  {
    name: 'jumps',
    endian: 'little',
    program: () => asmX(JUMPS_SRC),
    cases: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa, 0xc, 0xe, 0x10, 0x11, 0x12, 0x1f, 0x20, 0x3f, 0x40, 0x80, 0x81, 0x100, 0x101, 0xffffffff].map(
      (nr) => ({ what: `nr ${nr}`, data: call(X86_64, nr), expect: { action: 'errno' as const, data: jumpsReference(nr) } }),
    ),
  },
  {
    name: 'returns',
    endian: 'little',
    program: returnsProgram,
    cases: [
      ...RETURNS.map((v, i) => ({ what: `return ${i}`, data: call(X86_64, i), expect: { value: v } })),
      { what: 'return A', data: call(X86_64, 0xabcdef), expect: { value: 0xabcdef } },
    ],
  },
  {
    name: 'raw',
    endian: 'little',
    program: () => RAW,
    cases: [{ what: 'stops at the classic-only ld_h_abs', data: call(X86_64, 0), expect: { action: 'kill_process' } }],
    rejected: true,
  },
];

/** Disassembly options of a golden: names from src/arch, byte order of the blob, no host fallback. */
const goldenOpts = (g: Golden): TextOptions => ({ symbols: archSymbols, endian: g.endian });

for (const g of GOLDENS) {
  test(`golden ${g.name}: blob and disassembly match the files`, () => {
    const program = g.program();
    const bin = join(GOLDEN, `${g.name}.bpf`);
    const txt = join(GOLDEN, `${g.name}.txt`);
    const text = disassemble(program, { ...goldenOpts(g), header: true });
    if (UPDATE) {
      writeFileSync(bin, encode(program, g.endian));
      writeFileSync(txt, text);
    }
    assert.ok(existsSync(bin) && existsSync(txt), `missing golden files for ${g.name}: run with UPDATE_GOLDEN=1`);
    assert.equal([...readFileSync(bin)], [...encode(program, g.endian)], `${g.name}.bpf differs from the program`);
    const decoded = decode(readFileSync(bin), g.endian);
    assert.fixture(disassemble(decoded, { ...goldenOpts(g), header: true }), readFileSync(txt, 'utf8'));
  });

  test(`golden ${g.name}: the text assembles back to the same bytes`, () => {
    const text = readFileSync(join(GOLDEN, `${g.name}.txt`), 'utf8');
    const back = assemble(text, goldenOpts(g));
    assert.equal([...encode(back, g.endian)], [...readFileSync(join(GOLDEN, `${g.name}.bpf`))]);
  });

  test(`golden ${g.name}: emulated decisions`, () => {
    const program = decode(readFileSync(join(GOLDEN, `${g.name}.bpf`)), g.endian);
    const problems = verify(program);
    if (g.rejected) {
      assert.ok(problems.length > 0, 'the kernel would reject this program');
    } else {
      assert.equal(problems, [], 'the kernel accepts this program');
    }
    for (const c of g.cases) {
      if (g.rejected) {
        assert.throws(() => emulate(program, c.data, { endian: g.endian }), (e: unknown) => e instanceof BpfError && e.code === 'EMULATE');
        continue;
      }
      const r = emulate(program, c.data, { endian: g.endian });
      if ('value' in c.expect) assert.is(r.value, c.expect.value >>> 0, c.what);
      else {
        assert.is(r.action.name, c.expect.action, c.what);
        if (c.expect.data !== undefined) assert.is(r.action.data, c.expect.data, c.what);
      }
    }
  });
}

test('names follow the arch proven by the dataflow', () => {
  const text = readFileSync(join(GOLDEN, 'multiarch.txt'), 'utf8');
  // write is 1 under x86_64 and 4 under i386; both print as "write".
  assert.match(text, /0x15 0x\w\w 0x\w\w 0x00000001 {2}if \(A == write\)/);
  assert.match(text, /0x15 0x\w\w 0x\w\w 0x00000004 {2}if \(A == write\)/);
  assert.match(text, /if \(A == 0x40000001\) goto \d{4}\s+# x32 write/);
  assert.equal(checkedArches(decode(readFileSync(join(GOLDEN, 'multiarch.bpf')))), [X86_64, I386]);
  // Without symbols everything is hex, and still round-trips.
  const p = asmX(MULTIARCH);
  const bare = disassemble(p);
  assert.not.match(bare, /ARCH_|write/);
  assert.equal(assemble(bare), p);
});

test('args words follow the byte order', () => {
  const le = asmX('A = args[1]\nA = args[1] >> 32\nA = instruction_pointer\nA = instruction_pointer >> 32\nreturn A', { endian: 'little' });
  const be = asmX('A = args[1]\nA = args[1] >> 32\nA = instruction_pointer\nA = instruction_pointer >> 32\nreturn A', { endian: 'big' });
  assert.equal(le.slice(0, 4).map((i) => i.k), [24, 28, 8, 12]);
  assert.equal(be.slice(0, 4).map((i) => i.k), [28, 24, 12, 8]);
  // Without an explicit order, the arch the text checks decides it.
  const r = assembleWithInfo('A = arch\nif (A != ARCH_S390X) goto out\nA = args[0]\nout: return A', { symbols: archSymbols });
  assert.is(r.endian, 'big');
  assert.is(r.arch, S390X);
  assert.is(r.program[2].k, 20);
});

test('the hex prefix is checked against the statement', () => {
  const text = disassemble(MYOS, { symbols: archSymbols });
  assert.equal(assemble(text, { symbols: archSymbols }), MYOS);
  const tampered = text.replace('0x15 0x01 0x00 0x0000003f', '0x15 0x01 0x00 0x00000040');
  const e = throwsBpf(() => assemble(tampered, { symbols: archSymbols }), 'ASSEMBLE');
  assert.is(e.line, 4);
  // The s390x text read as little-endian puts args[0] at the wrong offset: caught, with a hint.
  const s390 = readFileSync(join(GOLDEN, 's390x.txt'), 'utf8');
  const e2 = throwsBpf(() => assemble(s390, { symbols: archSymbols, endian: 'little' }), 'ASSEMBLE');
  assert.match(e2.message, /byte order/);
});

test('ERRNO names, errno table', () => {
  assert.equal(asmX('return ERRNO(EACCES)'), [ret(0x5000d)]);
  assert.is(errnoNumber('EWOULDBLOCK'), errnoNumber('EAGAIN'));
  assert.is(errnoName(1), 'EPERM');
  assert.is(errnoName(38), 'ENOSYS');
});

function throwsBpf(fn: () => unknown, code: string): BpfError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    assert.is(e.code, code, e.message);
    assert.not.match(e.message, /\n/);
    return e;
  }
  assert.unreachable(`expected BpfError ${code}`);
  throw new Error('unreachable');
}

const ERRORS: readonly [src: string, code: string, line: number | undefined, message: RegExp][] = [
  ['A = foo\nreturn A', 'PARSE', 1, /unknown value 'foo'/],
  ['return ALLOW\nA = args[6]', 'PARSE', 2, /args index 6/],
  ['A = 0x100000000\nreturn A', 'PARSE', 1, /out of range/],
  ['A = sys_number\nif (A == read) goto 0003\nreturn ALLOW\nreturn KILL_PROCESS', 'PARSE', 2, /needs a known architecture/],
  ['A = arch\nif (A != ARCH_X86_64) goto k\nA = sys_number\nif (A == nosuchcall) goto k\nreturn ALLOW\nk: return KILL_PROCESS', 'PARSE', 4, /unknown syscall "nosuchcall" for ARCH_X86_64/],
  ['A = arch\nif (A == ARCH_VAX) goto k\nreturn ALLOW\nk: return KILL_PROCESS', 'PARSE', 2, /unknown architecture "ARCH_VAX"/],
  ['A = 0x1\nif (A == read) goto k\nreturn ALLOW\nk: return KILL_PROCESS', 'PARSE', 2, /not a number or an ARCH_ name/],
  ['return ERRNO(EFOO)', 'PARSE', 1, /unknown errno name 'EFOO'/],
  ['return ERRNO', 'PARSE', 1, /needs a value/],
  ['return ERRNO(65536)', 'PARSE', 1, /out of range/],
  ['return constructor', 'PARSE', 1, /unknown action/],
  ['A = arch $', 'PARSE', 1, /unexpected character/],
  ['A = arch\nA += foo\nreturn A', 'PARSE', 2, /ALU operand/],
  ['goto nowhere\nreturn ALLOW', 'LABEL_UNDEFINED', 1, /nowhere/],
  ['a: return ALLOW\ngoto a', 'LABEL_BACKWARD', 2, /forward only/],
  ['a: A = 0x1\na: return A', 'LABEL_DUPLICATE', 2, /already defined/],
  ['goto end\nreturn ALLOW\nend:', 'PARSE', 3, /not followed by an instruction/],
  ['# nothing\n', 'PARSE', undefined, /no instructions/],
  ['.insn 0x10000 0 0 0', 'PARSE', 1, /opcode 0x10000 is out of range/],
  ['0001: 0x06 0x00 0x00 0x7fff0000  return KILL_PROCESS', 'ASSEMBLE', 1, /assembles to 0x06 0x00 0x00 0x80000000/],
  ['if (A == 1) goto 0x3\nreturn A', 'PARSE', 1, /decimal line number/],
  ['return ALLOW extra', 'PARSE', 1, /unexpected 'extra'/],
];

test('assembler errors are typed, one line, with the source line', () => {
  for (const [src, code, line, message] of ERRORS) {
    const e = throwsBpf(() => asmX(src), code);
    assert.is(e.line, line, `${src}: ${e.message}`);
    assert.match(e.message, message);
    if (line !== undefined) assert.match(e.message, new RegExp(`line ${line}\\b`));
  }
});

test('labels, comments, header lines and hex-only lines are accepted', () => {
  const src = ` line  CODE  JT   JF      K
=================================
start: A = arch      # a comment
  if (A == ARCH_X86_64) goto ok else goto bad
ok: bad2: 0x06 0x00 0x00 0x7fff0000
bad: .insn 0x06 0x00 0x00 0x00000000  # KILL_THREAD
`;
  assert.equal(asmX(src), [stmt(0x20, 4), jump(0x15, X86_64, 0, 1), ret(0x7fff0000), ret(0)]);
  // KILL is accepted as the kernel's old name for KILL_THREAD; TRACE without data is TRACE(0).
  assert.equal(asmX('return KILL\nreturn TRACE\nreturn TRAP'), [ret(0), ret(0x7ff00000), ret(0x30000)]);
});

test('far label targets get JA trampolines from the builder', () => {
  const body = Array.from({ length: 300 }, () => 'A += 0x1').join('\n');
  const p = asmX(`A = sys_number\nif (A == 0x5) goto far\n${body}\nfar: return A`);
  assert.is(p.length, 304);
  const r = emulate(p, call(0, 5));
  assert.is(r.value, 5);
  assert.equal(assemble(disassemble(p)), p);
});

// libseccomp's own output (through python3-seccomp) disassembles with names and assembles back
// byte for byte, in both byte orders; our emulator agrees with the rules it was given.
const LIBSECCOMP_ARCHES: readonly [scmp: string, arch: string][] = [
  ['X86_64', 'x86_64'], ['AARCH64', 'aarch64'], ['S390X', 's390x'], ['PPC64', 'ppc64'], ['ARM', 'arm'], ['MIPSEL64', 'mips64el'],
];
const LIBSECCOMP_SCRIPT = `
import seccomp, sys, tempfile, json
out = {}
for name in sys.argv[1:]:
    f = seccomp.SyscallFilter(defaction=seccomp.KILL)
    f.remove_arch(seccomp.Arch.NATIVE)
    f.add_arch(getattr(seccomp.Arch, name))
    f.add_rule(seccomp.ALLOW, "read")
    f.add_rule(seccomp.ALLOW, "write", seccomp.Arg(0, seccomp.EQ, 1))
    f.add_rule(seccomp.ERRNO(13), "close", seccomp.Arg(0, seccomp.GT, 0x100000000))
    with tempfile.TemporaryFile() as b:
        f.export_bpf(b)
        b.seek(0)
        out[name] = b.read().hex()
print(json.dumps(out))
`;
(needPythonSeccomp() ? test : test.skip)('libseccomp filters round-trip with names in their byte order', () => {
  const r = spawnSync('/usr/bin/python3', ['-c', LIBSECCOMP_SCRIPT, ...LIBSECCOMP_ARCHES.map(([s]) => s)], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.status, 0, r.stderr);
  const blobs = JSON.parse(r.stdout) as Record<string, string>;
  for (const [scmp, name] of LIBSECCOMP_ARCHES) {
    const arch = getArch(name);
    const bytes = Buffer.from(blobs[scmp], 'hex');
    const program = decode(bytes, arch.endian);
    assert.equal(checkedArches(program), [arch.auditArch], name);
    const text = disassemble(program, { symbols: archSymbols });
    assert.match(text, new RegExp(`if \\(A != ARCH_${name.toUpperCase()}\\)`), name);
    assert.match(text, /if \(A (==|!=) (read|write|close)\)/, `${name}\n${text}`);
    // 32-bit ABIs have no high words to check.
    if (arch.bits === 64) assert.match(text, /A = args\[0\] >> 32/, name);
    else assert.not.match(text, />> 32/, name);
    const back = assemble(text, { symbols: archSymbols });
    assert.equal([...encode(back, arch.endian)], [...bytes], `${name}\n${text}`);
    const run = (sys: string, args: bigint[]) => emulate(program, call(arch.auditArch, nrOf(name, sys), args), { endian: arch.endian }).action;
    assert.is(run('read', [5n]).name, 'allow', name);
    assert.is(run('write', [1n]).name, 'allow', name);
    assert.is(run('write', [2n]).name, 'kill_thread', name);
    if (arch.bits === 64) {
      assert.is(run('write', [1n + (1n << 32n)]).name, 'kill_thread', name);
      assert.equal([run('close', [(1n << 32n) + 1n]).name, run('close', [(1n << 32n) + 1n]).data], ['errno', 13], name);
      assert.is(run('close', [1n << 32n]).name, 'kill_thread', name);
    }
  }
});

// ----- random round trips -----------------------------------------------------------------

const SEED = testSeed('text round trip');
const TABLE_CODES = [...OPCODES.keys()];
const AUDITS = [...new Set(ARCHES.map((a) => a.auditArch))];

function randomRaw(r: () => number): Instruction[] {
  const n = 1 + Math.floor(r() * 40);
  const small = () => Math.floor(r() * (r() < 0.8 ? n + 2 : 256));
  const kOf = (): number => {
    const c = r();
    if (c < 0.3) return Math.floor(r() * 80);
    if (c < 0.5) return AUDITS[Math.floor(r() * AUDITS.length)];
    if (c < 0.6) return (0x40000000 | Math.floor(r() * 600)) >>> 0;
    if (c < 0.8) return (encodeAction('errno') | Math.floor(r() * 70000)) >>> 0;
    return Math.floor(r() * 2 ** 32);
  };
  return Array.from({ length: n }, () => {
    const code = r() < 0.85 ? TABLE_CODES[Math.floor(r() * TABLE_CODES.length)] : Math.floor(r() * 0x10000);
    const jt = r() < 0.6 ? 0 : small();
    const jf = r() < 0.6 ? 0 : small();
    return Object.freeze({ code, jt, jf, k: kOf() });
  });
}

/** A filter shaped like real ones: arch checks, syscall dispatch on real numbers, args checks, returns. */
function randomFilter(r: () => number): { program: Instruction[]; endian: Endian } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const arches = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(ARCHES));
  const endian = arches[0].endian;
  const lines: string[] = ['A = arch'];
  arches.forEach((a, i) => lines.push(`if (A == ${a.auditArch}) goto arch${i}`));
  lines.push('return KILL_PROCESS');
  arches.forEach((a, i) => {
    lines.push(`arch${i}:`, 'A = sys_number');
    const table = [...(syscallNumber(a.name, 'read') === undefined ? [] : ['read']), 'close', 'exit_group', 'openat']
      .map((n) => syscallNumber(a.name, n))
      .filter((x): x is number => x !== undefined);
    for (let j = 0; j < 1 + Math.floor(r() * 4); j++) {
      const nr = r() < 0.8 ? pick(table) : Math.floor(r() * 2 ** 32);
      const op = pick(['==', '!=', '>=', '>', '&']);
      lines.push(`if (A ${op} ${nr}) goto a${i}_${j} else goto n${i}_${j}`);
      lines.push(`a${i}_${j}:`, `A = args[${Math.floor(r() * 6)}]${r() < 0.5 ? ' >> 32' : ''}`);
      lines.push(`if (A ${pick(['==', '<', '<='])} ${Math.floor(r() * 100)}) goto r${i}_${j}`);
      lines.push(`return ${pick(['ALLOW', 'LOG', 'ERRNO(13)', 'TRAP(2)', 'USER_NOTIF', 'KILL_THREAD'])}`);
      lines.push(`r${i}_${j}: return ERRNO(${Math.floor(r() * 4096)})`);
      lines.push(`n${i}_${j}:`, 'A = sys_number');
    }
    lines.push('return ALLOW');
  });
  return { program: assemble(lines.join('\n'), { endian }), endian };
}

test('random raw programs round-trip exactly', () => {
  const r = rng(SEED);
  for (let iter = 0; iter < 400; iter++) {
    const p = randomRaw(r);
    const opts: TextOptions = {
      symbols: r() < 0.8 ? archSymbols : undefined,
      endian: r() < 0.5 ? 'little' : 'big',
      defaultArch: r() < 0.5 ? AUDITS[Math.floor(r() * AUDITS.length)] : undefined,
    };
    const text = disassemble(p, { ...opts, header: r() < 0.5 });
    let back: Instruction[];
    try {
      back = assemble(text, opts);
    } catch (e) {
      throw new Error(`iteration ${iter} (SEED=${SEED}): ${(e as Error).message}\n${text}`);
    }
    assert.equal([...encode(back, 'little')], [...encode(p, 'little')], `iteration ${iter} (SEED=${SEED})\n${text}`);
  }
});

test('random real-looking filters round-trip exactly and print syscall names', () => {
  const r = rng(SEED ^ 0x5a5a5a5a);
  let named = 0;
  for (let iter = 0; iter < 200; iter++) {
    const { program, endian } = randomFilter(r);
    assert.equal(verify(program), [], `iteration ${iter} (SEED=${SEED}) is a valid filter`);
    const text = disassemble(program, { symbols: archSymbols, endian });
    if (/if \(A == (read|close|exit_group|openat)\)/.test(text)) named++;
    const back = assemble(text, { symbols: archSymbols, endian });
    assert.equal(back, program, `iteration ${iter} (SEED=${SEED})\n${text}`);
  }
  assert.ok(named > 20, `syscall names were printed in ${named} of 200 filters`);
});

test.run();
