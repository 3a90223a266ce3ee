/**
 * The running machine's seccomp ABI: what apply() needs to call seccomp() and to check that a
 * filter was compiled for this machine. src/apply may not import src/arch, so the few facts it
 * needs live here (syscall numbers from the kernel's syscall tables, AUDIT_ARCH_* values from
 * include/uapi/linux/audit.h).
 */
import { endianness } from 'node:os';
import type { Endian } from '../bpf/codec.js';

/** The seccomp-relevant facts about one CPU architecture Node runs on. */
export interface HostAbi {
  /** Node's name (process.arch). */
  readonly nodeArch: string;
  /** The name this project and the kernel use. */
  readonly name: string;
  /** Every spelling a compiled filter may use for this ABI, normalised (see {@link normArchName}). */
  readonly aliases: readonly string[];
  /** AUDIT_ARCH_* value that seccomp_data.arch holds for this ABI. */
  readonly auditArch: number;
  /** __NR_seccomp. */
  readonly seccompNr: number;
  /** sizeof(void *): struct sock_fprog is { u16 len; pointer filter } with natural alignment. */
  readonly pointerBytes: 4 | 8;
  readonly endian: Endian;
}

const LE = 0x40000000; // __AUDIT_ARCH_LE
const BIT64 = 0x80000000; // __AUDIT_ARCH_64BIT

/** An architecture name as compared here: lower case, `_` as `-` (so SCMP_ARCH_X86_64 = scmp-arch-x86-64). */
export function normArchName(name: string): string {
  return name.trim().toLowerCase().replace(/_/g, '-');
}

function abi(nodeArch: string, name: string, aliases: string[], em: number, bits: 32 | 64, endian: Endian, seccompNr: number): HostAbi {
  const auditArch = (em | (bits === 64 ? BIT64 : 0) | (endian === 'little' ? LE : 0)) >>> 0;
  const all = Object.freeze([name, ...aliases].map(normArchName));
  return Object.freeze({ nodeArch, name, aliases: all, auditArch, seccompNr, pointerBytes: bits === 64 ? 8 : 4, endian });
}

/**
 * By process.arch (ppc64 is told apart by byte order). Names and aliases are those src/arch
 * uses, so a compiled filter's `arches` can be matched; test/apply/host.test.ts checks every
 * fact here against src/arch and its syscall tables. MIPS is left out: its errno numbers differ.
 */
const TABLE: readonly HostAbi[] = [
  abi('x64', 'x86_64', ['x86-64', 'amd64', 'x64', 'scmp-arch-x86-64'], 62, 64, 'little', 317),
  abi('arm64', 'aarch64', ['arm64', 'scmp-arch-aarch64'], 183, 64, 'little', 277),
  abi('ia32', 'i386', ['x86', 'ia32', '386', 'i486', 'i586', 'i686', 'scmp-arch-x86'], 3, 32, 'little', 354),
  abi('arm', 'arm', ['armv7l', 'armv7', 'armv6l', 'armv8l', 'armhf', 'armel', 'scmp-arch-arm'], 40, 32, 'little', 383),
  abi('riscv64', 'riscv64', ['scmp-arch-riscv64'], 243, 64, 'little', 277),
  abi('loong64', 'loongarch64', ['loong64', 'scmp-arch-loongarch64'], 258, 64, 'little', 277),
  abi('s390x', 's390x', ['scmp-arch-s390x'], 22, 64, 'big', 348),
  abi('ppc64', 'ppc64le', ['powerpc64le', 'scmp-arch-ppc64le'], 21, 64, 'little', 358),
  abi('ppc64', 'ppc64', ['powerpc64', 'scmp-arch-ppc64'], 21, 64, 'big', 358),
];

/** The ABI of this process, or undefined when it is not one apply() knows (or not Linux). */
export function hostAbi(platform: string = process.platform, arch: string = process.arch, endian: Endian = endianness() === 'LE' ? 'little' : 'big'): HostAbi | undefined {
  if (platform !== 'linux') return undefined;
  return TABLE.find((a) => a.nodeArch === arch && a.endian === endian);
}

/**
 * Whether one entry of a compiled filter's architecture list denotes `host`: a name (any
 * spelling in `aliases`, compared normalised), an AUDIT_ARCH number, or an object carrying one
 * of those as `name`/`audit`/`auditArch`. A number alone cannot tell x86_64 from x32, so for
 * x86_64 only a name counts (a filter for x32 alone would treat Node's own calls as foreign).
 */
export function denotesHost(entry: unknown, host: HostAbi): boolean {
  if (typeof entry === 'string') return host.aliases.includes(normArchName(entry));
  if (typeof entry === 'number') return host.name !== 'x86_64' && entry >>> 0 === host.auditArch;
  if (entry !== null && typeof entry === 'object') {
    const o = entry as { name?: unknown; audit?: unknown; auditArch?: unknown };
    if (typeof o.name === 'string') return denotesHost(o.name, host);
    const n = typeof o.auditArch === 'number' ? o.auditArch : o.audit;
    return denotesHost(n, host);
  }
  return false;
}

/** A short printable form of an architecture list entry, for messages. */
export function describeArchEntry(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (typeof entry === 'number') return `0x${(entry >>> 0).toString(16)}`;
  if (entry !== null && typeof entry === 'object') {
    const o = entry as { name?: unknown; audit?: unknown; auditArch?: unknown };
    if (typeof o.name === 'string') return o.name;
    return describeArchEntry(o.auditArch ?? o.audit);
  }
  return String(entry);
}
