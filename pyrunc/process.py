"""What a config's process object sets on the process that applies it
(roles: the intermediate and init of create, the joiner and the process of
exec): rlimits, oomScoreAdj, the environment.

Imported by init.py, so create's parent loads it (and `resource`, a shared
library) before it forks: loaded in a forked child it would cost ~0.5 ms."""
import resource

from . import _os as os  # posix without os's import cost (_os.py)

# the rlimit names <sys/resource.h> has: create refuses any other before
# anything exists (the child it forks, intermediate or init, sets them)
RLIMITS = frozenset("RLIMIT_" + n for n in (
    "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
    "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"))


def merge_env(env):
    """A later NAME=value replaces an earlier one, in the earlier one's place
    (runc sets them one by one with os.Setenv): `exec -e TERM=dumb` overrides
    the config's TERM for getenv(), which returns the first match."""
    out, where = [], {}
    for e in env:
        name = e.partition("=")[0] if isinstance(e, str) and "=" in e else None
        if name is not None and name in where:
            out[where[name]] = e
            continue
        if name is not None:
            where[name] = len(out)
        out.append(e)
    return out


def rlim(value):
    """A config's rlimit value (a uint64: 2**64-1 is RLIM_INFINITY, as Docker
    writes "unlimited") as the resource module takes it."""
    return resource.RLIM_INFINITY if value >= 2 ** 63 else value


def set_rlimits(rlimits):
    """setrlimit on ourselves (the exec joiner, create's intermediate): done
    as host root before any user namespace, since raising a hard limit needs
    CAP_SYS_RESOURCE there. Children (the process, init) inherit them."""
    for r in rlimits:
        num = getattr(resource, r.get("type", ""), None)
        if num is None:
            raise OSError(0, "unknown rlimit %s" % r.get("type"))
        try:
            resource.setrlimit(num, (rlim(r["soft"]), rlim(r["hard"])))
        except (OSError, ValueError, OverflowError) as e:
            raise OSError(getattr(e, "errno", 0) or 0, "setrlimit %s: %s" % (r["type"], e))


def set_oom_score_adj(value):
    """oom_score_adj of ourselves (inherited by fork, as rlimits)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as e:
        raise OSError(e.errno, "set oom_score_adj %s: %s" % (value, os.strerror(e.errno)))
