"""Test harness: real containers, on this kernel, through the real CLI.

``--runtime=pyrunc`` (default) or ``--runtime=runc`` (or a path to any
runc-compatible binary): the same integration tests run against the reference.
Where runc behaves differently on purpose, the test says so and why.

Fixtures
- ``rt``: the runtime under test: ``rt(*args)`` runs it with a private --root
  and returns a CompletedProcess (text, captured).
- ``make_bundle(args, **process)``: a busybox bundle in tmp_path; the rootfs is
  shared read-only unless ``own_rootfs=True``.
- ``cid``: a fresh container id; every id handed out is force-deleted at the
  end of the test (finalizer), whatever happened.
- ``host_clean`` (autouse, session): after the run, the state root must be
  empty and no cgroup or mount of ours may remain.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def pytest_addoption(parser):
    parser.addoption("--runtime", default="pyrunc",
                     help="pyrunc (default), runc, or a path to a runc-compatible binary")


def _binary(name):
    if name == "pyrunc":
        cand = os.path.join(os.path.dirname(sys.executable), "pyrunc")
        return cand if os.path.exists(cand) else shutil.which("pyrunc")
    return shutil.which(name) or name


class Runtime:
    def __init__(self, name, binary, root):
        self.name = name
        self.binary = binary
        self.root = root

    @property
    def is_runc(self):
        return os.path.basename(self.binary) == "runc"

    def argv(self, *args):
        return [self.binary, "--root", self.root] + [str(a) for a in args]

    def __call__(self, *args, input=None, timeout=60, check=False, **kw):
        # Files, not pipes: a detached container inherits the runtime's stdio,
        # so a pipe would stay open (and communicate() wait) as long as it runs.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(self.argv(*args), stdout=out, stderr=err, input=input,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               timeout=timeout, text=True, **kw)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(self.argv(*args)),
                                                         p.returncode, p.stdout, p.stderr))
        return p

    def state(self, cid):
        p = self("state", cid, check=True)
        return json.loads(p.stdout)


@pytest.fixture(scope="session")
def rt(request):
    name = request.config.getoption("--runtime")
    binary = _binary(name)
    if not binary or not os.path.exists(binary):
        pytest.exit("runtime %r not found" % name, returncode=2)
    # one root per session: concurrent runs must not see (or clean) each other
    root = "/run/pyrunc-tests-%s-%d" % (os.path.basename(binary), os.getpid())
    os.makedirs(root, exist_ok=True)
    r = Runtime(name, binary, root)
    yield r
    left = os.listdir(root) if os.path.isdir(root) else []
    for cid in left:
        r("delete", "--force", cid)
    shutil.rmtree(root, ignore_errors=True)
    assert not left, "containers left in %s: %s" % (root, left)


@pytest.fixture(scope="session")
def shared_rootfs():
    """One busybox rootfs for the session, in a folder every uid can traverse
    (pytest's own tmp folders are 0700 root: a container running as uid 1000,
    or in a user namespace, could not reach its root there)."""
    from pyrunc import bundle
    top = tempfile.mkdtemp(prefix="pyrunc-rootfs-")
    os.chmod(top, 0o755)
    yield bundle.make_rootfs(os.path.join(top, "rootfs"))
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def make_bundle(tmp_path, shared_rootfs):
    """make_bundle(args, own_rootfs=False, edit=None, **process) -> bundle path."""
    from pyrunc import bundle, jsonio
    n = [0]

    def make(args=("true",), own_rootfs=False, edit=None, **process):
        n[0] += 1
        path = str(tmp_path / ("bundle%d" % n[0]))
        if own_rootfs:
            config = bundle.make(path, args=list(args), **process)
        else:
            config = bundle.make(path, args=list(args), rootfs=shared_rootfs, **process)
        if edit:
            edit(config)
            with open(os.path.join(path, "config.json"), "w") as f:
                f.write(jsonio.dumps(config, 2))
        return path

    return make


@pytest.fixture
def cid(rt, request):
    """A fresh id; force-deleted at teardown."""
    ids = []

    def new():
        i = "t%s-%s" % (request.node.name[:30].replace("[", "-").replace("]", ""),
                        uuid.uuid4().hex[:6])
        i = "".join(c if c.isalnum() or c in "_+.-" else "-" for c in i)
        ids.append(i)
        return i

    new.ids = ids
    yield new
    for i in ids:
        rt("delete", "--force", i)
        # A failed create leaves no state.json, so delete has nothing to go
        # on: whatever cgroup a bug left behind under the test's own id
        # goes here, after the test's no_leaks has seen it.
        remove_cgroups(i)


def remove_cgroups(name):
    """Kill what is in the cgroup folders named for ``name`` and remove them,
    deepest first."""
    for top in cgroup_dirs(name):
        for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            for _ in range(100):
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            try:
                                os.kill(int(pid), 9)
                            except ProcessLookupError:
                                pass
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: the killed are not gone yet
                    time.sleep(0.01)


def cgroup_dirs(name):
    """Every cgroup folder named ``name`` or, pyrunc's default, ``pyrunc-<name>``
    (v1 hierarchies and v2)."""
    out = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") > 9:
            dirs[:] = []
            continue
        for d in dirs:
            if d in (name, "pyrunc-" + name):
                out.append(os.path.join(top, d))
    return out


def mounts_mentioning(text):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if text in l]


@pytest.fixture
def no_leaks(rt):
    """Call with an id after delete: asserts nothing of it is left on the host."""
    def check(container_id, bundle=None):
        assert not os.path.exists(os.path.join(rt.root, container_id)), "state folder left"
        assert not cgroup_dirs(container_id), "cgroups left: %s" % cgroup_dirs(container_id)
        if bundle:
            assert not mounts_mentioning(bundle), "mounts left: %s" % mounts_mentioning(bundle)
    return check
