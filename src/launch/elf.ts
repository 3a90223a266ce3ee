/**
 * Minimal ELF64 little-endian writers: just the headers Linux's binfmt_elf and glibc's ld.so
 * read. No section headers (neither the kernel nor the loader needs them; `e_shnum` = 0).
 *
 * The caller lays out the file image itself: it reserves {@link elfHeadersSize} bytes at offset 0
 * (where the ELF header and program headers go), places code and data after them, and describes
 * the segments. For position-independent output, virtual addresses equal file offsets.
 */
import { LaunchError } from './errors.js';

/** e_type of a fixed-address executable. */
export const ET_EXEC = 2;
/** e_type of a position-independent executable or shared object. */
export const ET_DYN = 3;
/** e_machine of x86_64. */
export const EM_X86_64 = 62;
/** e_machine of aarch64. */
export const EM_AARCH64 = 183;

/** p_type of a segment the kernel or loader maps. */
export const PT_LOAD = 1;
/** p_type of the dynamic section's segment. */
export const PT_DYNAMIC = 2;
/** p_type saying whether the stack must be executable (flags RW: it need not). */
export const PT_GNU_STACK = 0x6474e551;
/** p_flags: executable. */
export const PF_X = 1;
/** p_flags: writable. */
export const PF_W = 2;
/** p_flags: readable. */
export const PF_R = 4;

/** d_tag: end of the dynamic section. */
export const DT_NULL = 0;
/** d_tag: address of the SysV symbol hash table. */
export const DT_HASH = 4;
/** d_tag: address of the dynamic string table. */
export const DT_STRTAB = 5;
/** d_tag: address of the dynamic symbol table. */
export const DT_SYMTAB = 6;
/** d_tag: size of the string table. */
export const DT_STRSZ = 10;
/** d_tag: size of one symbol entry (24 for ELF64). */
export const DT_SYMENT = 11;
/** d_tag: address of the initializer the loader calls (relocated by the loader itself). */
export const DT_INIT = 12;
/** d_tag: string-table offset of the object's soname. */
export const DT_SONAME = 14;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** Page size assumed for segment alignment (x86_64 and aarch64 4K kernels; 64K aarch64 kernels need PAGE = 65536). */
export const PAGE = 0x1000;

/** One program header. */
export interface ProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

/** What {@link writeElfHeaders} writes. */
export interface ElfSpec {
  readonly type: typeof ET_EXEC | typeof ET_DYN;
  readonly machine: number;
  /** Entry point virtual address (0 for a shared object without one). */
  readonly entry: number;
  readonly phdrs: readonly ProgramHeader[];
}

/** Bytes taken by the ELF header plus `phnum` program headers. */
export function elfHeadersSize(phnum: number): number {
  return EHDR_SIZE + PHDR_SIZE * phnum;
}

/**
 * Write the ELF header and program headers at the start of `image` (which must already contain
 * the segments' bytes after the reserved header area). Checks what the kernel would reject:
 * segments outside the file, offset/vaddr not congruent modulo their alignment.
 */
export function writeElfHeaders(image: Uint8Array, spec: ElfSpec): Uint8Array {
  const need = elfHeadersSize(spec.phdrs.length);
  if (image.length < need) throw new LaunchError('INTERNAL', `ELF image of ${image.length} bytes has no room for ${need} bytes of headers`);
  for (const p of spec.phdrs) {
    if (p.offset + p.filesz > image.length) throw new LaunchError('INTERNAL', `ELF segment at offset ${p.offset} runs past the end of the ${image.length}-byte file`);
    if (p.memsz < p.filesz) throw new LaunchError('INTERNAL', 'ELF segment memsz < filesz');
    if (p.align > 1 && (p.offset - p.vaddr) % p.align !== 0) throw new LaunchError('INTERNAL', `ELF segment offset 0x${p.offset.toString(16)} and vaddr 0x${p.vaddr.toString(16)} differ modulo its alignment`);
  }
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u64 = (o: number, x: number) => v.setBigUint64(o, BigInt(x), true);
  // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, ABI version 0, padding.
  image.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0);
  v.setUint16(16, spec.type, true);
  v.setUint16(18, spec.machine, true);
  v.setUint32(20, 1, true); // e_version
  u64(24, spec.entry);
  u64(32, spec.phdrs.length ? EHDR_SIZE : 0); // e_phoff
  u64(40, 0); // e_shoff: no section headers
  v.setUint32(48, 0, true); // e_flags
  v.setUint16(52, EHDR_SIZE, true);
  v.setUint16(54, PHDR_SIZE, true);
  v.setUint16(56, spec.phdrs.length, true);
  v.setUint16(58, 64, true); // e_shentsize (conventional even with no sections)
  v.setUint16(60, 0, true); // e_shnum
  v.setUint16(62, 0, true); // e_shstrndx
  spec.phdrs.forEach((p, i) => {
    const o = EHDR_SIZE + i * PHDR_SIZE;
    v.setUint32(o, p.type, true);
    v.setUint32(o + 4, p.flags, true);
    u64(o + 8, p.offset);
    u64(o + 16, p.vaddr);
    u64(o + 24, p.vaddr); // p_paddr
    u64(o + 32, p.filesz);
    u64(o + 40, p.memsz);
    u64(o + 48, p.align);
  });
  return image;
}

/** A PT_GNU_STACK header asking for a non-executable stack (without it glibc assumes an executable one). */
export function gnuStack(): ProgramHeader {
  return { type: PT_GNU_STACK, flags: PF_R | PF_W, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 };
}

/**
 * The dynamic-linking tables of a shared object that exports no symbols: `.dynsym` with only
 * the null symbol, `.dynstr`, a SysV `.hash` with one empty bucket, given the addresses where the
 * caller will place them. glibc's loader wants DT_STRTAB, DT_SYMTAB and a hash table even when
 * nothing is looked up.
 */
export interface DynamicTables {
  readonly dynsym: Uint8Array;
  readonly dynstr: Uint8Array;
  readonly hash: Uint8Array;
  /** Offset of the soname inside dynstr (0 when none). */
  readonly sonameOffset: number;
}

/** Build {@link DynamicTables} for an optional soname. */
export function dynamicTables(soname?: string): DynamicTables {
  const name = soname ? new TextEncoder().encode(soname) : new Uint8Array(0);
  const dynstr = new Uint8Array(1 + name.length + (soname ? 1 : 0));
  dynstr.set(name, 1);
  const dynsym = new Uint8Array(24); // Elf64_Sym index 0: all zero
  const hash = new Uint8Array(16);
  const hv = new DataView(hash.buffer);
  hv.setUint32(0, 1, true); // nbucket
  hv.setUint32(4, 1, true); // nchain = number of symbols
  // bucket[0] = 0 and chain[0] = 0: every lookup ends at the null symbol.
  return { dynsym, dynstr, hash, sonameOffset: soname ? 1 : 0 };
}

/** Encode a dynamic section (pairs of u64 tag/value), terminated by DT_NULL. */
export function dynamicSection(entries: readonly (readonly [number, number])[]): Uint8Array {
  const all = [...entries, [DT_NULL, 0] as const];
  const out = new Uint8Array(16 * all.length);
  const v = new DataView(out.buffer);
  all.forEach(([tag, val], i) => {
    v.setBigInt64(16 * i, BigInt(tag), true);
    v.setBigUint64(16 * i + 8, BigInt(val), true);
  });
  return out;
}

/** Round `n` up to a multiple of `a`. */
export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** What the shared-object helpers need of a code assembler (X64 and A64 both provide it). */
export interface ImageAssembler {
  readonly origin: number;
  readonly here: number;
  align(n: number): unknown;
  label(name: string): unknown;
  bytes(data: ArrayLike<number>): unknown;
  addressOf(name: string): number;
  assemble(): Uint8Array;
}

/** Program headers a shared object needs, for `elfHeadersSize`: two PT_LOAD, PT_DYNAMIC, PT_GNU_STACK. */
export const SHARED_OBJECT_PHNUM = 4;

/**
 * Start a shared object that exports nothing (the preload and marker objects): place the dynamic
 * symbol, hash and string tables, then define the label `init` (16-aligned) where the caller
 * emits the DT_INIT function, its data and anything else of the read-only executable segment.
 */
export function beginSharedObject(a: ImageAssembler, tables: DynamicTables): void {
  a.align(8);
  a.label('dynsym');
  a.bytes(tables.dynsym);
  a.label('hash');
  a.bytes(tables.hash);
  a.label('dynstr');
  a.bytes(tables.dynstr);
  a.align(16);
  a.label('init');
}

/**
 * Finish a shared object begun with {@link beginSharedObject}: everything emitted so far is the
 * R+X segment; the dynamic section (DT_INIT = `init`) goes in a writable segment on the next
 * `page` boundary, since glibc may adjust its entries in place. Returns the whole image.
 */
export function finishSharedObject(a: ImageAssembler, tables: DynamicTables, machine: number, page: number): Uint8Array {
  const textEnd = a.here;
  a.align(page);
  const dynStart = a.here;
  const dynamic = dynamicSection([
    [DT_HASH, a.addressOf('hash')],
    [DT_STRTAB, a.addressOf('dynstr')],
    [DT_SYMTAB, a.addressOf('dynsym')],
    [DT_STRSZ, tables.dynstr.length],
    [DT_SYMENT, 24],
    [DT_SONAME, tables.sonameOffset],
    [DT_INIT, a.addressOf('init')],
  ]);
  a.bytes(dynamic);
  const code = a.assemble();
  const image = new Uint8Array(a.origin + code.length);
  image.set(code, a.origin);
  return writeElfHeaders(image, {
    type: ET_DYN,
    machine,
    entry: 0,
    phdrs: [
      { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0, filesz: textEnd, memsz: textEnd, align: page },
      { type: PT_LOAD, flags: PF_R | PF_W, offset: dynStart, vaddr: dynStart, filesz: dynamic.length, memsz: alignUp(dynamic.length, 8), align: page },
      { type: PT_DYNAMIC, flags: PF_R | PF_W, offset: dynStart, vaddr: dynStart, filesz: dynamic.length, memsz: dynamic.length, align: 8 },
      gnuStack(),
    ],
  });
}

/**
 * Finish a position-independent launcher executable: everything emitted so far (entry label
 * `_start`) is the R+X segment; `data` (the filter, which the launcher patches before loading it)
 * goes in a writable segment on the next `page` boundary, labelled `filter`. Returns the image.
 */
export function finishExecutable(a: ImageAssembler, data: Uint8Array, machine: number, page: number): Uint8Array {
  const textEnd = a.here;
  a.align(page);
  a.label('filter');
  a.bytes(data);
  const code = a.assemble();
  const image = new Uint8Array(a.origin + code.length);
  image.set(code, a.origin);
  const dataStart = a.addressOf('filter');
  return writeElfHeaders(image, {
    type: ET_DYN,
    machine,
    entry: a.addressOf('_start'),
    phdrs: [
      { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0, filesz: textEnd, memsz: textEnd, align: page },
      { type: PT_LOAD, flags: PF_R | PF_W, offset: dataStart, vaddr: dataStart, filesz: data.length, memsz: alignUp(data.length, 8), align: page },
      gnuStack(),
    ],
  });
}
