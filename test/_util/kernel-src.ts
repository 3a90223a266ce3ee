/**
 * The Linux source tree for the tests that check generated data against the kernel's own files.
 *
 * SECCOMP_TS_KERNEL_SRC names an extracted tree; otherwise the tarball of Debian's
 * linux-source-6.12 package (found through dpkg, as .ci/run installs it) is unpacked, only the
 * files the generator and the header checks read, into a cache directory under the OS temp dir.
 * Missing source: a visible SKIP outside CI; in CI (CI=true) the caller's tests run and fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI } from './tools.js';

const PACKAGE = 'linux-source-6.12';
/** What the syscall-table generator and the AUDIT_ARCH header check read. */
const WANTED = [
  '*.tbl',
  '*/Makefile',
  '*/Makefile.syscalls',
  '*/Makefile.asm-headers',
  '*/include/uapi/asm/unistd.h',
  '*/include/asm/unistd.h',
  '*/include/uapi/linux/audit.h',
  '*/include/uapi/linux/elf-em.h',
];

let cached: string | undefined | null = null;

function debianTarball(): string | undefined {
  const r = spawnSync('dpkg', ['-L', PACKAGE], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\n').find((l) => /\/linux-source-[\d.]+\.tar\.xz$/.test(l) && existsSync(l));
}

function extract(tarball: string): string | undefined {
  const dest = join(tmpdir(), `seccomp-ts-${PACKAGE}`);
  const done = join(dest, '.complete');
  if (existsSync(done)) return dest;
  const work = `${dest}.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  process.stdout.write(`  extracting the syscall tables and headers from ${PACKAGE} (once)...\n`);
  const r = spawnSync('tar', ['-xJf', tarball, '-C', work, '--strip-components=1', '--wildcards', ...WANTED], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0 || readdirSync(work).length === 0) {
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
  spawnSync('touch', [join(work, '.complete')]);
  rmSync(dest, { recursive: true, force: true });
  renameSync(work, dest);
  return dest;
}

/**
 * The kernel source directory, or undefined when there is none (after printing why). In CI a
 * missing source is reported loudly and undefined is returned: callers must then FAIL, not skip.
 */
export function kernelSource(): string | undefined {
  if (cached !== null) return cached;
  const fromEnv = process.env.SECCOMP_TS_KERNEL_SRC;
  if (fromEnv) return (cached = fromEnv);
  const tarball = debianTarball();
  cached = tarball ? extract(tarball) : undefined;
  if (!cached) {
    process.stdout.write(
      IN_CI
        ? `  ! no kernel source: set SECCOMP_TS_KERNEL_SRC or install ${PACKAGE}; CI=true, so the checks against it fail\n`
        : `  SKIP: no kernel source (set SECCOMP_TS_KERNEL_SRC or apt-get install ${PACKAGE}); checks against the kernel's files skipped\n`,
    );
  }
  return cached;
}
