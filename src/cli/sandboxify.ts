/**
 * The `sandboxify` command: the Cloudflare toolkit's launcher name for `seccomp-ts exec`.
 * `sandboxify CMD ARGS...` reads the SECCOMP_* variables and runs CMD under the filter.
 */
process.argv.splice(2, 0, 'exec');
await import('./main.js');

export {};
