/**
 * seccomp-ts public API.
 */
export * from './bpf/index.js';
