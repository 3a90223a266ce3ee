/**
 * Child process for exec.test.ts: `node --import tsx _exec-child.ts JSON` where JSON is
 * {program, argv, opts?}. Prints `pid=N` to stderr first,
 * then replaces itself via execSandboxed. A LaunchError is printed as the CLI would, one line.
 */
import { execSandboxed } from '../../src/launch/exec.js';
import { LaunchError } from '../../src/launch/errors.js';

const { program, argv, opts } = JSON.parse(process.argv[2]);
process.stderr.write(`pid=${process.pid}\n`);
execSandboxed(program, argv, opts).catch((e: unknown) => {
  if (e instanceof LaunchError) {
    process.stderr.write(`seccomp-ts: ${e.message}\n`);
    process.exit(e.exitStatus ?? 2);
  }
  throw e;
});
