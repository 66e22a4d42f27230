"""Terminals and the foreground wait (roles: parent).

- send_console(): the console-socket contract: one sendmsg, the name as
  payload, exactly one SCM_RIGHTS fd (the pty master).
- wait_foreground(): `run`/`exec` in the foreground: forward signals to the
  container process, copy between our terminal (raw mode) and the pty
  master, follow window-size changes, reap every child (we are a subreaper),
  and return the exit code, 128+signal when killed.
"""
import _signal
from . import _os as os  # posix without os's import cost (_os.py)
import stat
import struct

TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414
# As runc: every signal that can be caught is forwarded, except SIGCHLD (ours),
# SIGWINCH (a resize of the pty instead), SIGURG (Go's own in runc) and the
# ones that stop us. HUP INT QUIT USR1 USR2 PIPE ALRM TERM CONT TSTP XCPU XFSZ
# VTALRM PROF WINCH IO PWR SYS, and the real-time signals.
FORWARDED = (1, 2, 3, 10, 12, 13, 14, 15, 18, 20, 24, 25, 26, 27, 28, 29, 30, 31) + \
    tuple(range(34, 65))
SIGCHLD = 17
SIGWINCH = 28


def check_socket(path):
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise OSError(e.errno, "console socket %s: %s" % (path, os.strerror(e.errno)))
    if not stat.S_ISSOCK(st.st_mode):
        from .errors import PyruncError
        raise PyruncError("console socket %s is not a unix socket" % path)
    return path


def send_console(path, fd):
    import _socket
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
        # The master lives in the container's devpts: ttyname() finds no
        # name for it from here (ENOTTY). runc sends the name it opened,
        # "/dev/ptmx"; consumers only use the fd.
        try:
            name = os.ttyname(fd)
        except OSError:
            name = "/dev/ptmx"
        s.sendmsg([name.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                     struct.pack("i", fd))])
    finally:
        s.close()


def _winsize(src, dst):
    try:
        import fcntl
        ws = fcntl.ioctl(src, TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, TIOCSWINSZ, ws)
    except OSError:
        pass


def catch_forwarded():
    """Queue the signals wait_foreground forwards, from now on: call it before
    the process starts, or a signal sent right after it starts (by someone
    who saw it run) hits the runtime instead. Pass the list on as ``caught``."""
    caught = []

    def queue(sig, frame):
        caught.append(sig)

    for sig in FORWARDED:
        _signal.signal(sig, queue)
    return caught


def wait_foreground(pid, master=-1, caught=None):
    """Wait for ``pid`` (reaping any reparented orphans on the way)."""
    import select
    pending = []
    r_wake, w_wake = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    def on_signal(sig, frame):
        pending.append(sig)
        try:
            os.write(w_wake, b"x")
        except OSError:
            pass

    old = {}
    for sig in FORWARDED + (SIGCHLD,):
        old[sig] = _signal.signal(sig, on_signal)
    # The C-level handler writes to w_wake at once: a Python handler alone
    # runs only at the next bytecode check, so a SIGCHLD landing just before
    # select() would wait out its timeout.
    old_wakeup = _signal.set_wakeup_fd(w_wake)
    if caught:
        pending[:0] = caught  # queued before we got here: forward first
    saved_tty = None
    if master >= 0 and os.isatty(0):
        import termios
        saved_tty = termios.tcgetattr(0)
        _raw(0)
        _winsize(0, master)
    try:
        status = None
        in_open = master >= 0
        while status is None:
            # reap: the container process and any orphans that came to us
            while True:
                try:
                    wpid, wst = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    wpid = 0
                    if status is None and not os.path.exists("/proc/%d" % pid):
                        status = 0
                if wpid == 0:
                    break
                if wpid == pid:
                    status = wst
            if status is not None:
                break
            while pending:
                sig = pending.pop(0)
                if sig == SIGCHLD:
                    continue
                if sig == SIGWINCH and master >= 0:
                    _winsize(0, master)
                    continue
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            fds = [r_wake]
            if master >= 0:
                fds.append(master)
                if in_open:
                    fds.append(0)
            try:
                ready, _, _ = select.select(fds, [], [], 0.5)
            except InterruptedError:
                continue
            if r_wake in ready:
                try:
                    os.read(r_wake, 512)
                except BlockingIOError:
                    pass
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if data:
                    _write_all(1, data)
                else:
                    master = -1
            if in_open and 0 in ready:
                data = os.read(0, 65536)
                if data and master >= 0:
                    _write_all(master, data)
                else:
                    in_open = False
        if master >= 0:  # drain what the program wrote last
            while True:
                r, _, _ = select.select([master], [], [], 0)
                if not r:
                    break
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                _write_all(1, data)
        return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
            128 + os.WTERMSIG(status)
    finally:
        if saved_tty is not None:
            import termios
            termios.tcsetattr(0, termios.TCSADRAIN, saved_tty)
        _signal.set_wakeup_fd(old_wakeup)
        for sig, h in old.items():
            _signal.signal(sig, h)
        os.close(r_wake)
        os.close(w_wake)


def _raw(fd):
    import termios
    a = termios.tcgetattr(fd)
    a[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
              | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
    a[1] &= ~termios.OPOST
    a[2] &= ~(termios.CSIZE | termios.PARENB)
    a[2] |= termios.CS8
    a[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    a[6][termios.VMIN] = 1
    a[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, a)


def _write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]
