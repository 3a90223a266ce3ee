import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editDistance, suggest, syscallTable } from '../../src/arch/index.js';

test('editDistance: insert, delete, substitute, adjacent swap', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['', 'abc', 3],
    ['read', 'read', 0],
    ['read', 'reed', 1],
    ['read', 'raed', 1], // swap
    ['opnat', 'openat', 1],
    ['openat', 'open', 2],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // optimal string alignment, not full Damerau
  ];
  for (const [a, b, d] of cases) {
    assert.is(editDistance(a, b), d, `${a}/${b}`);
    assert.is(editDistance(b, a), d, `${b}/${a} symmetric`);
  }
});

const X86 = [...syscallTable('x86_64').keys()];

test('suggest: nearest syscall names first', () => {
  const cases: [string, string[]][] = [
    ['opnat', ['openat']],
    ['opena', ['openat', 'open']], // longer shared prefix first on equal distance
    ['raed', ['read']],
    ['READ', ['readv', 'readlink', 'readahead']], // the name itself is excluded, case-insensitively
    ['mmpa', ['mmap']],
    ['fstatat', ['fstat', 'newfstatat']],
    ['clone4', ['clone', 'clone3']],
    ['qqqqqq', []],
    ['', []],
  ];
  for (const [name, want] of cases) {
    const got = suggest(name, X86, 5);
    for (const w of want) assert.ok(got.includes(w), `${name}: ${got.join(',')} lacks ${w}`);
    if (want.length === 0) assert.equal(got, [], name);
    assert.is(got[0], want[0], `${name}: best is ${got[0]}`);
  }
});

test('suggest: max, duplicates, order is deterministic', () => {
  assert.is(suggest('opena', X86, 1).length, 1);
  assert.equal(suggest('opena', X86, 0), []);
  assert.equal(suggest('abcd', ['abce', 'abce', 'abcf']), ['abce', 'abcf']);
  assert.equal(suggest('opena', [...X86].reverse()), suggest('opena', X86));
  assert.ok(suggest('read', X86).length <= 3, 'default max is 3');
});

test.run();
