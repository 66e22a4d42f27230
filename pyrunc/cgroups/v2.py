"""cgroup v2 (unified) manager (roles: parent). See the package docstring."""
from .. import _os as os  # posix without os's import cost (_os.py)
import time

from .. import errors  # errors.X where raised or caught: the classes are made on first use
from . import ROOT, own_cgroups
from .v1 import destroy, read_procs


def enable_controllers(d):
    try:
        with open(os.path.join(d, "cgroup.controllers")) as f:
            ctrls = f.read().split()
    except OSError:
        return
    for c in ctrls:
        try:
            with open(os.path.join(d, "cgroup.subtree_control"), "w") as f:
                f.write("+" + c)
        except OSError:
            pass  # reported later, by the writer that needs it (v2_resources.need)


class Manager:
    version = 2
    freeze_tries = 1000

    def __init__(self, path, parents=None, existed=False):
        self.dir = path
        self.parents = parents or []
        self.existed = existed  # the folder was there before us: not ours

    @classmethod
    def new(cls, rel, absolute):
        base = "" if absolute else own_cgroups().get("", "/").lstrip("/")
        return cls(os.path.join(ROOT, base, rel) if base else os.path.join(ROOT, rel))

    @classmethod
    def restore(cls, d):
        return cls(d["path"], d.get("parents"), d.get("existed", False))

    def state(self):
        return {"version": 2, "path": self.dir, "parents": self.parents,
                "existed": self.existed, "freezer": self.dir + "/cgroup.freeze"}

    def path(self, controller=None):
        return self.dir

    def create(self):
        if os.path.isdir(self.dir):
            self.existed = True  # shared with others: never killed or removed
        todo = []
        p = self.dir
        while not os.path.isdir(p):
            todo.append(p)
            p = os.path.dirname(p)
        for d in reversed(todo):
            try:
                os.mkdir(d, 0o755)
            except FileExistsError:
                continue
            if d != self.dir and d not in self.parents:
                self.parents.append(d)
            # an intermediate folder we made hands every controller it has on
            # to the next level (one at a time: one refusal must not lose all)
            if d != self.dir:
                enable_controllers(d)

    def join_files(self):
        """See the package's join_self."""
        from . import open_join_files
        return open_join_files(2, [self.dir])

    def set(self, resources, update=False, devices=True):
        """See v1.Manager.set."""
        from .v1_resources import Writer
        from .v2_resources import apply_resources
        if update:  # create's config passed the schema already (spec.load_bundle)
            from .validate import check
            check(resources or {})
        w = Writer(journal=update)
        try:
            apply_resources(self, resources or {}, w, devices=devices and not update,
                            update=update)
        except BaseException:
            w.undo()
            raise

    def set_devices(self, rules):
        """See v1.Manager.set_devices (here the eBPF program is attached at
        once; written first all the same)."""
        from .v2_resources import set_devices
        set_devices(self.dir, rules)

    def pids(self):
        out = []
        for d, _, _ in os.walk(self.dir):
            out.extend(read_procs(d))
        return out

    def frozen(self):
        try:
            with open(self.dir + "/cgroup.freeze") as f:
                return f.read().strip() == "1"
        except OSError:
            return False

    def freeze(self):
        self._freeze("1")

    def thaw(self):
        self._freeze("0")

    def _freeze(self, v):
        want = "frozen 1" if v == "1" else "frozen 0"
        try:
            with open(self.dir + "/cgroup.freeze", "w") as f:
                f.write(v)
            for _ in range(self.freeze_tries):
                with open(self.dir + "/cgroup.events") as f:
                    if want in f.read():
                        return
                time.sleep(0.001)
            err = errors.CgroupError("cgroup %s did not reach frozen=%s" % (self.dir, v))
        except OSError as e:
            err = errors.CgroupError("freeze %s: %s" % (self.dir, e.strerror))
        if v == "1":  # never leave a cgroup half frozen
            try:
                self._freeze("0")
            except errors.CgroupError:
                pass
        raise err

    def stats(self):
        from .stats import v2_stats
        return v2_stats(self)

    def destroy(self):
        destroy(self, [self.dir])
