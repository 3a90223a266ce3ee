/**
 * The glue between the bpf text layer and the arch layer: a {@link Symbols} implementation
 * backed by the syscall tables, so disassembly can print ARCH_X86_64 and syscall names while
 * src/bpf itself knows no architectures.
 */
import { ArchError, archByAudit, getArch, hostArch, syscallName, syscallNumber, type Arch } from './arch/index.js';
import type { Symbols } from './bpf/text.js';

/**
 * The ABI a filter means by an AUDIT_ARCH value: the one without a syscall-number bit (x86_64
 * rather than x32, which shares AUDIT_ARCH_X86_64 but marks its numbers with 0x40000000).
 */
export function primaryArch(audit: number): Arch | undefined {
  const all = archByAudit(audit);
  return all.find((a) => a.syscallBit === 0) ?? all[0];
}

function hostEndian(): 'little' | 'big' {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'little' : 'big';
}

/** Architecture and syscall names for the text layer, from src/arch. */
export const archSymbols: Symbols = Object.freeze({
  archName(audit: number): string | undefined {
    return primaryArch(audit)?.name;
  },
  archValue(name: string): number | undefined {
    try {
      return getArch(name).auditArch;
    } catch (e) {
      if (e instanceof ArchError) return undefined;
      throw e;
    }
  },
  syscallName(audit: number, nr: number): string | undefined {
    const a = primaryArch(audit);
    return a && syscallName(a, nr);
  },
  syscallNumber(audit: number, name: string): number | undefined {
    const a = primaryArch(audit);
    return a && syscallNumber(a, name);
  },
  endian(audit: number | undefined): 'little' | 'big' {
    const a = audit === undefined ? hostArch() : primaryArch(audit);
    return a?.endian ?? hostEndian();
  },
  describeSyscall(audit: number, nr: number): string | undefined {
    // A number under another ABI sharing this AUDIT_ARCH (x32 under x86_64): name it in a comment,
    // because a bare name would read as the x86_64 syscall.
    for (const a of archByAudit(audit)) {
      if (a.syscallBit !== 0 && (nr & a.syscallBit) !== 0) {
        const n = syscallName(a, nr);
        if (n) return `${a.name} ${n}`;
      }
    }
    return undefined;
  },
});
