/** The classic-BPF toolkit (seccomp subset). Depends on nothing outside src/bpf. */
export * from './opcodes.js';
export * from './insn.js';
export * from './errors.js';
export * from './seccomp.js';
export * from './builder.js';
export * from './codec.js';
export * from './emulator.js';
export * from './verifier.js';
export * from './text.js';
export * from './errno.js';
export * from './dot.js';
