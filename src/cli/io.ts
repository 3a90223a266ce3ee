/**
 * Shared CLI helpers: flag parsing with one-line errors, reading input files, strict number
 * parsing, loading a filter from a blob or text, and the compact JSON the CLI prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { getArch, hostArch, type Arch } from '../arch/index.js';
import { checkedArches, decode, assembleWithInfo, opInfo, type Endian, type Instruction } from '../bpf/index.js';
import { archSymbols, primaryArch } from '../symbols.js';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs (strict, positionals allowed) with errors turned into one-line UsageErrors naming the verb. */
export function parseFlags<O extends Options>(verb: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const opt = e instanceof Error ? /'([^']+)'/.exec(e.message)?.[1] : undefined;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) throw new UsageError(`${verb}: unknown option '${opt}' (see seccomp-ts ${verb} --help)`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt && /ambiguous/.test(String(e))) {
      throw new UsageError(`${verb}: the value of '${opt}' starts with '-' (write ${opt}=VALUE if that is meant)`);
    }
    throw new UsageError(`${verb}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/** Exactly one FILE operand, or a UsageError. */
export function oneFile(verb: string, positionals: string[]): string {
  if (positionals.length === 0) throw new UsageError(`${verb}: missing FILE operand (use - for standard input)`);
  if (positionals.length > 1) throw new UsageError(`${verb}: expected one FILE operand, got ${positionals.length}`);
  return positionals[0];
}

/** The bytes of FILE (`-` = standard input), with a one-line error for the usual failures. */
export function readInput(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === 'ENOENT' ? 'no such file' :
      code === 'EISDIR' ? 'it is a directory' :
      code === 'EACCES' || code === 'EPERM' ? 'permission denied' :
      e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`cannot read ${file === '-' ? 'standard input' : `'${file}'`}: ${why}`);
  }
}

/** Write bytes to FILE (`-` = standard output), with a one-line error. */
export function writeOutput(file: string, data: Uint8Array | string): void {
  try {
    if (file === '-') process.stdout.write(data);
    else writeFileSync(file, data);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    throw new UsageError(`cannot write '${file}': ${why}`);
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** An unsigned integer given in decimal or 0x hex, up to `max` (default 2^64-1); anything else is a UsageError. */
export function parseUnsigned(text: string, what: string, max: bigint = U64_MAX): bigint {
  const s = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new UsageError(`${what}: '${text}' is not a number (decimal or 0x hex, no sign)`);
  const v = BigInt(s);
  if (v > max) throw new UsageError(`${what}: ${text} is larger than the maximum ${max === U64_MAX ? '2^64-1' : `0x${max.toString(16)}`}`);
  return v;
}

/** The --arch flag as an Arch, or undefined. */
export function archFlag(value: string | undefined): Arch | undefined {
  return value === undefined ? undefined : getArch(value);
}

/** The --endian flag, checked. */
export function endianFlag(verb: string, value: string | undefined): Endian | undefined {
  if (value === undefined || value === 'little' || value === 'big') return value;
  throw new UsageError(`${verb}: --endian must be 'little' or 'big', not '${value}'`);
}

/** The --format flag, checked. */
export function formatFlag(verb: string, value: string | undefined): 'bin' | 'text' | undefined {
  if (value === undefined || value === 'bin' || value === 'text') return value;
  throw new UsageError(`${verb}: --format must be 'bin' or 'text', not '${value}'`);
}

/**
 * Whether input looks like text assembly rather than a sock_filter blob: valid UTF-8 without
 * NUL or other control bytes. Real filters almost always contain NUL bytes (small opcodes, jt/jf 0).
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) {
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return false;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** How many instructions have an opcode of the table; used to guess a blob's byte order. */
function knownOpcodes(program: readonly Instruction[]): number {
  return program.filter((i) => opInfo(i.code) !== undefined).length;
}

/**
 * The byte order of a blob when neither --endian nor --arch says: the order in which the arches
 * it checks are known ABIs of that order; else the one with more valid opcodes; else the host's.
 */
function guessEndian(bytes: Uint8Array): Endian {
  const host = archSymbols.endian(undefined);
  const other: Endian = host === 'little' ? 'big' : 'little';
  const score = (e: Endian): number => {
    let p: Instruction[];
    try {
      p = decode(bytes, e);
    } catch {
      return -1;
    }
    const arches = checkedArches(p).map((a) => primaryArch(a));
    const archOk = arches.length > 0 && arches.every((a) => a !== undefined && a.endian === e);
    return (archOk ? 1_000_000 : 0) + knownOpcodes(p);
  };
  return score(other) > score(host) ? other : host;
}

/** A loaded filter with the arch and byte order it was read for. */
export interface LoadedProgram {
  readonly program: Instruction[];
  readonly endian: Endian;
  /** --arch, else the single arch the filter checks, else the host's (undefined if unsupported). */
  readonly arch: number | undefined;
  readonly format: 'bin' | 'text';
}

/**
 * Read a filter from FILE: a sock_filter blob, or text assembly (auto-detected unless `format`).
 * Byte order: --endian, else the arch's, else guessed from the blob.
 */
export function loadProgram(file: string, o: { arch?: Arch; endian?: Endian; format?: 'bin' | 'text'; bytes?: Uint8Array }): LoadedProgram {
  // `bytes`: the file's content when the caller has read it already (standard input reads once).
  const bytes = o.bytes ?? readInput(file);
  const format = o.format ?? (looksLikeText(bytes) ? 'text' : 'bin');
  const fallbackArch = hostArch()?.auditArch;
  if (format === 'text') {
    const r = assembleWithInfo(new TextDecoder().decode(bytes), { symbols: archSymbols, defaultArch: o.arch?.auditArch, fallbackArch, endian: o.endian });
    return { program: r.program, endian: r.endian, arch: r.arch, format };
  }
  const endian = o.endian ?? o.arch?.endian ?? guessEndian(bytes);
  const program = decode(bytes, endian);
  const checked = checkedArches(program);
  const arch = o.arch?.auditArch ?? (checked.length === 1 ? checked[0] : fallbackArch);
  return { program, endian, arch, format };
}

/** JSON with a space after ':' and ',' on one line, e.g. `{"action": "errno", "data": 1}`. */
export function compactJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(compactJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${compactJson(x)}`).join(', ')}}`;
  }
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? 'null';
}
