import { LaunchError } from '../../launch/errors.js';
import { execSandboxed, resolveCommand } from '../../launch/exec.js';
import { checkPreloadable, execPreloaded } from '../../launch/exec-preload.js';
import type { OtherExec } from '../../launch/wrap.js';
import { policyFromEnv, policyFromLists } from '../../policy/env.js';
import { compile, type Filter } from '../../policy/filter.js';
import type { Policy } from '../../policy/types.js';
import { UsageError } from '../errors.js';
import { parseFlags } from '../io.js';
import { readPolicy, reportFindings, type PolicyText } from '../policy-input.js';
import type { Verb } from '../verb.js';

/** The policy options `exec` and `preload` share, for their usage texts. */
export const POLICY_OPTIONS = `Policy (one of; without any, the SECCOMP_* environment variables):
  --policy FILE     a policy file (YAML or JSON, or an OCI/Docker seccomp profile)
  --allow LIST      syscalls or @groups to allow (',' or ':' separated); the rest kills the process
  --deny LIST       syscalls or @groups that kill the process; the rest is allowed
  --default ACTION  with --allow/--deny: the action for what is not listed, e.g. errno(EPERM) or log
  SECCOMP_SYSCALL_ALLOW=a:b, SECCOMP_SYSCALL_DENY=a:b, SECCOMP_DEFAULT_ACTION=log,
  SECCOMP_POLICY=FILE: the variables of the Cloudflare sandbox toolkit`;

/** Flags of {@link policyFlagsSpec} as parsed. */
interface PolicyFlags {
  policy?: string;
  allow?: string;
  deny?: string;
  default?: string;
}

/** parseArgs options for the shared policy flags. */
export const policyFlagsSpec = {
  policy: { type: 'string' },
  allow: { type: 'string' },
  deny: { type: 'string' },
  default: { type: 'string' },
} as const;

function list(verb: string, flag: string, v: string): string[] {
  const parts = v.split(/[,:]/).map((s) => s.trim());
  if (parts.some((s) => s === '')) throw new UsageError(`${verb}: ${flag} has an empty entry ('${v}')`);
  return parts;
}

/**
 * The filter for `exec`/`preload` from --policy, --allow/--deny/--default, or the SECCOMP_*
 * environment variables, compiled for `arches` (default: the policy's, else this machine's);
 * also returns the entries listed by --allow/--deny or SECCOMP_SYSCALL_ALLOW/DENY, for the toolkit's
 * `adding NAME to the process seccomp filter` lines ({@link announce}).
 */
export function policyFilter(verb: string, f: PolicyFlags, env: NodeJS.ProcessEnv = process.env, arches?: readonly string[]): { filter: Filter; listed: readonly string[] } {
  const fromLists = f.allow !== undefined || f.deny !== undefined;
  if (f.policy !== undefined && fromLists) throw new UsageError(`${verb}: give --policy or --allow/--deny, not both`);
  if (f.default !== undefined && !fromLists) throw new UsageError(`${verb}: --default goes with --allow or --deny`);
  let filter: Filter;
  let listed: readonly string[] = [];
  let read: PolicyText | undefined;
  let source = 'the policy';
  if (f.policy !== undefined) {
    read = readPolicy(verb, f.policy, arches ? { arches } : {});
    filter = compile(read.policy, arches ? { arches } : {});
  } else {
    let policy: Policy;
    if (fromLists) {
      const allow = f.allow !== undefined ? list(verb, '--allow', f.allow) : undefined;
      const deny = f.deny !== undefined ? list(verb, '--deny', f.deny) : undefined;
      policy = policyFromLists({ ...(allow ? { allow } : {}), ...(deny ? { deny } : {}), ...(f.default !== undefined ? { defaultAction: f.default } : {}), source: 'command line' });
      listed = [...(allow ?? []), ...(deny ?? [])];
    } else {
      const fromEnv = policyFromEnv(env);
      if (!fromEnv) throw new UsageError(`${verb}: no policy: give --policy FILE, --allow LIST or --deny LIST, or set SECCOMP_SYSCALL_ALLOW / SECCOMP_SYSCALL_DENY / SECCOMP_POLICY`);
      for (const name of fromEnv.ignored) process.stderr.write(`seccomp-ts: warning: ${name} is ignored because SECCOMP_SYSCALL_ALLOW is set\n`);
      policy = fromEnv.policy;
      const v = fromEnv.names.includes('SECCOMP_SYSCALL_ALLOW') ? env.SECCOMP_SYSCALL_ALLOW : fromEnv.names.includes('SECCOMP_SYSCALL_DENY') ? env.SECCOMP_SYSCALL_DENY : undefined;
      listed = v === undefined ? [] : v.split(':').map((s) => s.trim());
    }
    source = policy.source ?? source;
    filter = compile(policy, arches ? { arches } : {});
  }
  reportFindings(read?.notes ?? [], filter.warnings, {
    source: read?.label ?? source,
    ...(read?.container ? { container: read.container } : {}),
    verboseHint: "'seccomp-ts compile -v' lists each",
  });
  return { filter, listed };
}

/** The Cloudflare toolkit's line for each listed entry, on stderr. */
export function announce(listed: readonly string[]): void {
  for (const name of listed) process.stderr.write(`adding ${name} to the process seccomp filter\n`);
}

/** Split `[OPTIONS] [--] COMMAND [ARG...]` at the command: options end at `--` or the first operand. */
export function splitAtCommand(argv: readonly string[], valueFlags: ReadonlySet<string>): [options: string[], command: string[]] {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    if (a === '--') return [argv.slice(0, i), argv.slice(i + 1)];
    if (!a.startsWith('-') || a === '-') break;
    i += valueFlags.has(a) ? 2 : 1;
  }
  return [argv.slice(0, i), argv.slice(i)];
}

const USAGE = `usage: seccomp-ts exec [POLICY OPTIONS] [--preload] [--argv0 NAME] [--] COMMAND [ARG...]

Runs COMMAND under a seccomp filter, like the Cloudflare toolkit's sandboxify: this process is
replaced by a small generated launcher that loads the filter and executes COMMAND, so COMMAND's
start-up (dynamic loader, libc initialization) runs under the filter too -- allow what it needs.
The process id is kept; the exit status and any killing signal are COMMAND's own.
COMMAND is looked up on PATH as a shell does: not found exits 127, not executable 126.

A policy that denies execve still lets exactly this launch through (the launcher's own execve is
recognized by its randomized address and a per-run secret); every other execve or execveat is
then killed, whatever the policy's deny action.

${POLICY_OPTIONS}

Options:
  -q, --quiet          no 'adding NAME to the process seccomp filter' lines (also SECCOMP_QUIET=1);
                       by default they are printed for each listed syscall, as sandboxify does
  --argv0 NAME         argv[0] for COMMAND (default: COMMAND as given)
  --other-exec MODE    kill (default when the policy denies execve or execveat) or policy:
                       what other execve/execveat calls get
  --preload            install the filter the way libsandbox.so does, after the dynamic loader's
                       start-up, with no file on disk: the 'seccomp-ts preload' object is put in
                       a memfd named by LD_PRELOAD=/proc/self/fd/N (after any LD_PRELOAD already
                       set) and COMMAND is executed directly. The policy then needs only what
                       COMMAND does from main() on (myos: brk exit_group getrandom newfstatat
                       uname write; on a console terminal, not a pseudo-terminal, also ioctl).
                       For dynamically linked glibc programs. LD_PRELOAD fails open, so COMMAND
                       (or the program its #! line runs) is refused -- one line, exit 126,
                       nothing run -- when the loader would not load the object: statically
                       linked, not x86_64 (e.g. 32-bit i386), another loader, set-user/group-ID
                       or file capabilities. Not covered: constructors of COMMAND's shared
                       libraries (they run first). Descriptor N and LD_PRELOAD are inherited:
                       programs COMMAND executes load the object again, so they need prctl and
                       seccomp allowed.
Installed as 'sandboxify' too: 'sandboxify CMD ARGS...' is 'seccomp-ts exec CMD ARGS...'.
Linux x86_64 only.
`;

/** `seccomp-ts exec`: run a program under a policy (the sandboxify analogue). */
export const execVerb: Verb = {
  name: 'exec',
  runsCommand: true,
  summary: 'run a program under a seccomp policy, from its first instruction (like sandboxify)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const [opts, command] = splitAtCommand(argv, new Set(['--policy', '--allow', '--deny', '--default', '--argv0', '--other-exec']));
    const { values, positionals } = parseFlags('exec', opts, { ...policyFlagsSpec, quiet: { type: 'boolean', short: 'q' }, argv0: { type: 'string' }, 'other-exec': { type: 'string' }, preload: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`exec: unexpected '${positionals[0]}' before the command`);
    if (command.length === 0) throw new UsageError('exec: no command given (usage: seccomp-ts exec [OPTIONS] COMMAND [ARG...])');
    const other = values['other-exec'];
    if (other !== undefined && other !== 'kill' && other !== 'policy') throw new UsageError(`exec: --other-exec must be kill or policy, not '${other}'`);
    if (other !== undefined && values.preload) throw new UsageError('exec: --other-exec is for the launcher; with --preload every execve gets what the policy says');
    const { filter, listed } = policyFilter('exec', values);
    if (!filter.arches.includes('x86_64')) throw new UsageError(`exec: the launcher runs x86_64 programs, but the policy's architectures are ${filter.arches.join(', ')}`);
    try {
      // Resolve first, so a command that cannot run gets one line and no 'adding' lines.
      const target = resolveCommand(command[0]);
      if (values.preload) await checkPreloadable(target);
      if (!values.quiet && !process.env.SECCOMP_QUIET) announce(listed);
      if (values.preload) return await execPreloaded(filter.instructions, command, values.argv0 !== undefined ? { argv0: values.argv0 } : {});
      return await execSandboxed(filter.instructions, command, {
        ...(values.argv0 !== undefined ? { argv0: values.argv0 } : {}),
        ...(other !== undefined ? { otherExec: other as OtherExec } : {}),
      });
    } catch (e) {
      // Not found / not executable: one line and the shell's status (127 / 126), not 2.
      if (e instanceof LaunchError && e.exitStatus !== undefined) {
        process.stderr.write(`seccomp-ts: ${e.message}\n`);
        return e.exitStatus;
      }
      throw e;
    }
  },
};
