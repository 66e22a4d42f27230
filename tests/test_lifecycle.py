"""create / start / state / kill / delete / run / list, end to end."""
import json
import os
import time

import pytest


def wait_status(rt, cid, want, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        p = rt("state", cid)
        if p.returncode == 0 and json.loads(p.stdout)["status"] == want:
            return
        time.sleep(0.02)
    raise AssertionError("%s never became %s: %s" % (cid, want, rt("state", cid).stdout))


def test_create_start_kill_delete(rt, make_bundle, cid, no_leaks):
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    s = rt.state(c)
    assert s["status"] == "created"
    assert s["id"] == c and s["bundle"] == b and s["pid"] > 0
    assert os.path.exists("/proc/%d" % s["pid"])
    rt("start", c, check=True)
    wait_status(rt, c, "running")
    # the init is now sleep, pid 1 of its own pid namespace
    with open("/proc/%d/cmdline" % s["pid"]) as f:
        assert f.read().split("\0")[0] == "sleep"
    with open("/proc/%d/status" % s["pid"]) as f:
        nspid = [l for l in f if l.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1"
    rt("kill", c, "KILL", check=True)
    wait_status(rt, c, "stopped")
    assert rt.state(c)["pid"] == 0
    rt("delete", c, check=True)
    no_leaks(c, b)
    p = rt("state", c)
    assert p.returncode != 0 and "does not exist" in p.stdout + p.stderr


def test_state_json_shape(rt, make_bundle, cid):
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    p = rt("state", c, check=True)
    assert not p.stdout.endswith("\n"), "runc prints state without a trailing newline"
    assert p.stdout.startswith('{\n  "ociVersion"')
    s = json.loads(p.stdout)
    for k in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"):
        assert k in s
    assert s["created"].endswith("Z") and "T" in s["created"]


def test_run_exit_code_and_output(rt, make_bundle, cid, no_leaks):
    b = make_bundle(["sh", "-c", "echo out; echo err >&2; exit 7"])
    c = cid()
    p = rt("run", "--bundle", b, c)
    assert p.returncode == 7
    assert p.stdout == "out\n"
    assert "err" in p.stderr
    no_leaks(c, b)


def test_run_killed_by_signal_gives_128_plus(rt, make_bundle, cid):
    # pid 1 ignores signals it has no handler for when they come from inside,
    # so the kill comes from outside, through the runtime
    import subprocess
    b = make_bundle(["sleep", "100"])
    c = cid()
    p = subprocess.Popen(rt.argv("run", "--bundle", b, c), stdin=subprocess.DEVNULL)
    wait_status(rt, c, "running")
    rt("kill", c, "KILL", check=True)
    assert p.wait(timeout=20) == 128 + 9


def test_run_keep_and_detach(rt, make_bundle, cid, no_leaks):
    b = make_bundle(["true"])
    c = cid()
    assert rt("run", "--keep", "--bundle", b, c).returncode == 0
    assert rt.state(c)["status"] == "stopped"
    rt("delete", c, check=True)
    no_leaks(c, b)
    b2 = make_bundle(["sleep", "100"])
    c2 = cid()
    rt("run", "-d", "--bundle", b2, c2, check=True)
    assert rt.state(c2)["status"] == "running"
    p = rt("delete", c2)
    assert p.returncode != 0 and "running" in p.stdout + p.stderr
    rt("delete", "--force", c2, check=True)
    no_leaks(c2, b2)


def test_create_twice_fails(rt, make_bundle, cid):
    b = make_bundle(["sleep", "10"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0 and "exists" in p.stdout + p.stderr


def test_pid_file(rt, make_bundle, cid, tmp_path):
    b = make_bundle(["sleep", "10"])
    c = cid()
    pf = str(tmp_path / "pid")
    rt("create", "--bundle", b, "--pid-file", pf, c, check=True)
    with open(pf) as f:
        txt = f.read()
    assert txt.isdigit() and int(txt) == rt.state(c)["pid"]


def test_list(rt, make_bundle, cid):
    b = make_bundle(["sleep", "10"])
    c1, c2 = cid(), cid()
    rt("create", "--bundle", b, c1, check=True)
    rt("create", "--bundle", b, c2, check=True)
    p = rt("list", "--format", "json", check=True)
    assert p.stdout.endswith("\n")
    items = {s["id"]: s for s in json.loads(p.stdout)}
    assert items[c1]["status"] == "created" and items[c2]["status"] == "created"
    assert items[c1]["owner"] == "root"
    q = rt("list", "-q", check=True).stdout.split()
    assert c1 in q and c2 in q
    table = rt("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]


def test_list_empty_json_is_null(rt, tmp_path):
    p = rt("--root", str(tmp_path / "empty"), "list", "--format", "json")
    # our --root comes after the fixture's; both runtimes take the last one
    assert p.returncode == 0 and p.stdout.strip() == "null"


@pytest.mark.parametrize("sig", ["9", "KILL", "SIGKILL", "sigkill", "kill"])
def test_kill_signal_forms(rt, make_bundle, cid, sig):
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    rt("kill", c, sig, check=True)
    wait_status(rt, c, "stopped")


def test_kill_default_sigterm_and_stopped_error(rt, make_bundle, cid):
    # sh as pid 1 ignores SIGTERM unless trapped
    b = make_bundle(["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"])
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    time.sleep(0.2)
    rt("kill", c, check=True)
    wait_status(rt, c, "stopped")
    p = rt("kill", c, "KILL")
    assert p.returncode != 0 and "not running" in p.stdout + p.stderr


def test_delete_created_container_kills_it(rt, make_bundle, cid, no_leaks):
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    rt("delete", c, check=True)
    time.sleep(0.05)
    assert not os.path.exists("/proc/%d/cmdline" % pid) or \
        open("/proc/%d/stat" % pid).read().split(") ")[1][0] == "Z"
    no_leaks(c, b)


def test_delete_unknown(rt):
    p = rt("delete", "nope-not-here")
    assert p.returncode != 0 and "does not exist" in p.stdout + p.stderr
    assert rt("delete", "--force", "nope-not-here").returncode == 0


def test_start_twice(rt, make_bundle, cid):
    b = make_bundle(["sleep", "10"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    rt("start", c, check=True)
    p = rt("start", c)
    assert p.returncode != 0


@pytest.mark.parametrize("bad", ["a/b", "..", ".", "a b", ""])
def test_invalid_ids(rt, make_bundle, bad):
    b = make_bundle(["true"])
    p = rt("create", "--bundle", b, bad)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr


def test_killed_create_is_cleaned_by_delete_force(rt, make_bundle, cid, no_leaks):
    """A runtime SIGKILLed in the middle of create (here: during a slow
    createRuntime hook) leaves state that `delete --force` removes whole."""
    import subprocess

    def edit(cfg):
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "2"]}]}
    b = make_bundle(["sleep", "100"], edit=edit)
    c = cid()
    p = subprocess.Popen(rt.argv("create", "--bundle", b, c), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 10
    while time.time() < end and not os.path.exists(os.path.join(rt.root, c, "state.json")):
        time.sleep(0.01)
    time.sleep(0.3)
    p.kill()
    p.wait()
    time.sleep(2.5)  # the hook finishes; init finds its parent gone and exits
    rt("delete", "--force", c, check=True)
    no_leaks(c, b)


def test_pid_file_temp_symlink_not_followed(rt, make_bundle, cid, tmp_path):
    """A symlink planted where a naive runtime puts its temp pid file must not
    be followed (it would overwrite the link's target)."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    pf = tmp_path / "pf"
    for name in (".pf.tmp", ".pf.tmp.%d" % os.getpid()):
        os.symlink(str(victim), str(tmp_path / name))
    b = make_bundle(["sleep", "10"])
    c = cid()
    rt("create", "--bundle", b, "--pid-file", str(pf), c, check=True)
    assert victim.read_text() == "precious"
    assert not os.path.islink(str(pf)) and pf.read_text() == str(rt.state(c)["pid"])


def test_large_annotations_with_hooks(rt, make_bundle, cid, tmp_path):
    out = tmp_path / "state"

    def edit(cfg):
        cfg["annotations"] = {"big": "x" * 200000}
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                           "args": ["sh", "-c", "wc -c > %s" % out]}]}
    b = make_bundle(["true"], edit=edit)
    rt("run", "--bundle", b, cid(), check=True)
    assert int(out.read_text()) > 200000
