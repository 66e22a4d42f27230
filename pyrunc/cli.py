"""The `pyrunc` command: runc's CLI over the library API (roles: parent).

A small table-driven parser instead of argparse (~5 ms to import): runc's
flags take one or two dashes, ``--flag=value`` or ``--flag value``, and may
follow the positional arguments, except for ``exec`` and ``ps`` where
everything after the container id is passed through untouched.

Errors print one line, ``pyrunc: <what failed>: <why>``, exit status 1;
tracebacks only with --debug.
"""
from . import _os as os  # posix without os's import cost (_os.py)
import sys

VERSION = "0.1.0"
COMMIT = "unknown"

# name -> (kind, aliases, help); kind: "str", "int", "bool", "list"
GLOBAL_FLAGS = {
    "root": ("str", (), "state folder (default /run/pyrunc)"),
    "log": ("str", (), "append errors and warnings to this file"),
    "log-format": ("str", (), "text or json"),
    "debug": ("bool", (), "tracebacks and debug messages"),
    "systemd-cgroup": ("bool", (), "use systemd to manage cgroups"),
    "rootless": ("str?", (), "true, false or auto (accepted; rootless is not supported yet)"),
    "criu": ("str", (), "accepted for runc compatibility"),
    "help": ("bool", ("h",), "show help"),
    "version": ("bool", ("v",), "print the version"),
}

BUNDLE = {"bundle": ("str", ("b",), "the bundle folder (default: the current folder)")}
CREATE_FLAGS = dict(BUNDLE, **{
    "pid-file": ("str", (), "write the init's pid here"),
    "console-socket": ("str", (), "unix socket that receives the pty master"),
    "pidfd-socket": ("str", (), "accepted for runc compatibility"),
    "preserve-fds": ("int", (), "pass fds 3..3+N-1 to the container"),
    "no-pivot": ("bool", (), "MS_MOVE + chroot instead of pivot_root"),
    "no-new-keyring": ("bool", (), "keep the caller's session keyring"),
})
RUN_FLAGS = dict(CREATE_FLAGS, **{
    "detach": ("bool", ("d",), "return after start"),
    "keep": ("bool", (), "keep the container after it exits"),
    "no-subreaper": ("bool", (), "accepted; pyrunc reaps through a subreaper regardless"),
})

EXEC_FLAGS = {
    "process": ("str", ("p",), "process.json: the whole process (other process flags ignored)"),
    "tty": ("bool", ("t",), "allocate a pseudo-TTY"),
    "cwd": ("str", (), "working folder in the container"),
    "env": ("list", ("e",), "add an environment variable (repeatable)"),
    "user": ("str", ("u",), "uid[:gid] (numbers)"),
    "additional-gids": ("list", ("g",), "add a supplementary gid (repeatable)"),
    "cap": ("list", ("c",), "add a capability to bounding, effective, permitted (repeatable)"),
    "no-new-privs": ("bool", (), "set no_new_privs"),
    "apparmor": ("str", (), "AppArmor profile"),
    "process-label": ("str", (), "SELinux label"),
    "detach": ("bool", ("d",), "return once the process runs"),
    "pid-file": ("str", (), "write the process's pid here"),
    "preserve-fds": ("int", (), "pass fds 3..3+N-1 to the process"),
    "console-socket": ("str", (), "unix socket that receives the pty master"),
    "cgroup": ("list", (), "sub-cgroup to join: path, or controller[,controller]:path on v1"),
    "ignore-paused": ("bool", (), "exec even if the container is paused"),
}

COMMANDS = {
    "spec": ({"bundle": BUNDLE["bundle"], "rootless": ("bool", (), "a spec for rootless use"),
              "network": ("str", (), "bridge: annotations asking pyrunc to network the "
                          "container (see pyrunc/network.py); none: nothing (default)")},
             "", "write a default config.json"),
    "create": (CREATE_FLAGS, "<id>|<bundle>", "create a container"),
    "start": ({}, "<id>|<bundle>", "start a created container"),
    "run": (RUN_FLAGS, "<id>|<bundle>", "create and start; wait unless --detach"),
    "state": ({}, "<id>", "print the container's state as JSON"),
    "list": ({"format": ("str", ("f",), "table or json"),
              "quiet": ("bool", ("q",), "ids only")}, "", "list containers"),
    "kill": ({"all": ("bool", ("a",), "signal every process of the container")},
             "<id>|<bundle> [signal]", "signal the container (default SIGTERM)"),
    "delete": ({"force": ("bool", ("f",), "kill a running container first")},
               "<id>|<bundle>", "delete a container"),
    "exec": (EXEC_FLAGS, "<id> <command> [args...]", "run a process in a running container"),
}

HELP_FOOTER = """\
<id>|<bundle>: besides runc's `pyrunc create --bundle B <id>`, a bundle folder
may stand where the id goes (`pyrunc create ./mybox`): the id is then the
folder's name, and start/kill/delete accept the same folder.
"""


def Usage(message):
    """Bad command-line use (errors.UsageError), printed as one line with no
    traceback even under --debug. A function, not a class of our own: a
    class costs ~25 us to make at every start (errors.py)."""
    from .errors import UsageError
    return UsageError(message)


def _lookup(table, name):
    if name in table:
        return name, table[name]
    for k, v in table.items():
        if name in v[1]:
            return k, v
    return None, None


def parse(argv):
    """(global opts, command, command opts, positionals)."""
    g, opts, pos = {}, {}, []
    cmd = None
    table = GLOBAL_FLAGS
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if cmd in ("exec", "ps") and len(pos) >= 1:
            pos.append(a)  # after the id: passed through untouched
            continue
        if a == "--":
            pos.extend(argv[i:])
            break
        if a.startswith("-") and a != "-":
            name, _, val = a.lstrip("-").partition("=")
            has_val = "=" in a
            key, spec = _lookup(table, name)
            target = opts if cmd else g
            if key is None and cmd:
                key, spec = _lookup(GLOBAL_FLAGS, name)
                target = g
            if key is None:
                raise Usage("flag provided but not defined: -%s" % name)
            kind = spec[0]
            if kind == "bool":
                if has_val and val.lower() not in ("true", "false", "1", "0"):
                    raise Usage("invalid boolean value %r for -%s" % (val, name))
                target[key] = (val.lower() in ("true", "1")) if has_val else True
            elif kind == "str?":
                target[key] = val if has_val else "true"
            else:
                if not has_val:
                    if i >= len(argv):
                        raise Usage("flag needs an argument: -%s" % name)
                    val = argv[i]
                    i += 1
                if kind == "int":
                    try:
                        val = int(val)
                    except ValueError:
                        raise Usage("invalid value %r for flag -%s" % (val, name))
                if kind == "list":
                    target.setdefault(key, []).append(val)
                else:
                    target[key] = val
            continue
        if cmd is None:
            if a not in COMMANDS:
                raise Usage("no such command: %s" % a)
            cmd = a
            table = COMMANDS[a][0]
            continue
        pos.append(a)
    return g, cmd, opts, pos


def usage_text(cmd=None):
    if cmd:
        flags, args, text = COMMANDS[cmd]
        lines = ["usage: pyrunc %s [flags] %s" % (cmd, args), "", text, ""]
        for k, (kind, al, h) in sorted(flags.items()):
            names = ", ".join(["--" + k] + ["-" + x for x in al])
            lines.append("  %-28s %s" % (names + ("" if kind == "bool" else " value"), h))
        if "<bundle>" in args:
            lines += ["", HELP_FOOTER]
        return "\n".join(lines) + "\n"
    lines = ["usage: pyrunc [global flags] <command> [flags] [args]", "",
             "pyrunc is a low-level OCI container runtime, a drop-in for runc.", "",
             "commands:"]
    for c, (_, args, text) in COMMANDS.items():
        lines.append("  %-10s %s" % (c, text))
    lines += ["", "global flags:"]
    for k, (kind, al, h) in GLOBAL_FLAGS.items():
        names = ", ".join(["--" + k] + ["-" + x for x in al])
        lines.append("  %-28s %s" % (names, h))
    lines += ["", HELP_FOOTER]
    return "\n".join(lines)


def _is_bundle(p):
    return os.path.isfile(os.path.join(p, "config.json"))


def _id_and_bundle(opts, pos, cmd):
    """The container id, and the bundle when a bundle folder stands for it."""
    if not pos:
        raise Usage('"%s" requires a container id' % cmd)
    arg = pos[0]
    bundle = opts.get("bundle")
    creating = cmd in ("create", "run")
    # A bundle folder where the id goes: only without --bundle, and only when
    # it really is one (a path with a slash, or, for create/run, a folder
    # holding config.json while the current folder is not a bundle itself).
    if bundle is None and _is_bundle(arg) and (
            "/" in arg or (creating and not _is_bundle("."))):
        if creating:
            bundle = arg
        cid = os.path.basename(os.path.abspath(arg))
    else:
        cid = arg
    return cid, bundle


def _out(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv or "-debug" in argv
    log = None
    try:
        g, cmd, opts, pos = parse(argv)
        from . import log
        log.configure(g.get("log"), g.get("log-format"), g.get("debug"))
        if g.get("version"):
            from .spec import SPEC_VERSION
            _out("pyrunc version %s\ncommit: %s\nspec: %s\n" % (VERSION, COMMIT, SPEC_VERSION))
            return 0
        if g.get("help") or opts.get("help") or cmd is None:
            _out(usage_text(cmd))
            return 0 if (g.get("help") or opts.get("help")) else 1
        if g.get("log-format") not in (None, "text", "json"):
            raise Usage("invalid log format %r (text or json)" % g["log-format"])
        if g.get("rootless") not in (None, "false", "auto") and os.geteuid() == 0:
            pass  # root asking for rootless: runc ignores it as well
        elif g.get("rootless") not in (None, "false", "auto"):
            raise Usage("rootless mode is not supported yet")
        root = g.get("root") or "/run/pyrunc"
        fn = COMMAND_FUNCS.get(cmd)
        if fn is None:
            from . import cli_extra
            fn = getattr(cli_extra, "cmd_" + cmd)
        return fn(root, g, opts, pos, log) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if debug and not _is_usage(e):
            import traceback
            traceback.print_exc()
        (log or _fallback_log()).error(_message(e))
        return 1


def launch():
    """The launcher's (bin/pyrunc) whole Python part once sys.path is set:
    main(), then out without interpreter finalisation (module teardown and a
    full gc: ~1-3 ms). Every file pyrunc writes is closed by then; only our
    own stdio may hold data."""
    code = main()
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1 if code else 0)


def _fallback_log():
    from . import log  # as configured, or the defaults: stderr only
    return log


def _is_usage(e):
    from .errors import UsageError
    return isinstance(e, UsageError)


def _message(e):
    from .errors import PyruncError
    if isinstance(e, PyruncError):
        return str(e)
    if isinstance(e, OSError):
        msg = e.strerror or str(e)
        if e.filename and str(e.filename) not in msg:
            msg = "%s: %s" % (e.filename, msg)
        return msg
    return "%s: %s" % (type(e).__name__, e)


# --- commands -------------------------------------------------------------------

def _create_kwargs(g, opts, log):
    listen = _listen_fds()
    return dict(pid_file=opts.get("pid-file"), console_socket=opts.get("console-socket"),
                preserve_fds=_preserve(opts) + listen, listen_fds=listen,
                no_pivot=opts.get("no-pivot", False),
                no_new_keyring=opts.get("no-new-keyring", False),
                systemd_cgroup=g.get("systemd-cgroup", False), warn=log.warn)


def _preserve(opts):
    n = opts.get("preserve-fds", 0)
    if n < 0:
        raise Usage("--preserve-fds must not be negative")
    return n


def _listen_fds():
    """systemd socket activation: runc passes LISTEN_FDS through as well, but
    only when they are meant for it (LISTEN_PID is our pid, sd_listen_fds):
    an inherited LISTEN_FDS would hand the caller's own fds to the container."""
    lf = os.environ.get("LISTEN_FDS", "")
    if lf.isdigit() and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return int(lf)
    return 0


def cmd_create(root, g, opts, pos, log):
    from . import container
    cid, bundle = _id_and_bundle(opts, pos, "create")
    container.create(root, cid, bundle or ".", **_create_kwargs(g, opts, log))


def cmd_run(root, g, opts, pos, log):
    from . import container
    cid, bundle = _id_and_bundle(opts, pos, "run")
    kw = _create_kwargs(g, opts, log)
    return container.run(root, cid, bundle or ".", detach=opts.get("detach", False),
                         keep=opts.get("keep", False),
                         no_subreaper=opts.get("no-subreaper", False), **kw)


def cmd_start(root, g, opts, pos, log):
    from . import container
    cid, _ = _id_and_bundle(opts, pos, "start")
    container.start(root, cid, warn=log.warn)


def cmd_state(root, g, opts, pos, log):
    from . import container, jsonio
    cid, _ = _id_and_bundle(opts, pos, "state")
    _out(jsonio.dumps(container.state(root, cid), 2))


def cmd_list(root, g, opts, pos, log):
    from . import container, jsonio
    fmt = opts.get("format") or "table"
    items = container.list_containers(root)
    if opts.get("quiet"):
        _out("".join(s["id"] + "\n" for s in items))
    elif fmt == "json":
        _out(jsonio.dumps(items if items else None) + "\n")
    elif fmt == "table":
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        for s in items:
            rows.append((s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"],
                         s["owner"]))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        _out("".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n"
                     for r in rows))
    else:
        raise Usage("invalid format option %r (table or json)" % fmt)


def cmd_kill(root, g, opts, pos, log):
    from . import container, signals
    cid, _ = _id_and_bundle(opts, pos, "kill")
    sig = 15
    if len(pos) > 1:
        try:
            sig = signals.parse(pos[1])
        except ValueError as e:
            raise Usage(str(e))
    container.kill(root, cid, sig, all_procs=opts.get("all", False))


def cmd_delete(root, g, opts, pos, log):
    from . import container
    cid, _ = _id_and_bundle(opts, pos, "delete")
    container.delete(root, cid, force=opts.get("force", False), warn=log.warn)


# The other commands (spec, exec, pause, resume, update, ps, events, features)
# are cmd_<name> in cli_extra.py: the short commands need not unmarshal them.
COMMAND_FUNCS = {
    "create": cmd_create, "start": cmd_start, "run": cmd_run,
    "state": cmd_state, "list": cmd_list, "kill": cmd_kill, "delete": cmd_delete,
}


# --- cgroup commands (issue 3): pause, resume, update, ps, events ------------------------

UPDATE_FLAGS = {
    "resources": ("str", ("r",), "LinuxResources JSON file, or - for stdin (other flags ignored)"),
    "memory": ("str", (), "memory limit (bytes, or with a suffix: 100M, 1g)"),
    "memory-reservation": ("str", (), "memory soft limit"),
    "memory-swap": ("str", (), "memory+swap limit; -1 for unlimited"),
    "kernel-memory": ("str", (), "kernel memory limit (v1 kernels that still have it)"),
    "kernel-memory-tcp": ("str", (), "kernel TCP buffer limit (v1)"),
    "cpu-share": ("str", ("cpu-shares",), "CPU shares (relative weight)"),
    "cpu-quota": ("str", (), "CFS quota in usecs per period; -1 for none"),
    "cpu-period": ("str", (), "CFS period in usecs"),
    "cpu-rt-runtime": ("str", (), "realtime runtime in usecs per period"),
    "cpu-rt-period": ("str", (), "realtime period in usecs"),
    "cpuset-cpus": ("str", (), "CPUs to use (0-3,7)"),
    "cpuset-mems": ("str", (), "memory nodes to use"),
    "pids-limit": ("str", (), "maximum number of tasks; -1 for none"),
    "blkio-weight": ("str", (), "block IO weight, 10 to 1000"),
    "l3-cache-schema": ("str", (), "Intel RDT L3 schema (not supported)"),
    "mem-bw-schema": ("str", (), "Intel RDT memory bandwidth schema (not supported)"),
}

COMMANDS.update({
    "pause": ({}, "<id>", "freeze every process of the container"),
    "resume": ({}, "<id>", "thaw a paused container"),
    "update": (UPDATE_FLAGS, "<id>", "change the resource limits of a live container"),
    "ps": ({"format": ("str", ("f",), "table (default) or json")}, "<id> [ps options]",
           "list the container's processes (table: ps -ef, or the options given)"),
    "events": ({"interval": ("str", (), "stats interval, a Go duration (default 5s)"),
                "stats": ("bool", (), "print the stats once and exit")}, "<id>",
               "stream stats and OOM events as JSON lines"),
})


COMMANDS["features"] = ({}, "", "print the runtime-spec features document (JSON)")
