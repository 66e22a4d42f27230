#!/usr/bin/env python3
"""pyrunc, runc and crun side by side, on the same bundle, in one run.

    sudo .venv/bin/python bench/run.py            # full run (a few minutes)
    sudo .venv/bin/python bench/run.py --quick    # under a minute

What is timed (wall clock of the runtime process, spawned with posix_spawn and
reaped with wait4, stdio on files): `run` of /bin/true in the foreground;
create, start, state, exec of /bin/true, kill, delete of a container running
`sleep`; create + start + delete is the sum of those three from the same
cycle. Runtimes alternate inside every round (the order rotates), so a busy
machine slows all of them alike; medians and the spread (p25-p75, min) are
printed, with the pyrunc/runc and pyrunc/crun ratios of the medians.

Memory: the runtime's own peak (ru_maxrss of `run` and `state` from wait4 via
GNU time: the runtime process and the children it reaped), and what the container's memory
cgroup was charged while the runtime set it up (memory.max_usage_in_bytes of
a v1 cgroup the benchmark owns, named by an absolute cgroupsPath, reset to 0
before each create and read after start).

Scale: N containers (1, 10, 50, 100) created + started, then `list` and
`state` timed, then deleted with --force, one worker or several; cost per
container should stay flat as N grows.

crun 1.8.1 refuses this hybrid cgroup host, so every crun command runs as
``unshare -m sh -c 'mount --bind EMPTY .../unified/cgroup.controllers && exec
crun ...'``; that wrapper costs is measured on its own and printed
("crun wrapper"), and it is included in every crun number.

Everything runs under a private --root (/run/pyrunc-bench/<runtime>) and
cgroups under /pyrunc-bench; both are removed at the end, also on error or
Ctrl-C. Results are also written as JSON to bench/results/ (gitignored).
"""
import argparse
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

BENCH_ROOT = "/run/pyrunc-bench"
CG_PARENT = "pyrunc-bench"          # absolute cgroupsPath parent, all hierarchies
MEMCG = "/sys/fs/cgroup/memory"
EMPTY = os.path.join(BENCH_ROOT, "empty")
CRUN_WRAP = ("mount --bind %s /sys/fs/cgroup/unified/cgroup.controllers && exec %s \"$@\"")
OCI_VERSION = "1.0.2-dev"  # crun 1.8.1 rejects newer ociVersions


# --- process spawning ---------------------------------------------------------

class Result:
    __slots__ = ("secs", "rc", "maxrss_kb", "out", "err")

    def __init__(self, secs, rc, maxrss_kb, out, err):
        self.secs, self.rc, self.maxrss_kb, self.out, self.err = secs, rc, maxrss_kb, out, err


_tls = threading.local()


def _outfiles():
    if not hasattr(_tls, "n"):
        _tls.n = threading.get_ident()
    return (os.path.join(BENCH_ROOT, "out.%d" % _tls.n),
            os.path.join(BENCH_ROOT, "err.%d" % _tls.n))


# What a container manager typically passes; the caller's PYTHON* variables
# (e.g. PYTHONDONTWRITEBYTECODE) must not leak into the measurement.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def spawn(argv, env=None):
    """Run argv, stdin /dev/null, stdout/stderr to files (a detached container
    inherits them: a pipe would never see EOF). Returns a Result."""
    out_p, err_p = _outfiles()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    out = os.open(out_p, flags, 0o600)
    err = os.open(err_p, flags, 0o600)
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)]
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env if env is not None else CLEAN_ENV,
                             file_actions=fa)
        _, status, ru = os.wait4(pid, 0)
        secs = time.perf_counter() - t0
    finally:
        os.close(out)
        os.close(err)
    with open(out_p, "rb") as f:
        o = f.read().decode(errors="replace")
    with open(err_p, "rb") as f:
        e = f.read().decode(errors="replace")
    return Result(secs, os.waitstatus_to_exitcode(status), ru.ru_maxrss, o, e)


# --- runtimes -----------------------------------------------------------------

class Runtime:
    def __init__(self, name, prefix, root):
        self.name = name
        self.prefix = prefix
        self.root = root
        self.can_exec = True

    def argv(self, *args):
        return self.prefix + ["--root", self.root] + list(args)

    def __call__(self, *args, check=True):
        r = spawn(self.argv(*args))
        if check and r.rc != 0:
            raise RuntimeError("%s %s: exit %d: %s%s" % (self.name, " ".join(args), r.rc,
                                                         r.out, r.err))
        return r

    def ids(self):
        r = self("list", "-q", check=False)
        return [l for l in r.out.split() if l] if r.rc == 0 else []


def pyrunc_command():
    """The command users run: /usr/local/bin/pyrunc when dev.sh wrote it for
    this checkout (#!.venv/bin/python3 -IS), else .venv/bin/pyrunc (its
    /bin/sh line), else the one next to our interpreter."""
    venv_py = os.path.join(REPO, ".venv", "bin", "python3")
    try:
        with open("/usr/local/bin/pyrunc", "rb") as f:
            if f.readline().split()[0] == b"#!" + venv_py.encode():
                return "/usr/local/bin/pyrunc"
    except (OSError, IndexError):
        pass
    pyrunc = os.path.join(REPO, ".venv", "bin", "pyrunc")
    if not os.path.exists(pyrunc):
        pyrunc = os.path.join(os.path.dirname(sys.executable), "pyrunc")
    return pyrunc


def make_runtimes(names):
    pyrunc = pyrunc_command()
    out = []
    for n in names:
        root = os.path.join(BENCH_ROOT, n)
        if n == "pyrunc":
            out.append(Runtime(n, [pyrunc], root))
        elif n == "runc":
            out.append(Runtime(n, [shutil.which("runc") or "/usr/sbin/runc"], root))
        elif n == "crun":
            crun = shutil.which("crun") or "/usr/bin/crun"
            out.append(Runtime(n, [shutil.which("unshare") or "/usr/bin/unshare", "-m",
                                   "/bin/sh", "-c", CRUN_WRAP % (EMPTY, crun), "crun"],
                               root))
        else:
            raise SystemExit("unknown runtime %s" % n)
    return out


# --- bundles ------------------------------------------------------------------

def make_bundles(tmp, runtimes):
    from pyrunc import bundle, jsonio, spec
    rootfs = bundle.make_rootfs(os.path.join(tmp, "rootfs"))

    def write(name, args, cgroups_path=None, annotations=None):
        cfg = spec.default_spec(args=args, terminal=False)
        cfg["ociVersion"] = OCI_VERSION
        cfg["root"]["path"] = rootfs
        if cgroups_path:
            cfg["linux"]["cgroupsPath"] = cgroups_path
        if annotations:
            cfg["annotations"] = annotations
        d = os.path.join(tmp, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(jsonio.dumps(cfg, 2))
        return d

    b = {"true": write("true", ["/bin/true"]),
         "sleep": write("sleep", ["/bin/sleep", "1000"])}
    for rt in runtimes:
        b["cycle-" + rt.name] = write("cycle-" + rt.name, ["/bin/sleep", "1000"],
                                      "/%s/%s" % (CG_PARENT, rt.name))
    b["_write"] = write
    return b


# --- helpers --------------------------------------------------------------------

def peak_rss(argv):
    """ru_maxrss (KiB) of argv, run under GNU time. Not spawned from here:
    a child made by posix_spawn (vfork) or fork starts with this benchmark's
    own RSS as its high-water mark, which would hide a smaller runtime. GNU
    time's child starts from time's ~2 MiB (printed as "floor")."""
    path = os.path.join(BENCH_ROOT, "rss.%d" % threading.get_ident())
    r = spawn(["/usr/bin/time", "-f", "%M", "-o", path] + argv)
    if r.rc != 0:
        raise RuntimeError("%s: exit %d: %s%s" % (" ".join(argv), r.rc, r.out, r.err))
    with open(path) as f:
        return int(f.read().split()[-1])


def wait_gone(pid, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open("/proc/%d/stat" % pid, "rb") as f:
                st = f.read()
            if st[st.rindex(b")") + 2:][:1] in (b"Z", b"X"):
                return
        except OSError:
            return
        time.sleep(0.001)


def memcg_reset(rt):
    d = os.path.join(MEMCG, CG_PARENT, rt.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "memory.max_usage_in_bytes"), "w") as f:
        f.write("0")


def memcg_peak(rt):
    try:
        with open(os.path.join(MEMCG, CG_PARENT, rt.name, "memory.max_usage_in_bytes")) as f:
            return int(f.read())
    except OSError:
        return None


def stats(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return {"median": statistics.median(xs), "p25": q[0], "p75": q[2], "min": xs[0],
            "max": xs[-1], "n": len(xs)}


# --- phases ---------------------------------------------------------------------

def probe(runtimes, bundles):
    """Each runtime must run the bundle; detect whether `exec` works."""
    for rt in runtimes:
        r = rt("run", "--bundle", bundles["true"], "probe-run", check=False)
        if r.rc != 0:
            raise SystemExit("%s cannot run the bench bundle: %s%s" % (rt.name, r.out, r.err))
        rt("create", "--bundle", bundles["sleep"], "probe-exec")
        try:
            rt("start", "probe-exec")
            r = rt("exec", "probe-exec", "/bin/true", check=False)
            rt.can_exec = r.rc == 0
            if not rt.can_exec:
                rt.exec_error = (r.err or r.out).strip().splitlines()[-1:] or [""]
        finally:
            rt("delete", "--force", "probe-exec", check=False)


def lifecycle(runtimes, bundles, rounds, samples, log):
    n = len(runtimes)
    for i in range(rounds):
        order = runtimes[i % n:] + runtimes[:i % n]
        for rt in order:
            r = rt("run", "--bundle", bundles["true"], "r%d" % i)
            samples[rt.name]["run"].append(r.secs)
        for rt in order:  # memory, untimed: through GNU time (see peak_rss)
            samples[rt.name]["run_maxrss_kb"].append(
                peak_rss(rt.argv("run", "--bundle", bundles["true"], "m%d" % i)))
        for rt in order:
            s = samples[rt.name]
            cid = "c%d" % i
            memcg_reset(rt)
            r = rt("create", "--bundle", bundles["cycle-" + rt.name], cid)
            s["create"].append(r.secs)
            try:
                s["start"].append(rt("start", cid).secs)
                r = rt("state", cid)
                s["state"].append(r.secs)
                st = json.loads(r.out)
                s["state_maxrss_kb"].append(peak_rss(rt.argv("state", cid)))
                assert st["status"] == "running", st
                s["memcg_bytes"].append(memcg_peak(rt))
                if rt.can_exec:
                    s["exec"].append(rt("exec", cid, "/bin/true").secs)
                s["kill"].append(rt("kill", cid, "KILL").secs)
                wait_gone(st["pid"])
                s["delete"].append(rt("delete", cid).secs)
                s["create+start+delete"].append(s["create"][-1] + s["start"][-1]
                                                + s["delete"][-1])
            except BaseException:
                rt("delete", "--force", cid, check=False)
                raise
        if log and (i + 1) % 10 == 0:
            log("  round %d/%d" % (i + 1, rounds))


def cold(runtimes, bundles, reps, samples):
    """`run` of a config never seen before (pyrunc: a validation-cache miss)."""
    for i in range(reps):
        for rt in runtimes[i % len(runtimes):] + runtimes[:i % len(runtimes)]:
            b = bundles["_write"]("cold", ["/bin/true"],
                                  annotations={"bench.nonce": "%d-%d-%s" % (
                                      os.getpid(), i, time.time_ns())})
            samples[rt.name]["run (new config)"].append(
                rt("run", "--bundle", b, "cold%d" % i).secs)


def _parallel(fn, items, workers):
    if workers <= 1:
        for x in items:
            fn(x)
        return
    q = queue.Queue()
    for x in items:
        q.put(x)
    errors = []

    def work():
        while True:
            try:
                x = q.get_nowait()
            except queue.Empty:
                return
            try:
                fn(x)
            except BaseException as e:
                errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def scale(runtimes, bundles, ns, workers_list, reps_list, out, log):
    for w in workers_list:
        for n in ns:
            for j, rt in enumerate(runtimes):
                ids = ["s%d-%d-%d" % (w, n, k) for k in range(n)]
                t0 = time.perf_counter()
                try:
                    _parallel(lambda c: (rt("create", "--bundle", bundles["sleep"], c),
                                         rt("start", c)), ids, w)
                    up = time.perf_counter() - t0
                    listed = rt("list", "-q").out.split()
                    assert len(listed) == n, (rt.name, len(listed), n)
                    lst = [rt("list").secs for _ in range(reps_list)]
                    sta = [rt("state", ids[-1]).secs for _ in range(reps_list)]
                finally:
                    t1 = time.perf_counter()
                    _parallel(lambda c: rt("delete", "--force", c, check=False), ids, w)
                    down = time.perf_counter() - t1
                left = rt.ids()
                assert not left, (rt.name, left)
                rec = {"runtime": rt.name, "n": n, "workers": w,
                       "up_s": up, "down_s": down,
                       "up_per_container_ms": up / n * 1e3,
                       "down_per_container_ms": down / n * 1e3,
                       "list_ms": statistics.median(lst) * 1e3,
                       "list_per_container_ms": statistics.median(lst) / n * 1e3,
                       "state_ms": statistics.median(sta) * 1e3}
                out.append(rec)
                if log:
                    log("  scale %-6s n=%-3d workers=%d  up %6.1f ms/ctr  down %6.1f ms/ctr  "
                        "list %6.1f ms  state %5.1f ms" % (
                            rt.name, n, w, rec["up_per_container_ms"],
                            rec["down_per_container_ms"], rec["list_ms"], rec["state_ms"]))


def floors(runtimes, reps):
    """Context: what costs nothing in a runtime's own code. Alternating."""
    cmds = {"spawn /bin/true": ["/bin/true"],
            "python -I -S -c pass": [_interpreter(runtimes), "-I", "-S", "-c", "pass"]}
    if any(rt.name == "crun" for rt in runtimes):
        cmds["crun wrapper (in every crun number)"] = [
            "/usr/bin/unshare", "-m", "/bin/sh", "-c", CRUN_WRAP % (EMPTY, "/bin/true"), "x"]
    out = {k: [] for k in cmds}
    for _ in range(reps):
        for k, argv in cmds.items():
            out[k].append(spawn(argv).secs)
    out = {k: statistics.median(v) * 1e3 for k, v in out.items()}
    out["GNU time RSS floor (MiB)"] = peak_rss(["/bin/true"]) / 1024.0
    return out


def _interpreter(runtimes):
    """The python the pyrunc launcher runs, else ours."""
    cand = os.path.join(REPO, ".venv", "bin", "python3")
    return cand if os.path.exists(cand) else sys.executable


# --- cleanup --------------------------------------------------------------------

def cleanup(runtimes, tmp):
    for rt in runtimes:
        if os.path.isdir(rt.root):
            for cid in rt.ids():
                rt("delete", "--force", cid, check=False)
    for top in sorted(os.listdir("/sys/fs/cgroup")):
        base = os.path.join("/sys/fs/cgroup", top, CG_PARENT)
        if os.path.isdir(base):
            for d in sorted((os.path.join(r, x) for r, ds, _ in os.walk(base) for x in ds),
                            key=len, reverse=True):
                try:
                    os.rmdir(d)
                except OSError as e:
                    print("bench: cannot remove cgroup %s: %s" % (d, e), file=sys.stderr)
            try:
                os.rmdir(base)
            except OSError as e:
                print("bench: cannot remove cgroup %s: %s" % (base, e), file=sys.stderr)
    shutil.rmtree(BENCH_ROOT, ignore_errors=True)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


# --- report -----------------------------------------------------------------------

TIME_METRICS = ["run", "create+start+delete", "create", "start", "state", "exec", "kill",
                "delete", "run (new config)"]
MEM_METRICS = [("run_maxrss_kb", "peak RSS, run", 1 / 1024.0, "MiB"),
               ("state_maxrss_kb", "peak RSS, state", 1 / 1024.0, "MiB"),
               ("memcg_bytes", "cgroup charge (max_usage)", 1 / 1048576.0, "MiB")]


def report(runtimes, summary, scale_recs, wrapper, meta):
    names = [rt.name for rt in runtimes]
    lines = []
    lines.append("pyrunc bench  %s  %s  kernel %s  %d cpus  rounds=%d" % (
        meta["date"], meta["host"], meta["kernel"], meta["cpus"], meta["rounds"]))
    lines.append("median [p25-p75] in ms; ratios are pyrunc's median over the other's")
    lines.append("commands: " + "  ".join("%s=%s" % kv for kv in meta.get("commands", {}).items()))
    hdr = "%-26s" % "" + "".join("%-26s" % n for n in names)
    for o in names:
        if o != "pyrunc" and "pyrunc" in names:
            hdr += "py/%-7s" % o
    lines.append(hdr)

    def row(label, key, scale_, fmt):
        cells = []
        meds = {}
        for n in names:
            s = summary[n].get(key)
            if s is None:
                cells.append("%-26s" % "n/a")
                continue
            meds[n] = s["median"]
            cells.append("%-26s" % (fmt % (s["median"] * scale_) + " [%s-%s]" % (
                fmt % (s["p25"] * scale_), fmt % (s["p75"] * scale_))))
        r = "%-26s" % label + "".join(cells)
        for o in names:
            if o != "pyrunc" and "pyrunc" in names:
                if "pyrunc" in meds and meds.get(o):
                    r += "%-10s" % ("%.2fx" % (meds["pyrunc"] / meds[o]))
                else:
                    r += "%-10s" % "n/a"
        lines.append(r.rstrip())

    for k in TIME_METRICS:
        if any(summary[n].get(k) for n in names):
            row(k, k, 1e3, "%.1f")
    for k, label, sc, unit in MEM_METRICS:
        row(label + " " + unit, k, sc, "%.1f")
    for k, v in (wrapper or {}).items():
        lines.append("floor: %-40s %.1f%s" % (k, v, "" if "MiB" in k else " ms"))
    for rt in runtimes:
        if not rt.can_exec:
            lines.append("exec: n/a for %s (%s)" % (rt.name, " ".join(
                getattr(rt, "exec_error", [""]))[:100]))
    if scale_recs:
        lines.append("")
        lines.append("scale: ms per container (create+start | delete --force), list and state ms")
        lines.append("%-8s %4s %3s  %10s %10s %9s %11s %8s" % (
            "runtime", "N", "W", "up/ctr", "down/ctr", "list", "list/ctr", "state"))
        for r in scale_recs:
            lines.append("%-8s %4d %3d  %10.1f %10.1f %9.1f %11.2f %8.1f" % (
                r["runtime"], r["n"], r["workers"], r["up_per_container_ms"],
                r["down_per_container_ms"], r["list_ms"], r["list_per_container_ms"],
                r["state_ms"]))
    return "\n".join(lines)


def _version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, N up to 10")
    ap.add_argument("--rounds", type=int, help="lifecycle rounds (default 40, quick 10)")
    ap.add_argument("--runtimes", default="pyrunc,runc,crun")
    ap.add_argument("--scale", default=None, help="comma list of N (default 1,10,50,100)")
    ap.add_argument("--workers", default="1,4", help="comma list of worker counts")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--json", help="results file (default bench/results/<date>.json)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root")
    rounds = args.rounds or (10 if args.quick else 40)
    ns = [int(x) for x in (args.scale or ("1,10" if args.quick else "1,10,50,100")).split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    names = [n for n in args.runtimes.split(",") if n]
    if "crun" in names and not (shutil.which("crun") or os.path.exists("/usr/bin/crun")):
        names.remove("crun")
    runtimes = make_runtimes(names)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if os.path.exists(BENCH_ROOT):
        cleanup(runtimes, None)  # a previous run that died
    os.makedirs(BENCH_ROOT, mode=0o700)
    open(EMPTY, "w").close()
    tmp = tempfile.mkdtemp(prefix="pyrunc-bench-")
    samples = {rt.name: {k: [] for k in TIME_METRICS + [m[0] for m in MEM_METRICS]}
               for rt in runtimes}
    scale_recs = []
    t_start = time.time()
    try:
        bundles = make_bundles(tmp, runtimes)
        probe(runtimes, bundles)
        log("warm-up")
        lifecycle(runtimes, bundles, 2, {rt.name: {k: [] for k in samples[rt.name]}
                                         for rt in runtimes}, None)
        log("lifecycle: %d rounds" % rounds)
        lifecycle(runtimes, bundles, rounds, samples, log)
        cold(runtimes, bundles, 3 if args.quick else 5, samples)
        wrapper = floors(runtimes, rounds)
        if not args.no_scale:
            log("scale")
            scale(runtimes, bundles, ns, workers, 3 if args.quick else 5, scale_recs, log)
    finally:
        cleanup(runtimes, tmp)
    summary = {n: {k: stats(v) for k, v in s.items()} for n, s in samples.items()}
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t_start)),
            "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "rounds": rounds, "quick": args.quick, "python": sys.version.split()[0],
            "runc": _version(["runc", "--version"]), "crun": _version(["crun", "--version"]),
            "git": _version(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
            "duration_s": round(time.time() - t_start, 1),
            "exec": {rt.name: rt.can_exec for rt in runtimes},
            "commands": {rt.name: rt.prefix[0] for rt in runtimes}}
    text = report(runtimes, summary, scale_recs, wrapper, meta)
    print(text)
    path = args.json or os.path.join(HERE, "results", time.strftime(
        "%Y%m%d-%H%M%S", time.gmtime(t_start)) + ("-quick" if args.quick else "") + ".json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"meta": meta, "summary": summary, "samples": samples, "scale": scale_recs,
                   "floors": wrapper, "report": text}, f, indent=1)
    log("results: %s (%.0f s)" % (path, time.time() - t_start))


if __name__ == "__main__":
    main()
