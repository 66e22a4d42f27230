"""Terminals: console sockets (create, exec), consoleSize, and interactive
`run`/`exec -t` driven through tmux (a real terminal, raw mode, resize)."""
import array
import os
import select
import shlex
import socket
import subprocess
import time
import uuid

import pytest

from test_lifecycle import wait_status


class ConsoleServer:
    """The test side of --console-socket: a unix socket server that receives
    one message with exactly one fd (the pty master)."""

    def __init__(self, path):
        self.path = str(path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(1)
        self.master = -1

    def receive(self, timeout=10):
        self.srv.settimeout(timeout)
        conn, _ = self.srv.accept()
        with conn:
            fds = array.array("i")
            msg, anc, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4 * 4))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % 4])
            assert len(fds) == 1, "exactly one fd, got %d" % len(fds)
            assert msg, "a name as payload"
            assert not conn.recv(1), "one message only"
        self.master = fds[0]
        return msg

    def close(self):
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        self.srv.close()


@pytest.fixture
def console(tmp_path):
    servers = []

    def make():
        s = ConsoleServer(tmp_path / ("console%d.sock" % len(servers)))
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def talk(master, line, want, timeout=10):
    """Write ``line`` to the pty, read until ``want`` shows up; returns all read."""
    os.write(master, line.encode())
    buf = b""
    end = time.time() + timeout
    while want.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            raise AssertionError("%r never came; got %r" % (want, buf))
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the other side is gone
                break
            if not data:
                break
            buf += data
    assert want.encode() in buf, buf
    return buf.decode(errors="replace")


def test_create_console_socket(rt, make_bundle, cid, console):
    b = make_bundle(["sh"], terminal=True, env=["PATH=/bin", "PS1=# "],
                    consoleSize={"height": 30, "width": 100})
    c = cid()
    srv = console()
    rt("create", "--console-socket", srv.path, "--bundle", b, c, check=True)
    srv.receive()
    rt("start", c, check=True)
    m = srv.master
    talk(m, "echo out-$((6*7))\n", "out-42")
    # its stdio and /dev/console are the pty of the container's own devpts
    out = talk(m, "readlink /proc/self/fd/0; stat -L -c '%t:%T' /dev/console "
                  "/proc/self/fd/0; stty size; echo END-$((1+1))\n", "END-2")
    assert "/dev/pts/0" in out
    lines = [l.strip() for l in out.splitlines()]
    majors = [l for l in lines if l.count(":") == 1 and l.split(":")[0] == "88"]
    assert len(majors) == 2 and majors[0] == majors[1], out  # 0x88 = 136: a pts
    assert "30 100" in lines
    os.write(m, b"exit 3\n")
    wait_status(rt, c, "stopped")


def test_console_socket_requires_terminal_and_detached_tty_needs_socket(
        rt, make_bundle, cid, console):
    b = make_bundle(["true"], terminal=False)
    srv = console()
    p = rt("create", "--console-socket", srv.path, "--bundle", b, cid())
    assert p.returncode != 0 and "console" in p.stdout + p.stderr
    b = make_bundle(["true"], terminal=True)
    p = rt("create", "--bundle", b, cid())
    assert p.returncode != 0 and "console" in p.stdout + p.stderr
    p = rt("run", "-d", "--bundle", b, cid())
    assert p.returncode != 0 and "console" in p.stdout + p.stderr


def test_exec_console_socket(rt, make_bundle, cid, console):
    b = make_bundle(["sleep", "1000"], terminal=False)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    srv = console()
    p = rt("exec", "-d", "-t", "--console-socket", srv.path, "-e", "PS1=$ ", c, "sh")
    assert p.returncode == 0, p.stderr
    srv.receive()
    m = srv.master
    out = talk(m, "echo in-$((6*7)); readlink /proc/self/fd/0; "
                  "grep -E 'CapInh|CapAmb' /proc/self/status; "
                  "ls -l /proc/$$/fd >/dev/shm/fds.$$; sed 's/^/FD /' /dev/shm/fds.$$; "
                  "echo END-$((1+1))\n", "END-2")
    assert "in-42" in out and "/dev/pts/" in out
    assert "CapInh:\t0000000000000000" in out
    # every fd of the shell is its own: the pty, /dev/tty (ash's job control)
    # and the file ls (a busybox applet run in the shell) writes to
    fds = {f[-3]: f[-1] for f in (l.split() for l in out.splitlines()
                                  if l.startswith("FD l"))}
    assert fds["0"].startswith("/dev/pts/") and fds["2"] == fds["0"], out
    assert all(t.startswith("/dev/") for t in fds.values()), fds
    # the exec'd pty does not replace the container's /dev/console
    os.write(m, b"exit\n")


def test_exec_console_size_from_process_json(rt, make_bundle, cid, console, tmp_path):
    import json
    b = make_bundle(["sleep", "1000"], terminal=False)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    proc = {"terminal": True, "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/",
            "user": {"uid": 0, "gid": 0}, "consoleSize": {"height": 12, "width": 34}}
    pj = tmp_path / "process.json"
    pj.write_text(json.dumps(proc))
    srv = console()
    p = rt("exec", "-d", "--process", str(pj), "--console-socket", srv.path, c)
    assert p.returncode == 0, p.stderr
    srv.receive()
    out = talk(srv.master, "stty size; echo END-$((1+1))\n", "END-2")
    assert "12 34" in out
    os.write(srv.master, b"exit\n")


# --- interactive, through tmux ------------------------------------------------

class Tmux:
    def __init__(self, cmd, width=100, height=30):
        self.name = "pyrunc-test-%s" % uuid.uuid4().hex[:8]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), cmd], check=True)

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name] + list(keys), check=True)

    def screen(self):
        r = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                           capture_output=True, text=True)
        return r.stdout

    def wait_for(self, text, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.05)
        raise AssertionError("%r never appeared on screen:\n%s" % (text, self.screen()))

    def resize(self, width, height):
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", str(width),
                        "-y", str(height)], check=True)

    def kill(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux():
    sessions = []

    def make(cmd, **kw):
        t = Tmux(cmd, **kw)
        sessions.append(t)
        return t
    yield make
    for t in sessions:
        t.kill()


def _wrapped(argv):
    """Run argv in the tmux pane, then show its exit code and whether the
    terminal settings came back as they were."""
    cmd = " ".join(shlex.quote(a) for a in argv)
    return ("a=$(stty -g); %s; echo EXIT=$?; "
            "[ \"$(stty -g)\" = \"$a\" ] && echo TTY-RESTORED; sleep 600" % cmd)


def test_interactive_run_in_tmux(rt, make_bundle, cid, tmux):
    b = make_bundle(["sh"], terminal=True, env=["PATH=/bin", "PS1=ctr-prompt# "])
    c = cid()
    t = tmux(_wrapped(rt.argv("run", "--bundle", b, c)))
    t.wait_for("ctr-prompt#")
    t.keys("echo val-$((6*7))", "Enter")
    t.wait_for("val-42")
    t.keys("stty size", "Enter")
    t.wait_for("30 100")
    # a window-size change reaches the container's pty (SIGWINCH)
    t.resize(90, 25)
    time.sleep(0.3)
    t.keys("clear; stty size", "Enter")
    t.wait_for("25 90")
    # raw mode: ^C goes to the container's shell (its own line discipline)
    t.keys("sleep 100", "Enter")
    time.sleep(0.3)
    t.keys("C-c")
    t.keys("echo after-int", "Enter")
    t.wait_for("after-int\n")
    t.keys("exit 4", "Enter")
    s = t.wait_for("TTY-RESTORED")
    assert "EXIT=4" in s


def test_interactive_exec_in_tmux(rt, make_bundle, cid, tmux):
    b = make_bundle(["sleep", "1000"], terminal=False)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    t = tmux(_wrapped(rt.argv("exec", "-t", "-e", "PS1=exec-prompt$ ", c, "sh")))
    t.wait_for("exec-prompt$")
    t.keys("echo v-$((7*6)); tty", "Enter")
    s = t.wait_for("v-42")
    t.wait_for("/dev/pts/")
    t.resize(80, 20)
    time.sleep(0.3)
    t.keys("clear; stty size", "Enter")
    t.wait_for("20 80")
    t.keys("exit 6", "Enter")
    s = t.wait_for("TTY-RESTORED")
    assert "EXIT=6" in s
    assert rt.state(c)["status"] == "running"


def test_exec_into_terminal_container_without_t_has_no_tty(rt, make_bundle, cid, console):
    # the container's terminal: true is not inherited by exec: only -t allocates
    b = make_bundle(["sleep", "1000"], terminal=True)
    c = cid()
    srv = console()
    rt("create", "--console-socket", srv.path, "--bundle", b, c, check=True)
    srv.receive()
    rt("start", c, check=True)
    p = rt("exec", c, "tty")
    assert p.returncode == 1 and p.stdout == "not a tty\n"


def test_exec_tty_into_user_namespace(rt, make_bundle, cid, console):
    from test_exec import _userns
    b = make_bundle(["sleep", "1000"], terminal=False, edit=_userns)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    srv = console()
    p = rt("exec", "-d", "-t", "--console-socket", srv.path, c, "sh")
    assert p.returncode == 0, p.stderr
    srv.receive()
    out = talk(srv.master, "id -u; readlink /proc/self/fd/0; echo END-$((1+1))\n", "END-2")
    assert "/dev/pts/" in out
    os.write(srv.master, b"exit\n")
