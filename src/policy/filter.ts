/**
 * The compile API: a policy (object, Policy, or YAML/JSON/OCI text) in, a {@link Filter} out.
 */
import type { ArchName } from '../arch/index.js';
import { encode, type Endian } from '../bpf/codec.js';
import { emulate, type EmulateResult } from '../bpf/emulator.js';
import type { Instruction } from '../bpf/insn.js';
import type { SeccompData } from '../bpf/seccomp.js';
import { disassemble } from '../bpf/text.js';
import { assertValid } from '../bpf/verifier.js';
import { BpfError } from '../bpf/errors.js';
import { archSymbols } from '../symbols.js';
import { generate } from './codegen.js';
import { formatC } from './codegen-c.js';
import { PolicyError } from './errors.js';
import { evaluatePolicy } from './evaluate.js';
import { isOciProfile, policyFromOci } from './oci.js';
import { parsePolicy, validatePolicy } from './parse.js';
import { resolvePolicy } from './resolve.js';
import type { ActionValue, Policy, PolicyWarning, ResolvedPolicy } from './types.js';

export { generate } from './codegen.js';

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Architectures to compile for (names or aliases); overrides the policy's list. Default: the policy's, else the host's. */
  readonly arches?: readonly string[];
  /** A syscall unknown on one of the architectures is an error instead of a warning. */
  readonly strict?: boolean;
  /** File name used in messages when `policy` is text. */
  readonly file?: string;
}

/** A compiled seccomp filter: the program plus what it was made from. */
export class Filter {
  /** The classic-BPF program, ready for SECCOMP_SET_MODE_FILTER. */
  readonly instructions: readonly Instruction[];
  /** The ABIs the filter serves, in policy order. */
  readonly arches: readonly ArchName[];
  /** Byte order of the target machine (every listed ABI shares it). */
  readonly endian: Endian;
  /** The resolved policy the program implements. */
  readonly resolved: ResolvedPolicy;
  /** Non-fatal findings of resolution (e.g. a syscall unknown on one ABI). */
  readonly warnings: readonly PolicyWarning[];

  /** Wraps an already generated program; most callers use {@link compile}. */
  constructor(resolved: ResolvedPolicy, instructions?: readonly Instruction[]) {
    if (resolved.arches.length === 0) throw new PolicyError('ARCH', 'no architecture selected');
    this.resolved = resolved;
    this.instructions = Object.freeze([...(instructions ?? generate(resolved))]);
    this.arches = Object.freeze(resolved.arches.map((a) => a.arch.name));
    this.endian = resolved.arches[0].arch.endian;
    this.warnings = resolved.warnings;
  }

  /** The program as `struct sock_filter` bytes, in the filter's own byte order unless told otherwise. */
  toBuffer(endian: Endian = this.endian): Uint8Array {
    return encode(this.instructions, endian);
  }

  /** The program as text assembly (one instruction a line, with names for arches and syscalls). */
  toString(): string {
    return disassemble(this.instructions, { symbols: archSymbols, endian: this.endian, defaultArch: this.resolved.arches[0].arch.auditArch });
  }

  /** The program as C source: a `struct sock_filter` array (and `<name>_prog`) for <linux/filter.h>. */
  toC(name = 'seccomp_filter'): string {
    return formatC(this.instructions, { arches: this.resolved.arches.map((a) => a.arch), endian: this.endian, name });
  }

  /** Runs the program on one call, as the kernel would on the target machine. */
  evaluate(data: SeccompData): EmulateResult {
    return emulate(this.instructions, data, { endian: this.endian });
  }

  /** What the policy itself (the reference evaluator, no BPF) decides for one call. */
  expected(data: SeccompData): ActionValue {
    return evaluatePolicy(this.resolved, data);
  }
}

function isPolicy(v: unknown): v is Policy {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return (
    typeof p.defaultAction === 'number' &&
    typeof p.badArchAction === 'number' &&
    Array.isArray(p.tests) &&
    Array.isArray(p.rules) &&
    p.rules.every((r) => typeof r === 'object' && r !== null && typeof (r as { action?: unknown }).action === 'number' && Array.isArray((r as { args?: unknown }).args))
  );
}

/** The Policy behind any accepted input: a Policy as is, text parsed (ours or OCI JSON), an object validated. */
export function toPolicy(policy: Policy | string | object, opts: CompileOptions = {}): Policy {
  if (typeof policy === 'string') {
    const t = policy.trimStart();
    if (t.startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(policy);
      } catch {
        obj = undefined; // not strict JSON: let the YAML reader report where
      }
      if (obj !== undefined && isOciProfile(obj)) return policyFromOci(policy, { file: opts.file, arches: opts.arches }).policy;
    }
    return parsePolicy(policy, opts.file !== undefined ? { file: opts.file } : {});
  }
  if (isPolicy(policy)) return policy;
  if (isOciProfile(policy)) return policyFromOci(policy, { file: opts.file, arches: opts.arches }).policy;
  return validatePolicy(policy, opts.file !== undefined ? { file: opts.file } : {});
}

/**
 * Compile a policy to a seccomp filter. `policy`: a Policy, YAML/JSON text (a seccomp-ts policy
 * or an OCI/Docker profile), or a plain object of the policy-file shape. Throws PolicyError for a
 * bad policy; the program is checked with the kernel's load-time rules before it is returned.
 */
export function compile(policy: Policy | string | object, opts: CompileOptions = {}): Filter {
  const p = toPolicy(policy, opts);
  const resolved = resolvePolicy(p, { ...(opts.arches ? { arches: opts.arches } : {}), ...(opts.strict !== undefined ? { strict: opts.strict } : {}) });
  const program = generate(resolved);
  try {
    assertValid(program);
  } catch (e) {
    // Only a policy too big for the kernel's 4096-instruction limit can get here.
    if (e instanceof BpfError) throw new PolicyError('INVALID', `${p.source ? `${p.source}: ` : ''}the compiled filter is not loadable: ${e.message}`);
    throw e;
  }
  return new Filter(resolved, program);
}
