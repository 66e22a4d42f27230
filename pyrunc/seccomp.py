"""linux.seccomp (roles: parent compiles, init loads).

The parent (`create`) builds the filter with libseccomp through the native
shim and exports it as classic BPF into a memfd; only those bytes travel to
init in the plan. libseccomp is never called in the container, and the
filter is loaded by the native last step (shim.c exec_final) right before
execve, so no Python runs under it, with two exceptions that runc shares:

* No noNewPrivileges and a final capability set without CAP_SYS_ADMIN:
  seccomp(2) needs CAP_SYS_ADMIN (or no_new_privs) at load time. runc loads
  the filter before dropping capabilities in that case. We keep
  CAP_SYS_ADMIN in effective+permitted (never inheritable/ambient) until the
  last step, which loads the filter and then does ONE capset(2) to the
  final sets before execve (pyrunc_exec_final_caps). The window is that one
  syscall, in C.
* SCMP_ACT_NOTIFY: the listener fd must reach the seccomp agent at
  listenerPath, and the spec wants it sent by the runtime. At exec time
  (after `start`) the `create` process is gone, so, like runc 1.1, init loads
  the filter during create, before it reports "ready": right after
  noNewPrivileges is set, or before the user switch when it is not (the
  CAP_SYS_ADMIN rule above). init sends the listener to the parent over the
  sync socket; the parent connects to listenerPath, sends the container
  process state (fds ["seccompFd"], pid, metadata, state "creating") with the
  fd, closes, then acks. From the load until execve init's remaining Python
  (user switch, chdir, the exec.fifo wait, startContainer hooks) runs under
  the filter; for that reason `write` may not be a NOTIFY syscall (runc has
  the same rule) and a profile must allow what init does after the load.

Unknown syscall names are skipped with a warning, as runc does (runc logs at
debug level); a rule whose action equals the default action is skipped
(libseccomp refuses it). Several conditions on the same argument index
become one rule per condition (an OR); otherwise one rule ANDs them: runc's
behaviour.
"""
import errno
from . import _os as os  # posix without os's import cost (_os.py)

from .errors import SpecError

ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
ACT_NOTIFY = 0x7FC00000

ACTIONS = {
    "SCMP_ACT_KILL": ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": ACT_KILL_PROCESS,
    "SCMP_ACT_KILL_THREAD": ACT_KILL_THREAD,
    "SCMP_ACT_TRAP": ACT_TRAP,
    "SCMP_ACT_ERRNO": ACT_ERRNO,
    "SCMP_ACT_TRACE": ACT_TRACE,
    "SCMP_ACT_ALLOW": ACT_ALLOW,
    "SCMP_ACT_LOG": ACT_LOG,
    "SCMP_ACT_NOTIFY": ACT_NOTIFY,
}
_WITH_ERRNO = (ACT_ERRNO, ACT_TRACE)

OPERATORS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}

# AUDIT_ARCH_* tokens as libseccomp spells them (seccomp.h of 2.5.4). The
# spec's newer names (LOONGARCH64, M68K, SH, SHEB) need libseccomp 2.6: they
# are refused with an error here and not listed by `features`.
ARCHES = {
    "SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E,
    "SCMP_ARCH_X32": 0x4000003E, "SCMP_ARCH_ARM": 0x40000028,
    "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_MIPS": 0x8,
    "SCMP_ARCH_MIPS64": 0x80000008, "SCMP_ARCH_MIPS64N32": 0xA0000008,
    "SCMP_ARCH_MIPSEL": 0x40000008, "SCMP_ARCH_MIPSEL64": 0xC0000008,
    "SCMP_ARCH_MIPSEL64N32": 0xE0000008, "SCMP_ARCH_PPC": 0x14,
    "SCMP_ARCH_PPC64": 0x80000015, "SCMP_ARCH_PPC64LE": 0xC0000015,
    "SCMP_ARCH_S390": 0x16, "SCMP_ARCH_S390X": 0x80000016,
    "SCMP_ARCH_PARISC": 0xF, "SCMP_ARCH_PARISC64": 0x8000000F,
    "SCMP_ARCH_RISCV64": 0xC00000F3,
}

FLAG_TSYNC = 1
FLAG_LOG = 2
FLAG_SPEC_ALLOW = 4
FLAG_NEW_LISTENER = 8
FLAG_TSYNC_ESRCH = 16
FLAG_WAIT_KILLABLE_RECV = 32
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": FLAG_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": FLAG_WAIT_KILLABLE_RECV,
}

SCMP_FLTATR_CTL_NNP = 3
CAP_SYS_ADMIN = 21
_PTR = "/linux/seccomp"


def _action(name, errno_ret, where):
    act = ACTIONS.get(name)
    if act is None:
        raise SpecError("unknown seccomp action %r" % name, where)
    if errno_ret is not None:
        if act not in _WITH_ERRNO:
            raise SpecError("seccomp action %s does not take an errno return code (errnoRet %d)"
                            % (name, errno_ret), where)
        return act | (errno_ret & 0xFFFF)
    if act in _WITH_ERRNO:
        return act | errno.EPERM
    return act


class Compiled:
    """The plan's part: BPF bytes, seccomp(2) flags, notify settings."""

    def __init__(self, bpf, flags, notify, listener_path, metadata):
        self.bpf, self.flags, self.notify = bpf, flags, notify
        self.listener_path, self.metadata = listener_path, metadata


CACHE_DIR = "/var/cache/pyrunc/seccomp"
_CACHE_FORMAT = b"pyrunc-bpf-2"


def compile(sc, warn=None):
    """linux.seccomp object -> Compiled. Raises SpecError / OSError.

    libseccomp takes ~12 ms for podman's default profile (1125 BPF
    instructions; ~7 ms of it in seccomp_export_bpf), on every create. The
    result depends only on the object, the libseccomp version and the native
    architecture, so it is cached by their hash in a root-only folder (a file
    not owned by us or writable by others is ignored). Warnings are cached
    and replayed; errors are never cached."""
    from ._native import lib
    from . import jsonio
    warn = warn or (lambda m: None)
    try:
        import _sha256
        key = _sha256.sha256(b"%s\0%d\0%d\0%s" % (
            _CACHE_FORMAT, lib.pyrunc_scmp_version(), lib.pyrunc_scmp_arch_native(),
            jsonio.dumps(sc).encode())).hexdigest()
    except (TypeError, ValueError):
        key = None
    hit = _cache_load(key) if key else None
    if hit is not None:
        compiled, warnings = hit
    else:
        warnings = []
        compiled = _compile(sc, warnings.append)
        if key:
            _cache_store(key, compiled, warnings)
    for w in warnings:
        warn(w)
    return compiled


def _cache_load(key):
    from . import jsonio
    try:
        fd = os.open(os.path.join(CACHE_DIR, key), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        data = os.read(fd, st.st_size + 1)
        head, _, bpf = data.partition(b"\n")
        meta = jsonio.loads(head)
        if meta.get("format") != _CACHE_FORMAT.decode() or len(bpf) != meta["size"] \
                or len(bpf) % 8:
            return None
        return (Compiled(bpf, meta["flags"], meta["notify"], meta["listenerPath"],
                         meta["metadata"]), meta["warnings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    finally:
        os.close(fd)


def _cache_store(key, c, warnings):
    from . import jsonio
    meta = {"format": _CACHE_FORMAT.decode(), "size": len(c.bpf), "flags": c.flags,
            "notify": c.notify, "listenerPath": c.listener_path, "metadata": c.metadata,
            "warnings": warnings}
    try:
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        tmp = os.path.join(CACHE_DIR, ".%s.%d" % (key, os.getpid()))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, jsonio.dumps(meta).encode() + b"\n" + c.bpf)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(CACHE_DIR, key))
    except OSError:
        pass  # a cache, nothing more


def _compile(sc, warn):
    from ._native import check, ffi, lib

    default = _action(sc.get("defaultAction"), sc.get("defaultErrnoRet"), _PTR + "/defaultAction")
    flags = 0
    for name in sc.get("flags") or ():
        if name not in FLAGS:
            raise SpecError("seccomp flag %r is not supported" % name, _PTR + "/flags")
        flags |= FLAGS[name]
    ctx = lib.pyrunc_scmp_init(default)
    if ctx == ffi.NULL:
        check(-1, "seccomp_init")
    try:
        # We load the program ourselves: libseccomp must not set NNP.
        check(lib.pyrunc_scmp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set")
        for i, arch in enumerate(sc.get("architectures") or ()):
            token = ARCHES.get(arch)
            if token is None:
                raise SpecError("seccomp architecture %r is not supported" % arch,
                                "%s/architectures/%d" % (_PTR, i))
            if lib.pyrunc_scmp_arch_add(ctx, token) < 0:
                err = ffi.errno
                if err == errno.EDOM:  # libseccomp: another endianness than ours
                    raise SpecError("seccomp architecture %s cannot share a filter with this "
                                    "host's native architecture (byte order differs)" % arch,
                                    "%s/architectures/%d" % (_PTR, i))
                check(-1, "seccomp_arch_add " + arch)
        notify = default == ACT_NOTIFY
        known_max = -1  # highest native syscall number the profile names
        for i, call in enumerate(sc.get("syscalls") or ()):
            where = "%s/syscalls/%d" % (_PTR, i)
            act = _action(call.get("action"), call.get("errnoRet"), where + "/action")
            if act == ACT_NOTIFY:
                notify = True
                if "write" in (call.get("names") or ()):
                    raise SpecError("SCMP_ACT_NOTIFY cannot be used for the write syscall",
                                    where + "/names")
            for name in call.get("names") or ():
                known_max = max(known_max, lib.pyrunc_scmp_syscall_resolve(name.encode()))
            if act == default:
                continue
            conds = [_condition(a, "%s/args/%d" % (where, j))
                     for j, a in enumerate(call.get("args") or ())]
            indexes = [c[0] for c in conds]
            groups = [[c] for c in conds] if len(set(indexes)) < len(indexes) else [conds]
            for name in call.get("names") or ():
                nr = lib.pyrunc_scmp_syscall_resolve(name.encode())
                if nr == -1:
                    warn("unknown seccomp syscall %r ignored" % name)
                    continue
                for g in groups:
                    n = len(g)
                    rc = lib.pyrunc_scmp_rule_add(
                        ctx, act, nr, n, ffi.new("uint32_t[]", [c[0] for c in g] or [0]),
                        ffi.new("uint32_t[]", [c[1] for c in g] or [0]),
                        ffi.new("uint64_t[]", [c[2] for c in g] or [0]),
                        ffi.new("uint64_t[]", [c[3] for c in g] or [0]))
                    check(rc, "seccomp_rule_add %s" % name)
        if notify:
            if not sc.get("listenerPath"):
                raise SpecError("SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
                                _PTR + "/listenerPath")
            flags |= FLAG_NEW_LISTENER
            if flags & FLAG_TSYNC:  # the kernel refuses TSYNC+NEW_LISTENER alone
                flags |= FLAG_TSYNC_ESRCH
        elif flags & FLAG_WAIT_KILLABLE_RECV:
            flags &= ~FLAG_WAIT_KILLABLE_RECV  # only meaningful with a listener
        bpf = _enosys_stub(sc, default, known_max, lib.pyrunc_scmp_arch_native()) + \
            _export(ctx, lib, check)
    finally:
        lib.pyrunc_scmp_release(ctx)
    return Compiled(bpf, flags, notify, sc.get("listenerPath"), sc.get("listenerMetadata"))


def _enosys_stub(sc, default, known_max, native):
    """runc's -ENOSYS patch, for the native architecture: a syscall newer
    than every one the profile names gets ENOSYS, not the default errno, so
    that libc falls back to the older call (a profile written before
    fchmodat2 would otherwise make chmod fail with EPERM). Like runc: not for
    a permissive default action, nor when defaultErrnoRet is already ENOSYS.
    Other architectures added to the filter are not patched (runc patches
    each one); x32 calls (bit 30) are left to the profile.

    Classic BPF placed before libseccomp's program, which reloads what it
    needs, so the stub only falls through or returns."""
    if default in (ACT_ALLOW, ACT_LOG) or known_max < 0:
        return b""
    if default & 0xFFFF0000 == ACT_ERRNO and default & 0xFFFF == errno.ENOSYS:
        return b""
    import struct
    ld_w_abs, jeq_k, jset_k, jgt_k, ret_k = 0x20, 0x15, 0x45, 0x25, 0x06
    prog = [
        (ld_w_abs, 0, 0, 4),                    # 0: A = arch
        (jeq_k, 0, 4, native),                  # 1: another arch: to 6
        (ld_w_abs, 0, 0, 0),                    # 2: A = nr
        (jset_k, 2, 0, 0x40000000),             # 3: an x32 call: to 6
        (jgt_k, 0, 1, known_max),               # 4: newer than the profile: 5
        (ret_k, 0, 0, ACT_ERRNO | errno.ENOSYS),  # 5
    ]                                           # 6: libseccomp's program
    # struct sock_filter {u16 code; u8 jt, jf; u32 k}, native byte order
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


def _condition(arg, where):
    op = OPERATORS.get(arg.get("op"))
    if op is None:
        raise SpecError("unknown seccomp operator %r" % arg.get("op"), where + "/op")
    index = arg.get("index", 0)
    if not 0 <= index < 6:
        raise SpecError("seccomp argument index %d out of range (0-5)" % index, where + "/index")
    value, two = arg.get("value", 0), arg.get("valueTwo", 0)
    # MASKED_EQ: value is the mask, valueTwo the expected result (runc/libseccomp)
    return (index, op, value, two if op == 7 else 0)


def _export(ctx, lib, check):
    fd = os.memfd_create("pyrunc-seccomp", os.MFD_CLOEXEC)
    try:
        check(lib.pyrunc_scmp_export_bpf(ctx, fd), "seccomp_export_bpf")
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


# ---- init side (no libseccomp here: only the shim's seccomp(2) calls) ----

def load_now(plan):
    """The notify path: load the filter during create; returns the listener fd."""
    from ._native import check, ffi, lib
    bpf = plan["bpf"]
    return check(lib.pyrunc_seccomp_load(ffi.from_buffer(bpf), len(bpf) // 8,
                                         plan["bpf_flags"]), "load seccomp filter")


def send_to_listener(path, listener_fd, pid, state, metadata):
    """Parent: the container process state + seccompFd to the agent (runtime spec)."""
    import _socket
    import struct
    from . import jsonio
    msg = {"ociVersion": state.get("ociVersion") or "1.0.2", "fds": ["seccompFd"],
           "pid": pid, "metadata": metadata or "", "state": state}
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        try:
            s.connect(path)
            s.sendmsg([jsonio.dumps(msg).encode()],
                      [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", listener_fd))])
        except OSError as e:
            raise OSError(e.errno, "send seccomp fd to %s: %s" % (path, os.strerror(e.errno)))
    finally:
        s.close()


def caps_for_load(caps, bpf, nnp):
    """(capability sets to apply, capset words for after the load or None).

    Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN when the filter is
    loaded: keep it in effective+permitted (never inheritable or ambient)
    through the user switch; the native last step drops it with one capset
    right after loading (see the module docstring). Used by init and exec."""
    if not bpf or nnp or CAP_SYS_ADMIN in caps["effective"]:
        return caps, None
    final = caps_words(caps["effective"], caps["permitted"], caps["inheritable"])
    return dict(caps, effective=caps["effective"] | {CAP_SYS_ADMIN},
                permitted=caps["permitted"] | {CAP_SYS_ADMIN}), final


def caps_words(eff, perm, inh):
    """Six u32 words (eff lo/hi, perm lo/hi, inh lo/hi) for the shim's capset."""
    out = []
    for s in (eff, perm, inh):
        v = 0
        for c in s:
            v |= 1 << c
        out += [v & 0xFFFFFFFF, v >> 32]
    return out


# ---- features ----

def features():
    """The seccomp part of the features document, probed, not assumed."""
    try:
        from ._native import lib
        lib.pyrunc_scmp_version
    except (ImportError, AttributeError):
        return {"enabled": False}
    # Every name in ARCHES is a token libseccomp 2.5.4 knows (seccomp.h). A
    # filter can only mix architectures of the native endianness: libseccomp
    # refuses the others with EDOM, which compile() reports as an error.
    archs = list(ARCHES)
    supported = [n for n, f in FLAGS.items() if lib.pyrunc_seccomp_flag_supported(
        f | (FLAG_NEW_LISTENER if f == FLAG_WAIT_KILLABLE_RECV else 0))]
    return {
        "enabled": True,
        "actions": sorted(ACTIONS),
        "operators": sorted(OPERATORS),
        "archs": sorted(archs),
        "knownFlags": sorted(FLAGS),
        "supportedFlags": sorted(supported),
    }
