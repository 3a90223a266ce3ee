/**
 * Architecture descriptors: frozen data about how a seccomp filter sees each ABI.
 */
import { ArchError } from './errors.js';
import { editDistance } from './suggest.js';

/** The architectures (syscall ABIs) seccomp-ts knows. */
export type ArchName =
  | 'x86_64'
  | 'i386'
  | 'x32'
  | 'aarch64'
  | 'arm'
  | 'riscv64'
  | 'ppc64le'
  | 'ppc64'
  | 's390x'
  | 'mips64el'
  | 'mipsel'
  | 'loongarch64';

/** Offsets in struct seccomp_data of the two 32-bit halves of a 64-bit field. */
export interface WordOffsets {
  readonly lo: number;
  readonly hi: number;
}

/** One syscall ABI as a filter sees it. */
export interface Arch {
  readonly name: ArchName;
  /** The AUDIT_ARCH_* value in seccomp_data.arch (include/uapi/linux/audit.h). */
  readonly auditArch: number;
  /**
   * Width of the registers the kernel reads arguments from. 64 means both 32-bit halves of an
   * argument are significant and a filter must check both. x32 is 64: its processes use
   * 32-bit pointers, but the kernel reads full 64-bit registers and mostly runs the native
   * 64-bit handlers, so ignoring the high half would let a caller slip values past a check.
   * 32 means the high half is always zero (the kernel zero-extends 32-bit registers).
   */
  readonly bits: 32 | 64;
  /** Byte order of seccomp_data on this ABI; decides which half of a u64 field comes first. */
  readonly endian: 'little' | 'big';
  /** A bit OR-ed into every syscall number of this ABI (x32: __X32_SYSCALL_BIT); 0 if none. */
  readonly syscallBit: number;
  /** Other names users and tools give this ABI (uname -m, Node process.arch, Go GOARCH, libseccomp SCMP_ARCH_*). */
  readonly aliases: readonly string[];
  /** Offsets in seccomp_data of the low and high 32-bit words of args[i] (or of instruction_pointer with index 'ip'). */
  argOffsets(index: number | 'ip'): WordOffsets;
}

/** seccomp_data layout (include/uapi/linux/seccomp.h): nr u32, arch u32, instruction_pointer u64, args u64[6]. */
const IP_OFFSET = 8;
const ARGS_OFFSET = 16;
/** Number of syscall arguments in seccomp_data. */
export const ARG_COUNT = 6;

// AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (include/uapi/linux/audit.h, elf-em.h).
const A64 = 0x80000000;
const LE = 0x40000000;
const EM_386 = 3;
const EM_MIPS = 8;
const EM_PPC64 = 21;
const EM_S390 = 22;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;
const EM_LOONGARCH = 258;

/** __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h). */
export const X32_SYSCALL_BIT = 0x40000000;

function makeArch(name: ArchName, auditArch: number, bits: 32 | 64, endian: 'little' | 'big', syscallBit: number, aliases: string[]): Arch {
  const offsets = (base: number): WordOffsets => Object.freeze(endian === 'little' ? { lo: base, hi: base + 4 } : { lo: base + 4, hi: base });
  const ip = offsets(IP_OFFSET);
  const args = Object.freeze(Array.from({ length: ARG_COUNT }, (_, i) => offsets(ARGS_OFFSET + 8 * i)));
  return Object.freeze({
    name,
    auditArch: auditArch >>> 0,
    bits,
    endian,
    syscallBit,
    aliases: Object.freeze(aliases),
    argOffsets(index: number | 'ip'): WordOffsets {
      if (index === 'ip') return ip;
      if (Number.isInteger(index) && index >= 0 && index < ARG_COUNT) return args[index]!;
      throw new ArchError('BAD_ARG_INDEX', `syscall argument index must be 0..${ARG_COUNT - 1} or 'ip', not ${String(index)}`);
    },
  });
}

/** Every supported ABI, frozen. */
export const ARCHES: readonly Arch[] = Object.freeze([
  makeArch('x86_64', EM_X86_64 | A64 | LE, 64, 'little', 0, ['x86-64', 'amd64', 'x64', 'SCMP_ARCH_X86_64']),
  makeArch('i386', EM_386 | LE, 32, 'little', 0, ['x86', 'ia32', '386', 'i486', 'i586', 'i686', 'SCMP_ARCH_X86']),
  makeArch('x32', EM_X86_64 | A64 | LE, 64, 'little', X32_SYSCALL_BIT, ['SCMP_ARCH_X32']),
  makeArch('aarch64', EM_AARCH64 | A64 | LE, 64, 'little', 0, ['arm64', 'SCMP_ARCH_AARCH64']),
  makeArch('arm', EM_ARM | LE, 32, 'little', 0, ['armv7l', 'armv7', 'armv6l', 'armv8l', 'armhf', 'armel', 'SCMP_ARCH_ARM']),
  makeArch('riscv64', EM_RISCV | A64 | LE, 64, 'little', 0, ['SCMP_ARCH_RISCV64']),
  makeArch('ppc64le', EM_PPC64 | A64 | LE, 64, 'little', 0, ['powerpc64le', 'SCMP_ARCH_PPC64LE']),
  makeArch('ppc64', EM_PPC64 | A64, 64, 'big', 0, ['powerpc64', 'SCMP_ARCH_PPC64']),
  makeArch('s390x', EM_S390 | A64, 64, 'big', 0, ['SCMP_ARCH_S390X']),
  makeArch('mips64el', EM_MIPS | A64 | LE, 64, 'little', 0, ['mips64le', 'SCMP_ARCH_MIPSEL64']),
  makeArch('mipsel', EM_MIPS | LE, 32, 'little', 0, ['mipsle', 'SCMP_ARCH_MIPSEL']),
  makeArch('loongarch64', EM_LOONGARCH | A64 | LE, 64, 'little', 0, ['loong64', 'SCMP_ARCH_LOONGARCH64']),
]);

const norm = (s: string) => s.trim().toLowerCase().replace(/_/g, '-');

const BY_NAME: ReadonlyMap<string, Arch> = (() => {
  const m = new Map<string, Arch>();
  for (const a of ARCHES) {
    for (const n of [a.name, ...a.aliases]) {
      const k = norm(n);
      if (m.has(k) && m.get(k) !== a) throw new Error(`arch alias ${n} is ambiguous`); // a data bug, caught by any import
      m.set(k, a);
    }
  }
  return m;
})();

/**
 * The ABI named `nameOrAlias` (canonical name or alias; case, and `_` versus `-`, do not matter).
 * An Arch is returned as is. Throws ArchError UNKNOWN_ARCH with the nearest names.
 */
export function getArch(nameOrAlias: string | Arch): Arch {
  if (typeof nameOrAlias !== 'string') return nameOrAlias;
  const a = BY_NAME.get(norm(nameOrAlias));
  if (a) return a;
  const near = suggestArch(nameOrAlias);
  const hint = near.length ? ` (did you mean ${near.join(', ')}?)` : ` (known: ${ARCHES.map((x) => x.name).join(', ')})`;
  throw new ArchError('UNKNOWN_ARCH', `unknown architecture '${nameOrAlias}'${hint}`, near);
}

// Suggest canonical names only, but match against aliases too ("amd46" -> x86_64).
function suggestArch(name: string): string[] {
  const q = norm(name);
  const out: string[] = [];
  for (const a of ARCHES) {
    const names = [a.name, ...a.aliases].map(norm);
    if (names.some((n) => closeEnough(q, n))) out.push(a.name);
  }
  return out.slice(0, 3);
}

function closeEnough(q: string, n: string): boolean {
  if (Math.min(q.length, n.length) >= 3 && (n.includes(q) || q.includes(n))) return true;
  return editDistance(q, n) <= Math.max(1, Math.floor(n.length / 3));
}

/**
 * The ABI of the running Node process, from process.arch and the byte order; undefined when
 * seccomp-ts does not support it. x32 is never the host ABI (Node does not run as x32).
 * The parameters exist for tests; callers leave them out.
 */
export function hostArch(platformArch: string = process.arch, endianness: 'LE' | 'BE' = hostEndianness()): Arch | undefined {
  const le = endianness === 'LE';
  const map: Record<string, ArchName | undefined> = {
    x64: 'x86_64',
    ia32: 'i386',
    arm64: 'aarch64',
    arm: le ? 'arm' : undefined,
    riscv64: 'riscv64',
    ppc64: le ? 'ppc64le' : 'ppc64',
    s390x: 's390x',
    mips64el: 'mips64el',
    mipsel: 'mipsel',
    loong64: 'loongarch64',
  };
  const n = Object.hasOwn(map, platformArch) ? map[platformArch] : undefined;
  return n ? getArch(n) : undefined;
}

function hostEndianness(): 'LE' | 'BE' {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';
}

/** The ABIs that put `auditArch` in seccomp_data.arch (x86_64 and x32 share AUDIT_ARCH_X86_64). */
export function archByAudit(auditArch: number): Arch[] {
  const v = auditArch >>> 0;
  return ARCHES.filter((a) => a.auditArch === v);
}
