"""Container state on disk (roles: parent, and every short command).

Layout: ``<root>/<id>/state.json`` (written atomically: temp file + rename),
``<root>/<id>/exec.fifo`` while the container is created but not started.
A container's lock is flock(2) on its folder. Status is never stored: it is
derived from the init pid and its start time (field 22 of /proc/<pid>/stat),
the freezer, and the fifo, in the order the CLI contract gives.

This module is on the path of `state`, `list`, `kill`: it imports nothing
heavy.
"""
from . import _os as os  # posix without os's import cost (_os.py)
import time

from . import jsonio
from . import errors  # errors.X where raised or caught: the classes are made on first use

STATE_FILE = "state.json"
FIFO = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-")


def validate_id(cid):
    if not cid or cid in (".", "..") or not set(cid) <= _ID_CHARS or len(cid) > 1024:
        raise errors.InvalidIdError("invalid container id %r: use letters, digits and _+.- only" % (cid,))
    return cid


def now_rfc3339nano():
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def read_small(path):
    """The bytes of a small file (state.json, a /proc or cgroup file) in one
    read: without io's buffered file object (an fstat, an isatty ioctl and
    Python layers per file, on every short command)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, 1 << 20)
        if len(data) < 1 << 20:
            return data
        chunks = [data]
        while data:
            data = os.read(fd, 1 << 20)
            chunks.append(data)
        return b"".join(chunks)
    finally:
        os.close(fd)


def proc_stat(pid):
    """(state letter, start time) of a pid, or None when it is gone."""
    try:
        data = read_small("/proc/%d/stat" % pid)
    except OSError:
        return None
    # comm may hold spaces and parens: split after the last ')'
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[19])


class Container:
    """One container's state folder. ``data`` is the parsed state.json."""

    def __init__(self, root, cid):
        self.root = root
        self.id = validate_id(cid)
        self.dir = os.path.join(root, cid)
        self.data = None
        self._lockfd = -1
        self._saved = False  # state.json written by this object (save)

    # --- folder life -------------------------------------------------------
    def make(self):
        """Create the folder; fails if the container exists."""
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(self.dir, 0o711)
        except FileExistsError:
            raise errors.ContainerExistsError(self.id)
        return self

    def load(self):
        try:
            self.data = jsonio.loads(read_small(os.path.join(self.dir, STATE_FILE)))
        except FileNotFoundError:
            raise errors.ContainerNotFoundError(self.id)
        except ValueError:
            raise errors.ContainerNotFoundError(self.id)
        return self

    def exists(self):
        return os.path.exists(os.path.join(self.dir, STATE_FILE))

    def save(self, data=None):
        if data is not None:
            self.data = data
        tmp = os.path.join(self.dir, ".state.json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, jsonio.dumps(self.data).encode())
        finally:
            os.close(fd)
        path = os.path.join(self.dir, STATE_FILE)
        if not self._saved:
            os.replace(tmp, path)
            self._saved = True
            return
        # Replacing our own earlier state.json (create's final save): swap the
        # two names and unlink the old one rather than rename over it. On
        # ext4, a rename over an existing file forces the new file's data to
        # disk (auto_da_alloc), and the unlink of that file in `delete` then
        # waits for the write: ~0.2-1 ms on the `delete` that follows a short
        # `run` here. Readers see the old file or the new one, never none.
        from . import _native  # loaded already: create's parent imports it
        try:
            _native.rename_exchange(tmp, path)
        except OSError as e:
            if e.errno != 22:  # EINVAL: a file system without RENAME_EXCHANGE
                raise
            os.replace(tmp, path)
            return
        os.unlink(tmp)

    def lock(self):
        """Exclusive lock on the container, held until unlock() or exit."""
        try:
            fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errors.ContainerNotFoundError(self.id)
        import fcntl  # a shared library here: only the commands that lock load it
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lockfd = fd
        if self.data is not None:
            # what we read before waiting for the lock may be stale (a create
            # or delete held it): read it again under the lock
            try:
                self.load()
            except errors.ContainerNotFoundError:
                self.unlock()
                raise
        return self

    def unlock(self):
        if self._lockfd >= 0:
            os.close(self._lockfd)
            self._lockfd = -1

    def drop_inherited_lock(self):
        """In a child forked while the lock is held: close our copy of its fd
        only. The flock belongs to the open file (the parent's fd stays), and
        would last as long as any copy: init's lasts until `start`."""
        if self._lockfd >= 0:
            os.close(self._lockfd)
            self._lockfd = -1

    def remove_dir(self):
        """Remove the state folder and everything in it."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return
        for n in names:
            try:
                os.unlink(os.path.join(self.dir, n))
            except IsADirectoryError:
                import shutil
                shutil.rmtree(os.path.join(self.dir, n), ignore_errors=True)
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.dir)
        except FileNotFoundError:
            pass

    # --- derived facts -----------------------------------------------------
    @property
    def pid(self):
        return self.data.get("pid", 0)

    def fifo_path(self):
        return os.path.join(self.dir, FIFO)

    def init_alive(self):
        pid = self.pid
        if not pid:
            return False
        st = proc_stat(pid)
        return st is not None and st[0] not in ("Z", "X") and st[1] == self.data.get("start_time")

    def status(self):
        """paused, creating, stopped, created or running, in the contract's order."""
        if self._frozen():
            return "paused"
        if not self.pid and os.path.exists(self.fifo_path()):
            return "creating"  # pid 0: create has not recorded the init yet
        if not self.init_alive():
            return "stopped"
        if os.path.exists(self.fifo_path()):
            return "created"
        return "running"

    def _frozen(self):
        path = (self.data.get("cgroup") or {}).get("freezer")
        if not path:
            return False
        try:
            v = read_small(path).strip()
        except OSError:
            return False
        # v1 freezer.state says FROZEN/FREEZING; v2 cgroup.freeze says 1
        return v in (b"FROZEN", b"FREEZING", b"1")

    def owner(self):
        import pwd
        try:
            uid = os.stat(self.dir).st_uid
            return pwd.getpwuid(uid).pw_name
        except (OSError, KeyError):
            return ""

    def oci_state(self, status=None):
        """The runtime-spec state object (runtime.md), as `state` prints it."""
        status = status or self.status()
        d = self.data
        out = {
            "ociVersion": d.get("ociVersion", ""),
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": d.get("bundle", ""),
            "rootfs": d.get("rootfs", ""),
            "created": d.get("created", ""),
        }
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        out["owner"] = ""
        return out

    def hook_state(self, status):
        """The state passed to hooks on stdin (runtime.md: ociVersion...annotations)."""
        d = self.data
        out = {"ociVersion": d.get("ociVersion", ""), "id": self.id, "status": status,
               "pid": self.pid, "bundle": d.get("bundle", "")}
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        return out


def list_ids(root):
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not n.startswith(".")
                  and os.path.isfile(os.path.join(root, n, STATE_FILE)))
