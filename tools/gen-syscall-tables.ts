/**
 * Generator of syscall-tables/<arch>.json from the kernel's own syscall tables.
 *
 *   npm run gen:syscalls -- <kernel-source-dir>          write the tables
 *   npm run gen:syscalls -- --check <kernel-source-dir>  compare only; exit 1 if a file differs
 *
 * <kernel-source-dir> is an extracted Linux source tree (a release tarball or a git checkout);
 * without the argument the environment variable SECCOMP_TS_KERNEL_SRC names it. Files read:
 * the *.tbl tables named in TABLES below, the Makefiles that say which ABI rows each table
 * contributes (scripts/Makefile.asm-headers and arch/<arch>/kernel/Makefile.syscalls for the
 * arches built from the generic table), arch/arm/include/uapi/asm/unistd.h (ARM private calls)
 * and the top-level Makefile (version).
 *
 * Rules:
 * - A row is kept when its ABI column is one the arch builds (as in the kernel's Makefiles) and
 *   its native entry-point column names a function other than sys_ni_syscall. Rows without an
 *   entry point (reserved numbers such as afs_syscall, tuxcall, vserver) return ENOSYS on every
 *   kernel, so a policy naming them on that arch is told they do not exist there.
 * - Numbers are what a filter sees in seccomp_data.nr: MIPS adds __NR_Linux (o32 4000, n64 5000),
 *   x32 numbers carry __X32_SYSCALL_BIT (0x40000000).
 * - Syscalls added after the source's version are appended from LATER_SYSCALLS (only the ones
 *   the source lacks; a conflicting number is an error).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArchName } from '../src/arch/index.js';

/** Where one arch's numbers come from. */
interface TableSource {
  /** Table file relative to the source root, or 'generic' for the arches using scripts/syscall.tbl (or an override in their Makefile.syscalls). */
  readonly table: string;
  /** ABI column values that are kept; null keeps every row (MIPS tables have one ABI each). For 'generic' arches the list comes from the Makefiles. */
  readonly abis: readonly string[] | null;
  /** Kernel arch directory, for 'generic' arches (arch/<dir>/kernel/Makefile.syscalls). */
  readonly archDir?: string;
  /** Which syscall_abis_<bits> list of the Makefiles applies, for 'generic' arches. */
  readonly abiBits?: 32 | 64;
  /** Added to every number (MIPS __NR_Linux). */
  readonly offset?: number;
  /** OR-ed into every number (x32 __X32_SYSCALL_BIT). */
  readonly orBit?: number;
  /** Column holding the entry point this arch uses (0-based); 3 = native. */
  readonly entryColumn?: number;
  /** Also read ARM's private calls (__ARM_NR_*) from arch/arm/include/uapi/asm/unistd.h. */
  readonly armPrivate?: boolean;
}

const X86_64_TBL = 'arch/x86/entry/syscalls/syscall_64.tbl';

/** Per-arch table selection; the ABI lists mirror the kernel's Makefiles (arch/x86/entry/syscalls/Makefile, arch/powerpc/kernel/syscalls/Makefile, ...). */
export const TABLES: Readonly<Record<ArchName, TableSource>> = {
  x86_64: { table: X86_64_TBL, abis: ['common', '64'] },
  x32: { table: X86_64_TBL, abis: ['common', 'x32'], orBit: 0x40000000 },
  i386: { table: 'arch/x86/entry/syscalls/syscall_32.tbl', abis: ['i386'] },
  aarch64: { table: 'generic', abis: null, archDir: 'arm64', abiBits: 64 },
  arm: { table: 'arch/arm/tools/syscall.tbl', abis: ['common', 'eabi'], armPrivate: true },
  riscv64: { table: 'generic', abis: null, archDir: 'riscv', abiBits: 64 },
  ppc64le: { table: 'arch/powerpc/kernel/syscalls/syscall.tbl', abis: ['common', 'nospu', '64'] },
  ppc64: { table: 'arch/powerpc/kernel/syscalls/syscall.tbl', abis: ['common', 'nospu', '64'] },
  // s390 rows have two entry columns: 64-bit native (3) and 31-bit compat (4); '-' means none.
  s390x: { table: 'arch/s390/kernel/syscalls/syscall.tbl', abis: ['common', '64'] },
  mips64el: { table: 'arch/mips/kernel/syscalls/syscall_n64.tbl', abis: null, offset: 5000 },
  mipsel: { table: 'arch/mips/kernel/syscalls/syscall_o32.tbl', abis: null, offset: 4000 },
  loongarch64: { table: 'generic', abis: null, archDir: 'loongarch', abiBits: 64 },
};

/**
 * Syscalls merged after Linux 6.12, up to 6.18, with their number in the unified numbering all
 * these tables share since 5.1 (before MIPS offsets and the x32 bit, which are applied as for
 * table rows). Each applies to every arch here.
 */
export const LATER_SYSCALLS: readonly { readonly name: string; readonly nr: number; readonly since: string }[] = [
  { name: 'setxattrat', nr: 463, since: '6.13' },
  { name: 'getxattrat', nr: 464, since: '6.13' },
  { name: 'listxattrat', nr: 465, since: '6.13' },
  { name: 'removexattrat', nr: 466, since: '6.13' },
  { name: 'open_tree_attr', nr: 467, since: '6.15' },
  { name: 'file_getattr', nr: 468, since: '6.17' },
  { name: 'file_setattr', nr: 469, since: '6.17' },
];
const LATER_UP_TO = '6.18';

/** A generator failure: bad source tree or inconsistent table. */
export class GenError extends Error {
  override readonly name = 'GenError';
}

function read(root: string, rel: string): string {
  const p = join(root, rel);
  if (!existsSync(p)) throw new GenError(`${rel} not found under the kernel source directory`);
  return readFileSync(p, 'utf8');
}

/** "Linux 6.12.118" from the top-level Makefile. */
function kernelVersion(root: string): string {
  const mk = read(root, 'Makefile');
  const field = (k: string) => (mk.match(new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, 'm')) ?? [])[1] ?? '';
  const v = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')].filter((x) => x !== '').join('.');
  if (!/^\d+\.\d+/.test(v)) throw new GenError('cannot read VERSION/PATCHLEVEL from the top-level Makefile');
  return `Linux ${v}${field('EXTRAVERSION')}`;
}

/** Values of `name += ...` / `name := ...` / `name = ...` assignments in a Makefile, in order. */
function makeList(text: string, name: string): { items: string[]; found: boolean } {
  const items: string[] = [];
  let found = false;
  for (const m of text.matchAll(new RegExp(`^${name}\\s*(\\+=|:=|=)[ \\t]*(.*)$`, 'gm'))) {
    found = true;
    const words = m[2]!.split(/[\s,]+/).filter(Boolean);
    if (m[1] === '+=') items.push(...words);
    else items.splice(0, items.length, ...words);
  }
  return { items, found };
}

/** Table path and ABI list of an arch built from the generic table (scripts/Makefile.asm-headers + arch Makefile.syscalls). */
function genericSelection(root: string, src: TableSource): { table: string; abis: string[]; files: string[] } {
  const mkRel = `arch/${src.archDir}/kernel/Makefile.syscalls`;
  const base = read(root, 'scripts/Makefile.asm-headers');
  const arch = read(root, mkRel);
  const key = `syscall_abis_${src.abiBits}`;
  const abis = [...makeList(base, key).items, ...makeList(arch, key).items];
  if (abis.length === 0) throw new GenError(`no ${key} in scripts/Makefile.asm-headers`);
  let table = 'scripts/syscall.tbl';
  const override = makeList(arch, 'syscalltbl');
  if (override.found && override.items[0]) table = override.items[0].replace('%', String(src.abiBits)).replace(/^\$\(srctree\)\//, '');
  return { table, abis, files: [table, mkRel] };
}

interface Row {
  nr: number;
  abi: string;
  name: string;
  cols: string[];
}

function parseTable(text: string, file: string): Row[] {
  const rows: Row[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const cols = line.split(/\s+/);
    if (cols.length < 3 || !/^\d+$/.test(cols[0]!)) throw new GenError(`${file}:${i + 1}: not a syscall table row: ${raw}`);
    rows.push({ nr: Number(cols[0]), abi: cols[1]!, name: cols[2]!, cols });
  });
  return rows;
}

/** ARM private calls: `#define __ARM_NR_name (__ARM_NR_BASE+n)`, base 0x0f0000 for EABI. */
function armPrivate(root: string): Map<string, number> {
  const text = read(root, 'arch/arm/include/uapi/asm/unistd.h');
  const base = text.match(/#define\s+__ARM_NR_BASE\s+\(__NR_SYSCALL_BASE\s*\+\s*(0x[0-9a-f]+|\d+)\)/i);
  if (!base) throw new GenError('__ARM_NR_BASE not found in arch/arm/include/uapi/asm/unistd.h');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/#define\s+__ARM_NR_(\w+)\s+\(__ARM_NR_BASE\s*\+\s*(\d+)\)/g)) out.set(m[1]!, Number(base[1]) + Number(m[2]));
  if (out.size === 0) throw new GenError('no __ARM_NR_* calls found in arch/arm/include/uapi/asm/unistd.h');
  return out;
}

/** One generated table: the file name and its exact contents. */
export interface GeneratedTable {
  readonly arch: ArchName;
  readonly file: string;
  readonly json: string;
}

/** Builds every table from the kernel source rooted at `root`; nothing is written. */
export function generateTables(root: string): GeneratedTable[] {
  const version = kernelVersion(root);
  const out: GeneratedTable[] = [];
  for (const [arch, src] of Object.entries(TABLES) as [ArchName, TableSource][]) {
    let table = src.table;
    let abis = src.abis;
    let files = [table];
    if (table === 'generic') ({ table, abis, files } = genericSelection(root, src));
    const entryColumn = src.entryColumn ?? 3;
    const byName = new Map<string, number>();
    const add = (name: string, nr: number, where: string) => {
      const prev = byName.get(name);
      if (prev !== undefined && prev !== nr) throw new GenError(`${where}: ${name} has two numbers on ${arch} (${prev} and ${nr})`);
      byName.set(name, nr);
    };
    const mapNr = (nr: number) => ((nr + (src.offset ?? 0)) | (src.orBit ?? 0)) >>> 0;
    for (const row of parseTable(read(root, table), table)) {
      if (abis && !abis.includes(row.abi)) continue;
      const entry = row.cols[entryColumn];
      if (entry === undefined || entry === '-' || entry === 'sys_ni_syscall') continue;
      add(row.name, mapNr(row.nr), table);
    }
    if (src.armPrivate) {
      for (const [name, nr] of armPrivate(root)) add(name, nr, 'arch/arm/include/uapi/asm/unistd.h');
      files = [...files, 'arch/arm/include/uapi/asm/unistd.h'];
    }
    const added: string[] = [];
    for (const l of LATER_SYSCALLS) {
      const nr = mapNr(l.nr);
      const have = byName.get(l.name);
      if (have === undefined) {
        add(l.name, nr, 'LATER_SYSCALLS');
        added.push(l.name);
      } else if (have !== nr) throw new GenError(`${l.name}: the source says ${have} on ${arch}, LATER_SYSCALLS says ${nr}`);
    }
    // Two names on one number would make number -> name ambiguous; the kernel tables never do it.
    const byNr = new Map<number, string>();
    for (const [name, nr] of byName) {
      if (byNr.has(nr)) throw new GenError(`${arch}: ${byNr.get(nr)} and ${name} share number ${nr}`);
      byNr.set(nr, name);
    }
    const sorted = [...byName].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    let source = `${version} ${files.join(', ')}${abis ? ` (ABIs ${abis.join(',')})` : ''}`;
    if (src.offset) source += `, numbers + ${src.offset}`;
    if (src.orBit) source += `, numbers | 0x${src.orBit.toString(16)}`;
    if (added.length) source += `; plus ${added.join(', ')} (Linux 6.13-${LATER_UP_TO}) from LATER_SYSCALLS`;
    const doc = {
      arch,
      source,
      generated: `do not edit: generated by tools/gen-syscall-tables.ts from the kernel source named above; regenerate with npm run gen:syscalls -- <kernel-source-dir>`,
      syscalls: Object.fromEntries(sorted),
    };
    out.push({ arch, file: `${arch}.json`, json: JSON.stringify(doc, null, 2) + '\n' });
  }
  return out;
}

/** The repository's syscall-tables directory (relative to this file, not the working directory). */
export const TABLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'syscall-tables');

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const rest = argv.filter((a) => a !== '--check');
  if (rest.some((a) => a.startsWith('-')) || rest.length > 1) {
    process.stderr.write('usage: gen-syscall-tables [--check] [<kernel-source-dir>]  (default: $SECCOMP_TS_KERNEL_SRC)\n');
    return 2;
  }
  const root = rest[0] ?? process.env.SECCOMP_TS_KERNEL_SRC;
  if (!root) {
    process.stderr.write('gen-syscall-tables: give the extracted kernel source directory as an argument or in SECCOMP_TS_KERNEL_SRC\n');
    return 2;
  }
  let tables: GeneratedTable[];
  try {
    tables = generateTables(root);
  } catch (e) {
    if (e instanceof GenError) {
      process.stderr.write(`gen-syscall-tables: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  let stale = 0;
  for (const t of tables) {
    const path = join(TABLES_DIR, t.file);
    const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (old === t.json) continue;
    stale++;
    if (check) process.stdout.write(`syscall-tables/${t.file} differs from the generated table\n`);
    else {
      writeFileSync(path, t.json);
      process.stdout.write(`wrote syscall-tables/${t.file} (${Object.keys(JSON.parse(t.json).syscalls).length} syscalls)\n`);
    }
  }
  if (stale === 0) process.stdout.write(`all ${tables.length} tables are up to date\n`);
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
