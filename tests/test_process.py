"""process: args, env, cwd, user, umask, rlimits, capabilities, NNP, oom, fds."""
import os
import subprocess

import pytest


def run_out(rt, b, c, **kw):
    p = rt("run", "--bundle", b, c, **kw)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def test_env_cwd_and_path_lookup(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "echo $FOO; pwd; echo $HOME"], cwd="/tmp",
                    env=["PATH=/bin", "FOO=bar baz"])
    assert run_out(rt, b, cid()).splitlines() == ["bar baz", "/tmp", "/root"]


def test_user_uid_gid_groups_umask(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "id -u; id -g; cat /proc/self/status | grep Groups; umask"],
                    user={"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 0o027})
    out = run_out(rt, b, cid()).splitlines()
    assert out[0] == "1000" and out[1] == "1001"
    assert out[2].split()[1:] == ["5", "6"]
    assert out[3] == "0027"


def test_capabilities_sets(rt, make_bundle, cid):
    caps = {"bounding": ["CAP_NET_RAW", "CAP_CHOWN"], "effective": ["CAP_CHOWN"],
            "permitted": ["CAP_CHOWN"], "inheritable": [], "ambient": []}
    b = make_bundle(["cat", "/proc/self/status"], capabilities=caps)
    st = run_out(rt, b, cid())
    assert int(status_field(st, "CapBnd"), 16) == (1 << 13) | (1 << 0)
    assert int(status_field(st, "CapEff"), 16) == 1
    assert int(status_field(st, "CapPrm"), 16) == 1
    assert int(status_field(st, "CapInh"), 16) == 0
    assert int(status_field(st, "CapAmb"), 16) == 0


def test_ambient_caps_for_non_root(rt, make_bundle, cid):
    names = ["CAP_NET_BIND_SERVICE"]
    caps = {k: names for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    b = make_bundle(["cat", "/proc/self/status"], capabilities=caps, user={"uid": 1000, "gid": 1000})
    st = run_out(rt, b, cid())
    assert int(status_field(st, "CapAmb"), 16) == 1 << 10
    assert int(status_field(st, "CapEff"), 16) == 1 << 10


def test_no_new_privileges(rt, make_bundle, cid):
    b = make_bundle(["cat", "/proc/self/status"], noNewPrivileges=True)
    assert status_field(run_out(rt, b, cid()), "NoNewPrivs") == "1"
    b = make_bundle(["cat", "/proc/self/status"], noNewPrivileges=False)
    assert status_field(run_out(rt, b, cid()), "NoNewPrivs") == "0"


def test_rlimits(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"],
                    rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
                             {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])
    assert run_out(rt, b, cid()).split() == ["512", "768", "0"]


def test_rlimit_above_hard_limit_fails_cleanly(rt, make_bundle, cid):
    # root here lacks CAP_SYS_RESOURCE: raising a hard limit is EPERM (runc too)
    hard = int(open("/proc/self/limits").read().split("Max open files")[1].split()[1])
    b = make_bundle(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard * 4}])
    c = cid()
    p = rt("create", "--bundle", b, c)
    if p.returncode == 0:
        pytest.skip("this host lets root raise rlimits (CAP_SYS_RESOURCE)")
    assert "Traceback" not in p.stderr
    assert not os.path.exists(os.path.join(rt.root, c))


def test_unknown_rlimit_fails_before_anything_exists(rt, make_bundle, cid):
    b = make_bundle(rlimits=[{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}])
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert ("unknown rlimit RLIMIT_NOPE" in p.stderr) or rt.is_runc, p.stderr
    assert not os.path.exists(os.path.join(rt.root, c))


def test_oom_score_adj(rt, make_bundle, cid):
    b = make_bundle(["cat", "/proc/self/oom_score_adj"], oomScoreAdj=500)
    assert run_out(rt, b, cid()).strip() == "500"


def test_only_stdio_fds_reach_the_container(rt, make_bundle, cid):
    b = make_bundle(["ls", "/proc/self/fd"])
    # an extra fd open in the caller must not leak in
    r, w = os.pipe()
    try:
        p = subprocess.run(rt.argv("run", "--bundle", b, cid()), capture_output=True,
                           text=True, pass_fds=(r, w), timeout=60)
    finally:
        os.close(r)
        os.close(w)
    assert p.returncode == 0, p.stderr
    # ls itself opens one fd for the listing (3)
    assert sorted(int(x) for x in p.stdout.split()) == [0, 1, 2, 3]


def test_preserve_fds(rt, make_bundle, cid, tmp_path):
    f = tmp_path / "shared"
    f.write_text("from the host\n")
    b = make_bundle(["sh", "-c", "cat <&3"])
    # fd 3 is opened by a shell in the child: never dup2 over this process's
    # low fds (pytest keeps its saved stdio there)
    p = subprocess.run(["sh", "-c", 'exec 3<"$0"; exec "$@"', str(f)]
                       + rt.argv("run", "--preserve-fds", "1", "--bundle", b, cid()),
                       capture_output=True, text=True, timeout=60)
    assert p.stdout == "from the host\n", p.stderr


def test_init_is_pid1_and_signals_default(rt, make_bundle, cid):
    # SIGPIPE must be default again (CPython ignores it, and that survives execve)
    b = make_bundle(["sh", "-c", "echo $$; grep SigIgn /proc/self/status"])
    out = run_out(rt, b, cid()).splitlines()
    assert out[0] == "1"
    assert int(out[1].split()[1], 16) & (1 << 12) == 0, "SIGPIPE is ignored in the container"


def test_terminal_without_console_socket_refused_for_create(rt, make_bundle, cid):
    b = make_bundle(terminal=True)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0
    assert "console" in (p.stdout + p.stderr).lower()
    assert not os.path.exists(os.path.join(rt.root, c))


def test_listen_fds_for_another_pid_not_passed(rt, make_bundle, cid, tmp_path):
    """LISTEN_FDS counts only when LISTEN_PID is the runtime's own pid
    (sd_listen_fds, as runc): one inherited from elsewhere must not hand the
    caller's fds 3.. to the container."""
    f = tmp_path / "hostfile"
    f.write_text("host only\n")
    b = make_bundle(["sh", "-c", "cat <&3 2>/dev/null || echo closed"])
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
    p = subprocess.run(["sh", "-c", 'exec 3<"$0"; exec "$@"', str(f)]
                       + rt.argv("run", "--bundle", b, cid()),
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.stdout == "closed\n", p.stdout + p.stderr


def test_listen_fds_for_us_passed(rt, make_bundle, cid, tmp_path):
    f = tmp_path / "socketfile"
    f.write_text("activated\n")
    b = make_bundle(["sh", "-c", "cat <&3; echo $LISTEN_FDS $LISTEN_PID"])
    # LISTEN_PID is set by the shell to its own pid, which exec keeps
    p = subprocess.run(["sh", "-c", 'exec 3<"$0"; LISTEN_FDS=1 LISTEN_PID=$$ exec "$@"',
                        str(f)] + rt.argv("run", "--bundle", b, cid()),
                       capture_output=True, text=True, timeout=60)
    # the program sees its socket-activation fds described for itself (pid 1)
    assert p.stdout == "activated\n1 1\n", p.stdout + p.stderr


def test_env_later_value_wins(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "echo $TERM; env | grep -c ^TERM="],
                    env=["PATH=/bin", "TERM=xterm", "TERM=dumb"])
    assert run_out(rt, b, cid()).split() == ["dumb", "1"]


def test_rlimit_unlimited_value(rt, make_bundle, cid):
    hard = open("/proc/self/limits").read().split("Max core file size")[1].split()[1]
    if hard != "unlimited":
        pytest.skip("the core hard limit here is %s: raising it needs CAP_SYS_RESOURCE" % hard)
    b = make_bundle(["sh", "-c", "ulimit -c"],
                    rlimits=[{"type": "RLIMIT_CORE", "soft": 2 ** 64 - 1, "hard": 2 ** 64 - 1}])
    assert run_out(rt, b, cid()).strip() == "unlimited"
