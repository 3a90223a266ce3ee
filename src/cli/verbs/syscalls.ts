import { parseArgs } from 'node:util';
import { getArch, hostArch, resolveSyscall, syscallName, syscallTable, ArchError, type Arch } from '../../arch/index.js';
import { UsageError } from '../errors.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts syscalls [--arch ARCH] [--json] [NAME|NUMBER ...]

Prints the syscall table of an architecture as 'name number' lines in number order: the numbers
a seccomp filter sees in seccomp_data.nr (MIPS offsets and the x32 bit included; hex is added
where it reads better). With NAME or NUMBER operands, prints only those, in the order given.

Options:
  --arch ARCH   architecture name or alias (x86_64, amd64, arm64, SCMP_ARCH_PPC64LE, ...);
                default: the host's
  --json        print {"arch": ..., "syscalls": {name: number, ...}} instead
`;

/** Parse an operand as a syscall number: decimal or 0x-hex, nothing else. */
function asNumber(s: string): number | undefined {
  if (/^(0|[1-9]\d*)$/.test(s) || /^0x[0-9a-f]+$/i.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n) && n <= 0xffffffff) return n;
  }
  return undefined;
}

function lookup(arch: Arch, operand: string): [string, number] {
  const n = asNumber(operand);
  if (n === undefined) return [operand, resolveSyscall(arch, operand)];
  const name = syscallName(arch, n);
  if (name === undefined) throw new ArchError('UNKNOWN_SYSCALL', `no syscall has number ${operand} on ${arch.name}`);
  return [name, n];
}

/** `seccomp-ts syscalls`: list or look up syscall numbers of an architecture. */
export const syscallsVerb: Verb = {
  name: 'syscalls',
  summary: 'list syscall names and numbers of an architecture',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { arch: { type: 'string' }, json: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      // Node's own messages for unknown options are long; say it in our words where we can.
      const code = (e as { code?: string }).code;
      const opt = e instanceof Error ? /'([^']+)'/.exec(e.message)?.[1] : undefined;
      if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) throw new UsageError(`syscalls: unknown option '${opt}' (see seccomp-ts syscalls --help)`);
      throw new UsageError(`syscalls: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    const { values, positionals } = parsed;
    let arch: Arch;
    if (values.arch !== undefined) arch = getArch(values.arch);
    else {
      const h = hostArch();
      if (!h) throw new UsageError(`syscalls: this host's architecture (${process.arch}) is not supported; pass --arch`);
      arch = h;
    }
    const rows: [string, number][] = positionals.length ? positionals.map((p) => lookup(arch, p)) : [...syscallTable(arch)];
    if (values.json) {
      process.stdout.write(JSON.stringify({ arch: arch.name, syscalls: Object.fromEntries(rows) }, null, 2) + '\n');
      return 0;
    }
    // Hex helps where numbers carry a flag bit or a base (x32, ARM private calls at 0x0f0000+).
    const hex = (nr: number) => (arch.syscallBit !== 0 || nr >= 0x10000 ? ` 0x${nr.toString(16)}` : '');
    const width = Math.max(...rows.map(([n]) => n.length));
    process.stdout.write(rows.map(([n, nr]) => `${n.padEnd(width)} ${nr}${hex(nr)}\n`).join(''));
    return 0;
  },
};
