import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OPCODES, BPF_RET, BPF_K } from '../../src/bpf/opcodes.js';

test('opcode table has ret_k', () => {
  assert.is(OPCODES.get(BPF_RET | BPF_K)?.name, 'ret_k');
});
test.run();
