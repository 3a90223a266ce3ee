/**
 * Policies built without a policy file: from allow/deny lists (API), and from the environment
 * variables of the Cloudflare sandbox toolkit:
 *
 *   SECCOMP_SYSCALL_ALLOW=a:b:c   allowlist: the listed syscalls are allowed, everything else kills the process
 *   SECCOMP_SYSCALL_DENY=a:b:c    denylist: the listed syscalls kill the process, everything else is allowed
 *                                 (ignored when SECCOMP_SYSCALL_ALLOW is set too)
 *   SECCOMP_DEFAULT_ACTION=log    the "kill" above becomes "log" (the only accepted value)
 *   SECCOMP_POLICY=path           a full policy file (YAML or JSON); cannot be combined with the others
 *
 * Entries are syscall names or @groups.
 */
import { encodeAction } from '../bpf/seccomp.js';
import { formatAction, parseAction } from './actions.js';
import { PolicyError } from './errors.js';
import { loadPolicy, validatePolicy } from './parse.js';
import { checkSyscallName } from './schema.js';
import type { ActionValue, Policy } from './types.js';

/** Options of policyFromLists. */
export interface ListPolicyOptions {
  /** Syscalls (or @groups) to allow; makes the default action kill_process unless `defaultAction` says otherwise. */
  readonly allow?: readonly string[];
  /** Syscalls (or @groups) that get `denyAction`; with no allow list the default action is allow. */
  readonly deny?: readonly string[];
  /** Action for everything not listed (default: kill_process with an allow list, allow otherwise). */
  readonly defaultAction?: ActionValue | string;
  /** Action for the deny list (default kill_process). */
  readonly denyAction?: ActionValue | string;
  /** Architectures (default: the host's). */
  readonly architectures?: readonly string[];
  /** Names the lists in messages and becomes Policy.source (e.g. the environment variable). */
  readonly source?: string;
}

function action(v: ActionValue | string, what: string, source?: string): ActionValue {
  try {
    // A number must be a value the policy forms can express (formatAction falls back to hex otherwise).
    return typeof v === 'number' ? parseAction(formatAction(v)) : parseAction(v);
  } catch (e) {
    if (e instanceof PolicyError) throw new PolicyError(e.code, `${source ? `${source}: ` : ''}${what}: ${e.message}`);
    throw e;
  }
}

function checkList(list: readonly string[], what: string, source?: string): void {
  if (list.length === 0) throw new PolicyError('INVALID', `${source ?? what}: the ${what} list is empty`);
  for (const name of list) {
    try {
      checkSyscallName(name, true);
    } catch (e) {
      if (e instanceof PolicyError) throw new PolicyError(e.code, `${source ?? what}: ${e.message}`);
      throw e;
    }
  }
}

/**
 * A Policy from an allow list and/or a deny list (see ListPolicyOptions). Throws PolicyError when
 * neither list is given, a list is empty, or a name or action is unknown.
 */
export function policyFromLists(opts: ListPolicyOptions): Policy {
  const { allow, deny, source } = opts;
  if (allow === undefined && deny === undefined) throw new PolicyError('INVALID', `${source ? `${source}: ` : ''}give an allow list or a deny list`);
  if (allow) checkList(allow, 'allow', source);
  if (deny) checkList(deny, 'deny', source);
  const def = action(opts.defaultAction ?? (allow ? 'kill_process' : 'allow'), 'default action', source);
  const denyAction = action(opts.denyAction ?? 'kill_process', 'deny action', source);
  const rules = [
    ...(allow ? [{ syscalls: [...allow], action: 'allow' }] : []),
    ...(deny ? [{ syscalls: [...deny], action: formatAction(denyAction) }] : []),
  ];
  return validatePolicy(
    {
      defaultAction: formatAction(def),
      ...(opts.architectures ? { architectures: [...opts.architectures] } : {}),
      rules,
    },
    source !== undefined ? { file: source } : {},
  );
}

/** The variables policyFromEnv reads. */
export const POLICY_ENV_VARS = Object.freeze(['SECCOMP_SYSCALL_ALLOW', 'SECCOMP_SYSCALL_DENY', 'SECCOMP_DEFAULT_ACTION', 'SECCOMP_POLICY'] as const);

/** `a:b:c` -> ['a', 'b', 'c'], rejecting empty values and empty entries. */
function entries(name: string, value: string): string[] {
  if (value.trim() === '') throw new PolicyError('ENV', `${name} is set but empty (list syscalls separated by ':', or unset it)`);
  const parts = value.split(':').map((s) => s.trim());
  const empty = parts.findIndex((s) => s === '');
  if (empty >= 0) throw new PolicyError('ENV', `${name}: entry ${empty + 1} of ${parts.length} is empty (entries are separated by a single ':')`);
  return parts;
}

/** What policyFromEnv found. */
export interface EnvPolicy {
  readonly policy: Policy;
  /** The variables the policy was built from. */
  readonly names: string[];
  /** Variables that were set but not used (SECCOMP_SYSCALL_DENY next to SECCOMP_SYSCALL_ALLOW). */
  readonly ignored: string[];
}

/**
 * The policy the SECCOMP_* environment variables describe (see the module comment), or undefined
 * when none of them is set. Throws PolicyError with one line naming the variable for empty
 * values or entries, unknown names, a SECCOMP_DEFAULT_ACTION other than `log`, or a combination
 * that makes no sense (SECCOMP_POLICY with the lists, SECCOMP_DEFAULT_ACTION alone).
 */
export function policyFromEnv(env: NodeJS.ProcessEnv): EnvPolicy | undefined {
  const allow = env.SECCOMP_SYSCALL_ALLOW;
  const deny = env.SECCOMP_SYSCALL_DENY;
  const def = env.SECCOMP_DEFAULT_ACTION;
  const file = env.SECCOMP_POLICY;
  if (allow === undefined && deny === undefined && def === undefined && file === undefined) return undefined;

  if (file !== undefined) {
    const others = POLICY_ENV_VARS.filter((n) => n !== 'SECCOMP_POLICY' && env[n] !== undefined);
    if (others.length) throw new PolicyError('ENV', `SECCOMP_POLICY cannot be combined with ${others.join(', ')} (the policy file says everything)`);
    if (file.trim() === '') throw new PolicyError('ENV', 'SECCOMP_POLICY is set but empty (give the path of a policy file, or unset it)');
    return { policy: loadPolicy(file), names: ['SECCOMP_POLICY'], ignored: [] };
  }
  if (def !== undefined && def.trim() !== 'log') {
    throw new PolicyError('ENV', `SECCOMP_DEFAULT_ACTION must be 'log' (instead of killing the process), not '${def}'`);
  }
  const kill = def !== undefined ? encodeAction('log') : encodeAction('kill_process');
  const defNames = def !== undefined ? ['SECCOMP_DEFAULT_ACTION'] : [];
  if (allow !== undefined) {
    const policy = policyFromLists({ allow: entries('SECCOMP_SYSCALL_ALLOW', allow), defaultAction: kill, source: 'SECCOMP_SYSCALL_ALLOW' });
    return { policy, names: ['SECCOMP_SYSCALL_ALLOW', ...defNames], ignored: deny !== undefined ? ['SECCOMP_SYSCALL_DENY'] : [] };
  }
  if (deny !== undefined) {
    const policy = policyFromLists({ deny: entries('SECCOMP_SYSCALL_DENY', deny), denyAction: kill, source: 'SECCOMP_SYSCALL_DENY' });
    return { policy, names: ['SECCOMP_SYSCALL_DENY', ...defNames], ignored: [] };
  }
  throw new PolicyError('ENV', 'SECCOMP_DEFAULT_ACTION is set, but neither SECCOMP_SYSCALL_ALLOW nor SECCOMP_SYSCALL_DENY is (it only changes what their lists do)');
}
