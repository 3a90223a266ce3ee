/**
 * Child process for exec.test.ts: `node --import tsx _exec-child.ts JSON` where JSON is
 * {program, argv, opts?, preload?}. Prints `pid=N` to stderr first,
 * then replaces itself via execSandboxed (execPreloaded with preload: true). A LaunchError is printed as the CLI would, one line.
 */
import { execSandboxed } from '../../src/launch/exec.js';
import { execPreloaded } from '../../src/launch/exec-preload.js';
import { LaunchError } from '../../src/launch/errors.js';

const { program, argv, opts, preload } = JSON.parse(process.argv[2]);
process.stderr.write(`pid=${process.pid}\n`);
(preload ? execPreloaded : execSandboxed)(program, argv, opts).catch((e: unknown) => {
  if (e instanceof LaunchError) {
    process.stderr.write(`seccomp-ts: ${e.message}\n`);
    process.exit(e.exitStatus ?? 2);
  }
  throw e;
});
