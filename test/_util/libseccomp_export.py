# Builds a filter with libseccomp (python3-seccomp) and prints its sock_filter bytes as hex.
#
# Input on stdin, JSON, one of:
#   {"rules": {"default": ACTION, "arches": [SCMP_ARCH names], "rules": [{"action": ACTION,
#     "syscall": NAME, "args": [[index, op, value, valueTwo], ...]}]}}
#   {"oci": PROFILE, "caps": [...], "kernel": "X.Y", "host": "amd64"}
#     an OCI/Docker profile applied as moby and runc do on that host: includes/excludes by caps,
#     host arch and kernel; archMap for the architectures; errnoRet/defaultErrnoRet for errno.
# ACTION: "allow", "kill_process", "kill_thread", "log", "trap", "errno:N".
# Run with Debian's /usr/bin/python3 (it has the seccomp module).
import json, sys, tempfile
import seccomp

OPS = {'eq': seccomp.EQ, 'ne': seccomp.NE, 'lt': seccomp.LT, 'le': seccomp.LE, 'gt': seccomp.GT, 'ge': seccomp.GE,
       'masked_eq': seccomp.MASKED_EQ,
       'SCMP_CMP_EQ': seccomp.EQ, 'SCMP_CMP_NE': seccomp.NE, 'SCMP_CMP_LT': seccomp.LT, 'SCMP_CMP_LE': seccomp.LE,
       'SCMP_CMP_GT': seccomp.GT, 'SCMP_CMP_GE': seccomp.GE, 'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ}


def action(a):
    if a.startswith('errno:'):
        return seccomp.ERRNO(int(a[6:]))
    return {'allow': seccomp.ALLOW, 'kill_process': seccomp.KILL_PROCESS, 'kill_thread': seccomp.KILL,
            'log': seccomp.LOG, 'trap': seccomp.TRAP}[a]


def build(spec):
    f = seccomp.SyscallFilter(defaction=action(spec['default']))
    f.remove_arch(seccomp.Arch.NATIVE)
    for a in spec['arches']:
        f.add_arch(getattr(seccomp.Arch, a.replace('SCMP_ARCH_', '')))
    for r in spec['rules']:
        args = [seccomp.Arg(i, OPS[op], v, v2) if op in ('masked_eq', 'SCMP_CMP_MASKED_EQ') else seccomp.Arg(i, OPS[op], v)
                for i, op, v, v2 in r.get('args', [])]
        try:
            f.add_rule(action(r['action']), r['syscall'], *args)
        except (ValueError, RuntimeError, OSError):
            pass  # unknown on every arch: runc ignores these too
    return f


def kernel_at_least(have, want):
    h = [int(x) for x in have.split('.')[:2]]
    w = [int(x) for x in want.split('.')[:2]]
    return h >= w


def from_oci(p, caps, kernel, host):
    arch_of_host = {'amd64': 'SCMP_ARCH_X86_64', 'arm64': 'SCMP_ARCH_AARCH64'}[host]
    arches = [arch_of_host]
    for m in p.get('archMap') or []:
        if m['architecture'] == arch_of_host:
            arches += m.get('subArchitectures') or []
    default_errno = p.get('defaultErrnoRet', 1)

    def act(name, errno_ret):
        return {'SCMP_ACT_ALLOW': 'allow', 'SCMP_ACT_KILL': 'kill_thread', 'SCMP_ACT_KILL_THREAD': 'kill_thread',
                'SCMP_ACT_KILL_PROCESS': 'kill_process', 'SCMP_ACT_LOG': 'log', 'SCMP_ACT_TRAP': 'trap',
                'SCMP_ACT_ERRNO': 'errno:%d' % (errno_ret if errno_ret is not None else default_errno)}[name]

    rules = []
    for s in p['syscalls']:
        inc, exc = s.get('includes') or {}, s.get('excludes') or {}
        if inc.get('arches') and host not in inc['arches']:
            continue
        if inc.get('caps') and not all(c in caps for c in inc['caps']):
            continue
        if inc.get('minKernel') and not kernel_at_least(kernel, inc['minKernel']):
            continue
        if exc.get('arches') and host in exc['arches']:
            continue
        if exc.get('caps') and any(c in caps for c in exc['caps']):
            continue
        if exc.get('minKernel') and kernel_at_least(kernel, exc['minKernel']):
            continue
        args = [[a['index'], a['op'], a['value'], a.get('valueTwo', 0)] for a in s.get('args') or []]
        for name in s['names']:
            rules.append({'action': act(s['action'], s.get('errnoRet')), 'syscall': name, 'args': args})
    return {'default': act(p['defaultAction'], None), 'arches': arches, 'rules': rules}


req = json.load(sys.stdin)
spec = req['rules'] if 'rules' in req else from_oci(req['oci'], req['caps'], req['kernel'], req['host'])
flt = build(spec)
with tempfile.TemporaryFile() as b:
    flt.export_bpf(b)
    b.seek(0)
    print(b.read().hex())
