import { VERBS } from './verbs/index.js';
import { UsageError } from './errors.js';
import type { Verb } from './verb.js';

const PROG = 'seccomp-ts';

function help(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length), 4);
  return [
    `usage: ${PROG} <command> [options]`,
    '',
    'Commands:',
    ...VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    `Run '${PROG} <command> --help' for a command's options.`,
  ].join('\n');
}

/** Errors that describe the user's input: printed as one line, exit status 2. */
function isInputError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  // Each layer has its own error class; they are recognised by name so the CLI need not import every layer.
  return ['UsageError', 'BpfError', 'ArchError', 'PolicyError', 'ApplyError', 'FormatError', 'LaunchError'].includes(e.name);
}

/**
 * Whether `--help`/`-h` asks for the verb's usage: anywhere before `--`, except that for verbs
 * running a command (exec, learn) the command's own arguments are never looked at, so
 * `exec bash --help` runs `bash --help`.
 */
function wantsHelp(verb: Verb, args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const own = end === -1 ? args : args.slice(0, end);
  const isHelp = (a: string) => a === '--help' || a === '-h';
  return verb.runsCommand ? own.length > 0 && isHelp(own[0]) : own.some(isHelp);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { version } = await import('../../package.json', { with: { type: 'json' } }).then((m) => m.default);
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const verb = VERBS.find((v) => v.name === name);
  if (!verb) throw new UsageError(`unknown command '${name}' (run '${PROG} --help' for the list)`);
  if (wantsHelp(verb, rest)) {
    process.stdout.write(verb.usage.trimEnd() + '\n');
    return 0;
  }
  return verb.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isInputError(e)) {
      process.stderr.write(`${PROG}: ${e.message.split('\n')[0]}\n`);
      process.exitCode = 2;
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`${PROG}: internal error: ${msg.split('\n')[0]} (set SECCOMP_TS_DEBUG=1 for details)\n`);
      if (process.env.SECCOMP_TS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      process.exitCode = 70;
    }
  },
);
