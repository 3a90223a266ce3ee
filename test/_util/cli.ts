/**
 * Running the built CLI (dist/cli.js; the test runner builds it, by hand: npx tsup) from tests,
 * and the check that bad input gives one line on stderr with exit status 2.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ROOT } from './tools.js';

/** The built CLI. */
export const CLI = join(ROOT, 'dist', 'cli.js');

/** What one run of the CLI printed and returned. */
export interface CliRun {
  readonly status: number | null;
  readonly out: string;
  readonly bytes: Buffer;
  readonly err: string;
}

/** Run `seccomp-ts ARGS...` with optional standard input. */
export function runCli(args: readonly string[], input?: string | Buffer, timeout = 60000): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, timeout });
  return { status: r.status, out: r.stdout.toString('utf8'), bytes: r.stdout, err: r.stderr.toString('utf8') };
}

/** Asserts exit status 2, nothing on stdout, one `seccomp-ts: ...` line on stderr matching `pattern`, no stack trace. */
export function failsOneLine(args: readonly string[], pattern: RegExp, input?: string | Buffer): void {
  const r = runCli(args, input);
  assert.is(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.err}`);
  assert.is(r.out, '', `${args.join(' ')}: nothing on stdout`);
  assert.match(r.err, /^seccomp-ts: [^\n]+\n$/, `${args.join(' ')}: one stderr line, got ${JSON.stringify(r.err)}`);
  assert.match(r.err, pattern);
  assert.not.match(r.err, /internal error|    at /);
}
