"""Device access rules: the kernel's v1 semantics, and an eBPF program for v2
(roles: parent).

linux.resources.devices is applied in order on top of "deny everything", as
runc does. The ``Emulator`` reproduces what the v1 devices controller does
with each rule (kernel security/device_cgroup.c), so the v2 eBPF program built
from its end state (``bpf_program``) gives the same answers as v1:

- ``a`` (all) resets: allow -> default allow, deny -> default deny; the
  exception list is emptied.
- another rule with the same verdict as the default removes access bits from
  the exception with the same type/major/minor; otherwise it adds to one.
- in default-deny mode an access is allowed when one exception matches the
  device and holds every requested bit; in default-allow mode it is denied
  when an exception matches the device and shares any requested bit.
"""
import struct

from .. import errors  # errors.X where raised or caught: the classes are made on first use

WILD = -1
_ACC = {"m": 1, "r": 2, "w": 4}  # BPF_DEVCG_ACC_MKNOD/READ/WRITE
_TYPE = {"b": 1, "c": 2}          # BPF_DEVCG_DEV_BLOCK/CHAR


def access_bits(s):
    bits = 0
    for ch in s or "rwm":
        if ch not in _ACC:
            raise errors.CgroupError("device rule access %r: only r, w and m are allowed" % s)
        bits |= _ACC[ch]
    return bits


def access_str(bits):
    return "".join(c for c in "rwm" if bits & _ACC[c])


def normalize(d):
    """(allow, type, major, minor, access bits) of a spec device rule."""
    t = d.get("type") or "a"
    if t not in ("a", "b", "c"):
        raise errors.CgroupError("device rule type %r: must be a, b or c" % t)
    major, minor = d.get("major"), d.get("minor")
    major = WILD if major is None or major < 0 else int(major)
    minor = WILD if minor is None or minor < 0 else int(minor)
    return bool(d.get("allow")), t, major, minor, access_bits(d.get("access"))


def v1_string(t, major, minor, bits):
    if t == "a":
        return "a"
    return "%s %s:%s %s" % (t, "*" if major == WILD else major,
                            "*" if minor == WILD else minor, access_str(bits))


class Emulator:
    def __init__(self):
        self.default_allow = False
        self.exceptions = {}  # (type, major, minor) -> access bits

    def apply(self, rule):
        allow, t, major, minor, bits = normalize(rule) if isinstance(rule, dict) else rule
        if t == "a":
            self.default_allow = allow
            self.exceptions = {}
            return
        key = (t, major, minor)
        if allow == self.default_allow:
            left = self.exceptions.get(key, 0) & ~bits
            if left:
                self.exceptions[key] = left
            else:
                self.exceptions.pop(key, None)
        else:
            self.exceptions[key] = self.exceptions.get(key, 0) | bits
        return self

    @classmethod
    def of(cls, rules):
        e = cls()
        for r in rules:
            e.apply(r)
        return e

    def allows(self, t, major, minor, access):
        want = access_bits(access)
        for (et, ema, emi), bits in self.exceptions.items():
            if et != t or (ema != WILD and ema != major) or (emi != WILD and emi != minor):
                continue
            if self.default_allow and bits & want:
                return False
            if not self.default_allow and not want & ~bits:
                return True
        return self.default_allow

    def rules(self):
        """The end state as kernel-ordered v1 rules: reset first, then exceptions."""
        out = [(self.default_allow, "a", WILD, WILD, 7)]
        for (t, ma, mi), bits in sorted(self.exceptions.items()):
            out.append((not self.default_allow, t, ma, mi, bits))
        return out


# --- eBPF (BPF_PROG_TYPE_CGROUP_DEVICE) ----------------------------------------------
# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; };
# access_type: device type in the low 16 bits, access bits in the high 16.

def _insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


LDXW, MOV32_REG, RSH32_IMM, AND32_IMM = 0x61, 0xBC, 0x74, 0x54
JNE_IMM, JNE_REG, JEQ_IMM, MOV64_IMM, EXIT = 0x55, 0x5D, 0x15, 0xB7, 0x95


def bpf_program(rules):
    """Bytecode (bytes, 8 per instruction) deciding as the v1 controller would
    after ``rules`` (spec device dicts, in order)."""
    emu = Emulator.of(rules)
    prog = [
        _insn(LDXW, 2, 1, 0),        # r2 = ctx->access_type
        _insn(MOV32_REG, 3, 2),      # r3 = r2
        _insn(RSH32_IMM, 3, imm=16),  # r3 = access bits
        _insn(AND32_IMM, 2, imm=0xFFFF),  # r2 = device type
        _insn(LDXW, 4, 1, 4),        # r4 = major
        _insn(LDXW, 5, 1, 8),        # r5 = minor
    ]
    verdict = 0 if emu.default_allow else 1
    for (t, ma, mi), bits in sorted(emu.exceptions.items()):
        block = []  # each test jumps over the rest of the block when it fails
        block.append(("JNE_IMM", 2, _TYPE[t]))
        if bits != 7:
            block.append(("MOV", 1, 3))
            block.append(("AND", 1, bits))
            if emu.default_allow:
                block.append(("JEQ_IMM", 1, 0))       # no requested bit is denied
            else:
                block.append(("JNE_REG", 1, 3))       # some requested bit is not allowed
        if ma != WILD:
            block.append(("JNE_IMM", 4, ma))
        if mi != WILD:
            block.append(("JNE_IMM", 5, mi))
        block.append(("RET", verdict))
        n = sum(2 if op == "RET" else 1 for op, *_ in block)
        done = 0
        for op, *a in block:
            done += 2 if op == "RET" else 1
            skip = n - done
            if op == "JNE_IMM":
                prog.append(_insn(JNE_IMM, a[0], off=skip, imm=a[1]))
            elif op == "JEQ_IMM":
                prog.append(_insn(JEQ_IMM, a[0], off=skip, imm=a[1]))
            elif op == "JNE_REG":
                prog.append(_insn(JNE_REG, a[0], a[1], off=skip))
            elif op == "MOV":
                prog.append(_insn(MOV32_REG, a[0], a[1]))
            elif op == "AND":
                prog.append(_insn(AND32_IMM, a[0], imm=a[1]))
            else:
                prog.append(_insn(MOV64_IMM, 0, imm=a[0]))
                prog.append(_insn(EXIT))
    prog.append(_insn(MOV64_IMM, 0, imm=1 if emu.default_allow else 0))
    prog.append(_insn(EXIT))
    return b"".join(prog)
