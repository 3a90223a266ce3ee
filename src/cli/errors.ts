/** A bad command line: unknown flag, missing operand, unreadable file. Exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
