/** Error codes of the apply layer: the closed vocabulary callers can switch on. */
export type ApplyErrorCode =
  | 'UNSUPPORTED' // not Linux, an unknown CPU architecture, ffi-rs unavailable, or no seccomp() in the kernel
  | 'INVALID_FILTER' // our verifier (or the input shape) rejects the filter; the kernel was not called
  | 'ACTION_UNAVAILABLE' // the filter returns an action this kernel does not implement
  | 'ARCH_MISMATCH' // the filter was compiled for other architectures or the other byte order
  | 'BAD_OPTION' // an ApplyOptions field has the wrong type
  | 'TSYNC' // another thread could not be synchronized (its id is in `thread`)
  | 'EINVAL'
  | 'EACCES'
  | 'EFAULT'
  | 'ESRCH'
  | 'ENOMEM'
  | 'EBUSY'
  | 'ERRNO'; // any other errno (the number is in `errno`)

/**
 * An error installing a seccomp filter. `errno` is set when the kernel refused a call,
 * `thread` when TSYNC failed, `pc` when our verifier rejected an instruction.
 * The filter is never partly installed: on any ApplyError no filter was added, although
 * no_new_privs may already be set (the message says so), since it cannot be unset.
 */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  readonly code: ApplyErrorCode;
  // Declared only, so an absent value is absent rather than an own property set to undefined.
  declare readonly errno?: number;
  declare readonly thread?: number;
  declare readonly pc?: number;
  constructor(code: ApplyErrorCode, message: string, extra: { errno?: number; thread?: number; pc?: number; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    const self = this as { errno?: number; thread?: number; pc?: number };
    if (extra.errno !== undefined) self.errno = extra.errno;
    if (extra.thread !== undefined) self.thread = extra.thread;
    if (extra.pc !== undefined) self.pc = extra.pc;
  }
}
