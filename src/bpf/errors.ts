/** Error codes of the bpf layer: the closed vocabulary callers can switch on. */
export type BpfErrorCode =
  | 'DECODE' // bytes are not a sock_filter array (empty, not a multiple of 8, too long)
  | 'VERIFY' // the kernel would reject the program
  | 'ASSEMBLE' // the builder or text assembler cannot produce a program
  | 'PARSE' // text assembly has a syntax error
  | 'LABEL_UNDEFINED'
  | 'LABEL_DUPLICATE'
  | 'LABEL_BACKWARD'
  | 'EMULATE'; // the emulator was asked to run something it cannot (e.g. out-of-range jump)

/**
 * An error about a program or its input: bad bytes, bad text, a rejected instruction.
 * `pc` is the index of the offending instruction where there is one; `line` the 1-based
 * source line for text input.
 */
export class BpfError extends Error {
  override readonly name = 'BpfError';
  constructor(
    readonly code: BpfErrorCode,
    message: string,
    readonly pc?: number,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** A broken internal invariant: a bug in seccomp-ts, never the user's input. */
export class BpfInternalError extends Error {
  override readonly name = 'BpfInternalError';
}
