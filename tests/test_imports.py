"""Short commands stay import-light (start-up is most of their cost).

Each command is run for real, through the installed launcher, by the
interpreter the launcher uses, with ``-X importtime``: whatever it (and any
child) imports is listed on stderr. A heavy module on the path of `state`,
`kill`, `list`, `delete` or `start` fails the test; so does jsonschema on a
`create` whose config validated before (the validation cache).

No timing here: the numbers live in bench/run.py.
"""
import os
import subprocess
import tempfile

import pytest

# Costs measured on this machine kind (see the design notes): each of these
# is several ms, or pulls in dozens of modules.
HEAVY = {
    "os",  # ~0.8 ms (its _collections_abc): short commands use pyrunc._os
    "jsonschema", "referencing", "rpds", "pyroute2", "prctl", "_prctl", "subprocess",
    "json", "argparse", "asyncio", "re", "signal", "logging", "pathlib", "hashlib",
    "importlib.metadata", "importlib.util", "pkg_resources", "cffi", "pycparser",
    "typing", "dataclasses", "enum", "threading",
}

# Loaded on the short paths only when used: create.py (container.create),
# cli_extra.py (the other commands), and modules the happy path does not need.
NOT_ON_SHORT_PATHS = {"pyrunc.create", "pyrunc.cli_extra", "select", "errno"}


@pytest.fixture
def py_rt(rt):
    if rt.is_runc or os.path.basename(rt.binary) != "pyrunc":
        pytest.skip("pyrunc's imports only")
    return rt


def _interpreter(launcher):
    """The python the launcher runs, and its flags."""
    with open(launcher, "rb") as f:
        first = f.readline().decode().strip()
    if first.startswith("#!/bin/sh"):
        return [os.path.join(os.path.dirname(launcher), "python3"), "-I", "-S"]
    return first[2:].split()


def imports_of(rt, *args):
    """(exit code, stdout, the set of modules imported) of one real command."""
    argv = _interpreter(rt.binary) + ["-X", "importtime", rt.binary, "--root", rt.root]
    argv += [str(a) for a in args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # files, not pipes: a detached container keeps the runtime's stdio
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    mods = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                mods.add(name)
    return p.returncode, stdout, stderr, mods


def heavy(mods):
    return sorted(m for m in mods if m in HEAVY or m.split(".")[0] in HEAVY)


def test_short_commands_import_nothing_heavy(py_rt, make_bundle, cid):
    rt = py_rt
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    found = {}
    steps = [("start", c), ("state", c), ("list",), ("list", "--format", "json"),
             ("kill", c, "KILL"), ("delete", "--force", c)]
    for args in steps:
        code, out, err, mods = imports_of(rt, *args)
        assert code == 0, (args, out, err)
        assert mods, "no -X importtime output for %s: %s" % (args, err)
        bad = heavy(mods) + sorted(mods & NOT_ON_SHORT_PATHS)
        if bad:
            found[" ".join(args)] = bad
    assert not found, "heavy or needless imports on short commands: %s" % found


def test_delete_of_stopped_container_imports_nothing_heavy(py_rt, make_bundle, cid):
    rt = py_rt
    b = make_bundle(["true"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    rt("start", c, check=True)
    for _ in range(200):
        if rt.state(c)["status"] == "stopped":
            break
        import time
        time.sleep(0.02)
    code, out, err, mods = imports_of(rt, "delete", c)
    assert code == 0, err
    assert not heavy(mods), heavy(mods)


def test_errors_import_nothing_heavy(py_rt):
    code, out, err, mods = imports_of(py_rt, "state", "no-such-container")
    assert code == 1 and "does not exist" in err
    assert not heavy(mods), heavy(mods)


def test_cached_config_skips_jsonschema(py_rt, make_bundle, cid):
    """The second create of the same config.json bytes takes the validation
    cache: no jsonschema, referencing or rpds in the parent or its children."""
    rt = py_rt
    b = make_bundle(["sleep", "100"])
    first, second = cid(), cid()
    rt("create", "--bundle", b, first, check=True)
    code, out, err, mods = imports_of(rt, "create", "--bundle", b, second)
    assert code == 0, err
    assert not {"jsonschema", "referencing", "rpds", "json"} & mods, heavy(mods)
    assert not {"subprocess", "argparse", "asyncio", "pyroute2"} & mods, heavy(mods)
    assert "pyrunc.init" in mods  # the children's imports are seen too
    assert "os" not in mods  # neither the parent nor init loads os (pyrunc/_os.py)
    assert "pyrunc.seccomp" not in mods  # no filter in this config: nothing to compile
    # exec.py (34 KB) held the 8 lines of create's "exec" defaults; validate
    # checks `update`'s JSON, which the schema has not seen
    assert not {"pyrunc.exec", "pyrunc.cgroups.validate"} & mods


def test_short_path_modules_make_no_error_class():
    """The error tree is made on first use (errors.py): importing what the
    short commands and create's happy path import must not make it, and
    naming a class must."""
    import subprocess
    import sys
    code = ("import pyrunc.cli, pyrunc.container, pyrunc.state, pyrunc.log, pyrunc.cgroups.v1\n"
            "import pyrunc.create, pyrunc.init, pyrunc.spec, pyrunc.cgroups.v1_resources\n"
            "import pyrunc.cgroups.devices, pyrunc.cgroups.v2\n"
            "import pyrunc.errors as e\n"
            "before = 'PyruncError' in vars(e)\n"
            "ok = issubclass(e.NotRunningError, e.InvalidStateError)\n"
            "print(before, ok, e.NotRunningError.__qualname__, 'PyruncError' in vars(e))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "NotRunningError", "True"], out
