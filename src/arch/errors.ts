/** Error codes of the arch layer: the closed vocabulary callers can switch on. */
export type ArchErrorCode =
  | 'UNKNOWN_ARCH' // no architecture has this name or alias
  | 'UNKNOWN_SYSCALL' // no architecture knows this syscall name
  | 'SYSCALL_NOT_ON_ARCH' // the name is a syscall on some architecture, but not on the one asked about
  | 'BAD_ARG_INDEX'; // argOffsets() was given something other than 0..5 or 'ip'

/**
 * An error about a name or number given to the arch layer. `suggestions` holds the nearest
 * valid names (possibly empty), which the message also lists.
 */
export class ArchError extends Error {
  override readonly name = 'ArchError';
  constructor(
    readonly code: ArchErrorCode,
    message: string,
    readonly suggestions: string[] = [],
  ) {
    super(message);
  }
}
