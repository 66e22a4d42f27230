"""linux.namespaces, id maps and time offsets (roles: parent writes id maps;
the intermediate joins and creates).

Order (as runc's nsexec, for the same reasons): namespaces given by ``path``
are joined first, the user namespace among them first (it decides what we may
join next) and the mount namespace last (after it, host paths are gone). Then a
new user namespace is unshared and the parent writes its id maps, and only
then the other new namespaces are unshared in one call: they are then owned by
the new user namespace. A new pid or time namespace applies to children only:
the intermediate forks init afterwards.
"""
from . import _os as os  # posix without os's import cost (_os.py)

from . import errors  # errors.X where raised or caught: the classes are made on first use

# config type -> (clone flag, /proc/<pid>/ns name). The flags are the kernel's
# (<linux/sched.h>), spelled out rather than taken from the native shim: the
# parent of a create reads this table, and without a seccomp filter to
# compile it never loads cffi (~1.2 ms), which its children load meanwhile.
# tests/test_units.py checks them against the shim's.
TYPES = {
    "user": (0x10000000, "user"),
    "ipc": (0x08000000, "ipc"),
    "uts": (0x04000000, "uts"),
    "network": (0x40000000, "net"),
    "pid": (0x20000000, "pid"),
    "cgroup": (0x02000000, "cgroup"),
    "time": (0x00000080, "time"),
    "mount": (0x00020000, "mnt"),
}
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def parse(config):
    """{type: path or None} for linux.namespaces; checks duplicates and paths."""
    out = {}
    for i, ns in enumerate((config.get("linux") or {}).get("namespaces") or ()):
        t = ns.get("type")
        if t not in TYPES:
            raise errors.SpecError("unknown namespace type %r" % t, "/linux/namespaces/%d/type" % i)
        if t in out:
            raise errors.SpecError("namespace %s listed twice" % t, "/linux/namespaces/%d" % i)
        path = ns.get("path") or None
        if path is not None and not os.path.exists(path):
            raise errors.SpecError("namespace path %s does not exist" % path,
                            "/linux/namespaces/%d/path" % i)
        out[t] = path
    lin = config.get("linux") or {}
    if (lin.get("uidMappings") or lin.get("gidMappings")) and "user" not in out:
        raise errors.SpecError("uid/gid mappings need a user namespace", "/linux/uidMappings")
    if "user" in out and out["user"] is None and not lin.get("uidMappings"):
        raise errors.SpecError("a new user namespace needs uidMappings and gidMappings",
                        "/linux/uidMappings")
    if lin.get("timeOffsets") and not ("time" in out and out["time"] is None):
        raise errors.SpecError("timeOffsets need a new time namespace", "/linux/timeOffsets")
    # Without its own namespace these would change the HOST's (runc's validator)
    for key in ("hostname", "domainname"):
        if config.get(key) and "uts" not in out:
            raise errors.SpecError("unable to set %s without a private UTS namespace" % key,
                            "/" + key)
    for key in lin.get("sysctl") or ():
        _check_sysctl(key, out)
    return out


_IPC_SYSCTLS = frozenset(("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                          "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                          "kernel.shm_rmid_forced"))


def _check_sysctl(key, nss):
    """A sysctl must belong to a namespace of the container's own (runc's rules)."""
    name = key.replace("/", ".")
    ptr = "/linux/sysctl"
    if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
        if "ipc" not in nss:
            raise errors.SpecError("sysctl %r is not allowed in the host's ipc namespace" % key, ptr)
        return
    if name.startswith("net."):
        if "network" not in nss:
            raise errors.SpecError("sysctl %r is not allowed in the host's network namespace" % key,
                            ptr)
        path = nss["network"]
        if path is not None:
            theirs, ours = os.stat(path), os.stat("/proc/self/ns/net")
            if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
                raise errors.SpecError("sysctl %r is not allowed in the host's network namespace"
                                % key, ptr)
        return
    if name == "kernel.domainname" and "uts" in nss:
        return
    if name == "kernel.ns_last_pid" and "pid" in nss:
        return  # per pid namespace (runc 1.1 refuses it; its own namespace is there)
    if name == "kernel.hostname" and "uts" in nss:
        raise errors.SpecError("sysctl %r is not allowed: use hostname instead" % key, ptr)
    raise errors.SpecError("sysctl %r is not in a separate kernel namespace" % key, ptr)


def new_flags(nss):
    """Clone flags of the namespaces to create, the user namespace excluded."""
    flags = 0
    for t, path in nss.items():
        if path is None and t != "user":
            flags |= TYPES[t][0]
    return flags


def join(nss):
    """setns into every namespace that has a path, in JOIN_ORDER."""
    from . import _native
    fds = []
    try:
        # open them all first: after joining mnt the paths may resolve elsewhere
        for t in JOIN_ORDER:
            if nss.get(t):
                fds.append((t, os.open(nss[t], os.O_RDONLY | os.O_CLOEXEC)))
        for t, fd in fds:
            try:
                _native.setns(fd, TYPES[t][0])
            except OSError as e:
                raise OSError(e.errno, "join %s namespace %s: %s"
                              % (t, nss[t], os.strerror(e.errno)))
    finally:
        for _, fd in fds:
            os.close(fd)


def _map_text(maps):
    return "".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"]) for m in maps)


def write_id_maps(pid, config):
    """Parent side: write uid_map/gid_map of a process in a new user ns.

    setgroups is denied first when the gid map would otherwise be refused
    (a map that is not ours to grant without CAP_SETGID in the parent ns);
    as root on the host we keep setgroups allowed, like runc."""
    from . import _native
    lin = config.get("linux") or {}
    base = "/proc/%d/" % pid
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if _native.fs_type(fd) != _native.PROC_SUPER_MAGIC:
            raise OSError(0, "%s is not on procfs" % base)
        if os.geteuid() != 0:
            _write_at(fd, "setgroups", "deny")
        _write_at(fd, "uid_map", _map_text(lin.get("uidMappings") or ()))
        _write_at(fd, "gid_map", _map_text(lin.get("gidMappings") or ()))
    finally:
        os.close(fd)


def _write_at(dirfd, name, text):
    fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC, dir_fd=dirfd)
    try:
        os.write(fd, text.encode())
    except OSError as e:
        raise OSError(e.errno, "write %s: %s" % (name, os.strerror(e.errno)))
    finally:
        os.close(fd)


def write_time_offsets(config):
    """Intermediate side, right after unshare(CLONE_NEWTIME), before any fork."""
    offs = (config.get("linux") or {}).get("timeOffsets") or {}
    lines = []
    for clock in ("monotonic", "boottime"):
        o = offs.get(clock)
        if o:
            lines.append("%s %d %d\n" % (clock, o.get("secs", 0), o.get("nanosecs", 0)))
    if lines:
        with open("/proc/self/timens_offsets", "w") as f:
            f.write("".join(lines))
