"""`os` for the short commands, without importing `os` (roles: all).

`import os` costs ~0.8 ms here (mostly _collections_abc, which it pulls in):
a tenth of a whole `pyrunc state`, whose cost is nearly all interpreter
start and imports. The calls themselves live in the built-in `posix` module,
which the interpreter has loaded already; this module is posix plus the few
os.path helpers that cli, log, state, container and the cgroup managers use.
They import it as ``from . import _os as os``, so the code reads as usual.

Anything os has and this module lacks is an AttributeError: add it here
(with posixpath's behaviour), or import os where only slow paths need it
(realpath falls back to posixpath for a path that does not exist).
"""
from posix import *  # noqa: F401,F403  (open, read, kill, O_*, W*, ...)
from posix import _exit, environ as _environb  # noqa: F401  (_exit: not exported by *)
from posix import O_CLOEXEC, O_PATH, close, fspath, getcwd, mkdir, open, readlink, scandir, stat
import sys as _sys

sep = "/"
devnull = "/dev/null"
error = OSError


def _str(b):
    return b.decode("utf-8", "surrogateescape")


del environ  # posix's has bytes: os.environ (str) is made below, on first use


def __getattr__(name):
    """os.environ (str keys and values), decoded on first use only (create's
    LISTEN_FDS check); pyrunc never changes it."""
    if name == "environ":
        global environ
        environ = {_str(k): _str(v) for k, v in _environb.items()}
        return environ
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _file_type(p):
    """S_IFMT bits of what p names (symlinks followed), or None."""
    try:
        return stat(p).st_mode & 0o170000
    except (OSError, ValueError):
        return None


# The os.path functions used on the short paths (posixpath semantics), as
# attributes of a module object: `path` as a class would cost ~25 us to make
# at every start (see errors.py). Defined here, then moved into it.
path = type(_sys)(__name__ + ".path")


def join(a, *parts):
    for p in parts:
        if p.startswith("/"):
            a = p
        elif not a or a.endswith("/"):
            a += p
        else:
            a += "/" + p
    return a

def dirname(p):
    head = p[:p.rfind("/") + 1]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head

def basename(p):
    return p[p.rfind("/") + 1:]

def exists(p):
    try:
        stat(p)
    except (OSError, ValueError):
        return False
    return True

def isdir(p):
    return _file_type(p) == 0o040000

def isfile(p):
    return _file_type(p) == 0o100000

def abspath(p):
    if not p.startswith("/"):
        p = path.join(getcwd(), p)
    return path.normpath(p)

def normpath(p):
    if not p:
        return "."
    initial = 2 if p.startswith("//") and not p.startswith("///") else 1 if p.startswith("/") else 0
    out = []
    for c in p.split("/"):
        if c in ("", "."):
            continue
        if c != ".." or (not initial and not out) or (out and out[-1] == ".."):
            out.append(c)
        elif out:
            out.pop()
    p = "/".join(out)
    if initial:
        p = "/" * initial + p
    return p or "."

def realpath(p):
    """The canonical path of an existing file (what the kernel resolved,
    read back through /proc/self/fd); posixpath's answer otherwise."""
    try:
        fd = open(p, O_PATH | O_CLOEXEC)
    except OSError:
        fd = -1
    if fd >= 0:
        try:
            r = readlink("/proc/self/fd/%d" % fd)
            if r.startswith("/"):
                return r
        except OSError:
            pass
        finally:
            close(fd)
    import posixpath  # imports os: only for what does not exist
    return posixpath.realpath(p)


for _f in (join, dirname, basename, exists, isdir, isfile, abspath, normpath, realpath):
    setattr(path, _f.__name__, _f)
    del globals()[_f.__name__]
del _f


def fsencode(filename):
    """os.fsencode (the filesystem encoding is UTF-8 here, as Python sets it)."""
    filename = fspath(filename)
    if isinstance(filename, str):
        return filename.encode("utf-8", "surrogateescape")
    return filename


def makedirs(name, mode=0o777, exist_ok=False):
    """os.makedirs: the missing parents first."""
    head = path.dirname(name.rstrip("/"))
    if head and not path.exists(head):
        try:
            makedirs(head, mode, True)
        except FileExistsError:
            pass
    try:
        mkdir(name, mode)
    except OSError:
        if not exist_ok or not path.isdir(name):
            raise


def walk(top):
    """os.walk(top): top-down, errors ignored, symlinks neither followed nor
    counted as folders (cgroupfs, where delete walks, has none)."""
    try:
        it = scandir(top)
    except OSError:
        return
    dirs, files = [], []
    with it:
        for e in it:
            try:
                d = e.is_dir(follow_symlinks=False)
            except OSError:
                d = False
            (dirs if d else files).append(e.name)
    yield top, dirs, files
    for d in dirs:  # after the yield: the caller may prune, as with os.walk
        yield from walk(path.join(top, d))
