"""cgroup v1 (and hybrid) manager (roles: parent). See the package docstring."""
from .. import _os as os  # posix without os's import cost (_os.py)
import time

from .. import errors  # errors.X where raised or caught: the classes are made on first use
from . import ROOT, own_cgroups


def hierarchies():
    """{name: mountpoint} of mounted v1 hierarchies, one entry per controller
    (cpu and cpuacct co-mounted give two names for one mountpoint)."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] != "cgroup":
                continue
            mnt = fields[4]
            for opt in fields[sep + 3].split(","):
                if opt in ("rw", "ro") or opt.startswith("release_agent") or opt in (
                        "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "nsdelegate"):
                    continue
                out[opt] = mnt
    return out


class Manager:
    version = 1
    freeze_tries = 1000

    def __init__(self, paths, parents=None, existed=None):
        self.paths = paths            # {controller: absolute folder}
        self.parents = parents or []  # ancestors we made
        self.existed = existed or []  # leaves that were there before us: not ours

    @classmethod
    def new(cls, rel, absolute):
        own = own_cgroups()
        paths = {}
        hier = hierarchies()
        for name, mnt in hier.items():
            base = "" if absolute else own.get(name, "/").lstrip("/")
            paths[name] = os.path.join(mnt, base, rel) if base else os.path.join(mnt, rel)
        if not paths:
            raise errors.CgroupError("no cgroup v1 hierarchy is mounted under %s" % ROOT)
        m = cls(paths)
        m.mounts = hierarchy_mounts(hier)  # for init's cgroupfs (create's plan): parsed once
        return m

    @classmethod
    def restore(cls, d):
        return cls(d["paths"], d.get("parents"), d.get("existed"))

    def state(self):
        fr = self.paths.get("freezer")
        return {"version": 1, "paths": self.paths, "parents": self.parents,
                "existed": self.existed, "freezer": fr + "/freezer.state" if fr else None}

    def path(self, controller):
        return self.paths.get(controller)

    # --- life --------------------------------------------------------------
    def create(self):
        for name, path in self._unique():
            self._mkdirs(path)
            if name == "cpuset":
                self._init_cpuset(path)

    def _unique(self):
        seen = set()
        for name, path in sorted(self.paths.items()):
            if path not in seen:
                seen.add(path)
                yield name, path

    def _mkdirs(self, path):
        # The folder itself first: one mkdir(2) when its parent exists (the
        # usual case; init waits for "cgroup-made"). Else parents first,
        # remembering which we made so destroy() removes only them.
        try:
            os.mkdir(path, 0o755)
            return
        except FileExistsError:
            if os.path.isdir(path) and path not in self.existed:
                self.existed.append(path)  # shared with others: never killed or removed
            return
        except FileNotFoundError:
            pass
        todo = []
        p = path
        while not os.path.isdir(p):
            todo.append(p)
            p = os.path.dirname(p)
        for d in reversed(todo):
            try:
                os.mkdir(d, 0o755)
                if d != path and d not in self.parents:
                    self.parents.append(d)
            except FileExistsError:
                if d == path and d not in self.existed:  # made by another meanwhile
                    self.existed.append(d)

    @staticmethod
    def _init_cpuset(path):
        # A new cpuset is empty and takes no task until cpus and mems are set:
        # copy them down from the first ancestor that has them. Plain fds:
        # this runs while init waits for "cgroup-made".
        for f in ("cpuset.cpus", "cpuset.mems"):
            chain = []
            p = path
            while True:
                try:
                    fd = os.open(os.path.join(p, f), os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    break
                try:
                    v = os.read(fd, 4096).strip()
                finally:
                    os.close(fd)
                if v:
                    break
                chain.append(p)
                p = os.path.dirname(p)
            for d in reversed(chain):
                fd = os.open(os.path.join(d, f), os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(fd, v)
                finally:
                    os.close(fd)

    def join_files(self):
        """See the package's join_self: one ``tasks`` file per hierarchy."""
        from . import open_join_files
        return open_join_files(1, [path for _, path in self._unique()])

    def set(self, resources, update=False, devices=True):
        """Write linux.resources. ``update``: a live container's limits change;
        device rules are left alone (as runc) and a failure rolls back every
        value already written. ``devices=False``: create wrote them already
        (set_devices)."""
        from .v1_resources import Writer, apply_resources
        if update:  # create's config passed the schema already (spec.load_bundle)
            from .validate import check
            check(resources or {})
        w = Writer(journal=update)
        try:
            apply_resources(self, resources or {}, w, devices=devices and not update)
        except BaseException:
            w.undo()
            raise

    def set_devices(self, rules):
        """The device rules alone (deny all, ``rules``, runc's default allows).
        Create writes them before any process joins: while they go in, one
        at a time, a process in the cgroup is refused even /dev/null."""
        from .v1_resources import set_devices
        set_devices(self, rules)

    # --- queries -----------------------------------------------------------
    def pids(self):
        """Every pid in the container's cgroup and its sub-cgroups."""
        path = self.paths.get("pids") or self.paths.get("freezer") or next(iter(self.paths.values()))
        out = []
        for d, _, _ in os.walk(path):
            out.extend(read_procs(d))
        return out

    def frozen(self):
        try:
            with open(self.paths["freezer"] + "/freezer.state") as f:
                return f.read().strip() != "THAWED"
        except (KeyError, OSError):
            return False

    def freeze(self):
        self._freezer("FROZEN")

    def thaw(self):
        self._freezer("THAWED")

    def _freezer(self, want):
        path = self.paths.get("freezer")
        if not path:
            raise errors.CgroupError("the freezer controller is not mounted")
        try:
            for _ in range(self.freeze_tries):
                with open(path + "/freezer.state", "w") as f:
                    f.write(want)
                with open(path + "/freezer.state") as f:
                    if f.read().strip() == want:
                        return
                time.sleep(0.001)
            err = errors.CgroupError("freezer %s did not reach %s (a task in uninterruptible "
                              "sleep?)" % (path, want))
        except OSError as e:
            err = errors.CgroupError("freezer %s: %s" % (path, e.strerror))
        if want == "FROZEN":  # never leave a cgroup half frozen
            try:
                self._freezer("THAWED")
            except errors.CgroupError:
                pass
        raise err

    def stats(self):
        from .stats import v1_stats
        return v1_stats(self)

    # --- end -----------------------------------------------------------------
    def destroy(self):
        destroy(self, [path for _, path in self._unique()])


def destroy(mgr, leaves):
    """Shared by the v1 and v2 managers: never leave the cgroup frozen; then,
    unless it was there before us, kill what is left and remove the leaves
    (sub-cgroups the container or `exec --cgroup` made first) and the
    parents we made."""
    if mgr.frozen():
        try:
            mgr.thaw()
        except (errors.CgroupError, OSError):
            pass
    if mgr.existed:
        # A cgroupsPath that was there before us may hold other processes:
        # the container's own are gone with its init (the caller killed it);
        # the folder stays, as with runc.
        return
    kill_all(mgr.pids)
    for path in leaves:
        try:
            os.rmdir(path)  # the usual case: no sub-cgroup, no task left
            continue
        except FileNotFoundError:
            continue
        except OSError:
            pass  # busy: walked and retried below
        for d, _, _ in sorted(os.walk(path), key=lambda t: len(t[0]), reverse=True):
            rmdir_retry(d)
    remove_parents(mgr.parents)


def read_procs(path):
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def kill_all(list_pids, sig=9):
    for _ in range(200):
        pids = list_pids()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def rmdir_retry(d):
    """rmdir a container's own cgroup; EBUSY while its last tasks exit."""
    for _ in range(400):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            import errno  # not at the top: a module to make on every delete
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise errors.CgroupError("remove cgroup %s: %s" % (d, e.strerror))
            time.sleep(0.005)
    raise errors.CgroupError("remove cgroup %s: still busy" % d)


def remove_parents(parents):
    """One try each, deepest first: a parent still used by another container
    stays (EBUSY/ENOTEMPTY), and the last container out removes it."""
    for d in sorted(set(parents), key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass


def hierarchy_mounts(hier=None):
    """[(mountpoint, [controller options])] of the v1 hierarchies, for
    mounting cgroupfs inside a container."""
    out = {}
    for name, mnt in (hier or hierarchies()).items():
        out.setdefault(mnt, []).append(name)
    return sorted(out.items())
