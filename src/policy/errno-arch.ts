/**
 * errno numbers of the ABIs that do not use the generic ones. Policies write errno numbers (and
 * names) in the generic numbering of src/bpf/errno.ts; resolving for such an ABI translates each
 * to that ABI's number for the same name, so errno(ENOSYS) means ENOSYS everywhere.
 *
 * Data: arch/mips/include/uapi/asm/errno.h (Linux 6.12), the names whose MIPS number differs
 * from the generic one (1..34 are shared). powerpc differs only in EDEADLOCK, an alias that the
 * generic table already maps to EDEADLK, so it needs no entry.
 */
import type { Arch } from '../arch/index.js';
import { errnoName } from '../bpf/errno.js';
import { SECCOMP_RET_ACTION_FULL, SECCOMP_RET_DATA, SECCOMP_RET_ERRNO } from '../bpf/seccomp.js';
import type { ActionValue } from './types.js';

/** MIPS errno numbers, by name, for every name whose number differs from the generic one. */
const MIPS: Readonly<Record<string, number>> = Object.freeze({
  ENOMSG: 35, EIDRM: 36, ECHRNG: 37, EL2NSYNC: 38, EL3HLT: 39, EL3RST: 40, ELNRNG: 41, EUNATCH: 42,
  ENOCSI: 43, EL2HLT: 44, EDEADLK: 45, ENOLCK: 46, EBADE: 50, EBADR: 51, EXFULL: 52, ENOANO: 53,
  EBADRQC: 54, EBADSLT: 55, EMULTIHOP: 74, EBADMSG: 77, ENAMETOOLONG: 78, EOVERFLOW: 79,
  ENOTUNIQ: 80, EBADFD: 81, EREMCHG: 82, ELIBACC: 83, ELIBBAD: 84, ELIBSCN: 85, ELIBMAX: 86,
  ELIBEXEC: 87, EILSEQ: 88, ENOSYS: 89, ELOOP: 90, ERESTART: 91, ESTRPIPE: 92, ENOTEMPTY: 93,
  EUSERS: 94, ENOTSOCK: 95, EDESTADDRREQ: 96, EMSGSIZE: 97, EPROTOTYPE: 98, ENOPROTOOPT: 99,
  EPROTONOSUPPORT: 120, ESOCKTNOSUPPORT: 121, EOPNOTSUPP: 122, EPFNOSUPPORT: 123, EAFNOSUPPORT: 124,
  EADDRINUSE: 125, EADDRNOTAVAIL: 126, ENETDOWN: 127, ENETUNREACH: 128, ENETRESET: 129,
  ECONNABORTED: 130, ECONNRESET: 131, ENOBUFS: 132, EISCONN: 133, ENOTCONN: 134, EUCLEAN: 135,
  ENOTNAM: 137, ENAVAIL: 138, EISNAM: 139, EREMOTEIO: 140, ESHUTDOWN: 143, ETOOMANYREFS: 144,
  ETIMEDOUT: 145, ECONNREFUSED: 146, EHOSTDOWN: 147, EHOSTUNREACH: 148, EALREADY: 149,
  EINPROGRESS: 150, ESTALE: 151, ECANCELED: 158, ENOMEDIUM: 159, EMEDIUMTYPE: 160, ENOKEY: 161,
  EKEYEXPIRED: 162, EKEYREVOKED: 163, EKEYREJECTED: 164, EOWNERDEAD: 165, ENOTRECOVERABLE: 166,
  ERFKILL: 167, EHWPOISON: 168, EDQUOT: 1133,
});

/** Whether `arch` numbers errnos differently from the generic table. */
export function hasOwnErrnos(arch: Arch): boolean {
  return arch.name === 'mips64el' || arch.name === 'mipsel';
}

/**
 * The number `arch` uses for the errno that has generic number `generic`. Numbers without a
 * generic name, and every number on ABIs with the generic numbering, are returned unchanged.
 */
export function errnoForArch(generic: number, arch: Arch): number {
  if (!hasOwnErrnos(arch)) return generic;
  const name = errnoName(generic);
  return (name !== undefined ? MIPS[name] : undefined) ?? generic;
}

/** An action value as it must be returned on `arch`: errno data translated by errnoForArch, others unchanged. */
export function actionForArch(action: ActionValue, arch: Arch): ActionValue {
  if (((action & SECCOMP_RET_ACTION_FULL) >>> 0) !== SECCOMP_RET_ERRNO) return action;
  return (SECCOMP_RET_ERRNO | errnoForArch(action & SECCOMP_RET_DATA, arch)) >>> 0;
}
