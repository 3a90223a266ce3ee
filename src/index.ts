/**
 * seccomp-ts public API.
 */
export * from './bpf/index.js';
export * from './arch/index.js';
export * from './apply/index.js';
export * from './symbols.js';
export * from './policy/index.js';
export * from './launch/index.js';
