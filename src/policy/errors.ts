/**
 * The policy layer's one error class, and how positions and values are written in messages.
 */
import type { SourcePos } from './types.js';

/** Error codes of the policy layer: the closed vocabulary callers can switch on. */
export type PolicyErrorCode =
  | 'READ' // the policy file cannot be read
  | 'SYNTAX' // YAML/JSON syntax error (position from the yaml parser)
  | 'INVALID' // the document does not match the policy format (wrong type, unknown key, missing key, bad value)
  | 'ACTION' // an action is malformed or out of range
  | 'VALUE' // an argument value is malformed or out of range
  | 'UNKNOWN_SYSCALL' // no architecture knows this syscall name
  | 'SYSCALL_NOT_ON_ARCH' // strict mode: a syscall is unknown on one of the selected architectures
  | 'UNKNOWN_GROUP' // no @group of that name
  | 'ARCH' // unknown architecture, none selected, mixed byte order, no host architecture
  | 'VALUE_TOO_WIDE' // a 64-bit argument value on a 32-bit architecture
  | 'ENV'; // bad SECCOMP_* environment variables

/** `file:line:col: ` (or the parts that are known) for the start of a message. */
export function formatPos(pos: SourcePos | undefined, file?: string): string {
  const f = pos?.file ?? file;
  if (!pos) return f ? `${f}: ` : '';
  return `${f ?? '<policy>'}:${pos.line}:${pos.column}: `;
}

/** Whether `v` is an ordinary mapping (not an array, Map, Set, Date or binary data that YAML tags can produce). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Describes a value for a message: `'abc'`, `12`, `a list`, `a mapping`, `null`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return isPlainObject(v) ? 'a mapping' : `a ${v.constructor?.name ?? 'special'} value`;
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'boolean') return String(v);
  return String(v);
}

/**
 * An error about a policy: its text, its meaning, or how it maps onto an architecture.
 * The message already starts with `file:line:column: ` when the position is known, and is one line.
 */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    readonly pos?: SourcePos,
  ) {
    super(message);
  }

  /** A PolicyError whose message is prefixed with the position (or file) it refers to. */
  static at(code: PolicyErrorCode, pos: SourcePos | undefined, message: string, file?: string): PolicyError {
    return new PolicyError(code, formatPos(pos, file) + message, pos);
  }
}
