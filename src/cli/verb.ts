/** One CLI verb. Verbs are thin: they parse flags, call the library, print. */
export interface Verb {
  readonly name: string;
  /** One line for `seccomp-ts --help`. */
  readonly summary: string;
  /** Full usage text for `seccomp-ts VERB --help`. */
  readonly usage: string;
  /** The verb runs a command given after its options (exec, learn): `--help` counts only as the first argument. */
  readonly runsCommand?: boolean;
  /** Runs the verb; resolves to the process exit status. Throw UsageError or a library error for bad input. */
  run(argv: string[]): Promise<number>;
}
