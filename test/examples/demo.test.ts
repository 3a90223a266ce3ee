// The README's first Quickstart command runs examples/demo.mjs: it must keep working and showing
// what it says (real filters on Linux x86_64).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../_util/tools.js';

test('npm run demo: compiles, emulates, and runs programs under real filters', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'demo.mjs')], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /return ERRNO\(100\)/);
  assert.match(out, /uname\s+-> errno\(100\)/);
  assert.match(out, /write\s+-> allow/);
  if (process.platform === 'linux' && process.arch === 'x64') {
    assert.match(out, /uname: cannot get system name: Network is down\n\(exit status 1\)/);
    assert.match(out, /adding execve to the process seccomp filter\nI will try to execve something\.\.\.\n\(killed by SIGSYS\)/);
    assert.not.match(out, /Doing arbitrary code execution!!!\n\(/);
    assert.match(out, /adding uname to the process seccomp filter\nstarted\n\(killed by SIGSYS\)/);
    assert.match(out, /unknown syscall 'unamex'.*\n\(exit status 1\)/);
  }
});

test.run();
