"""Build a libseccomp filter from an OCI/Docker seccomp profile the way Docker (moby) and runc do,
and write its BPF program to a file. Run with Debian's /usr/bin/python3 (python3-seccomp).

    oci_libseccomp.py PROFILE OUT.bpf --host amd64 --arch x86_64 [--arch x86 ...]
                      [--cap CAP_X ...] --kernel 6.1

moby part (the architectures come from --arch): keeps a syscalls[]
entry only if its excludes do not trigger and its includes hold (arches compared with the host's
moby name, caps with --cap, minKernel with --kernel as X.Y).
runc part: default action with defaultErrnoRet (EPERM when absent), one rule per name, rules with
the default action skipped, names libseccomp cannot resolve skipped, conditions AND-ed in one rule
unless two test the same argument (then one rule per condition). Bad-arch action: libseccomp's.

Prints JSON: {"skipped": [names libseccomp did not know], "rules": number of rules added,
"numbers": {arch: {name: number}} for every name of the profile that libseccomp resolves there}.
"""
import argparse
import errno
import json
import sys

import seccomp

ACTIONS = {
    'SCMP_ACT_KILL': lambda n: seccomp.KILL,
    'SCMP_ACT_KILL_THREAD': lambda n: seccomp.KILL,
    'SCMP_ACT_KILL_PROCESS': lambda n: seccomp.KILL_PROCESS,
    'SCMP_ACT_TRAP': lambda n: seccomp.TRAP,
    'SCMP_ACT_ERRNO': lambda n: seccomp.ERRNO(errno.EPERM if n is None else n),
    'SCMP_ACT_TRACE': lambda n: seccomp.TRACE(errno.EPERM if n is None else n),
    'SCMP_ACT_ALLOW': lambda n: seccomp.ALLOW,
    'SCMP_ACT_LOG': lambda n: seccomp.LOG,
    'SCMP_ACT_NOTIFY': lambda n: seccomp.NOTIFY,
}
OPS = {
    'SCMP_CMP_NE': seccomp.NE,
    'SCMP_CMP_LT': seccomp.LT,
    'SCMP_CMP_LE': seccomp.LE,
    'SCMP_CMP_EQ': seccomp.EQ,
    'SCMP_CMP_GE': seccomp.GE,
    'SCMP_CMP_GT': seccomp.GT,
    'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ,
}
# libseccomp's names (seccomp.Arch attributes) for the SCMP_ARCH_* strings of a profile.
SCMP_ARCH = {
    'SCMP_ARCH_X86_64': 'X86_64', 'SCMP_ARCH_X86': 'X86', 'SCMP_ARCH_X32': 'X32',
    'SCMP_ARCH_AARCH64': 'AARCH64', 'SCMP_ARCH_ARM': 'ARM',
}


def kernel_tuple(s):
    major, minor = s.split('.')[:2]
    return (int(major), int(''.join(c for c in minor if c.isdigit()) or 0))


def keep_entry(e, host, caps, kernel):
    exc = e.get('excludes') or {}
    inc = e.get('includes') or {}
    if exc.get('arches') and host in exc['arches']:
        return False
    if any(c in caps for c in exc.get('caps') or []):
        return False
    if exc.get('minKernel') and kernel >= kernel_tuple(exc['minKernel']):
        return False
    if inc.get('arches') and host not in inc['arches']:
        return False
    if any(c not in caps for c in inc.get('caps') or []):
        return False
    if inc.get('minKernel') and kernel < kernel_tuple(inc['minKernel']):
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('profile')
    ap.add_argument('out')
    ap.add_argument('--host', required=True, help="moby's name of the host: amd64, arm64, x86, ...")
    ap.add_argument('--arch', action='append', default=[], help='libseccomp arch names to add (X86, X32, ...)')
    ap.add_argument('--cap', action='append', default=[])
    ap.add_argument('--kernel', required=True)
    a = ap.parse_args()
    with open(a.profile) as fh:
        profile = json.load(fh)
    kernel = kernel_tuple(a.kernel)

    default = ACTIONS[profile['defaultAction']](profile.get('defaultErrnoRet'))
    f = seccomp.SyscallFilter(defaction=default)
    for name in a.arch:
        arch = getattr(seccomp.Arch, name)
        if not f.exist_arch(arch):
            f.add_arch(arch)

    skipped = set()
    count = 0
    for e in profile.get('syscalls') or []:
        if not keep_entry(e, a.host, set(a.cap), kernel):
            continue
        act = ACTIONS[e['action']](e.get('errnoRet'))
        if act == default:
            continue
        names = e.get('names') or [e['name']]
        conds = []
        for c in e.get('args') or []:
            conds.append(seccomp.Arg(c['index'], OPS[c['op']], c.get('value', 0), c.get('valueTwo', 0)))
        indexes = [c['index'] for c in e.get('args') or []]
        groups = [[c] for c in conds] if len(set(indexes)) < len(indexes) else [conds]
        for n in names:
            for g in groups:
                try:
                    f.add_rule(act, n, *g)
                    count += 1
                except (RuntimeError, ValueError):
                    skipped.add(n)
    with open(a.out, 'wb') as fh:
        f.export_bpf(fh)
    numbers = {}
    all_names = {n for e in profile.get('syscalls') or [] for n in (e.get('names') or [e['name']])}
    for arch_name in ['NATIVE'] + a.arch:
        table = numbers.setdefault(arch_name, {})
        for n in sorted(all_names):
            try:
                nr = seccomp.resolve_syscall(getattr(seccomp.Arch, arch_name), n)
            except (RuntimeError, ValueError):
                continue
            if nr >= 0:
                table[n] = nr
    json.dump({'skipped': sorted(skipped), 'rules': count, 'numbers': numbers}, sys.stdout)


if __name__ == '__main__':
    main()
