import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DT_INIT, DT_SONAME, EM_X86_64, ET_DYN, PF_R, PF_X, PT_LOAD, dynamicSection, dynamicTables, elfHeadersSize, writeElfHeaders,
} from '../../src/launch/elf.js';
import { LaunchError } from '../../src/launch/errors.js';
import { buildPreload } from '../../src/launch/preload.js';
import { buildLauncher } from '../../src/launch/stub.js';
import { needTool } from '../_util/tools.js';
import { ALLOW_ALL, tempDir } from './_helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('dynamicSection: u64 tag/value pairs ending with DT_NULL', () => {
  assert.is(hex(dynamicSection([[DT_INIT, 0x1234], [DT_SONAME, 1]])),
    '0c00000000000000' + '3412000000000000' + '0e00000000000000' + '0100000000000000' + '00'.repeat(16));
});

test('dynamicTables: the null symbol, a one-bucket SysV hash, the soname in dynstr', () => {
  const t = dynamicTables('libx.so');
  assert.is(hex(t.dynsym), '00'.repeat(24));
  assert.is(hex(t.hash), '01000000' + '01000000' + '00000000' + '00000000');
  assert.is(Buffer.from(t.dynstr).toString('latin1'), '\0libx.so\0');
  assert.is(t.sonameOffset, 1);
  assert.is(hex(dynamicTables().dynstr), '00');
});

test('writeElfHeaders: header fields, and what the kernel would reject is refused', () => {
  const image = new Uint8Array(0x200);
  writeElfHeaders(image, { type: ET_DYN, machine: EM_X86_64, entry: 0x100, phdrs: [{ type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0, filesz: 0x200, memsz: 0x200, align: 0x1000 }] });
  const v = new DataView(image.buffer);
  assert.is(hex(image.subarray(0, 16)), '7f454c46020101000000000000000000');
  assert.equal([v.getUint16(16, true), v.getUint16(18, true), Number(v.getBigUint64(24, true)), Number(v.getBigUint64(32, true)), v.getUint16(56, true)], [3, 62, 0x100, 64, 1]);
  assert.is(elfHeadersSize(1), 120);
  const bad: [string, Parameters<typeof writeElfHeaders>[1]['phdrs'][number]][] = [
    ['past the end', { type: PT_LOAD, flags: PF_R, offset: 0x100, vaddr: 0x100, filesz: 0x200, memsz: 0x200, align: 0x1000 }],
    ['offset and vaddr not congruent', { type: PT_LOAD, flags: PF_R, offset: 0x100, vaddr: 0x1200, filesz: 0x10, memsz: 0x10, align: 0x1000 }],
    ['memsz < filesz', { type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0, filesz: 0x10, memsz: 0x8, align: 0x1000 }],
  ];
  for (const [name, ph] of bad) {
    assert.throws(() => writeElfHeaders(new Uint8Array(0x200), { type: ET_DYN, machine: EM_X86_64, entry: 0, phdrs: [ph] }), (e: unknown) => e instanceof LaunchError, name);
  }
  assert.throws(() => writeElfHeaders(new Uint8Array(64), { type: ET_DYN, machine: EM_X86_64, entry: 0, phdrs: [bad[0][1]] }), /no room/);
});

const haveReadelf = needTool('readelf', 'binutils');
(haveReadelf ? test : test.skip)('readelf reads the stub and the preload object without complaint', () => {
  const dir = tempDir('elf');
  const stub = join(dir, 'stub');
  const so = join(dir, 'lib.so');
  writeFileSync(stub, buildLauncher(ALLOW_ALL));
  writeFileSync(so, buildPreload(ALLOW_ALL, { soname: 'libtest.so' }));
  const s = spawnSync('readelf', ['-W', '-h', '-l', stub], { encoding: 'utf8' });
  assert.is(s.status, 0);
  assert.is(s.stderr, '');
  assert.match(s.stdout, /Type:\s+DYN/);
  assert.match(s.stdout, /LOAD\s+0x0+ 0x0+ 0x0+ 0x[0-9a-f]+ 0x[0-9a-f]+ R E 0x1000/);
  assert.match(s.stdout, /LOAD\s+0x0+1000 0x0+1000 0x0+1000 0x[0-9a-f]+ 0x[0-9a-f]+ RW  0x1000/);
  assert.match(s.stdout, /GNU_STACK\s.* RW /);
  assert.not.match(s.stdout, /INTERP/);
  const d = spawnSync('readelf', ['-W', '-d', '-l', so], { encoding: 'utf8' });
  assert.is(d.status, 0);
  assert.is(d.stderr, '');
  for (const tag of ['HASH', 'STRTAB', 'SYMTAB', 'STRSZ', 'SYMENT', 'INIT']) assert.match(d.stdout, new RegExp(`\\(${tag}\\)`), tag);
  assert.match(d.stdout, /\(SONAME\)\s+Library soname: \[libtest\.so\]/);
  assert.match(d.stdout, /DYNAMIC\s/);
});

test.run();
