"""config.hooks (roles: parent for prestart, createRuntime, poststart,
poststop; init for createContainer and startContainer).

Each hook gets the container state on stdin, exactly its own ``env`` (nothing
inherited) and ``args``; ``timeout`` seconds kill it. Where a hook runs is the
caller's business: runtime.md says which namespace each kind runs in, and the
callers (container.py, init.py) are placed at those moments.
"""
from . import _os as os  # posix without os's import cost (_os.py)
import select
import time

from . import jsonio
from . import errors  # errors.X where raised or caught: the classes are made on first use

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer",
         "poststart", "poststop")


def of(config, kind):
    return ((config.get("hooks") or {}).get(kind)) or []


def run(hooks, state, kind):
    """Run hooks in order; the first failure raises HookError."""
    data = jsonio.dumps(state).encode()
    for i, h in enumerate(hooks):
        _run_one(h, data, "%s hook #%d (%s)" % (kind, i, h.get("path")))


def run_warn(hooks, state, kind, warn):
    """poststop: a failure is a warning, the rest still run (runtime.md)."""
    data = jsonio.dumps(state).encode()
    for i, h in enumerate(hooks):
        try:
            _run_one(h, data, "%s hook #%d (%s)" % (kind, i, h.get("path")))
        except errors.HookError as e:
            warn(str(e))


def _run_one(hook, data, what):
    """fork/exec the hook with a pipe on stdin; output captured for errors.

    No subprocess module: it costs ~10 ms to import, and a hook is one
    fork+exec with three pipes."""
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env") or []
    timeout = hook.get("timeout")
    r_in, w_in = os.pipe2(os.O_CLOEXEC)
    r_out, w_out = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(r_in, 0)
            os.dup2(w_out, 1)
            os.dup2(w_out, 2)
            os.execve(path, args, dict(e.split("=", 1) for e in env if "=" in e))
        except BaseException as e:
            try:
                os.write(2, ("exec %s: %s" % (path, getattr(e, "strerror", e))).encode())
            finally:
                os._exit(127)
    os.close(r_in)
    os.close(w_out)
    try:
        os.write(w_in, data)
    except BrokenPipeError:
        pass
    os.close(w_in)
    out = _read_until(r_out, pid, timeout)
    os.close(r_out)
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            break
        if deadline and time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise errors.HookError("%s: timed out after %ss" % (what, timeout))
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        detail = out.decode(errors="replace").strip().replace("\n", " | ")
        why = "exit status %d" % code if code > 0 else "killed by signal %d" % -code
        raise errors.HookError("%s: %s%s" % (what, why, ": " + detail[:500] if detail else ""))


def _read_until(fd, pid, timeout):
    chunks = []
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return b"".join(chunks)  # timed out: the caller kills the hook
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)
