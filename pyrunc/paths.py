"""Paths inside a hostile rootfs (roles: init).

Everything under the rootfs may be a symlink planted to point out of it, and
may be swapped while we work (security.md, techniques 1-3). So a rootfs path
is never used as a string twice:

- open_in_root() resolves it once with openat2(RESOLVE_IN_ROOT |
  RESOLVE_NO_MAGICLINKS): ``..`` and absolute symlinks stay inside the root.
  The result is an O_PATH fd; callers act on the fd (mount onto
  /proc/self/fd/N, which the kernel follows to that very dentry) and
  check_in_root() re-reads where it landed.
- mkdir_in_root()/mkfile_in_root() create what is missing one component at a
  time with mkdirat/openat(O_CREAT|O_EXCL|O_NOFOLLOW) relative to an fd that
  was itself resolved in the root. A dangling symlink on the way is followed
  *inside* the root (its target is created there), never outside.
"""
import errno
from . import _os as os  # posix without os's import cost (_os.py)
import stat

from . import _native

O_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_RESOLVE = _native.RESOLVE_IN_ROOT | _native.RESOLVE_NO_MAGICLINKS
_MAX_LINKS = 40


def split(path):
    return [p for p in path.split("/") if p and p != "."]


def open_in_root(rootfd, path, flags=os.O_PATH | os.O_CLOEXEC, mode=0):
    rel = "/".join(split(path)) or "."
    for _ in range(64):  # openat2 gives EAGAIN when a rename raced it
        try:
            return _native.openat2(rootfd, rel, flags | os.O_CLOEXEC, mode, _RESOLVE)
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise
    raise OSError(errno.EAGAIN, "openat2: resolution kept racing", path)


def fd_path(fd):
    return "/proc/self/fd/%d" % fd


def check_in_root(fd, root):
    """Re-check where an fd really is: it must be the root or below it."""
    real = os.readlink(fd_path(fd))
    root = root.rstrip("/")
    if root and real != root and not real.startswith(root + "/"):
        raise OSError(errno.EXDEV, "path escaped the container root: %s" % real, real)
    return real


def _walk_create(rootfd, path, last_is_file, mode):
    """Create every missing component of path inside the root.

    Returns an O_PATH fd of the final component."""
    parts = split(path)
    links = 0
    i = 0
    while True:
        prefix = "/".join(parts[:i + 1]) if parts else "."
        try:
            fd = open_in_root(rootfd, prefix)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        else:
            if i + 1 >= len(parts):
                return fd
            os.close(fd)
            i += 1
            continue
        # parts[i] is missing, or a dangling symlink: look at it from its parent
        parent = open_in_root(rootfd, "/".join(parts[:i]) or ".", O_PATH_DIR)
        try:
            name = parts[i]
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many symlinks", path)
                target = os.readlink(name, dir_fd=parent)
                rest = parts[i + 1:]
                if target.startswith("/"):
                    parts, i = split(target) + rest, 0
                else:
                    parts = parts[:i] + split(target) + rest
                parts = _clean(parts)
                i = min(i, len(parts) - 1) if parts else 0
                continue
            if name == "..":
                i += 1
                continue
            try:
                if last_is_file and i + 1 == len(parts):
                    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_WRONLY
                                 | os.O_CLOEXEC, mode, dir_fd=parent)
                    os.close(fd)
                else:
                    os.mkdir(name, 0o755 if not last_is_file or i + 1 < len(parts) else mode,
                             dir_fd=parent)
            except FileExistsError:
                pass  # raced: resolve again
        finally:
            os.close(parent)


def _clean(parts):
    """Fold '..' lexically; a leading '..' at the root stays at the root."""
    out = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p and p != ".":
            out.append(p)
    return out


def mkdir_in_root(rootfd, path, mode=0o755):
    return _walk_create(rootfd, path, False, mode)


def mkfile_in_root(rootfd, path, mode=0o644):
    parts = split(path)
    if not parts:
        raise OSError(errno.EISDIR, "cannot create a file at the root", path)
    return _walk_create(rootfd, path, True, mode)


def is_real_dir(rootfd, path):
    """lstat each component: True only if every one is a real folder (no symlink)."""
    fd = os.dup(rootfd)
    try:
        for name in split(path):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return None  # missing: callers create it
            if not stat.S_ISDIR(st.st_mode):
                return False
            nfd = os.open(name, O_PATH_DIR | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return True
    finally:
        os.close(fd)
