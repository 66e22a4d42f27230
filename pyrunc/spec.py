"""config.json: loading, validation and the default spec (roles: parent).

Validation runs the official runtime-spec schemas (specs/) before anything is
created. jsonschema costs ~50-100 ms to import and ~3 ms to run, so:
fast_valid() (below) checks the schemas' own keywords itself and jsonschema is
only imported when it is unsure or the config is invalid (for the message);
and a config whose exact bytes validated before is not validated again: the
sha256 of the bytes (with the spec and pyrunc versions) is kept under
CACHE_DIR (root-only, checked before use), together with the warnings that
validation produced, which are replayed.
"""
from . import _os as os  # posix without os's import cost (_os.py)

from . import jsonio
from . import errors  # errors.X where raised or caught: the classes are made on first use

SPEC_VERSION = "1.3.0"
SUPPORTED_MAJOR = "1"
CACHE_DIR = "/var/cache/pyrunc/validated"


def specs_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "specs"), os.path.join(os.path.dirname(here), "specs")):
        if os.path.isfile(os.path.join(d, "config-schema.json")):
            return d
    raise errors.SpecError("runtime-spec schemas not found (reinstall pyrunc)")


def load_bundle(bundle, warn=None):
    """Read, parse and validate <bundle>/config.json; returns the config dict."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise errors.SpecError("%s: no such file (is %s an OCI bundle?)" % (path, bundle))
    except OSError as e:
        raise errors.SpecError("%s: %s" % (path, e.strerror))
    return parse(data, warn=warn, name=path)


def parse(data, warn=None, name="config.json"):
    try:
        config = jsonio.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise errors.SpecError("%s: invalid JSON: %s" % (name, e))
    if not isinstance(config, dict):
        raise errors.SpecError("%s: the document must be a JSON object" % name)
    for w in validate(config, data):
        if warn:
            warn(w)
    check_version(config.get("ociVersion"))
    return config


def check_version(v):
    if not isinstance(v, str) or not v.split(".")[0] == SUPPORTED_MAJOR:
        raise errors.SpecError("unsupported version %r (pyrunc implements %s)" % (v, SPEC_VERSION),
                        "/ociVersion")


# Bump when what validation checks changes other than through the schemas
# (those go with SPEC_VERSION): older cache entries then stop matching.
_CACHE_FORMAT = 2


def _cache_key(data):
    """sha256 over what decides the verdict: the exact config bytes, the spec
    version (its schemas), pyrunc's version and the cache format."""
    import _sha256  # hashlib costs ~2.5 ms; the C module alone far less
    from . import __version__
    h = _sha256.sha256(b"pyrunc-validated\0%d\0%s\0%s\0" % (
        _CACHE_FORMAT, SPEC_VERSION.encode(), __version__.encode()))
    h.update(data)
    return h.hexdigest()


def _cache_trusted():
    """The cache is used only by root, and only while it and its parent are
    real folders (no symlinks) that nobody else may write: an entry planted
    there would let a config skip validation."""
    euid = os.geteuid()
    if euid != 0:
        return False
    for d in (CACHE_DIR, os.path.dirname(CACHE_DIR)):
        try:
            st = os.lstat(d)
        except OSError:
            return False
        if (st.st_mode & 0o170000) != 0o040000 or st.st_uid != euid or st.st_mode & 0o022:
            return False
    return True


def _cache_load(key):
    """The warnings stored for ``key``, or None (miss, or not trusted)."""
    if not _cache_trusted():
        return None
    try:
        fd = os.open(os.path.join(CACHE_DIR, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        warnings = jsonio.loads(os.read(fd, 1 << 20))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)
    if isinstance(warnings, list) and all(isinstance(w, str) for w in warnings):
        return warnings
    return None


def validate(config, data=None):
    """Validate against the schema; return a list of warnings (unknown fields).

    Raises SpecError naming the JSON pointer of the first (best) error.
    With ``data`` (the config's bytes), a verdict cached for exactly those
    bytes is reused (only successes are cached)."""
    key = _cache_key(data) if data is not None else None
    if key:
        cached = _cache_load(key)
        if cached is not None:
            return cached
    schemas = _load_schemas()
    if not fast_valid(config, schemas):
        # invalid, or beyond what fast_valid knows: jsonschema decides, and
        # names the error
        err = _schema_error(config, schemas)
        if err is not None:
            raise err
    warnings = ["unknown field %s ignored" % p for p in unknown_fields(config, schemas)]
    if key:
        _cache_store(key, warnings)
    return warnings


def _cache_store(key, warnings):
    try:
        for d, mode in ((os.path.dirname(CACHE_DIR), 0o755), (CACHE_DIR, 0o700)):
            try:
                os.mkdir(d, mode)  # the umask only takes bits away
            except FileExistsError:
                pass
        if not _cache_trusted():
            return
        tmp = os.path.join(CACHE_DIR, ".%s.%d" % (key, os.getpid()))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            os.write(fd, jsonio.dumps(warnings).encode())
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(CACHE_DIR, key))
        _cache_prune()
    except OSError:
        pass  # a cache, nothing more


_CACHE_MAX = 4096


def _cache_prune():
    """Keep the cache bounded. Configs that embed per-container values (ids,
    paths, annotations, as container managers write them) never repeat, so
    entries pile up; past _CACHE_MAX the older half goes. Only on a miss,
    which has just paid ~50 ms for jsonschema anyway."""
    names = os.listdir(CACHE_DIR)
    if len(names) <= _CACHE_MAX:
        return
    aged = []
    for n in names:
        try:
            aged.append((os.lstat(os.path.join(CACHE_DIR, n)).st_mtime, n))
        except OSError:
            pass
    aged.sort()
    for _, n in aged[:len(aged) - _CACHE_MAX // 2]:
        try:
            os.unlink(os.path.join(CACHE_DIR, n))
        except OSError:
            pass


def _load_schemas():
    d = specs_dir()
    out = {}
    for name in os.listdir(d):
        if name.endswith(".json"):
            with open(os.path.join(d, name), "rb") as f:
                out[name] = jsonio.loads(f.read())
    return out


# --- a small Draft 4 checker for the keywords the runtime-spec schemas use ---
#
# jsonschema costs ~50-100 ms to import (validating is ~3 ms), and container
# managers write a new config.json for every container, so the cache above
# rarely hits for them. fast_valid() answers "valid" only when it is sure:
# every keyword it meets is one it implements with Draft 4's meaning, every
# $ref resolves; anything else (an invalid config included) returns False,
# and jsonschema decides and names the error. tests/test_spec_cache.py checks
# it never accepts what jsonschema rejects.

_KNOWN = frozenset(("type", "$ref", "properties", "patternProperties",
                    "additionalProperties", "items", "required", "enum", "minimum",
                    "maximum", "pattern", "minItems", "anyOf", "allOf", "definitions",
                    "$schema", "description", "title"))


class _Unsure(Exception):
    pass


def fast_valid(config, schemas):
    try:
        return _check(config, schemas["config-schema.json"], "config-schema.json", schemas)
    except (_Unsure, KeyError, RecursionError):
        return False


def _deref(node, fname, schemas):
    seen = 0
    while isinstance(node, dict) and "$ref" in node:  # Draft 4: siblings ignored
        f, _, frag = node["$ref"].partition("#")
        fname = f or fname
        node = schemas.get(fname)
        if node is None or (frag and not frag.startswith("/")):
            raise _Unsure()
        for part in frag[1:].split("/") if frag else ():
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise _Unsure()
            node = node[part]
        seen += 1
        if seen > 32:
            raise _Unsure()
    if not isinstance(node, dict):
        raise _Unsure()
    return node, fname


def _is(value, t):
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "integer":  # Draft 4: 1.0 is not an integer
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    raise _Unsure()


def _equal(a, b):
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def _search(pattern, text):
    import re  # ~3 ms, only for configs the cache has not seen
    return re.search(pattern, text) is not None


def _check(value, node, fname, schemas):
    node, fname = _deref(node, fname, schemas)
    if not _KNOWN.issuperset(node):
        raise _Unsure()
    t = node.get("type")
    if t is not None and not any(_is(value, x) for x in (t if isinstance(t, list) else (t,))):
        return False
    if "enum" in node and not any(_equal(value, e) for e in node["enum"]):
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            return False
        if "maximum" in node and value > node["maximum"]:
            return False
    elif isinstance(value, str):
        if "pattern" in node and not _search(node["pattern"], value):
            return False
    elif isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            return False
        items = node.get("items")
        if items is not None:
            if not isinstance(items, dict):
                raise _Unsure()  # tuple form
            if not all(_check(x, items, fname, schemas) for x in value):
                return False
    elif isinstance(value, dict):
        if any(r not in value for r in node.get("required", ())):
            return False
        props = node.get("properties") or {}
        pprops = node.get("patternProperties") or {}
        extra = node.get("additionalProperties", True)
        for k, x in value.items():
            matched = k in props
            if matched and not _check(x, props[k], fname, schemas):
                return False
            for pat, sub in pprops.items():
                if _search(pat, k):
                    matched = True
                    if not _check(x, sub, fname, schemas):
                        return False
            if not matched:
                if extra is False:
                    return False
                if isinstance(extra, dict) and not _check(x, extra, fname, schemas):
                    return False
    if not all(_check(value, sub, fname, schemas) for sub in node.get("allOf", ())):
        return False
    if "anyOf" in node and not any(_check(value, sub, fname, schemas) for sub in node["anyOf"]):
        return False
    return True


_BASE = "file:///pyrunc/specs/"


def _schema_error(config, schemas):
    from jsonschema import Draft4Validator
    from jsonschema.exceptions import best_match
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    registry = Registry().with_resources(
        (_BASE + name, Resource.from_contents(s, default_specification=DRAFT4))
        for name, s in schemas.items())
    validator = Draft4Validator({"$ref": _BASE + "config-schema.json"}, registry=registry)
    err = best_match(validator.iter_errors(config))
    if err is None:
        return None
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1")
                      for p in err.absolute_path) or "/"
    msg = err.message
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return errors.SpecError(msg, pointer)


def _resolve(node, fname, schemas):
    """Follow $ref chains; return (schema node, file it lives in)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        ref = node["$ref"]
        f, _, frag = ref.partition("#")
        fname = f or fname
        node = schemas.get(fname, {})
        for part in frag.strip("/").split("/") if frag.strip("/") else ():
            node = node.get(part, {}) if isinstance(node, dict) else {}
        seen += 1
    return node, fname


def _props(node, fname, schemas):
    """Known property names of an object schema, or None when it is open."""
    node, fname = _resolve(node, fname, schemas)
    if not isinstance(node, dict):
        return None, {}
    if "patternProperties" in node or node.get("additionalProperties") not in (None, False):
        return None, {}
    props = {}
    for k, v in node.get("properties", {}).items():
        props[k] = (v, fname)
    for sub in node.get("allOf", ()):
        more, subprops = _props(sub, fname, schemas)
        if more is None and not subprops:
            return None, {}
        props.update(subprops)
    if not props:
        return None, {}
    return True, props


def unknown_fields(config, schemas):
    """JSON pointers of object keys the schema does not name (it allows them)."""
    out = []

    def walk(value, node, fname, ptr):
        node, fname = _resolve(node, fname, schemas)
        if isinstance(value, dict):
            known, props = _props(node, fname, schemas)
            if known is None:
                return
            for k, v in value.items():
                if k not in props:
                    out.append(ptr + "/" + k)
                else:
                    walk(v, props[k][0], props[k][1], ptr + "/" + k)
        elif isinstance(value, list) and isinstance(node, dict) and isinstance(node.get("items"), dict):
            for i, v in enumerate(value):
                walk(v, node["items"], fname, "%s/%d" % (ptr, i))

    walk(config, schemas.get("config-schema.json", {}), "config-schema.json", "")
    return out


# --- the default spec (`pyrunc spec`), the same container runc spec gives ----

_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_spec(rootless=False, args=None, terminal=True):
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
         + ([] if rootless else ["gid=5"])},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "none", "source": "/sys",
         "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]} if rootless else
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    namespaces = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
    linux = {}
    if rootless:
        namespaces = [n for n in namespaces if n["type"] != "network"] + [{"type": "user"}]
        uid, gid = os.getuid(), os.getgid()
        linux["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1}]
    else:
        linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    linux["namespaces"] = namespaces
    linux["maskedPaths"] = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"]
    linux["readonlyPaths"] = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    return {
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args or ["sh"]),
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(_DEFAULT_CAPS) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "pyrunc",
        "mounts": mounts,
        "linux": linux,
    }


NETWORK_PREFIX = "org.pyrunc.network."  # annotations that ask for networking (network.py)


def wants_network(config):
    """Does this config ask pyrunc for any networking? Here, not in network.py,
    so that a create without networking never imports that module (~0.5 ms)."""
    if (config.get("linux") or {}).get("netDevices"):
        return True
    return any(k.startswith(NETWORK_PREFIX) for k in config.get("annotations") or ())
