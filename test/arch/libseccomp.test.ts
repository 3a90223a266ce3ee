import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ARCHES, syscallTable, type ArchName } from '../../src/arch/index.js';
import { needPythonSeccomp } from '../_util/tools.js';

// Differential check against libseccomp's own tables through Debian's python3-seccomp:
// every name both know must have the same number. libseccomp may be older than our tables
// (names it does not know are skipped) and may lack an ABI (skipped with a note).
const SCMP: Record<ArchName, string> = {
  x86_64: 'X86_64',
  i386: 'X86',
  x32: 'X32',
  aarch64: 'AARCH64',
  arm: 'ARM',
  riscv64: 'RISCV64',
  ppc64le: 'PPC64LE',
  ppc64: 'PPC64',
  s390x: 'S390X',
  mips64el: 'MIPSEL64',
  mipsel: 'MIPSEL',
  loongarch64: 'LOONGARCH64',
};

// Reads {"X86_64": ["read", ...], ...}; prints {"X86_64": {"read": 0 | null, ...} | null}.
const PY = `
import json, sys, seccomp
req = json.load(sys.stdin)
out = {}
for arch, names in req.items():
    a = getattr(seccomp.Arch, arch, None)
    if a is None:
        out[arch] = None
        continue
    res = {}
    for n in names:
        try:
            nr = seccomp.resolve_syscall(a, n)
        except ValueError:
            nr = None
        res[n] = nr if nr is not None and nr >= 0 else None
    out[arch] = res
json.dump(out, sys.stdout)
`;

const have = needPythonSeccomp();

(have ? test : test.skip)('numbers agree with libseccomp', () => {
  const req = Object.fromEntries(ARCHES.map((a) => [SCMP[a.name], [...syscallTable(a).keys()]]));
  const r = spawnSync('/usr/bin/python3', ['-c', PY], { input: JSON.stringify(req), encoding: 'utf8', timeout: 60000 });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, Record<string, number | null> | null>;
  let compared = 0;
  for (const a of ARCHES) {
    const lib = got[SCMP[a.name]];
    if (!lib) {
      process.stdout.write(`  note: this libseccomp has no SCMP_ARCH_${SCMP[a.name]}; ${a.name} not compared\n`);
      continue;
    }
    const t = syscallTable(a);
    let known = 0;
    const differ: string[] = [];
    for (const [name, nr] of t) {
      const l = lib[name];
      if (l === null || l === undefined) continue;
      known++;
      // libseccomp resolves the socket and SysV IPC calls to their multiplexer (socketcall, ipc)
      // on ABIs that have one, even where the kernel also has direct entries (i386 since 4.3).
      if (l !== nr && (l === t.get('socketcall') || l === t.get('ipc'))) continue;
      if (l !== nr) differ.push(`${name}: ours ${nr}, libseccomp ${l}`);
    }
    assert.equal(differ, [], a.name);
    // Most of the table must have been compared, or this check proves nothing.
    assert.ok(known >= t.size * 0.85, `${a.name}: only ${known} of ${t.size} names known to libseccomp`);
    compared += known;
  }
  assert.ok(compared > 3000, `compared ${compared}`);
});

test.run();
