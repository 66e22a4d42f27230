"""The regression checklist of shared/notes/security.md, one test per item,
each reproducing the attack from inside a real container or with a crafted
bundle. Attacks only ever target files this test made (canaries in tmp);
host binaries are hashed before and after the module.

Items 8 (second half), 11, 13 (first half), 14 need `exec`; they skip when
the runtime under test has none."""
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

HOST_BINARIES = [os.path.realpath(sys.executable), "/usr/sbin/runc", "/bin/busybox",
                 "/usr/bin/busybox", os.path.realpath("/usr/bin/python3")]


def _hashes():
    out = {}
    for p in HOST_BINARIES:
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope="module", autouse=True)
def host_binaries_unchanged():
    before = _hashes()
    yield
    assert _hashes() == before, "a host binary changed during the security tests"


@pytest.fixture
def canary(tmp_path):
    """A folder and a file outside every rootfs, with known contents."""
    d = tmp_path / "canary-dir"
    d.mkdir()
    (d / "keep").write_text("keep\n")
    f = tmp_path / "canary-file"
    f.write_text("untouched\n")
    return d, f


def _snapshot(d):
    return sorted((os.path.relpath(os.path.join(t, n), d), open(os.path.join(t, n)).read()
                   if n != "." else "")
                  for t, dirs, files in os.walk(d) for n in files + dirs
                  if os.path.isfile(os.path.join(t, n))) + \
        sorted(os.path.relpath(os.path.join(t, n), d) for t, dirs, _ in os.walk(d) for n in dirs)


def _mounts():
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f]


def has_exec(rt):
    p = rt("exec", "--help")
    return p.returncode == 0 and "exec" in p.stdout + p.stderr


def run(rt, b, c, *flags, timeout=60):
    return rt("run", *flags, "--bundle", b, c, timeout=timeout)


def add_caps(cfg, *caps):
    c = cfg["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        c[k] = sorted(set(c.get(k) or []) | set(caps))


# 1 -------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["proc", "sys"])
def test_01_proc_or_sys_symlink_fails(rt, make_bundle, cid, canary, where, no_leaks):
    d, _ = canary
    b = make_bundle(["true"], own_rootfs=True)
    rootfs = os.path.join(b, "rootfs")
    os.rmdir(os.path.join(rootfs, where))
    os.symlink(str(d), os.path.join(rootfs, where))  # absolute: the host canary folder
    before = _snapshot(d)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0, "create through a /%s symlink succeeded" % where
    assert _snapshot(d) == before
    assert not any(m.startswith(str(d)) for m in _mounts())
    if not rt.is_runc:
        assert p.stderr.startswith("pyrunc: ") and p.stderr.count("\n") == 1, p.stderr
    no_leaks(c, b)


# 2 -------------------------------------------------------------------------------
def test_02_non_procfs_on_proc_fails(rt, make_bundle, cid, tmp_path):
    fake = tmp_path / "fakeproc"
    (fake / "sys" / "kernel").mkdir(parents=True)

    def edit(cfg):
        for m in cfg["mounts"]:
            if m["destination"] == "/proc":
                m.update(type="bind", source=str(fake), options=["rbind"])
    p = rt("create", "--bundle", make_bundle(["true"], edit=edit), cid())
    assert p.returncode != 0


@pytest.mark.parametrize("dest,ok", [("/proc/sys/kernel", False), ("/proc/self/attr", False),
                                     ("/proc/sysrq-trigger", False), ("/proc/cpuinfo", True)])
def test_02_mounts_inside_proc_allow_list(rt, make_bundle, cid, tmp_path, dest, ok):
    src = tmp_path / "src"
    if dest == "/proc/sys/kernel":
        src.mkdir()
    else:
        src.write_text("fake\n")

    def edit(cfg):
        cfg["mounts"].append({"destination": dest, "type": "bind", "source": str(src),
                              "options": ["bind"]})
    b = make_bundle(["sh", "-c", "cat /proc/cpuinfo | head -1"], edit=edit)
    p = run(rt, b, cid())
    if ok:
        assert p.returncode == 0 and p.stdout.strip() == "fake", p.stdout + p.stderr
    else:
        if rt.is_runc and dest == "/proc/self/attr" and p.returncode == 0:
            pytest.skip("runc 1.1.5 resolves /proc/self before its allow-list check")
        assert p.returncode != 0, "bind over %s was allowed" % dest


# 3 -------------------------------------------------------------------------------
def test_03_bind_through_dangling_symlinks_stays_inside(rt, make_bundle, cid, canary, tmp_path):
    d, _ = canary
    src = tmp_path / "volume"
    src.mkdir()
    (src / "hello").write_text("from-volume\n")
    outside = d / "made-by-runtime"  # must never appear

    def edit(cfg):
        cfg["mounts"].append({"destination": "/a/sub/dir", "type": "bind", "source": str(src),
                              "options": ["rbind"]})
    b = make_bundle(["cat", "/a/sub/dir/hello"], own_rootfs=True, edit=edit)
    rootfs = os.path.join(b, "rootfs")
    os.symlink("b", os.path.join(rootfs, "a"))           # relative chain ...
    os.symlink("../../.." + str(outside), os.path.join(rootfs, "b"))  # ... climbing out
    before = _snapshot(d)
    p = run(rt, b, cid())
    assert not outside.exists(), "a folder was created outside the rootfs"
    assert _snapshot(d) == before
    if p.returncode == 0:
        assert p.stdout == "from-volume\n"
        assert os.path.isdir(os.path.join(rootfs, str(outside).lstrip("/"), "sub", "dir"))
    assert not any(m.startswith(str(d)) for m in _mounts())


# 4 -------------------------------------------------------------------------------
def test_04_dev_symlink_to_outside_folder(rt, make_bundle, cid, canary):
    d, _ = canary
    b = make_bundle(["sh", "-c", "ls /dev >/dev/null; echo x > /dev/planted; true"],
                    own_rootfs=True)
    rootfs = os.path.join(b, "rootfs")
    shutil.rmtree(os.path.join(rootfs, "dev"))
    os.symlink(str(d), os.path.join(rootfs, "dev"))
    before = _snapshot(d)
    run(rt, b, cid())
    if rt.is_runc and _snapshot(d) != before:
        pytest.skip("runc 1.1.5 follows an image's /dev symlink out of the rootfs: it made "
                    "its /dev/fd, stdin... symlinks in the target folder (finding)")
    assert _snapshot(d) == before, "the folder /dev pointed to was changed"
    assert not any(m.startswith(str(d)) for m in _mounts())


def test_04_dev_symlink_non_fresh_dev(rt, make_bundle, cid, canary):
    """Same, without the tmpfs on /dev: devices are made inside the image."""
    d, _ = canary

    def edit(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/dev"]
    b = make_bundle(["true"], own_rootfs=True, edit=edit)
    rootfs = os.path.join(b, "rootfs")
    shutil.rmtree(os.path.join(rootfs, "dev"))
    os.symlink(str(d), os.path.join(rootfs, "dev"))
    before = _snapshot(d)
    run(rt, b, cid())
    if rt.is_runc and _snapshot(d) != before:
        pytest.skip("runc 1.1.5 follows an image's /dev symlink out of the rootfs (finding)")
    assert _snapshot(d) == before
    assert not any(m.startswith(str(d)) for m in _mounts())


# 5 -------------------------------------------------------------------------------
def _read(path):
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("target", ["/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger"])
def test_05_dev_null_symlink_to_proc(rt, make_bundle, cid, target):
    """CVE-2025-31133 shape: masking binds "/dev/null" over maskedPaths; a
    planted dev/null -> core_pattern would make the masks a writable
    core_pattern. Nothing here writes to the host: the container only
    stats what it sees. Not against runc 1.1.5: it has this bug, and a run
    of this test through it rewrote the host's core_pattern (2026-12-03:
    restored by hand); with sysrq-trigger as the target that is a crash or
    a reboot away."""
    if rt.is_runc:
        pytest.skip("runc 1.1.5 is vulnerable (CVE-2025-31133): it would write the host's %s"
                    % target)
    core = _read("/proc/sys/kernel/core_pattern")

    def edit(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/dev"]
        cfg["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/keys", "/proc/timer_list",
                                       "/proc/acpi", "/sys/firmware"]
    script = ("for p in /proc/kcore /proc/keys /proc/timer_list; do "
              "[ -e $p ] && stat -c '%n %F %t:%T' $p; done; "
              "for p in /proc/acpi /sys/firmware; do [ -d $p ] && "
              "echo \"$p $(ls -A $p | wc -l) $(touch $p/x 2>/dev/null && echo rw || echo ro)\"; "
              "done; true")
    b = make_bundle(["sh", "-c", script], own_rootfs=True, edit=edit)
    null = os.path.join(b, "rootfs", "dev", "null")
    if os.path.lexists(null):
        os.unlink(null)
    os.symlink(target, null)
    p = run(rt, b, cid())
    assert _read("/proc/sys/kernel/core_pattern") == core
    if p.returncode != 0:
        if not rt.is_runc:  # refused for the right reason
            assert "/dev/null" in p.stderr and "1:3" in p.stderr, p.stderr
        return  # refusing is a pass
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0].startswith("/proc/k") or f[0] == "/proc/timer_list":
            assert "character special file 1:3" in line, line
        else:
            assert f[1:] == ["0", "ro"], line


# 6 -------------------------------------------------------------------------------
class ConsoleSocket:
    def __init__(self, path):
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.master = None
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while self.master is None:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return  # closed
            msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            conn.close()
            if fds:  # a runtime may connect once just to check the socket
                self.master = fds[0]

    def read_all(self, timeout=10):
        self.t.join(timeout)
        out = b""
        end = time.time() + timeout
        while time.time() < end:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def close(self):
        self.srv.close()
        if self.master is not None:
            os.close(self.master)


@pytest.mark.parametrize("readonly", [True, False])
@pytest.mark.parametrize("plant", ["console", "pts0"])
def test_06_terminal_with_planted_console(rt, make_bundle, cid, canary, tmp_path, plant,
                                          readonly):
    _, f = canary

    def edit(cfg):
        cfg["process"]["terminal"] = True
        cfg["root"]["readonly"] = readonly
        # a non-fresh /dev so that the image's planted entries are what we meet
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in ("/dev",)]
    b = make_bundle(["sh", "-c", "stat -L -c 'console %t' /dev/console; tty; "
                    "echo pwned > /dev/console; echo pwned > /dev/pts/0; true"],
                    own_rootfs=True, edit=edit)
    dev = os.path.join(b, "rootfs", "dev")
    os.makedirs(os.path.join(dev, "pts"), exist_ok=True)
    if plant == "console":
        os.symlink(str(f), os.path.join(dev, "console"))
    else:
        os.symlink(str(f), os.path.join(dev, "pts", "0"))
        os.symlink("pts/0", os.path.join(dev, "console"))
    sockpath = str(tmp_path / "console.sock")
    cs = ConsoleSocket(sockpath)
    c = cid()
    try:
        p = rt("create", "--console-socket", sockpath, "--bundle", b, c)
        if p.returncode != 0:
            assert f.read_text() == "untouched\n"
            assert readonly or rt.is_runc, p.stderr  # the symlink can be replaced
            assert "console" in p.stderr, p.stderr   # refused for the console's sake
            return  # refusing is a pass
        rt("start", c, check=True)
        out = cs.read_all()
    finally:
        cs.close()
    assert f.read_text() == "untouched\n", "the planted target was written"
    assert "console 88" in out, out  # 0x88 = 136: a pty slave (Unix98 pty major)
    assert "/dev/pts/" in out, out


# 7 -------------------------------------------------------------------------------
def test_07_fake_bind_over_proc_sys_write_refused(rt, make_bundle, cid, canary):
    """A config mount over an allow-listed /proc/sys file turns a sysctl write
    into a write to that file: the runtime must write only through a procfs
    handle (RESOLVE_NO_XDEV catches the bind) and fail instead."""
    _, f = canary

    def edit(cfg):
        cfg["mounts"].append({"destination": "/proc/sys/kernel/ns_last_pid", "type": "bind",
                              "source": str(f), "options": ["bind"]})
        cfg["linux"]["sysctl"] = {"kernel.ns_last_pid": "12345"}
    p = run(rt, make_bundle(["true"], edit=edit), cid())
    if rt.is_runc and f.read_text() != "untouched\n":
        f.write_text("untouched\n")
        pytest.skip("runc 1.1.5 writes sysctls by path: it wrote into the bind-mounted "
                    "canary (fixed in runc 1.2.8/1.3.3, CVE-2025-52881)")
    assert f.read_text() == "untouched\n", "the sysctl went into the bind-mounted file"
    assert p.returncode != 0
    if not rt.is_runc:
        assert "procfs" in p.stderr or "cross-device" in p.stderr.lower(), p.stderr


def test_07_lsm_label_on_host_without_lsm_is_refused(rt, make_bundle, cid, no_leaks):
    """The /proc/self/attr write path (apparmorProfile/selinuxLabel) cannot
    run on this host (no LSM enabled): the config is refused with a clear
    error before anything is made."""
    from pyrunc import security
    if security.apparmor_enabled():
        pytest.skip("AppArmor is enabled here")

    def edit(cfg):
        cfg["process"]["apparmorProfile"] = "pyrunc-test-profile"
    b = make_bundle(["true"], edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0
    if not rt.is_runc:
        assert p.stderr.count("\n") == 1 and "AppArmor is not enabled" in p.stderr, p.stderr
        no_leaks(c, b)


def test_07_selinux_label_on_host_without_selinux_is_refused(rt, make_bundle, cid, no_leaks):
    from pyrunc import security
    if security.selinux_enabled():
        pytest.skip("SELinux is enabled here")

    def edit(cfg):
        cfg["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
    b = make_bundle(["true"], edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0
    if not rt.is_runc:
        assert p.stderr.count("\n") == 1 and "SELinux is not enabled" in p.stderr, p.stderr
        no_leaks(c, b)


# 8 -------------------------------------------------------------------------------
def test_08_cwd_proc_self_fd(rt, make_bundle, cid):
    """CVE-2024-21626: a leaked host fd as process.cwd. Every N: create fails,
    or the process runs with a cwd inside the root."""
    for n in range(3, 21):
        b = make_bundle(["sh", "-c", "pwd -P; ls -a | head -50"], cwd="/proc/self/fd/%d" % n)
        p = run(rt, b, cid())
        if p.returncode != 0:
            continue
        lines = p.stdout.splitlines()
        assert lines and lines[0].startswith("/") and "unreachable" not in lines[0], \
            (n, p.stdout)
        assert not lines[0].startswith("/proc/"), (n, p.stdout)


def test_08_exec_cwd_proc_self_fd(rt, make_bundle, cid):
    if not has_exec(rt):
        pytest.skip("exec is not available in this runtime yet")
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    for n in range(3, 21):
        p = rt("exec", "--cwd", "/proc/self/fd/%d" % n, c, "sh", "-c", "pwd -P")
        if p.returncode != 0:
            continue
        out = p.stdout.strip()
        assert out.startswith("/") and "unreachable" not in out, (n, out)
        assert not out.startswith("/proc/"), (n, out)


# 9 -------------------------------------------------------------------------------
def test_09_init_fds_after_create(rt, make_bundle, cid):
    b = make_bundle(["true"])
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    bad = []
    for name in os.listdir("/proc/%d/fd" % pid):
        n = int(name)
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except FileNotFoundError:
            continue
        if n <= 2:
            continue  # a detached create hands the runtime's own stdio over
        if target.startswith(("pipe:", "socket:", "/dev/pts/")) or \
                target == os.path.join(rt.root, c, "exec.fifo"):
            continue
        if rt.is_runc and target == "anon_inode:[eventpoll]":
            continue  # the Go runtime's netpoller: no host object behind it
        bad.append((n, target))
    rt("delete", "--force", c)
    assert not bad, "init holds fds beyond stdio, protocol and exec.fifo: %s" % bad


# 10 ------------------------------------------------------------------------------
HOST_UID = 231072


def _userns(cfg):
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_UID, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_UID, "size": 65536}]
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in
                     ("/sys", "/sys/fs/cgroup")]


def _in_userns_of(pid, code):
    """Run python `code` as root of the container's user namespace, with every
    capability in it (nsenter -U): the strongest a container process is."""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    return subprocess.run(["nsenter", "-U", "-t", str(pid), py, "-I", "-S", "-c", code],
                          capture_output=True, text=True, timeout=30)


PROBE = r"""
import os, sys
pid = int(sys.argv[1]) if len(sys.argv) > 1 else %d
out = []
for what, fn in (("readlink-exe", lambda: os.readlink("/proc/%%d/exe" %% pid)),
                 ("open-exe-rw", lambda: os.open("/proc/%%d/exe" %% pid, os.O_WRONLY)),
                 ("open-exe-r", lambda: os.open("/proc/%%d/exe" %% pid, os.O_RDONLY)),
                 ("environ", lambda: open("/proc/%%d/environ" %% pid, "rb").read())):
    try:
        fn()
        out.append(what + "=ok")
    except OSError as e:
        out.append("%%s=%%d" %% (what, e.errno))
print(" ".join(out))
"""


@pytest.mark.skipif(not shutil.which("nsenter"), reason="needs nsenter (util-linux)")
def test_10_init_not_dumpable_exe_unreachable(rt, make_bundle, cid):
    """CVE-2019-5736 shape. Before execve, pyrunc's init is the HOST python
    (its mm belongs to the host user namespace). Root of the container's user
    namespace, with all its capabilities, passes every ptrace check but the
    dumpable one: it must not reach init's /proc/<pid>/exe or environ. After
    execve the same probe reaches the container's program (the control that
    shows this test can fail)."""
    b = make_bundle(["sleep", "100"], edit=_userns)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    with open("/proc/%d/status" % pid) as f:
        assert "\nUid:\t%d\t" % HOST_UID in f.read()
    p = _in_userns_of(pid, PROBE % pid)
    assert p.returncode == 0, p.stderr
    assert "=ok" not in p.stdout, "init reachable before execve: %s" % p.stdout
    rt("start", c, check=True)
    time.sleep(0.2)
    p = _in_userns_of(pid, PROBE % pid)
    assert "readlink-exe=ok" in p.stdout and "environ=ok" in p.stdout, p.stdout
    assert "open-exe-rw=ok" not in p.stdout, p.stdout  # ETXTBSY: it runs
    rt("delete", "--force", c)


def test_10_exe_write_attempt_from_container(rt, make_bundle, cid):
    """From inside: open /proc/1/exe for writing (the init itself once it
    runs sh) and through every /proc/*/exe; host binaries' hashes are checked
    by the module fixture."""
    b = make_bundle(["sh", "-c", "for p in /proc/[0-9]*; do "
                     "(echo x >> $p/exe) 2>/dev/null && echo WROTE $p; done; true"])
    p = run(rt, b, cid())
    assert "WROTE" not in p.stdout, p.stdout


# 11 ------------------------------------------------------------------------------
def _caps(status):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in status.splitlines()
            if l.startswith("Cap")}


def test_11_exec_cap_no_inheritable_no_ambient(rt, make_bundle, cid):
    if not has_exec(rt):
        pytest.skip("exec is not available in this runtime yet")
    b = make_bundle(["sleep", "100"])
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    p = rt("exec", "--cap", "CAP_SYS_ADMIN", c, "cat", "/proc/self/status")
    assert p.returncode == 0, p.stderr
    caps = _caps(p.stdout)
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps
    assert caps["CapEff"] & (1 << 21) and caps["CapBnd"] & (1 << 21), caps


def test_11_ambient_only_when_asked(rt, make_bundle, cid):
    def edit(cfg):
        c = cfg["process"]["capabilities"]
        c["inheritable"] = ["CAP_NET_BIND_SERVICE"]
        c["ambient"] = ["CAP_NET_BIND_SERVICE"]
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    p = run(rt, make_bundle(["cat", "/proc/self/status"], edit=edit), cid())
    caps = _caps(p.stdout)
    assert caps["CapAmb"] == 1 << 10 and caps["CapInh"] == 1 << 10, caps
    p = run(rt, make_bundle(["cat", "/proc/self/status"]), cid())
    caps = _caps(p.stdout)
    assert caps["CapAmb"] == 0 and caps["CapInh"] == 0, caps


# 12 ------------------------------------------------------------------------------
def test_12_cgroupfs_readonly_without_cgroupns(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "cgroup"]
        for m in cfg["mounts"]:
            if m["destination"] == "/sys/fs/cgroup":
                m["options"] = [o for o in m.get("options", []) if o != "ro"] + ["rw"]
        add_caps(cfg, "CAP_SYS_ADMIN")  # remount would need it: it must not help
    script = ("grep ' /sys/fs/cgroup' /proc/self/mountinfo; "
              "for d in /sys/fs/cgroup/*/; do mkdir $d/escape 2>/dev/null && echo MADE $d; done; "
              "mkdir /sys/fs/cgroup/escape 2>/dev/null && echo MADE top; true")
    p = run(rt, make_bundle(["sh", "-c", script], edit=edit), cid())
    lines = [l for l in p.stdout.splitlines() if not l.startswith("MADE")]
    assert lines, p.stdout + p.stderr
    if rt.is_runc and any(" rw," in l and " - cgroup " in l for l in lines):
        pytest.skip("runc 1.1.5 honours an explicit 'rw' on a cgroup v1 mount without a "
                    "cgroup namespace (finding): %s" % lines[1])
    for line in lines:
        f = line.split()
        if rt.is_runc and f[f.index("-") + 1] == "tmpfs":
            continue  # runc 1.1 leaves the tmpfs holding the v1 hierarchies rw
        assert "ro" in f[5].split(","), line
    assert "MADE" not in p.stdout, p.stdout


# 13 ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["a/b", "..", ".", "../x", "x/../../y", "", "a b", "\x01"])
def test_13_bad_container_ids(rt, make_bundle, bad):
    # where a runtime joining the id to its root as a string would land
    target = os.path.normpath(os.path.join(rt.root, bad))
    outside = target not in (rt.root, os.path.dirname(rt.root), "/") and \
        not target.startswith(rt.root + "/")
    assert not (outside and os.path.exists(target))
    before_root = sorted(os.listdir(rt.root))
    p = rt("create", "--bundle", make_bundle(["true"]), bad)
    assert p.returncode != 0, "id %r accepted" % bad
    p = rt("delete", "--force", bad)
    if bad not in ("", "a b"):  # runc 1.1.5: "delete --force ''" is not an error either way
        assert p.returncode != 0 or rt.is_runc, "delete --force %r accepted" % bad
    assert not (outside and os.path.exists(target)), "made %s outside the state root" % target
    assert sorted(os.listdir(rt.root)) == before_root, "something made in the state root"


def test_13_exec_user_1(rt, make_bundle, cid):
    if not has_exec(rt):
        pytest.skip("exec is not available in this runtime yet")
    c = cid()
    rt("run", "-d", "--bundle", make_bundle(["sleep", "100"]), c, check=True)
    p = rt("exec", "--user", "1", c, "id", "-u")
    assert p.returncode == 0 and p.stdout.strip() == "1", p.stdout + p.stderr


# 14 ------------------------------------------------------------------------------
@pytest.mark.parametrize("sub", ["../../x", "/../x", "cpu:../../x", "..", "a/../../../x"])
def test_14_exec_cgroup_escape(rt, make_bundle, cid, sub):
    if not has_exec(rt):
        pytest.skip("exec is not available in this runtime yet")
    c = cid()
    rt("run", "-d", "--bundle", make_bundle(["sleep", "100"]), c, check=True)
    with open("/proc/self/cgroup") as f:
        mine = f.read()
    p = rt("exec", "--cgroup", sub, c, "cat", "/proc/self/cgroup")
    assert p.returncode != 0, "exec --cgroup %s accepted: %s" % (sub, p.stdout)
    with open("/proc/self/cgroup") as f:
        assert f.read() == mine


# 15 ------------------------------------------------------------------------------
# A new user namespace has every capability over the mount namespace it owns
# (until its first execve: so busybox's unshare mounts the procfs itself,
# --mount-proc, before running sh). Whether a new procfs may be mounted then
# depends only on the kernel's "fully visible procfs" rule (mount_too_revealing).
PROC_ESCAPE = ("unshare -U -p -f --mount-proc=/dev sh -c 'echo MOUNTED; "
               "[ -e /dev/sysrq-trigger ] && echo UNMASKED'; echo INNS; "
               "cat /proc/self/mountinfo | awk '{print $5}' | grep -v '^/proc\\|^/sys\\|^/dev' "
               "| sed 's/^/MP /'; true")


@pytest.mark.parametrize("no_pivot", [True, False])
def test_15_no_pivot_host_proc_unreachable(rt, make_bundle, cid, no_pivot):
    """With --no-pivot the host's bare /proc must not stay in the container's
    mount namespace: an unprivileged user namespace inside the container may
    mount a fresh procfs only if a fully visible one exists in it, and that
    one would have no masks (sysrq-trigger writable). We never write to it."""
    b = make_bundle(["sh", "-c", PROC_ESCAPE])
    p = run(rt, b, cid(), *(["--no-pivot"] if no_pivot else []))
    assert p.returncode == 0, p.stderr
    if rt.is_runc and no_pivot and "MOUNTED" in p.stdout:
        pytest.skip("runc 1.1.5 --no-pivot keeps the host /proc in the mount namespace "
                    "(fixed in runc 1.2.x)")
    assert "INNS" in p.stdout, p.stdout + p.stderr
    assert "can't mount proc" in p.stderr, p.stderr  # the probe ran and was refused
    assert "MOUNTED" not in p.stdout and "UNMASKED" not in p.stdout, p.stdout
    mps = [l[3:] for l in p.stdout.splitlines() if l.startswith("MP ")]
    assert all(not m.startswith(("/work", "/home", "/usr", "/var")) for m in mps), mps


def test_15_control_fully_visible_proc_allows_the_mount(rt, make_bundle, cid):
    """The control for item 15: with no masked or read-only paths the
    container's own /proc is fully visible, and the same probe mounts a new
    procfs. So the probe above fails for the right reason."""
    def edit(cfg):
        cfg["linux"].pop("maskedPaths", None)
        cfg["linux"].pop("readonlyPaths", None)
    p = run(rt, make_bundle(["sh", "-c", PROC_ESCAPE], edit=edit), cid())
    assert "INNS" in p.stdout and "MOUNTED" in p.stdout, p.stdout + p.stderr


# 16 ------------------------------------------------------------------------------
def test_16_host_dev_null_unchanged(rt, make_bundle, cid):
    before = os.stat("/dev/null")

    def user_1000(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}

    def user_ns_nonroot(cfg):
        _userns(cfg)
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    for edit in (_userns, user_1000, user_ns_nonroot):
        run(rt, make_bundle(["sh", "-c", "ls -l /dev/null; echo > /dev/null"], edit=edit),
            cid())
        after = os.stat("/dev/null")
        assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode), after.st_rdev) == \
            (0, 0, 0o666, os.makedev(1, 3))
        assert (after.st_uid, after.st_gid, after.st_mode) == \
            (before.st_uid, before.st_gid, before.st_mode)


# 17 ------------------------------------------------------------------------------
def test_17_no_mount_namespace_leaves_no_mount(rt, make_bundle, cid, no_leaks):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "mount"]
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] == "/proc"]
        cfg["linux"].pop("maskedPaths", None)
        cfg["linux"].pop("readonlyPaths", None)
        cfg["root"]["readonly"] = False
    b = make_bundle(["sh", "-c", "echo ran"], own_rootfs=True, edit=edit)
    before = sorted(_mounts())
    c = cid()
    p = run(rt, b, c)
    if rt.is_runc and "/proc/self/fd" in p.stderr:
        pytest.skip("runc 1.1 needs /proc inside the container: %s" % p.stderr.strip())
    rt("delete", "--force", c)
    left = [m for m in _mounts() if m not in before]
    for m in sorted(left, reverse=True):  # never leave them, whoever made them
        subprocess.run(["umount", "-l", m])
    if rt.is_runc and left:
        pytest.skip("runc 1.1.5 without a mount namespace mounts the rootfs and /proc on "
                    "the host and leaves them after delete (finding): %s" % left)
    assert not left, "mounts left on the host: %s" % left
    no_leaks(c, b)
