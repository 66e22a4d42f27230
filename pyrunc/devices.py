"""/dev inside the container (roles: init; DEFAULT_ALLOW_RULES: parent).

The default devices (null, zero, full, random, urandom, tty), /dev/ptmx as a
symlink to pts/ptmx, the fd/stdin/stdout/stderr/core symlinks, and every
linux.devices entry. Nodes are made with mknod, or bind-mounted from the host
when mknod is not allowed (inside a user namespace). Whatever the image left at
a node's path is removed first (never followed): a planted
``dev/null -> /proc/sys/kernel/core_pattern`` must not become our target.
"""
import errno
from . import _os as os  # posix without os's import cost (_os.py)
import stat

# paths (and the native shim it loads) is imported by create() and
# symlinks(), which run in init, where init.py has loaded both already: the
# parent needs only allow_rules() and must not load cffi for it (~1.2 ms).

# (path, type, major, minor, mode)
DEFAULT_DEVICES = [
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
]

# Always allowed in the devices cgroup, after the config's own rules (as runc
# 1.1: mknod of any node, then use of the default devices, pts, ptmx and tun).
DEFAULT_ALLOW_RULES = [
    {"allow": True, "type": "c", "major": -1, "minor": -1, "access": "m"},
    {"allow": True, "type": "b", "major": -1, "minor": -1, "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},  # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},  # ptmx
    {"allow": True, "type": "c", "major": 136, "minor": -1, "access": "rwm"},  # pts/*
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},  # net/tun
]

SYMLINKS = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
]

_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def config_devices(config):
    """(path, type, major, minor, mode, uid, gid) for linux.devices."""
    out = []
    for d in (config.get("linux") or {}).get("devices") or ():
        out.append((d["path"], d["type"], d.get("major", 0), d.get("minor", 0),
                    d.get("fileMode", 0o666), d.get("uid"), d.get("gid")))
    return out


def allow_rules(config):
    """Cgroup rules that let the container use its linux.devices."""
    return [{"allow": True, "type": "c" if t == "u" else t, "major": ma, "minor": mi,
             "access": "rwm"} for (_, t, ma, mi, _, _, _) in config_devices(config) if t != "p"]


def _remove_planted(parent, name):
    """Unlink whatever the image has at parent/name (a node, link or file)."""
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, "device path is a folder in the image", name)
    os.unlink(name, dir_fd=parent)


def create(rootfd, rootfs, devices, bind):
    """Make every device node in ``devices`` inside the root."""
    from . import _native, paths
    old = os.umask(0)
    try:
        for (path, typ, major, minor, mode, uid, gid) in devices:
            parts = paths.split(path)
            parentfd = paths.mkdir_in_root(rootfd, "/".join(parts[:-1]))
            try:
                paths.check_in_root(parentfd, rootfs)
                name = parts[-1]
                _remove_planted(parentfd, name)
                if bind:
                    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_WRONLY
                                 | os.O_CLOEXEC, 0o000, dir_fd=parentfd)
                    os.close(fd)
                    target = paths.open_in_root(rootfd, path)
                    try:
                        paths.check_in_root(target, rootfs)
                        _native.mount(path, paths.fd_path(target), None, _native.MS_BIND)
                    finally:
                        os.close(target)
                else:
                    os.mknod(name, (mode & 0o7777) | _TYPES[typ], os.makedev(major, minor),
                             dir_fd=parentfd)
                    if uid is not None or gid is not None:
                        os.chown(name, uid if uid is not None else -1,
                                 gid if gid is not None else -1, dir_fd=parentfd,
                                 follow_symlinks=False)
            finally:
                os.close(parentfd)
    finally:
        os.umask(old)


def symlinks(rootfd, rootfs, with_ptmx=True):
    from . import paths
    links = list(SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if with_ptmx:
        links.append(("pts/ptmx", "/dev/ptmx"))
    for target, path in links:
        parts = paths.split(path)
        parentfd = paths.mkdir_in_root(rootfd, "/".join(parts[:-1]))
        try:
            paths.check_in_root(parentfd, rootfs)
            try:
                os.symlink(target, parts[-1], dir_fd=parentfd)
            except FileExistsError:
                if path == "/dev/ptmx":  # an image's own ptmx node gives way
                    _remove_planted(parentfd, parts[-1])
                    os.symlink(target, parts[-1], dir_fd=parentfd)
        finally:
            os.close(parentfd)
