/**
 * Test helpers for external tools and shared fixtures.
 *
 * A test that needs a Debian tool calls `needTool('strace')` at module level:
 * - the tool is there: returns true, run the test;
 * - missing and CI=true: returns true anyway, so the test runs and fails loudly (CI must install it);
 * - missing outside CI: prints a visible SKIP line and returns false; register the test with test.skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IN_CI = process.env.CI === 'true';

const cache = new Map<string, boolean>();

/** Whether `cmd` runs (checked once with `command -v`). */
export function haveCommand(cmd: string): boolean {
  if (!cache.has(cmd)) cache.set(cmd, spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0);
  return cache.get(cmd)!;
}

/** See the module comment. `what` names the Debian package for the message. */
export function needTool(cmd: string, debianPackage = cmd): boolean {
  if (haveCommand(cmd)) return true;
  if (IN_CI) {
    process.stdout.write(`  ! ${cmd} is missing (Debian package ${debianPackage}); CI=true, so the tests that need it will fail\n`);
    return true;
  }
  process.stdout.write(`  SKIP: ${cmd} not found (apt-get install ${debianPackage}); tests that need it are skipped\n`);
  return false;
}

/** Whether Debian's python3 can import the libseccomp binding (python3-seccomp). */
export function havePythonSeccomp(): boolean {
  const key = 'python3-seccomp';
  if (!cache.has(key)) cache.set(key, spawnSync('/usr/bin/python3', ['-c', 'import seccomp'], { stdio: 'ignore' }).status === 0);
  return cache.get(key)!;
}

/** Like needTool, for the libseccomp Python binding. */
export function needPythonSeccomp(): boolean {
  if (havePythonSeccomp()) return true;
  if (IN_CI) {
    process.stdout.write('  ! /usr/bin/python3 cannot import seccomp (Debian package python3-seccomp); CI=true, so these tests will fail\n');
    return true;
  }
  process.stdout.write('  SKIP: /usr/bin/python3 cannot import seccomp (apt-get install python3-seccomp); libseccomp comparisons skipped\n');
  return false;
}

/** Path of a file in ../shared/fixtures, or undefined (with a visible SKIP line) when shared/ is absent. */
export function sharedFixture(name: string): string | undefined {
  const p = join(ROOT, '..', 'shared', 'fixtures', name);
  if (existsSync(p)) return p;
  process.stdout.write(`  SKIP: ../shared/fixtures/${name} is absent; the cases that read it are skipped\n`);
  return undefined;
}

/** A seed for random tests: SEED from the environment, else a fresh one; printed so a failure can be replayed. */
export function testSeed(label: string): number {
  const s = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`  ${label}: SEED=${s}\n`);
  return s;
}

/** A small deterministic PRNG (mulberry32) for reproducible random tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
