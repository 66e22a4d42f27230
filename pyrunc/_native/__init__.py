"""Python face of the native shim (roles: all).

Every syscall wrapper goes through check(), the one chokepoint that turns the
C convention (-1 and errno) into ``OSError(errno, "<what>: <strerror>", path)``.
Paths may be str or bytes.
"""
from .. import _os as os  # posix without os's import cost (_os.py)

from ._shim import ffi, lib

ABI = 2
if lib.pyrunc_abi_version() != ABI:  # a stale build next to new Python code
    raise ImportError("pyrunc native shim ABI %d, expected %d: reinstall pyrunc"
                      % (lib.pyrunc_abi_version(), ABI))

NULL = ffi.NULL
_enc = os.fsencode

# unshare/setns/clone flags
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# mount(2) flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8

# openat2 resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

# new mount API
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# prctl options
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

CLOSE_RANGE_CLOEXEC = 1 << 2


def check(rc, what, path=None):
    """Raise OSError for a -1 return; pass any other value through."""
    if rc < 0:
        err = ffi.errno
        if path is None:
            raise OSError(err, "%s: %s" % (what, os.strerror(err)))
        raise OSError(err, "%s: %s" % (what, os.strerror(err)), path)
    return rc


def _c(s):
    return NULL if s is None else _enc(s)


def unshare(flags):
    check(lib.pyrunc_unshare(flags), "unshare")


def setns(fd, nstype=0):
    check(lib.pyrunc_setns(fd, nstype), "setns")


def mount(source, target, fstype, flags=0, data=None):
    check(lib.pyrunc_mount(_c(source), _c(target), _c(fstype), flags, _c(data)),
          "mount", target)


def umount2(target, flags=0):
    check(lib.pyrunc_umount2(_enc(target), flags), "umount", target)


def pivot_root(new_root, put_old):
    check(lib.pyrunc_pivot_root(_enc(new_root), _enc(put_old)), "pivot_root", new_root)


def setdomainname(name):
    b = _enc(name)
    check(lib.pyrunc_setdomainname(b, len(b)), "setdomainname")


def openat2(dirfd, path, flags, mode=0, resolve=0):
    return check(lib.pyrunc_openat2(dirfd, _enc(path), flags, mode, resolve), "openat2", path)


def open_tree(dirfd, path, flags):
    return check(lib.pyrunc_open_tree(dirfd, _enc(path), flags), "open_tree", path)


def move_mount(from_dirfd, from_path, to_dirfd, to_path, flags):
    check(lib.pyrunc_move_mount(from_dirfd, _enc(from_path), to_dirfd, _enc(to_path), flags),
          "move_mount", to_path)


def mount_setattr(dirfd, path, flags, attr_set=0, attr_clr=0, propagation=0):
    check(lib.pyrunc_mount_setattr(dirfd, _enc(path), flags, attr_set, attr_clr, propagation),
          "mount_setattr", path)


def prctl(option, a2=0, a3=0, a4=0, a5=0):
    return check(lib.pyrunc_prctl(option, a2, a3, a4, a5), "prctl")


def close_range_cloexec(first):
    check(lib.pyrunc_close_range(first, 0xFFFFFFFF, CLOSE_RANGE_CLOEXEC), "close_range")


def join_session_keyring(name=None):
    return check(lib.pyrunc_join_session_keyring(_c(name)), "keyctl(join session keyring)")


def personality(persona):
    check(lib.pyrunc_personality(persona), "personality")


def ioprio_set(which, who, ioprio):
    check(lib.pyrunc_ioprio_set(which, who, ioprio), "ioprio_set")


def sched_setattr(pid, policy, flags=0, nice=0, priority=0, runtime=0, deadline=0, period=0):
    check(lib.pyrunc_sched_setattr(pid, policy, flags, nice, priority, runtime, deadline,
                                   period), "sched_setattr")


PROC_SUPER_MAGIC = 0x9FA0
TMPFS_MAGIC = 0x01021994


def fs_type(fd):
    return check(lib.pyrunc_fs_type(fd), "fstatfs")


def pidfd_open(pid):
    return check(lib.pyrunc_pidfd_open(pid, 0), "pidfd_open")


def pidfd_send_signal(pidfd, sig):
    check(lib.pyrunc_pidfd_send_signal(pidfd, sig, 0), "pidfd_send_signal")


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def rename_exchange(a, b):
    """Swap the names a and b (both must exist), atomically."""
    check(lib.pyrunc_renameat2(AT_FDCWD, _enc(a), AT_FDCWD, _enc(b), RENAME_EXCHANGE),
          "renameat2", b)


_EXEC_STAGES = {1: "reset signals", 2: "close fds", 3: "load seccomp filter", 4: "exec"}


def exec_final(path, argv, envp, first_cloexec, bpf=b"", bpf_flags=0, notify_sock=-1,
               caps=None):
    """The last step (see shim.h). Returns only by raising OSError.

    ``caps``: six u32 words for a capset right after the filter is loaded
    (pyrunc_exec_final_caps; seccomp.py explains when)."""
    keep = [ffi.new("char[]", _enc(a)) for a in argv]
    c_argv = ffi.new("char *[]", keep + [NULL])
    keep_env = [ffi.new("char[]", _enc(e)) for e in envp]
    c_envp = ffi.new("char *[]", keep_env + [NULL])
    stage = ffi.new("int *")
    filt = ffi.from_buffer(bpf) if bpf else NULL
    if caps is not None and bpf:
        lib.pyrunc_exec_final_caps(_enc(path), c_argv, c_envp, first_cloexec, filt,
                                   len(bpf) // 8, bpf_flags, notify_sock,
                                   ffi.new("uint32_t[6]", caps), stage)
    else:
        lib.pyrunc_exec_final(_enc(path), c_argv, c_envp, first_cloexec, filt,
                              len(bpf) // 8, bpf_flags, notify_sock, stage)
    err = ffi.errno
    what = _EXEC_STAGES.get(stage[0], "exec")
    raise OSError(err, "%s: %s" % (what, os.strerror(err)), path)


# --- eBPF device filter (cgroup v2) -------------------------------------------
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2


def bpf_prog_load_cgroup_device(insns):
    """Load eBPF bytecode (bytes, 8 per instruction); returns the program fd.
    A verifier rejection carries the verifier's log in the message."""
    buf = ffi.from_buffer(insns)
    rc = lib.pyrunc_bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, buf, len(insns) // 8,
                                  b"Apache", NULL, 0)
    if rc < 0:
        err = ffi.errno
        log = ffi.new("char[]", 65536)
        lib.pyrunc_bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, buf, len(insns) // 8,
                                 b"Apache", log, 65536)
        text = ffi.string(log).decode(errors="replace").strip().replace("\n", "; ")
        raise OSError(err, "bpf prog load: %s%s" % (os.strerror(err),
                                                     (" (" + text[-300:] + ")") if text else ""))
    return rc


def bpf_prog_attach_cgroup_device(cgroup_fd, prog_fd):
    check(lib.pyrunc_bpf_prog_attach(cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI),
          "bpf prog attach")
