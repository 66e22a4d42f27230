"""AppArmor and SELinux (roles: parent checks, init applies).

Small on purpose: pyrunc applies process.apparmorProfile and
process.selinuxLabel by writing the kernel's exec-transition attribute, which
takes effect at the execve of the container's program. The write goes
through a /proc/self/attr handle whose filesystem was checked to be procfs
(security.md technique 4 / checklist item 7): a bind mount over it makes the
runtime fail, never write somewhere else.

A config asking for an LSM the host has not enabled is refused up front
(`create` fails with a one-line error), as runc does for SELinux; runc
1.1.5 fails too for AppArmor, later (at the attribute write). linux.mountLabel
(SELinux context= for mounts) is not implemented: refused with an error
(naming SELinux being off, where it is).
"""
import errno
from . import _os as os  # posix without os's import cost (_os.py)

from . import errors  # errors.X where raised or caught: the classes are made on first use


def apparmor_enabled():
    """runc's apparmor.IsEnabled(): securityfs folder + module parameter."""
    if not os.path.isdir("/sys/kernel/security/apparmor"):
        return False
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y")
    except OSError:
        return False


def selinux_enabled():
    """go-selinux GetEnabled(): selinuxfs mounted (its `enforce` file exists)."""
    return os.path.exists("/sys/fs/selinux/enforce")


def host_lsms():
    out = []
    if apparmor_enabled():
        out.append("apparmor")
    if selinux_enabled():
        out.append("selinux")
    return out


def process_problem(proc):
    """(field, why) when the host cannot apply a process's label, else None.
    Shared by create (check) and exec."""
    if proc.get("apparmorProfile") and not apparmor_enabled():
        return "apparmorProfile", ("apparmor profile %r is set but AppArmor is not enabled "
                                   "on this host" % proc["apparmorProfile"])
    if proc.get("selinuxLabel") and not selinux_enabled():
        return "selinuxLabel", ("selinux label %r is set but SELinux is not enabled on this "
                                "host" % proc["selinuxLabel"])
    return None


def check(config):
    """Parent, before anything is made: refuse labels the host cannot apply."""
    problem = process_problem(config.get("process") or {})
    if problem:
        raise errors.SpecError(problem[1], "/process/" + problem[0])
    if (config.get("linux") or {}).get("mountLabel"):
        if not selinux_enabled():
            raise errors.SpecError("selinux mount label is set but SELinux is not enabled on this "
                            "host", "/linux/mountLabel")
        raise errors.SpecError("linux.mountLabel (SELinux context= on mounts) is not supported yet",
                        "/linux/mountLabel")


def apply_exec_labels(proc):
    """Init (after the container's /proc is mounted): the labels for execve."""
    profile, label = proc.get("apparmorProfile"), proc.get("selinuxLabel")
    if not profile and not label:
        return
    from . import _native as N
    d = os.open("/proc/self/attr", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if N.fs_type(d) != N.PROC_SUPER_MAGIC:
            raise OSError(errno.EXDEV, "/proc/self/attr is not on procfs: refusing to "
                          "write the LSM label")
        if profile:
            try:  # the per-LSM folder (kernel >= 5.1) first, as runc does
                _write_beside(d, "apparmor/exec", "exec " + profile)
            except FileNotFoundError:
                _write_beside(d, "exec", "exec " + profile)
        if label:
            _write_beside(d, "exec", label)
    finally:
        os.close(d)


def _write_beside(dirfd, name, text):
    from . import _native as N
    fd = N.openat2(dirfd, name, os.O_WRONLY | os.O_CLOEXEC, 0,
                   N.RESOLVE_BENEATH | N.RESOLVE_NO_SYMLINKS | N.RESOLVE_NO_XDEV)
    try:
        os.write(fd, text.encode())
    except OSError as e:
        raise OSError(e.errno, "write /proc/self/attr/%s: %s" % (name, os.strerror(e.errno)))
    finally:
        os.close(fd)
