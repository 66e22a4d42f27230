"""process.capabilities (roles: init, exec).

Sets are applied with python-prctl (bounding drop, capset) and the ambient set
through the shim (python-prctl lacks PR_CAP_AMBIENT). Order matters, as in
runc: the bounding set is dropped while we still hold CAP_SETPCAP, before the
uid changes; keepcaps keeps the permitted set across setuid; then capset
sets effective/permitted/inheritable, and ambient is raised last (a cap must
be permitted and inheritable to become ambient). Nothing is ever added to
inheritable or ambient unless the spec lists it (security.md item 8).
"""
import _prctl  # python-prctl; imported only where caps are applied (init, exec)

from . import _native

NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
NUMBERS = {n: i for i, n in enumerate(NAMES)}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


_last_cap = None


def last_cap():
    """The kernel's highest capability number (a constant of the running
    kernel: read once, forks inherit it; init asks 7 times per setup)."""
    global _last_cap
    if _last_cap is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _last_cap = int(f.read())
        except OSError:
            return len(NAMES) - 1  # no procfs (yet): not remembered
    return _last_cap


def resolve(names, warn=None):
    """Capability names -> numbers known to this kernel; unknown ones warned."""
    out = set()
    top = last_cap()
    for n in names or ():
        key = n.upper()
        if not key.startswith("CAP_"):
            key = "CAP_" + key
        num = NUMBERS.get(key)
        if num is None or num > top:
            if warn:
                warn("unknown capability %s ignored" % n)
            continue
        out.add(num)
    return out


def parse(caps, warn=None):
    """{set name: set of numbers} for a process.capabilities object."""
    caps = caps or {}
    return {s: resolve(caps.get(s), warn) for s in SETS}


def drop_bounding(keep):
    for cap in range(last_cap() + 1):
        if cap not in keep:
            _prctl.prctl(_prctl.PR_CAPBSET_DROP, cap)


def set_keepcaps(on):
    _native.prctl(_native.PR_SET_KEEPCAPS, 1 if on else 0)


def apply(parsed):
    """capset + ambient, after the user switch (see module docstring)."""
    every = set(range(last_cap() + 1))
    eff, perm, inh = parsed["effective"], parsed["permitted"], parsed["inheritable"]
    _prctl.set_caps(list(eff), list(perm), list(inh),
                    list(every - eff), list(every - perm), list(every - inh))
    _native.prctl(_native.PR_CAP_AMBIENT, _native.PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in sorted(parsed["ambient"]):
        _native.prctl(_native.PR_CAP_AMBIENT, _native.PR_CAP_AMBIENT_RAISE, cap)
