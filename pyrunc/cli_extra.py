"""The CLI's other commands: spec, exec, pause, resume, update, ps, events,
features (roles: parent). Their flags are in cli.py's tables, with the rest
of the parser; their code is here so that the short commands (state, start,
kill, delete) need not unmarshal it at every start (~0.15 ms with create.py).
"""
from . import _os as os  # posix without os's import cost (_os.py)
import sys

from .cli import Usage, _id_and_bundle, _out, _preserve


def cmd_spec(root, g, opts, pos, log):
    from . import jsonio, spec
    bundle = opts.get("bundle") or "."
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise Usage("File %s exists. Remove it first" % path)
    if not os.path.isdir(bundle):
        raise Usage("bundle %s: no such folder" % bundle)
    config = spec.default_spec(rootless=opts.get("rootless"))
    if opts.get("network"):
        from . import network
        try:
            ann = network.spec_annotations(opts["network"])
        except ValueError as e:
            raise Usage(str(e))
        if ann and opts.get("rootless"):
            raise Usage("--network %s needs a network namespace: not with --rootless"
                        % opts["network"])
        if ann:
            config["annotations"] = ann
    with open(path, "w") as f:
        f.write(jsonio.dumps(config, 4) + "\n")


def cmd_exec(root, g, opts, pos, log):
    from .exec import exec_process
    if not pos:
        raise Usage('"exec" requires a container id')
    process = None
    if opts.get("process"):
        from . import jsonio
        path = opts["process"]
        try:
            with open(path, "rb") as f:
                process = jsonio.loads(f.read())
        except OSError as e:
            raise OSError(e.errno, "process %s: %s" % (path, e.strerror))
        except ValueError as e:
            raise Usage("process %s: invalid JSON: %s" % (path, e))
    elif len(pos) < 2:
        raise Usage("exec args cannot be empty")
    return exec_process(
        root, pos[0], process, args=pos[1:], tty=opts.get("tty"), cwd=opts.get("cwd"),
        env=opts.get("env", ()), user=opts.get("user"),
        additional_gids=opts.get("additional-gids", ()), caps=opts.get("cap", ()),
        no_new_privs=opts.get("no-new-privs"), apparmor=opts.get("apparmor"),
        process_label=opts.get("process-label"), detach=opts.get("detach", False),
        pid_file=opts.get("pid-file"), console_socket=opts.get("console-socket"),
        preserve_fds=_preserve(opts), cgroup=opts.get("cgroup"),
        ignore_paused=opts.get("ignore-paused", False), warn=log.warn)


def cmd_pause(root, g, opts, pos, log):
    from . import container
    cid, _ = _id_and_bundle(opts, pos, "pause")
    container.pause(root, cid)


def cmd_resume(root, g, opts, pos, log):
    from . import container
    cid, _ = _id_and_bundle(opts, pos, "resume")
    container.resume(root, cid)


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(s):
    """docker/go-units RAMInBytes, as runc update reads memory values."""
    import re
    m = re.match(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$", s)
    if not m:
        raise ValueError("invalid size: '%s'" % s)
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])


def update_resources(opts, stdin=None):
    """The LinuxResources an `update` command line asks for."""
    from . import jsonio
    src = opts.get("resources")
    if src:
        try:
            if src == "-":
                data = (stdin or sys.stdin.buffer).read()
            else:
                with open(src, "rb") as f:
                    data = f.read()
            res = jsonio.loads(data)
        except OSError as e:
            raise OSError(e.errno, "resources %s: %s" % (src, e.strerror))
        except ValueError as e:
            raise Usage("resources %s: invalid JSON: %s" % (src, e))
        if not isinstance(res, dict):
            raise Usage("resources %s: a LinuxResources JSON object is needed" % src)
        return res
    for k in ("l3-cache-schema", "mem-bw-schema"):
        if opts.get(k):
            raise Usage("--%s: Intel RDT is not supported" % k)
    res = {}
    for flag, group, key in (("memory", "memory", "limit"),
                             ("memory-reservation", "memory", "reservation"),
                             ("memory-swap", "memory", "swap"),
                             ("kernel-memory", "memory", "kernel"),
                             ("kernel-memory-tcp", "memory", "kernelTCP")):
        v = opts.get(flag)
        if v:
            try:
                res.setdefault(group, {})[key] = -1 if v == "-1" else parse_size(v)
            except ValueError as e:
                raise Usage("invalid value for %s: %s" % (flag, e))
    for flag, group, key, conv in (("cpu-share", "cpu", "shares", int),
                                   ("cpu-quota", "cpu", "quota", int),
                                   ("cpu-period", "cpu", "period", int),
                                   ("cpu-rt-runtime", "cpu", "realtimeRuntime", int),
                                   ("cpu-rt-period", "cpu", "realtimePeriod", int),
                                   ("cpuset-cpus", "cpu", "cpus", str),
                                   ("cpuset-mems", "cpu", "mems", str),
                                   ("pids-limit", "pids", "limit", int),
                                   ("blkio-weight", "blockIO", "weight", int)):
        v = opts.get(flag)
        if v is not None and v != "":
            try:
                res.setdefault(group, {})[key] = conv(v)
            except ValueError:
                raise Usage("invalid value %r for flag -%s" % (v, flag))
    w = (res.get("blockIO") or {}).get("weight")
    if w and not 10 <= w <= 1000:
        raise Usage("--blkio-weight %d: the range is 10 to 1000" % w)
    return res


def cmd_update(root, g, opts, pos, log):
    from . import container
    cid, _ = _id_and_bundle(opts, pos, "update")
    container.update(root, cid, update_resources(opts))


def cmd_ps(root, g, opts, pos, log):
    from . import container, jsonio
    cid, _ = _id_and_bundle(opts, pos, "ps")
    fmt = opts.get("format") or "table"
    if fmt == "json":
        pids = container.processes(root, cid)
        _out(jsonio.dumps(pids if pids else None) + "\n")
    elif fmt == "table":
        _out(container.ps_table(root, cid, pos[1:]))
    else:
        raise Usage("invalid format option %r (table or json)" % fmt)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
                   "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(s):
    """A Go time.Duration string (300ms, 1.5s, 1m30s) in seconds."""
    import re
    text = s.strip()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)", text)
    if not text or "".join(a + b for a, b in parts) != text:
        raise ValueError('time: invalid duration "%s"' % s)
    return sign * sum(float(a) * _DURATION_UNITS[b] for a, b in parts)


def cmd_events(root, g, opts, pos, log):
    from . import container, jsonio
    cid, _ = _id_and_bundle(opts, pos, "events")
    try:
        interval = parse_duration(opts.get("interval") or "5s")
    except ValueError as e:
        raise Usage('invalid value "%s" for flag -interval: %s' % (opts.get("interval"), e))
    if interval <= 0:
        raise Usage("duration interval must be greater than 0")

    def emit(ev):
        _out(jsonio.dumps(ev) + "\n")

    if opts.get("stats"):
        emit({"type": "stats", "id": cid, "data": container.stats(root, cid)})
        return 0
    try:
        container.events(root, cid, emit, interval, warn=log.warn)
    except BrokenPipeError:  # the reader went away (`| head -1`): a quiet end
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass


def cmd_features(root, g, opts, pos, log):
    from . import features, jsonio
    _out(jsonio.dumps(features.document(), 4) + "\n")
