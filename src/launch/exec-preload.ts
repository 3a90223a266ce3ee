/**
 * Run a dynamically linked program with the preload object (preload.ts) in its LD_PRELOAD,
 * without a file on disk: `seccomp-ts exec --preload`. The object goes into a sealed memfd that
 * stays open across the exec, LD_PRELOAD names it as /proc/self/fd/N, and this process execve's
 * the target itself (no launcher stub). The loader maps the object like any preloaded library
 * and runs its initializer after its own start-up, so the filter only has to allow what the
 * program does from then on (the blog's myos: brk exit_group getrandom newfstatat uname write).
 *
 * LD_PRELOAD fails open: when the loader does not load the object, glibc prints at most an
 * "ERROR: ld.so: object ... ignored" line and runs the program unconfined. So everything that
 * can be checked beforehand is, and a target that would not load the object is refused with
 * LaunchError NOT_PRELOADABLE (exit status 126) before anything runs ({@link checkPreloadable}):
 * no program interpreter (statically linked), another ELF class or machine (32-bit i386, x32),
 * a loader other than glibc's, set-user-ID / set-group-ID or file capabilities, or a caller whose
 * real and effective IDs differ (secure-execution mode drops LD_PRELOAD entries with a '/'),
 * anything that is not an ELF program or a #! script, and #! scripts whose interpreter chain ends
 * in such a program. /proc/self/fd/N is opened here before the exec, as the loader will open it
 * after (same process, same mounts).
 *
 * Not checkable here, so documented instead: an LSM that forces secure-execution mode or forbids
 * mapping the memfd executable, or a mapping that fails for lack of memory, still leaves the
 * program unconfined with glibc's ERROR line. The constructors of the program's own shared
 * libraries run before the object's initializer (glibc initializes dependencies first, and the
 * object has none), so they are not confined, nor are those of objects in /etc/ld.so.preload
 * (loaded after LD_PRELOAD's, so initialized before); the program's own constructors and main()
 * are, and so are the constructors of objects already in LD_PRELOAD (the object is put last,
 * which glibc initializes first).
 *
 * The descriptor and LD_PRELOAD are inherited: programs the target executes load the object again
 * and stack a second copy of the filter, so for them the policy must allow prctl and seccomp.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Program } from '../bpf/insn.js';
import { EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC } from './elf.js';
import { LaunchError } from './errors.js';
import { resolveCommand, type ExecOptions } from './exec.js';
import { environStrings, loadLibc, memfdWith, replaceProcess, requireLinuxX64, setCloseOnExec, type Libc } from './libc.js';
import { buildPreload } from './preload.js';

/** Options for {@link execPreloaded}: those of execSandboxed except the launcher's exec gate. */
export type PreloadExecOptions = Omit<ExecOptions, 'otherExec'>;

/** What {@link checkPreloadable} found out about a command that will load the object. */
export interface PreloadTarget {
  /** The files the kernel opens in turn: the command, then each #! interpreter; the last is the ELF program. */
  readonly chain: readonly string[];
  /** That program's loader (its PT_INTERP), which will load the object. */
  readonly loader: string;
}

/** Interpreter levels followed for #! scripts (the kernel allows a few more, then ELOOP). */
const MAX_INTERPRETERS = 4;
/** What the kernel reads of a file to recognise it (BINPRM_BUF_SIZE). */
const HEAD = 256;
/** The loader that is known to honour LD_PRELOAD and run DT_INIT the way preload.ts needs. */
const GLIBC_LOADER = 'ld-linux-x86-64.so.2';

// ELF constants (include/uapi/linux/elf.h), errno values (asm-generic/errno*.h), mode bits (linux/stat.h).
const PT_INTERP = 3;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EM_386 = 3;
const EM_ARM = 40;
const PHDR64_SIZE = 56;
const PATH_MAX = 4096;
const ENODATA = 61;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const EOPNOTSUPP = 95;

/** Whether a file carries file capabilities: its `security.capability` attribute. */
type CapsProbe = (fd: number) => 'none' | 'present' | { errno: number };

/** fgetxattr(fd, "security.capability", NULL, 0): a size when present, ENODATA when not. */
function capsProbe(libc: Libc): CapsProbe {
  return (fd) => {
    const r = libc.call('fgetxattr', 'i64', ['i32', 'string', 'ptr', 'i64'], [fd, 'security.capability', 0n, 0]);
    if (Number(r.value) >= 0) return 'present';
    // No attribute, or a file system without extended attributes (then no capabilities either).
    if (r.errnoCode === ENODATA || r.errnoCode === EOPNOTSUPP) return 'none';
    return { errno: r.errnoCode };
  };
}

/** A refusal: the target would run unconfined. */
function refuse(top: string, subject: string, why: string): LaunchError {
  return new LaunchError('NOT_PRELOADABLE', `${top}: cannot use --preload: ${subject} ${why}, so LD_PRELOAD would not take effect and it would run unconfined; run it without --preload`, 126);
}

function machineName(cls: number, machine: number): string {
  if (cls === ELFCLASS32 && machine === EM_386) return 'a 32-bit i386 program';
  if (cls === ELFCLASS32 && machine === EM_X86_64) return 'an x32 program';
  if (cls === ELFCLASS32 && machine === EM_ARM) return 'a 32-bit Arm program';
  if (cls === ELFCLASS64 && machine === EM_AARCH64) return 'an aarch64 program';
  return `an ELF program for machine ${machine} (${cls === ELFCLASS32 ? '32' : cls === ELFCLASS64 ? '64' : '?'}-bit)`;
}

/** The interpreter of a #! line as the kernel finds it (fs/binfmt_script.c), or undefined. */
function shebangInterpreter(head: Buffer): string | undefined {
  const nl = head.indexOf(0x0a);
  const end = nl >= 0 ? nl : Math.min(head.length, HEAD - 1);
  const line = head.subarray(2, end).toString('latin1');
  const m = /^[ \t]*([^ \t\0]+)([ \t\0]?)/.exec(line);
  if (!m) return undefined;
  // Without a newline, a name running to the end of the buffer may be truncated: ENOEXEC.
  if (nl < 0 && m[2] === '') return undefined;
  return m[1];
}

/** Read up to `length` bytes at `position`. */
function readAt(fd: number, length: number, position: number): Buffer {
  const b = Buffer.alloc(length);
  let n = 0;
  while (n < length) {
    const got = readSync(fd, b, n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return b.subarray(0, n);
}

/** Check one ELF program that the kernel would run (see the module comment); returns its loader. */
function checkElf(fd: number, head: Buffer, top: string, subject: string, probe: CapsProbe): string {
  const cls = head[4];
  const machine = head.length >= 20 ? head.readUInt16LE(18) : -1;
  if (head.length < 64 || cls !== ELFCLASS64 || head[5] !== ELFDATA2LSB || machine !== EM_X86_64) {
    const known = head.length >= 20 && (cls === ELFCLASS32 || cls === ELFCLASS64) && head[5] === ELFDATA2LSB;
    throw refuse(top, subject, known ? `is ${machineName(cls, machine)}, and its loader would skip the x86_64 object` : 'is not a little-endian x86_64 ELF file');
  }
  const type = head.readUInt16LE(16);
  if (type !== ET_EXEC && type !== ET_DYN) throw refuse(top, subject, `is not an ELF program (e_type ${type})`);
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  // The kernel's own limit: the program headers fit in 64 KiB.
  if (phentsize !== PHDR64_SIZE || phnum === 0 || phnum * PHDR64_SIZE > 65536) throw refuse(top, subject, 'has unusual program headers that are not checked here');
  const ph = readAt(fd, phnum * PHDR64_SIZE, phoff);
  if (ph.length < phnum * PHDR64_SIZE) throw refuse(top, subject, 'is truncated (program headers missing)');
  let loader: string | undefined;
  for (let i = 0; i < phnum && loader === undefined; i++) {
    const o = i * PHDR64_SIZE;
    if (ph.readUInt32LE(o) !== PT_INTERP) continue;
    const off = Number(ph.readBigUInt64LE(o + 8));
    const size = Number(ph.readBigUInt64LE(o + 32));
    if (size < 2 || size > PATH_MAX) throw refuse(top, subject, 'has a malformed program interpreter entry');
    const s = readAt(fd, size, off);
    if (s.length !== size || s[size - 1] !== 0) throw refuse(top, subject, 'has a malformed program interpreter entry');
    loader = s.subarray(0, size - 1).toString('latin1');
  }
  if (loader === undefined) throw refuse(top, subject, 'has no program interpreter (statically linked)');
  if (basename(loader) !== GLIBC_LOADER) throw refuse(top, subject, `is loaded by ${loader.replace(/[^\x20-\x7e]/g, '?')}, not glibc's ${GLIBC_LOADER} (the only loader --preload is checked with)`);
  const st = fstatSync(fd);
  if (st.mode & (S_ISUID | S_ISGID)) {
    throw refuse(top, subject, `is set-${st.mode & S_ISUID ? 'user' : 'group'}-ID (secure-execution mode)`);
  }
  const caps = probe(fd);
  if (caps === 'present') throw refuse(top, subject, "has file capabilities (secure-execution mode)");
  if (caps !== 'none') throw refuse(top, subject, `may have file capabilities (reading security.capability failed: errno ${caps.errno})`);
  return loader;
}

/** {@link checkPreloadable} with the capability probe given. */
function inspect(path: string, probe: CapsProbe): PreloadTarget {
  // The kernel also asks for secure execution when the caller's effective IDs are not its real ones.
  if (process.getuid?.() !== process.geteuid?.() || process.getgid?.() !== process.getegid?.()) {
    throw refuse(path, 'this process', 'has different real and effective user or group IDs (secure-execution mode)');
  }
  const chain: string[] = [];
  for (let file = path; ; ) {
    chain.push(file);
    const subject = chain.length === 1 ? 'it' : `its #! interpreter ${file}`;
    let fd: number;
    try {
      if (chain.length > 1 && !statSync(file).isFile()) throw new Error('not a regular file');
      // O_NONBLOCK: a FIFO named as an interpreter must not hang the check.
      fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (chain.length > 1 && (code === 'ENOENT' || code === 'ENOTDIR' || !code)) {
        throw new LaunchError('NOT_EXECUTABLE', `${path}: bad interpreter ${file}: no such executable file`, 126);
      }
      throw refuse(path, subject, `cannot be read to check it (${code ?? (e as Error).message})`);
    }
    try {
      const head = readAt(fd, HEAD, 0);
      if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return { chain, loader: checkElf(fd, head, path, subject, probe) };
      if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) throw refuse(path, subject, 'is neither an ELF program nor a #! script');
      const interp = shebangInterpreter(head);
      if (interp === undefined) throw new LaunchError('NOT_EXECUTABLE', `${file}: the #! line names no usable interpreter`, 126);
      if (chain.length > MAX_INTERPRETERS) throw refuse(path, subject, `starts a chain of more than ${MAX_INTERPRETERS} #! interpreters`);
      file = interp; // relative names are relative to the working directory, as for the kernel
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Check that the kernel would start `path` (a resolved command) in a way that loads an
 * LD_PRELOAD object: follows #! interpreters (up to 4 levels) to the ELF program and checks that
 * it is an x86_64 ELF64 program with glibc's loader, not set-user/group-ID and without file
 * capabilities. Throws LaunchError NOT_PRELOADABLE (exit status 126), one line, otherwise;
 * NOT_EXECUTABLE for a #! line naming no existing interpreter. Linux x86_64 only (file
 * capabilities are read through libc).
 */
export async function checkPreloadable(path: string): Promise<PreloadTarget> {
  requireLinuxX64('--preload');
  return inspect(path, capsProbe(await loadLibc()));
}

/**
 * The environment with `object` added to LD_PRELOAD: after the entries already there, because
 * glibc runs the initializers of preloaded objects last-first, so the filter is in place before
 * the others' constructors run (the object defines no symbols, so its place changes no lookup).
 */
export function withPreload(envp: readonly string[], object: string): string[] {
  const i = envp.findIndex((s) => s.startsWith('LD_PRELOAD='));
  if (i < 0) return [...envp, `LD_PRELOAD=${object}`];
  const own = envp[i].slice('LD_PRELOAD='.length);
  const out = [...envp];
  out[i] = `LD_PRELOAD=${/[^ :]/.test(own) ? `${own}:` : ''}${object}`;
  return out;
}

/**
 * Replace this process with `argv` running under `program`, installed by the preload object
 * after the loader's start-up (see the module comment). Resolves the command (LaunchError
 * NOT_FOUND 127 / NOT_EXECUTABLE 126) and checks it with {@link checkPreloadable}
 * (NOT_PRELOADABLE 126) before anything runs; never returns on success. The object's descriptor
 * stays open in the program (the loader opens it by path after the exec, so it cannot be
 * close-on-exec); it is read-only and sealed. The inherited state is restored as by
 * execSandboxed. Linux x86_64 only.
 */
export async function execPreloaded(program: Program, argv: readonly string[], opts: PreloadExecOptions = {}): Promise<never> {
  requireLinuxX64('--preload');
  if (argv.length === 0) throw new LaunchError('NOT_FOUND', 'no command to run', 127);
  const target = resolveCommand(argv[0], opts.path ?? process.env.PATH);
  const targetArgv = [opts.argv0 ?? argv[0], ...argv.slice(1)];
  const envp = environStrings(opts.env ?? process.env, targetArgv);
  const object = buildPreload(program);
  const libc = await loadLibc();
  inspect(target, capsProbe(libc));

  // Written through a read-write descriptor, passed on as a read-only one: reopening it through
  // /proc/self/fd also proves that the loader will find it there.
  const rw = memfdWith(libc, 'seccomp-ts-preload', object, false, 'the preload object');
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${rw}`, 'r');
  } catch (e) {
    throw new LaunchError('UNSUPPORTED', `cannot open the preload object as /proc/self/fd/${rw} (${(e as { code?: string }).code ?? (e as Error).message}); the loader could not either, and the program would run unconfined`);
  } finally {
    closeSync(rw);
  }
  const path = `/proc/self/fd/${fd}`;
  const same = fstatSync(fd);
  const seen = statSync(path);
  const problem = seen.ino !== same.ino || seen.dev !== same.dev ? 'does not lead to the preload object here' : !setCloseOnExec(libc, fd, false) ? 'cannot be kept open across the exec' : undefined;
  if (problem !== undefined) {
    closeSync(fd);
    throw new LaunchError('UNSUPPORTED', `${path} ${problem}; the program would run unconfined`);
  }
  const errno = replaceProcess(libc, { path: target }, targetArgv, withPreload(envp, path));
  closeSync(fd);
  throw new LaunchError('EXEC', `cannot execute ${target}: errno ${errno}`, errno === 2 ? 127 : 126);
}
