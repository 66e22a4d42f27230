"""Errors and warnings out of the runtime (roles: parent).

Without --log, messages go to stderr as ``pyrunc: <msg>``. With --log they
are appended to that file, as text (``time="..." level=error msg="..."``,
runc's logrus form) or, with --log-format json, as one JSON object a line
(``{"level":"error","msg":"...","time":"<RFC3339>"}``): containerd reports the
last error line of that file, so nothing else is ever written there.
An error is also printed to stderr, as runc does.
"""
from . import _os as os  # posix without os's import cost (_os.py)
import sys
import time

from . import jsonio


# Set once by the CLI (configure); the module itself is what commands get as
# `log` (log.warn, log.error): a Log class would cost ~25 us to make at every
# start (see errors.py).
path = None
fmt = "text"
debug_on = False


def configure(log_path=None, log_format="text", debug=False):
    global path, fmt, debug_on
    path, fmt, debug_on = log_path, log_format or "text", debug


def _write(level, msg):
    if not path:
        return False
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if fmt == "json":
        line = jsonio.dumps({"level": level, "msg": msg, "time": t})
    else:
        line = 'time="%s" level=%s msg=%s' % (t, level, jsonio.dumps(msg))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        return False
    return True


def error(msg):
    _write("error", msg)
    sys.stderr.write("pyrunc: %s\n" % msg)
    sys.stderr.flush()


def warn(msg):
    if not _write("warning", msg):
        sys.stderr.write("pyrunc: warning: %s\n" % msg)
        sys.stderr.flush()


def debug(msg):
    if debug_on and not _write("debug", msg):
        sys.stderr.write("pyrunc: debug: %s\n" % msg)
