/** Error codes of the launch layer: the closed vocabulary callers can switch on. */
export type LaunchErrorCode =
  | 'NOT_FOUND' // the target is not a path to a file and not found on PATH (CLI exit 127)
  | 'NOT_EXECUTABLE' // the target exists but cannot be executed (CLI exit 126)
  | 'NOT_PRELOADABLE' // LD_PRELOAD would not take effect in the target, which would run unconfined (CLI exit 126)
  | 'BAD_FILTER' // the program cannot be embedded (empty, too long, bad jumps)
  | 'UNSUPPORTED' // this machine or runtime cannot launch (not Linux x86_64, no ffi)
  | 'EXEC' // a system call of the launch itself failed (memfd, write, execve)
  | 'INTERNAL'; // a bug in seccomp-ts's machine-code or ELF generation

/**
 * An error of the launcher or of the ELF / machine-code generators. `exitStatus` is what a
 * shell-like front end should exit with (127 not found, 126 cannot execute), where that applies.
 */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  constructor(
    readonly code: LaunchErrorCode,
    message: string,
    readonly exitStatus?: number,
  ) {
    super(message);
  }
}
