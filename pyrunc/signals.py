"""Signal names and numbers for `kill` (roles: parent).

A table instead of the signal module: ``import signal`` costs ~4 ms here
(it builds enums), and `kill` is on every manager's stop path."""

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
    "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26,
    "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}
SIGRTMIN, SIGRTMAX = 34, 64


def parse(text):
    """'9', 'KILL', 'SIGKILL', 'sigkill', 'RTMIN+3' -> number; ValueError else."""
    t = text.strip()
    if t.isdigit():
        n = int(t)
        if 0 < n <= SIGRTMAX:
            return n
        raise ValueError("invalid signal number %s" % t)
    u = t.upper()
    if u.startswith("SIG"):
        u = u[3:]
    if u in SIGNALS:
        return SIGNALS[u]
    for base, sign, name in ((SIGRTMIN, 1, "RTMIN"), (SIGRTMAX, -1, "RTMAX")):
        if u == name:
            return base
        if u.startswith(name + ("+" if sign > 0 else "-")) and u[len(name) + 1:].isdigit():
            n = base + sign * int(u[len(name) + 1:])
            if SIGRTMIN <= n <= SIGRTMAX:
                return n
    raise ValueError("unknown signal %r" % text)
