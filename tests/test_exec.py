"""exec into running containers: namespaces, cgroup, process, exit codes, fds."""
import json
import os
import signal
import subprocess
import time

import pytest

from test_lifecycle import wait_status


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


@pytest.fixture
def running(rt, make_bundle, cid):
    """running(**process) -> (id, init pid): a detached `sleep` container."""
    def make(**process):
        b = make_bundle(["sleep", "1000"], **process)
        c = cid()
        rt("run", "-d", "--bundle", b, c, check=True)
        return c, rt.state(c)["pid"]
    return make


def ex(rt, c, *args, **kw):
    return rt("exec", c, *args, **kw)


def out_of(rt, c, *args):
    p = ex(rt, c, *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_exec_sees_pid_namespace_hostname_mounts(rt, running):
    c, pid = running()
    out = out_of(rt, c, "sh", "-c", "cat /proc/1/cmdline; echo; hostname; "
                 "cat /proc/self/status; cat /proc/self/mountinfo")
    lines = out.splitlines()
    assert lines[0].startswith("sleep")  # pid 1 is the container's init
    assert lines[1] == _uts_hostname(pid)
    # the same mounts as the init (read from the host side)
    with open("/proc/%d/mountinfo" % pid) as f:
        init_mounts = sorted(l.split()[4] for l in f)
    ex_mounts = sorted(l.split()[4] for l in lines if l.count(" - ") == 1)
    assert ex_mounts == init_mounts
    nspid = status_field(out, "NSpid").split()
    assert len(nspid) == 1 and int(nspid[0]) > 1  # seen from inside: one level, not 1
    for t in ("pid", "mnt", "uts", "ipc", "net"):
        assert os.readlink("/proc/%d/ns/%s" % (pid, t)) != os.readlink("/proc/self/ns/" + t)


def test_exec_joins_each_namespace_and_cgroup(rt, running):
    c, pid = running()
    p = subprocess.Popen(rt.argv("exec", c, "sleep", "30"), stdin=subprocess.DEVNULL)
    try:
        epid = _wait_child_of_ns(pid, "sleep", exclude=pid)
        for t in ("pid", "mnt", "uts", "ipc", "net", "cgroup"):
            assert os.readlink("/proc/%d/ns/%s" % (epid, t)) == \
                os.readlink("/proc/%d/ns/%s" % (pid, t)), t
        with open("/proc/%d/cgroup" % epid) as f1, open("/proc/%d/cgroup" % pid) as f2:
            assert f1.read() == f2.read()
        with open("/proc/%d/status" % epid) as f:
            assert len(status_field(f.read(), "NSpid").split()) == 2
        assert os.readlink("/proc/%d/root" % epid) == "/"
        assert os.stat("/proc/%d/root" % epid).st_ino == os.stat("/proc/%d/root" % pid).st_ino
    finally:
        p.kill()
        p.wait()


def _uts_hostname(pid):
    """The hostname in pid's uts namespace, read from the host."""
    r = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True,
                       text=True, check=True)
    return r.stdout.strip()


def _wait_child_of_ns(init_pid, comm, exclude, timeout=10):
    ns = os.readlink("/proc/%d/ns/pid" % init_pid)
    end = time.time() + timeout
    while time.time() < end:
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == exclude:
                continue
            try:
                if os.readlink("/proc/%s/ns/pid" % d) != ns:
                    continue
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == comm:
                        return int(d)
            except OSError:
                continue
        time.sleep(0.02)
    raise AssertionError("no %s in the container" % comm)


def test_exec_hostname(rt, make_bundle, cid):
    def edit(config):
        config["hostname"] = "exechost"
    b = make_bundle(["sleep", "1000"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    assert out_of(rt, c, "hostname") == "exechost\n"


def test_exit_codes_and_signals(rt, running):
    c, _ = running()
    assert ex(rt, c, "sh", "-c", "exit 42").returncode == 42
    assert ex(rt, c, "true").returncode == 0
    assert ex(rt, c, "sh", "-c", "kill -9 $$").returncode == 128 + 9
    assert ex(rt, c, "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_foreground_exec_forwards_signals(rt, running, tmp_path):
    c, _ = running()
    p = subprocess.Popen(rt.argv("exec", c, "sh", "-c",
                                 "trap 'echo got; exit 9' USR1; echo ready; "
                                 "while true; do sleep 0.05; done"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGUSR1)
        assert p.wait(timeout=10) == 9
        assert p.stdout.read() == "got\n"
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGALRM, signal.SIGRTMIN + 3])
def test_foreground_exec_forwards_other_signals(rt, running, sig):
    c, _ = running()
    p = subprocess.Popen(rt.argv("exec", c, "sh", "-c", "echo ready; exec sleep 30"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        time.sleep(0.2)  # sleep has replaced the shell
        p.send_signal(sig)
        assert p.wait(timeout=10) == 128 + sig  # sleep died of it: forwarded
    finally:
        p.kill()
        p.wait()


def test_stdin_and_output(rt, running):
    c, _ = running()
    p = rt("exec", c, "sh", "-c", "read x; echo got $x; echo err >&2", input="hello\n")
    assert p.returncode == 0
    assert p.stdout == "got hello\n" and "err" in p.stderr


def test_env_cwd_user_from_config_and_flags(rt, running):
    c, _ = running(env=["PATH=/bin", "FROMCONF=1"], cwd="/tmp",
                   user={"uid": 0, "gid": 0, "umask": 0o027})
    out = out_of(rt, c, "sh", "-c", "echo $FROMCONF; pwd; id -u; umask")
    assert out.splitlines()[:3] == ["1", "/tmp", "0"]
    # runc 1.1.5's exec leaves the umask it was started with (a difference:
    # process.user.umask belongs to the process, so pyrunc applies it)
    if not rt.is_runc:
        assert out.splitlines()[3] == "0027"
    out = out_of(rt, c, "sh", "-c", "echo $FROMCONF $X; pwd; id -u; id -g; "
                 "grep Groups /proc/self/status")
    assert out.splitlines()[0] == "1"
    # one form per flag: runc's flag library refuses "--env" mixed with "-e"
    p = rt("exec", "-e", "X=2", "-e", "Y=3", "--cwd", "/", "--user", "1000:1001",
           "--additional-gids", "5", "--additional-gids", "6", c, "sh", "-c",
           "echo $FROMCONF $X $Y; pwd; id -u; id -g; grep Groups /proc/self/status")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:4] == ["1 2 3", "/", "1000", "1001"]
    assert lines[4].split()[1:] == ["5", "6"]


def test_exec_user_1(rt, running):
    c, _ = running()
    assert out_of(rt, c, "id", "-u") == "0\n"
    p = rt("exec", "--user", "1", c, "sh", "-c", "id -u; id -g")
    assert p.returncode == 0 and p.stdout.split() == ["1", "0"]


def test_caps_default_and_cap_flag(rt, running):
    c, pid = running()
    with open("/proc/%d/status" % pid) as f:
        init = f.read()
    st = out_of(rt, c, "cat", "/proc/self/status")
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert status_field(st, k) == status_field(init, k)
    assert int(status_field(st, "CapInh"), 16) == 0
    assert int(status_field(st, "CapAmb"), 16) == 0
    # --cap adds to bounding/effective/permitted, never inheritable/ambient
    st = rt("exec", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_NET_RAW", c,
            "cat", "/proc/self/status").stdout
    sys_admin, net_raw = 1 << 21, 1 << 13
    for k in ("CapBnd", "CapEff", "CapPrm"):
        v = int(status_field(st, k), 16)
        assert v & sys_admin and v & net_raw, k
        assert v == int(status_field(init, k), 16) | sys_admin | net_raw
    assert int(status_field(st, "CapInh"), 16) == 0
    assert int(status_field(st, "CapAmb"), 16) == 0


def test_no_new_privs(rt, running):
    c, _ = running(noNewPrivileges=False)
    st = out_of(rt, c, "cat", "/proc/self/status")
    assert status_field(st, "NoNewPrivs") == "0"
    p = rt("exec", "--no-new-privs", c, "cat", "/proc/self/status")
    assert status_field(p.stdout, "NoNewPrivs") == "1"


def test_process_json(rt, running, tmp_path):
    c, pid = running()
    proc = {"args": ["sh", "-c", "echo $A; pwd; id -u; grep -E 'CapEff|CapInh' "
                     "/proc/self/status; grep 'Max open files' /proc/self/limits"],
            "env": ["PATH=/bin", "A=from-json"], "cwd": "/etc",
            "user": {"uid": 2, "gid": 3},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    p = rt("exec", "--process", str(path), c)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:3] == ["from-json", "/etc", "2"]
    # capabilities left out of process.json come from the container's config,
    # then the switch to uid 2 clears effective (no ambient): 0
    assert int(status_field(p.stdout, "CapEff"), 16) == 0
    assert int(status_field(p.stdout, "CapInh"), 16) == 0
    assert lines[-1].split()[3:5] == ["123", "456"]


def test_rlimits_and_nnp_from_config(rt, running):
    c, _ = running(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}],
                   noNewPrivileges=True)
    out = out_of(rt, c, "sh", "-c", "grep 'Max open files' /proc/self/limits; "
                 "grep NoNewPrivs /proc/self/status")
    lines = out.splitlines()
    assert lines[0].split()[3:5] == ["321", "654"]
    assert lines[1].split()[1] == "1"


def test_no_host_fd_in_exec_process(rt, running, tmp_path):
    c, _ = running()
    # an fd the caller holds (not preserved) must not reach the container
    leak = os.open(str(tmp_path), os.O_RDONLY)
    os.set_inheritable(leak, True)
    try:
        p = rt("exec", c, "ls", "-l", "/proc/self/fd", pass_fds=(leak,))
    finally:
        os.close(leak)
    assert p.returncode == 0
    fds = {}
    for line in p.stdout.splitlines()[1:]:
        parts = line.split()
        fds[int(parts[8])] = parts[10] if len(parts) > 10 else ""
    assert set(fds) <= {0, 1, 2, 3}, fds  # 3 is ls's own /proc/self/fd
    assert str(tmp_path) not in p.stdout


def test_preserve_fds(rt, running, tmp_path):
    c, _ = running()
    f = tmp_path / "f"
    f.write_text("preserved\n")
    # the shell puts the file on fd 3 of the runtime (never touch our own fd 3)
    p = subprocess.run(["sh", "-c", 'exec "$@" 3<"$F"', "sh"] +
                       rt.argv("exec", "--preserve-fds", "1", c, "sh", "-c", "cat <&3"),
                       env=dict(os.environ, F=str(f)), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "preserved\n"


def test_cwd_must_stay_in_root(rt, running):
    c, _ = running()
    for n in (3, 4, 5):
        p = rt("exec", "--cwd", "/proc/self/fd/%d" % n, c, "pwd")
        # fails, or the cwd is inside the root
        assert p.returncode != 0 or p.stdout.startswith("/"), p.stdout
        assert "Traceback" not in p.stderr


def test_cgroup_escape_rejected(rt, running):
    c, _ = running()
    p = rt("exec", "--cgroup", "../../x", c, "true")
    assert p.returncode != 0
    assert "Traceback" not in p.stderr


def test_cgroup_sub(rt, running):
    c, pid = running()
    with open("/proc/%d/cgroup" % pid) as f:
        mem = [l for l in f.read().splitlines() if ":memory:" in l][0].split(":", 2)[2]
    sub = "/sys/fs/cgroup/memory" + mem + "/sub"
    os.mkdir(sub)
    try:
        out = rt("exec", "--cgroup", "memory:sub", c, "cat", "/proc/self/cgroup").stdout
        line = [l for l in out.splitlines() if ":memory:" in l][0]
        assert line.endswith("/sub")
    finally:
        os.rmdir(sub)


def _freezer(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        path = [l for l in f.read().splitlines() if ":freezer:" in l][0].split(":", 2)[2]
    return "/sys/fs/cgroup/freezer%s/freezer.state" % path


def test_paused(rt, running, tmp_path):
    # frozen through the cgroup directly: the state's "paused" comes from it
    c, pid = running()
    fr = _freezer(pid)
    with open(fr, "w") as f:
        f.write("FROZEN")
    try:
        wait_status(rt, c, "paused")
        p = rt("exec", c, "true")
        assert p.returncode != 0 and "cannot exec in a paused container" in p.stdout + p.stderr
        # --ignore-paused: the process joins the frozen cgroup, so it (and,
        # as with runc, the exec command) only goes on once the container thaws
        pf = str(tmp_path / "pid")
        p = subprocess.Popen(rt.argv("exec", "-d", "--ignore-paused", "--pid-file", pf, c,
                                     "sleep", "30"), stdin=subprocess.DEVNULL)
        time.sleep(0.5)
    finally:
        with open(fr, "w") as f:
            f.write("THAWED")
    try:
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
        p.wait()
    wait_status(rt, c, "running")
    epid = int(open(pf).read())
    with open("/proc/%d/cmdline" % epid) as f:
        assert f.read().startswith("sleep")


def test_stopped_and_unknown(rt, running):
    c, _ = running()
    rt("kill", c, "KILL", check=True)
    wait_status(rt, c, "stopped")
    p = rt("exec", c, "true")
    assert p.returncode != 0 and "cannot exec in a stopped container" in p.stdout + p.stderr
    p = rt("exec", "nope-not-here", "true")
    assert p.returncode != 0 and "does not exist" in p.stdout + p.stderr


def test_detached_exec_pid_file(rt, running, tmp_path):
    c, pid = running()
    pf = str(tmp_path / "exec.pid")
    t0 = time.time()
    p = rt("exec", "-d", "--pid-file", pf, c, "sleep", "30")
    assert p.returncode == 0, p.stderr
    assert time.time() - t0 < 10
    txt = open(pf).read()
    assert txt.isdigit() and not txt.endswith("\n")
    epid = int(txt)
    # pyrunc returns once execve succeeded (EOF on the close-on-exec protocol
    # socket); runc may return while its `runc init` is about to execve
    end = time.time() + 5
    while True:
        with open("/proc/%d/cmdline" % epid) as f:
            argv0 = f.read().split("\0")[0]
        if argv0 == "sleep" or rt.is_runc is False or time.time() > end:
            break
        time.sleep(0.01)
    assert argv0 == "sleep"
    assert os.readlink("/proc/%d/ns/pid" % epid) == os.readlink("/proc/%d/ns/pid" % pid)
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")]


def test_exec_errors_are_one_line(rt, running):
    c, _ = running()
    p = rt("exec", c, "no-such-binary")
    assert p.returncode != 0
    assert "no-such-binary" in p.stderr and "Traceback" not in p.stderr
    p = rt("exec", c)
    assert p.returncode != 0 and "Traceback" not in p.stderr


def test_terminal_rules(rt, running, tmp_path):
    c, _ = running()
    p = rt("exec", "-d", "-t", c, "true")
    assert p.returncode != 0 and "console socket" in p.stdout + p.stderr
    s = tmp_path / "sock"
    import socket
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(s))
    srv.listen(1)
    try:
        p = rt("exec", "--console-socket", str(s), c, "true")
        assert p.returncode != 0 and "console socket" in p.stdout + p.stderr
    finally:
        srv.close()


def _userns(cfg):
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    # sysfs cannot be mounted fresh without owning the netns' userns ancestry
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in
                     ("/sys", "/sys/fs/cgroup")]


def test_exec_into_user_namespace(rt, make_bundle, cid):
    b = make_bundle(["sleep", "1000"], edit=_userns)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    p = subprocess.Popen(rt.argv("exec", "--user", "1000", c, "sh", "-c",
                                 "id -u; cat /proc/self/uid_map; sleep 30"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "1000\n"
        assert p.stdout.readline().split() == ["0", "200000", "65536"]
        epid = _wait_child_of_ns(pid, "sleep", exclude=pid)
        assert os.readlink("/proc/%d/ns/user" % epid) == os.readlink("/proc/%d/ns/user" % pid)
        with open("/proc/%d/status" % epid) as f:
            assert status_field(f.read(), "Uid").split()[0] == str(200000 + 1000)
    finally:
        p.kill()
        p.wait()
    out = out_of(rt, c, "id", "-u")
    assert out == "0\n"


def test_exec_without_own_namespaces_stays_on_host_ns(rt, make_bundle, cid):
    # no uts/ipc namespace in the config: exec stays in the host's (as init does)
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] not in ("uts", "ipc")]
        cfg.pop("hostname", None)
    b = make_bundle(["sleep", "1000"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    out = out_of(rt, c, "sh", "-c", "for n in uts ipc mnt; do readlink /proc/self/ns/$n; done")
    uts, ipc, mnt = out.split()
    assert uts == os.readlink("/proc/self/ns/uts") and ipc == os.readlink("/proc/self/ns/ipc")
    assert mnt != os.readlink("/proc/self/ns/mnt")


def test_joining_process_is_non_dumpable_until_execve(rt, running, tmp_path):
    # Traced with strace -f: the process that calls setns (or an ancestor
    # it forked from) set PR_SET_DUMPABLE 0 before its first setns, and
    # nothing makes it dumpable again before the user's binary is exec'd.
    # /proc/<pid>/exe of that process is the host runtime binary.
    import re
    import shutil
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    c, _ = running()
    log = str(tmp_path / "trace")
    p = subprocess.run(["strace", "-f", "-o", log, "-e", "trace=prctl,setns,execve,clone,clone3,"
                        "vfork,fork"] + rt.argv("exec", c, "/bin/true"),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = open(log).read().splitlines()
    parent = {}
    for line in lines:
        m = re.match(r"^(\d+) .*\b(clone3?|vfork|fork)\b.*= (\d+)$", line)
        if m:
            parent[int(m.group(3))] = int(m.group(1))

    def lineage(pid):
        out = {pid}
        while pid in parent:
            pid = parent[pid]
            out.add(pid)
        return out

    def pid_of(line):
        return int(line.split()[0])

    first_setns = next(i for i, l in enumerate(lines) if " setns(" in l)
    joiner = pid_of(lines[first_setns])
    dumpable_off = [i for i, l in enumerate(lines[:first_setns])
                    if "PR_SET_DUMPABLE, SUID_DUMP_DISABLE" in l
                    and pid_of(l) in lineage(joiner)]
    assert dumpable_off, "setns before PR_SET_DUMPABLE 0"
    final = next(i for i, l in enumerate(lines) if 'execve("/bin/true"' in l)
    target = pid_of(lines[final])
    assert joiner in lineage(target), "the process is not a fork of the joiner"
    again = [l for l in lines[dumpable_off[0]:final]
             if "PR_SET_DUMPABLE" in l and "SUID_DUMP_DISABLE" not in l
             and pid_of(l) in lineage(target)]
    assert not again, again


def test_foreground_run_forwards_signals_right_after_start(rt, make_bundle, cid):
    # the same race as exec: a signal sent as soon as the program runs, here
    # while the runtime still runs a (slow) poststart hook
    def edit(cfg):
        cfg["hooks"] = {"poststart": [{"path": "/bin/sleep", "args": ["sleep", "0.5"]}]}
    b = make_bundle(["sh", "-c", "trap 'echo got; exit 9' USR1; echo ready; "
                     "while true; do sleep 0.05; done"], edit=edit)
    c = cid()
    p = subprocess.Popen(rt.argv("run", "--bundle", b, c), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGUSR1)
        assert p.wait(timeout=10) == 9
        assert p.stdout.read() == "got\n"
    finally:
        p.kill()
        p.wait()


def test_exec_into_container_from_before_exec_defaults(rt, running):
    # pyrunc-only: state.json of a container made by an older pyrunc has no
    # "exec" field; the defaults then come from the bundle's config.json
    if rt.is_runc:
        pytest.skip("about pyrunc's own state.json")
    c, _ = running(env=["PATH=/bin", "OLD=yes"])
    path = os.path.join(rt.root, c, "state.json")
    with open(path) as f:
        data = json.load(f)
    del data["exec"]
    with open(path, "w") as f:
        json.dump(data, f)
    assert out_of(rt, c, "sh", "-c", "echo $OLD") == "yes\n"


def test_exec_into_created_container(rt, make_bundle, cid):
    # runc allows it: the init waits on exec.fifo, its namespaces are ready
    b = make_bundle(["sleep", "1000"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    out = out_of(rt, c, "sh", "-c", "hostname; test -d /proc/1 && echo pid1-here")
    assert out.splitlines()[1] == "pid1-here"
    assert rt.state(c)["status"] == "created"


def test_cgroup_join_failure_is_clean(rt, running):
    # a cpuset sub-cgroup without cpus refuses members (ENOSPC): exec fails
    # with one line, promptly, and leaves no process in the container
    c, pid = running()
    with open("/proc/%d/cgroup" % pid) as f:
        cs = [l for l in f.read().splitlines() if ":cpuset:" in l][0].split(":", 2)[2]
    sub = "/sys/fs/cgroup/cpuset" + cs + "/empty"
    os.mkdir(sub)
    try:
        p = rt("exec", "--cgroup", "cpuset:empty", c, "sleep", "30", timeout=20)
        assert p.returncode != 0 and "Traceback" not in p.stderr
        assert len((p.stdout + p.stderr).strip().splitlines()) == 1
    finally:
        time.sleep(0.1)
        os.rmdir(sub)
    ns = os.readlink("/proc/%d/ns/pid" % pid)
    left = [d for d in os.listdir("/proc") if d.isdigit() and int(d) != pid
            and _ns_of(d) == ns]
    assert not left, left


def _ns_of(p):
    try:
        return os.readlink("/proc/%s/ns/pid" % p)
    except OSError:
        return None


def test_exec_rlimit_unlimited_uint64(rt, running, tmp_path):
    """2**64-1 is RLIM_INFINITY as config.json writes it (uint64; Docker's
    "unlimited"): exec sets it instead of failing on the conversion."""
    c, pid = running()
    inf = 2 ** 64 - 1
    proc = {"args": ["sh", "-c", "ulimit -c; ulimit -Hc"], "env": ["PATH=/bin"], "cwd": "/",
            "rlimits": [{"type": "RLIMIT_CORE", "soft": inf, "hard": inf}]}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    p = rt("exec", "--process", str(path), c)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["unlimited", "unlimited"]


def test_exec_env_flag_overrides_config(rt, running):
    """`exec -e NAME=v` replaces the config's NAME (and a repeated -e the
    earlier one), in place, as runc: no duplicate for getenv() to pick the
    first of."""
    c, pid = running()
    p = rt("exec", "-e", "TERM=dumb", "-e", "A=1", "-e", "A=2", c, "cat", "/proc/self/environ")
    assert p.returncode == 0, p.stderr
    env = p.stdout.split("\0")
    assert [e for e in env if e.startswith("TERM=")] == ["TERM=dumb"]
    assert [e for e in env if e.startswith("A=")] == ["A=2"]
    assert env.index("TERM=dumb") < env.index("A=2")


@pytest.mark.parametrize("proc", [
    [1, 2],
    {"args": "sh", "env": ["PATH=/bin"], "cwd": "/"},
    {"args": ["true"], "env": "PATH=/bin", "cwd": "/"},
    {"args": ["true"], "env": ["PATH=/bin"], "cwd": 5},
    {"args": ["true"], "env": ["PATH=/bin"], "cwd": "/", "user": 0},
])
def test_process_json_wrong_types_refused(rt, running, tmp_path, proc):
    """A process.json field of the wrong type fails with one line naming it,
    and nothing runs (a string args was run as its characters)."""
    c, pid = running()
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    p = rt("exec", "--process", str(path), c)
    assert p.returncode != 0
    if not rt.is_runc:
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pyrunc: process"), p.stderr
        assert "Error:" not in p.stderr
