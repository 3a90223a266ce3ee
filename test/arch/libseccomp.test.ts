import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, syscallTable } from '../../src/arch/index.js';
import { libseccomp } from '../_util/libseccomp.js';
import { needPythonSeccomp } from '../_util/tools.js';

// Differential check against libseccomp's own tables through Debian's python3-seccomp:
// every name both know must have the same number. libseccomp may be older than our tables
// (names it does not know are skipped) and may lack an ABI (skipped with a note).
const have = needPythonSeccomp();

(have ? test : test.skip)('numbers agree with libseccomp', () => {
  const got = libseccomp({ numbers: Object.fromEntries(ARCHES.map((a) => [a.name, [...syscallTable(a).keys()]])) }).numbers;
  let compared = 0;
  for (const a of ARCHES) {
    const lib = got[a.name];
    if (!lib) {
      process.stdout.write(`  note: this libseccomp does not know ${a.name}; not compared\n`);
      continue;
    }
    const t = syscallTable(a);
    let known = 0;
    const differ: string[] = [];
    for (const [name, nr] of t) {
      if (!Object.hasOwn(lib, name)) continue;
      const l = lib[name]!;
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
