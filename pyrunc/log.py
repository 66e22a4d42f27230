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


class Log:
    def __init__(self, path=None, fmt="text", debug=False):
        self.path = path
        self.fmt = fmt or "text"
        self.debug_on = debug

    def _write(self, level, msg):
        if not self.path:
            return False
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            line = jsonio.dumps({"level": level, "msg": msg, "time": t})
        else:
            line = 'time="%s" level=%s msg=%s' % (t, level, jsonio.dumps(msg))
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except OSError:
            return False
        return True

    def error(self, msg):
        self._write("error", msg)
        sys.stderr.write("pyrunc: %s\n" % msg)
        sys.stderr.flush()

    def warn(self, msg):
        if not self._write("warning", msg):
            sys.stderr.write("pyrunc: warning: %s\n" % msg)
            sys.stderr.flush()

    def debug(self, msg):
        if self.debug_on and not self._write("debug", msg):
            sys.stderr.write("pyrunc: debug: %s\n" % msg)
