/**
 * Helpers for the launch tests: hand-written allowlist filters (independent of the policy
 * compiler), gcc-built helper programs in a temp dir, and writing generated ELF files.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syscallNumber } from '../../src/arch/index.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W } from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS } from '../../src/bpf/seccomp.js';
import { ROOT } from '../_util/tools.js';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
const LD_W_ABS = BPF_LD | BPF_W | BPF_ABS;
const JEQ = BPF_JMP | BPF_JEQ | BPF_K;
const RET = BPF_RET | BPF_K;

/** The x86_64 number of a syscall name (throws for an unknown name, so a typo cannot pass). */
export function nr(name: string): number {
  const n = syscallNumber('x86_64', name);
  if (n === undefined) throw new Error(`unknown x86_64 syscall ${name}`);
  return n;
}

/** Allow exactly `names` on x86_64; everything else (and other arches) -> `deny` (default kill_process). */
export function allowlist(names: readonly string[], deny = SECCOMP_RET_KILL_PROCESS): Instruction[] {
  const n = names.length;
  const p = [stmt(LD_W_ABS, 4), jump(JEQ, AUDIT_ARCH_X86_64, 0, n + 1), stmt(LD_W_ABS, 0)];
  names.forEach((s, i) => p.push(jump(JEQ, nr(s), n - i, 0)));
  p.push(stmt(RET, deny), stmt(RET, SECCOMP_RET_ALLOW));
  return p;
}

/** Deny exactly `names` with `action`; allow the rest. */
export function denylist(names: readonly string[], action: number): Instruction[] {
  const n = names.length;
  const p = [stmt(LD_W_ABS, 0)];
  names.forEach((s, i) => p.push(jump(JEQ, nr(s), n - i, 0)));
  p.push(stmt(RET, SECCOMP_RET_ALLOW), stmt(RET, action));
  return p;
}

/** The program that allows everything. */
export const ALLOW_ALL: Instruction[] = [stmt(RET, SECCOMP_RET_ALLOW)];

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the test process exits. */
export function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `seccomp-ts-${label}-`));
  made.push(d);
  return d;
}

/** Write an executable file. */
export function writeExecutable(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  chmodSync(path, 0o755);
  return path;
}

/** The blog's myos.c. */
export const MYOS_C = `#include <stdio.h>
#include <sys/utsname.h>

int main(void)
{
    struct utsname name;

    if (uname(&name)) {
        perror("uname failed: ");
        return 1;
    }

    printf("My OS is %s!\\n", name.sysname);
    return 0;
}
`;

/** Compile C source with gcc into dir/name; throws with gcc's output on failure. */
export function gcc(dir: string, name: string, source: string, flags: readonly string[] = []): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const r = spawnSync('gcc', ['-O1', '-o', out, src, ...flags], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${name} failed: ${r.stderr}`);
  return out;
}

/**
 * Run _exec-child.ts, which replaces itself with `spec.argv` (execSandboxed, or execPreloaded
 * with `preload: true`). Returns the result with the child's pid (its first stderr line) and the
 * rest of its stderr.
 */
export function execChild(spec: { program: Instruction[]; argv: string[]; opts?: object; preload?: boolean }, options: Omit<SpawnSyncOptionsWithStringEncoding, 'encoding'>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'launch', '_exec-child.ts'), JSON.stringify(spec)], { cwd: ROOT, ...options, encoding: 'utf8' });
  const [first, ...rest] = r.stderr.split('\n');
  const m = /^pid=(\d+)$/.exec(first);
  if (!m) throw new Error(`child did not start: ${r.stderr}`);
  return { ...r, pid: Number(m[1]), stderr: rest.join('\n') };
}
