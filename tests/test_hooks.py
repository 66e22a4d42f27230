"""hooks: every kind, at its moment and in its namespace, state on stdin."""
import json
import os
import time

import pytest


def hook(script, *extra, env=None, timeout=None):
    h = {"path": "/bin/sh", "args": ["sh", "-c", script] + list(extra)}
    if env is not None:
        h["env"] = env
    if timeout is not None:
        h["timeout"] = timeout
    return h


def test_all_hooks_run_in_order_with_state(rt, make_bundle, cid, tmp_path):
    log = tmp_path / "log"
    log.write_text("")
    log_in_ctr = "/hooklog"  # createContainer/startContainer: see the bind below

    def rec(kind, path):
        # record kind, the state's status and pid, and our mount namespace
        return hook('read s; echo "%s $(echo "$s" | tr -d "\\n" | sed "s/.*\\"status\\": *\\"\\([a-z]*\\)\\".*/\\1/") '
                    '$(readlink /proc/self/ns/mnt)" >> %s' % (kind, path))

    def edit(cfg):
        cfg["mounts"].append({"destination": log_in_ctr, "type": "bind", "source": str(log),
                              "options": ["bind"]})
        cfg["hooks"] = {
            "prestart": [rec("prestart", log)],
            "createRuntime": [rec("createRuntime", log)],
            "createContainer": [rec("createContainer", log)],
            "startContainer": [rec("startContainer", log_in_ctr)],
            "poststart": [rec("poststart", log)],
            "poststop": [rec("poststop", log)],
        }
    b = make_bundle(["true"], edit=edit)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    ctr_pid = rt.state(c)["pid"]
    ctr_mnt = os.readlink("/proc/%d/ns/mnt" % ctr_pid)
    host_mnt = os.readlink("/proc/self/ns/mnt")
    rt("start", c, check=True)
    time.sleep(0.3)
    rt("delete", c, check=True)
    lines = [l.split() for l in log.read_text().splitlines()]
    kinds = [l[0] for l in lines]
    if rt.is_runc:
        # runc 1.1 runs poststart as soon as the fifo is read, racing the
        # init's startContainer hooks; pyrunc waits until execve happened
        kinds[3:5] = sorted(kinds[3:5], key=["startContainer", "poststart"].index)
    assert kinds == ["prestart", "createRuntime", "createContainer", "startContainer",
                     "poststart", "poststop"], kinds
    ns = {l[0]: l[-1] for l in lines}
    assert ns["prestart"] == ns["createRuntime"] == ns["poststart"] == ns["poststop"] == host_mnt
    assert ns["createContainer"] == ctr_mnt
    assert ns["startContainer"] == ctr_mnt


def test_hook_gets_state_json_on_stdin(rt, make_bundle, cid, tmp_path):
    out = tmp_path / "state.json"

    def edit(cfg):
        cfg["annotations"] = {"org.example.k": "v"}
        cfg["hooks"] = {"createRuntime": [hook("cat > %s" % out)]}
    b = make_bundle(["true"], edit=edit)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    st = json.loads(out.read_text())
    assert st["id"] == c and st["bundle"] == b
    assert st["pid"] == rt.state(c)["pid"]
    assert st["annotations"] == {"org.example.k": "v"}
    assert st["ociVersion"]


def test_hook_env_and_args_exact(rt, make_bundle, cid, tmp_path):
    out = tmp_path / "env"

    def edit(cfg):
        cfg["hooks"] = {"prestart": [{"path": "/bin/sh",
                                      "args": ["sh", "-c", 'echo "$0 $1 $FOO"; env | grep -c . ', "a1", "a2"],
                                      "env": ["FOO=bar"]}]}
        cfg["hooks"]["prestart"][0]["args"][2] += "> %s" % out
        cfg["hooks"]["prestart"][0]["args"][2] = (
            'echo "$0 $1 $FOO" > %s; env >> %s' % (out, out))
    b = make_bundle(["true"], edit=edit)
    rt("run", "--bundle", b, cid(), check=True)
    lines = out.read_text().splitlines()
    assert lines[0] == "a1 a2 bar"
    # only the hook's own env (plus what sh itself adds: PWD, SHLVL, _)
    names = {l.split("=")[0] for l in lines[1:]}
    assert "FOO" in names and "PATH" not in names and "HOME" not in names


def test_hook_timeout_fails_create(rt, make_bundle, cid, no_leaks):
    def edit(cfg):
        cfg["hooks"] = {"createRuntime": [hook("sleep 30", timeout=1)]}
    b = make_bundle(["true"], edit=edit)
    c = cid()
    t = time.time()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0
    if not rt.is_runc:  # runc 1.1 waits for the hook's output pipe to close
        assert time.time() - t < 20
    no_leaks(c, b)


def test_failing_poststart_kills_container(rt, make_bundle, cid):
    if rt.is_runc:
        pytest.skip("runc 1.1 runs poststart hooks at create and fails the create")

    def edit(cfg):
        cfg["hooks"] = {"poststart": [hook("exit 1")]}
    b = make_bundle(["sleep", "100"], edit=edit)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    p = rt("start", c)
    assert p.returncode != 0
    end = time.time() + 5
    while time.time() < end and rt.state(c)["status"] != "stopped":
        time.sleep(0.02)
    assert rt.state(c)["status"] == "stopped"


def test_failing_poststop_is_only_a_warning(rt, make_bundle, cid, no_leaks):
    def edit(cfg):
        cfg["hooks"] = {"poststop": [hook("exit 1")]}
    b = make_bundle(["true"], edit=edit)
    c = cid()
    rt("run", "--keep", "--bundle", b, c, check=True)
    rt("delete", c, check=True)
    no_leaks(c, b)


def test_failing_start_container_hook_fails_start(rt, make_bundle, cid):
    def edit(cfg):
        cfg["hooks"] = {"startContainer": [hook("exit 4")]}
    b = make_bundle(["sleep", "100"], edit=edit)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    p = rt("start", c)
    if rt.is_runc and p.returncode == 0:
        pytest.skip("runc 1.1 reports startContainer failures only on the init's stderr")
    assert p.returncode != 0
    end = time.time() + 5
    while time.time() < end and rt.state(c)["status"] != "stopped":
        time.sleep(0.02)
    assert rt.state(c)["status"] == "stopped"


def test_runtime_hooks_run_in_our_pid_namespace_on_our_cpus(rt, make_bundle, cid, tmp_path):
    # pyrunc's create forks init itself into a new pid namespace (unshare,
    # then setns back) and steps off its CPU while init starts: hooks forked
    # after that must still be in the runtime's pid namespace, with its CPU
    # set, and so must the container's process have the full CPU set.
    log = tmp_path / "log"
    log.write_text("")
    rec = ('echo "$0 $(readlink /proc/self/ns/pid) '
           '$(grep Cpus_allowed_list /proc/self/status | cut -f2)" >> %s' % log)

    def edit(cfg):
        cfg["hooks"] = {k: [hook(rec, k)] for k in ("prestart", "createRuntime", "poststart")}
    c = cid()
    rt("create", "--bundle", make_bundle(["sleep", "10"], edit=edit), c, check=True)
    rt("start", c, check=True)
    pid = rt.state(c)["pid"]
    with open("/proc/%d/status" % pid) as f:
        ctr_cpus = [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")][0]
    ctr_pidns = os.readlink("/proc/%d/ns/pid" % pid)
    rt("delete", "--force", c, check=True)
    with open("/proc/self/status") as f:
        our_cpus = [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")][0]
    our_pidns = os.readlink("/proc/self/ns/pid")
    got = {l.split()[0]: l.split()[1:] for l in log.read_text().splitlines()}
    assert sorted(got) == ["createRuntime", "poststart", "prestart"], got
    for kind, (pidns, cpus) in got.items():
        assert pidns == our_pidns, (kind, pidns)
        assert cpus == our_cpus, (kind, cpus)
    assert ctr_pidns != our_pidns
    assert ctr_cpus == our_cpus
