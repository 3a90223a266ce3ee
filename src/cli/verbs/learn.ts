import { accessSync, constants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { getArch } from '../../arch/index.js';
import { LaunchError } from '../../launch/errors.js';
import { traceCommand } from '../../launch/learn.js';
import { formatLearnedPolicy, learnedNames, parseStraceLog, shellQuote } from '../../policy/learn.js';
import { compile } from '../../policy/filter.js';
import { UsageError } from '../errors.js';
import { parseFlags, writeOutput } from '../io.js';
import { reportFindings } from '../policy-input.js';
import type { Verb } from '../verb.js';
import { splitAtCommand } from './exec.js';

const USAGE = `usage: seccomp-ts learn [-o POLICY] [--after-init | --keep-execve] [--arch A,B] [--] COMMAND [ARG...]

Runs COMMAND once under strace (Debian package strace), following every thread and child
process, and writes an allowlist policy of every system call it made: the syscalls sorted, each
with its call count; everything else kills the process. Without -o the policy goes to standard
output, and COMMAND's standard output to standard error.

  seccomp-ts learn -o myos.yaml -- ./myos
  seccomp-ts exec --policy myos.yaml -- ./myos

Without --after-init the policy covers the whole run from COMMAND's first instruction, as
'seccomp-ts exec' needs (loader and libc start-up included). The execve that starts COMMAND is
left out: exec's launcher lets its own execve through. Launchers that install the filter before
executing COMMAND themselves (bwrap --seccomp FD, systemd) need it: use --keep-execve.

--after-init learns only what COMMAND does after start-up, for the preload object
('seccomp-ts preload', used as LD_PRELOAD=./lib.so COMMAND). Method: COMMAND runs with a marker
object in LD_PRELOAD, built like the preload object (a DT_INIT initializer, run by the loader at
the same point) whose initializer calls write(-1, "seccomp-ts-mark-<random>", 24) -- a call
that fails with EBADF and does nothing, but shows in the trace. A process counts from its first
marker call (in any of its threads: the preload object installs on all threads); a process or
thread created by a counting one counts from its creation. COMMAND must be dynamically linked.

A trace shows one run only: other inputs or options may need more syscalls. Review the list.
The exit status is COMMAND's own (128+N when signal N ended it); the policy is written anyway.
Ctrl-C ends COMMAND, not learn: to learn a server, start it, exercise it, then press Ctrl-C.

Options:
  -o, --output FILE  write the policy to FILE (default: standard output)
  --after-init       learn the calls after start-up, for the preload object (see above)
  --keep-execve      keep the execve that starts COMMAND (for bwrap --seccomp and the like)
  --arch A,B         the policy's architectures (default: those the trace shows, e.g. x86_64)
Needs strace; --after-init needs Linux x86_64.
`;

/** Fail before running anything when -o cannot be written (a missing directory, no permission). */
function checkWritable(file: string): void {
  const d = dirname(file);
  let ok = false;
  try {
    ok = statSync(d).isDirectory();
    if (ok) accessSync(d, constants.W_OK);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`learn: cannot write '${file}': no such directory or permission denied`);
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`learn: cannot write '${file}': it is a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
}

/** `seccomp-ts learn`: run a command under strace and write the allowlist it needs. */
export const learnVerb: Verb = {
  name: 'learn',
  runsCommand: true,
  summary: 'learn an allowlist policy by running a command under strace (whole run, or after start-up)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const [opts, command] = splitAtCommand(argv, new Set(['-o', '--output', '--arch']));
    const { values, positionals } = parseFlags('learn', opts, { output: { type: 'string', short: 'o' }, 'after-init': { type: 'boolean' }, 'keep-execve': { type: 'boolean' }, arch: { type: 'string' } });
    if (positionals.length) throw new UsageError(`learn: unexpected '${positionals[0]}' before the command`);
    if (command.length === 0) throw new UsageError('learn: no command given (usage: seccomp-ts learn [-o POLICY] [--after-init] [--] COMMAND [ARG...])');
    let arches: string[] | undefined;
    if (values.arch !== undefined) {
      const parts = values.arch.split(',').map((s) => s.trim());
      if (parts.some((s) => s === '')) throw new UsageError(`learn: --arch has an empty entry ('${values.arch}')`);
      arches = parts.map((a) => getArch(a).name);
    }
    const afterInit = values['after-init'] === true;
    const keepExec = values['keep-execve'] === true;
    if (afterInit && keepExec) throw new UsageError('learn: --keep-execve goes without --after-init (after start-up, every execve is counted anyway)');
    const toStdout = values.output === undefined || values.output === '-';

    if (!toStdout) checkWritable(values.output!);
    let result;
    try {
      result = await traceCommand(command, { afterInit, stdout: toStdout ? 'stderr' : 'inherit' });
    } catch (e) {
      // Not found / not executable: one line and the shell's status (127 / 126), as exec does.
      if (e instanceof LaunchError && e.exitStatus !== undefined) {
        process.stderr.write(`seccomp-ts: ${e.message}\n`);
        return e.exitStatus;
      }
      throw e;
    }
    if (result.log.trim() === '') {
      throw new LaunchError('EXEC', `learn: strace recorded nothing for ${command[0]} (see its message above; is ptrace allowed here?)`);
    }
    const trace = parseStraceLog(result.log, afterInit ? { marker: result.marker } : { dropInitialExec: !keepExec });
    if (!trace.started) throw new LaunchError('EXEC', `learn: ${command[0]} did not start under strace (see its message above)`);
    if (afterInit && trace.markers === 0) {
      throw new LaunchError('EXEC', `learn: --after-init: ${command[0]} never ran the marker object's initializer (statically linked, or it ignores LD_PRELOAD); learn without --after-init for 'seccomp-ts exec'`);
    }
    const outcome = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
    const cmd = command.map(shellQuote).join(' ');
    const method = afterInit
      ? 'strace -f followed every thread and child process; the command ran with a marker object in LD_PRELOAD whose initializer (run where the preload object installs its filter) calls write(-1, "seccomp-ts-mark-...", 24); only the calls after it count, per process, plus everything of processes and threads created after it.'
      : keepExec
        ? "strace -f followed every thread and child process from the execve that starts the command to its exit (loader and libc start-up included), that execve kept for launchers that install the filter before it."
        : "strace -f followed every thread and child process from the command's first instruction to its exit (loader and libc start-up included); the execve that starts the command is left out, since the seccomp-ts exec launcher lets its own execve through.";
    const use = afterInit
      ? `seccomp-ts preload --policy THIS_FILE -o libsandbox.so, then LD_PRELOAD=./libsandbox.so ${cmd}`
      : keepExec
        ? `seccomp-ts compile THIS_FILE -o filter.bpf, then bwrap --bind / / --dev /dev --proc /proc --seccomp 3 3<filter.bpf ${cmd}`
        : `seccomp-ts exec --policy THIS_FILE -- ${cmd}`;
    const text = formatLearnedPolicy(trace, { command, method, use, outcome, ...(arches ? { architectures: arches } : {}) });
    // Fail before writing anything if the policy does not compile (e.g. --arch without a listed name).
    const filter = compile(text, { file: 'learned policy' });
    reportFindings([], filter.warnings, { source: 'the learned policy', verboseHint: "'seccomp-ts compile -v' lists each" });
    for (const a of trace.syscalls.keys()) {
      if (!filter.arches.includes(a)) process.stderr.write(`seccomp-ts: warning: the run made ${a} calls, but ${a} is not among --arch: the policy kills them\n`);
    }
    for (const u of trace.unnamed) process.stderr.write(`seccomp-ts: warning: syscall number ${u.nr} on ${u.arch} has no name; the policy kills it\n`);
    if (trace.unparsed.length) process.stderr.write(`seccomp-ts: warning: ${trace.unparsed.length} trace lines not understood, e.g. ${JSON.stringify(trace.unparsed[0].text)}\n`);
    writeOutput(values.output ?? '-', text);
    const n = learnedNames(trace).length;
    process.stderr.write(`seccomp-ts: learned ${n} syscalls${afterInit ? ' after start-up' : ''}; ${command[0]} ${outcome}\n`);
    if (result.signal) return 128 + (osConstants.signals[result.signal] ?? 0);
    return result.status ?? 1;
  },
};
