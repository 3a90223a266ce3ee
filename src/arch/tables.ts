/**
 * Syscall name <-> number tables per ABI, from the generated syscall-tables/<arch>.json files.
 * They are imported as JSON modules, so bundlers inline them and dist/ needs no data files.
 */
import { ArchError } from './errors.js';
import { ARCHES, getArch, type Arch, type ArchName } from './arches.js';
import { suggest } from './suggest.js';
import t_x86_64 from '../../syscall-tables/x86_64.json' with { type: 'json' };
import t_i386 from '../../syscall-tables/i386.json' with { type: 'json' };
import t_x32 from '../../syscall-tables/x32.json' with { type: 'json' };
import t_aarch64 from '../../syscall-tables/aarch64.json' with { type: 'json' };
import t_arm from '../../syscall-tables/arm.json' with { type: 'json' };
import t_riscv64 from '../../syscall-tables/riscv64.json' with { type: 'json' };
import t_ppc64le from '../../syscall-tables/ppc64le.json' with { type: 'json' };
import t_ppc64 from '../../syscall-tables/ppc64.json' with { type: 'json' };
import t_s390x from '../../syscall-tables/s390x.json' with { type: 'json' };
import t_mips64el from '../../syscall-tables/mips64el.json' with { type: 'json' };
import t_mipsel from '../../syscall-tables/mipsel.json' with { type: 'json' };
import t_loongarch64 from '../../syscall-tables/loongarch64.json' with { type: 'json' };

/** The shape of a syscall-tables/<arch>.json file. */
export interface SyscallTableFile {
  readonly arch: string;
  /** Kernel files and version the numbers come from. */
  readonly source: string;
  readonly generated: string;
  /** Name -> number as seen in seccomp_data.nr, in number order. */
  readonly syscalls: Readonly<Record<string, number>>;
}

const FILES: Readonly<Record<ArchName, SyscallTableFile>> = {
  x86_64: t_x86_64,
  i386: t_i386,
  x32: t_x32,
  aarch64: t_aarch64,
  arm: t_arm,
  riscv64: t_riscv64,
  ppc64le: t_ppc64le,
  ppc64: t_ppc64,
  s390x: t_s390x,
  mips64el: t_mips64el,
  mipsel: t_mipsel,
  loongarch64: t_loongarch64,
};

interface Loaded {
  readonly byName: ReadonlyMap<string, number>;
  readonly byNr: ReadonlyMap<number, string>;
}
const loaded = new Map<ArchName, Loaded>();

function load(arch: Arch | ArchName): Loaded {
  const a = typeof arch === 'string' ? getArch(arch) : arch;
  let t = loaded.get(a.name);
  if (!t) {
    const entries = Object.entries(FILES[a.name].syscalls);
    t = { byName: new Map(entries), byNr: new Map(entries.map(([n, nr]) => [nr, n])) };
    loaded.set(a.name, t);
  }
  return t;
}

/** The generated table file of an ABI (with its source and generation notes). */
export function syscallTableFile(arch: Arch | ArchName): SyscallTableFile {
  return FILES[(typeof arch === 'string' ? getArch(arch) : arch).name];
}

/** Every syscall of an ABI: name -> number as seen in seccomp_data.nr, in number order. */
export function syscallTable(arch: Arch | ArchName): ReadonlyMap<string, number> {
  return load(arch).byName;
}

/** The number of syscall `name` on `arch`, or undefined if that ABI has no such syscall. */
export function syscallNumber(arch: Arch | ArchName, name: string): number | undefined {
  return load(arch).byName.get(name);
}

/**
 * The number of syscall `name` on `arch`. Throws ArchError: SYSCALL_NOT_ON_ARCH when the name
 * is a syscall of some other ABI only (e.g. `open` on aarch64), UNKNOWN_SYSCALL otherwise; both
 * list the nearest names of this ABI ("did you mean openat, open?").
 */
export function resolveSyscall(arch: Arch | ArchName, name: string): number {
  const a = typeof arch === 'string' ? getArch(arch) : arch;
  const t = load(a);
  const nr = t.byName.get(name);
  if (nr !== undefined) return nr;
  const near = suggest(name, t.byName.keys());
  const hint = near.length ? ` (did you mean ${near.join(', ')}?)` : '';
  if (allSyscallNames().has(name)) {
    const where = ARCHES.filter((x) => load(x).byName.has(name)).map((x) => x.name);
    throw new ArchError('SYSCALL_NOT_ON_ARCH', `syscall '${name}' does not exist on ${a.name} (it does on ${where.join(', ')})${hint}`, near);
  }
  throw new ArchError('UNKNOWN_SYSCALL', `unknown syscall '${name}' on ${a.name}${hint}`, near);
}

/** The name of syscall number `nr` (as seen in seccomp_data.nr) on `arch`, or undefined. */
export function syscallName(arch: Arch | ArchName, nr: number): string | undefined {
  return load(arch).byNr.get(nr >>> 0);
}

let allNames: ReadonlySet<string> | undefined;

/** The union of syscall names over all ABIs. */
export function allSyscallNames(): ReadonlySet<string> {
  if (!allNames) allNames = new Set(ARCHES.flatMap((a) => [...load(a).byName.keys()]));
  return allNames;
}
