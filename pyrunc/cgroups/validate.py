"""Type checks of a LinuxResources object from `update` (roles: parent).

config.json is checked against the schema at create; `update --resources`
gets JSON from its caller and is checked here, so a wrong type is one clear
line rather than a failure deep in a writer.
"""
from .. import errors  # errors.X where raised or caught: the classes are made on first use

I, S, B = "integer", "string", "boolean"
_DEV = {"major": I, "minor": I}
SHAPE = {
    "memory": {"limit": I, "reservation": I, "swap": I, "kernel": I, "kernelTCP": I,
               "swappiness": I, "disableOOMKiller": B, "useHierarchy": B,
               "checkBeforeUpdate": B},
    "cpu": {"shares": I, "quota": I, "burst": I, "period": I, "realtimeRuntime": I,
            "realtimePeriod": I, "cpus": S, "mems": S, "idle": I},
    "pids": {"limit": I},
    "blockIO": {"weight": I, "leafWeight": I,
                "weightDevice": [dict(_DEV, weight=I, leafWeight=I)],
                "throttleReadBpsDevice": [dict(_DEV, rate=I)],
                "throttleWriteBpsDevice": [dict(_DEV, rate=I)],
                "throttleReadIOPSDevice": [dict(_DEV, rate=I)],
                "throttleWriteIOPSDevice": [dict(_DEV, rate=I)]},
    "hugepageLimits": [{"pageSize": S, "limit": I}],
    "network": {"classID": I, "priorities": [{"name": S, "priority": I}]},
    "rdma": ({"hcaHandles": I, "hcaObjects": I},),   # a map: name -> object
    "unified": (S,),
    "devices": [{"allow": B, "type": S, "major": I, "minor": I, "access": S}],
}


def _ok(v, kind):
    if kind == I:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == S:
        return isinstance(v, str)
    return isinstance(v, bool)


def _check(v, shape, where):
    if isinstance(shape, str):
        if v is not None and not _ok(v, shape):
            raise errors.CgroupError("resources %s: want %s %s, got %r" % (
                where, "an" if shape == I else "a", shape, v))
    elif isinstance(shape, list):
        if not isinstance(v, list):
            raise errors.CgroupError("resources %s: want an array, got %r" % (where, v))
        for i, x in enumerate(v):
            _check(x, shape[0], "%s[%d]" % (where, i))
    elif isinstance(shape, tuple):  # a map with values of shape[0]
        if not isinstance(v, dict):
            raise errors.CgroupError("resources %s: want an object, got %r" % (where, v))
        for k, x in v.items():
            _check(x, shape[0], "%s.%s" % (where, k))
    else:
        if not isinstance(v, dict):
            raise errors.CgroupError("resources %s: want an object, got %r" % (where, v))
        for k, x in v.items():
            if k in shape:
                _check(x, shape[k], "%s.%s" % (where, k) if where else k)


def check(res):
    if not isinstance(res, dict):
        raise errors.CgroupError("resources: want a LinuxResources object, got %r" % (res,))
    _check(res, SHAPE, "")
    return res
