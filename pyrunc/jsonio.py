"""JSON without ``import json`` (roles: all).

``import json`` costs 2-7 ms here (it pulls in ``re``); the C accelerator
``_json`` alone costs ~0.2 ms. Short commands (state, list, kill) go through
this module. Output matches Go's encoding/json as runc prints it: compact, or
indented by MarshalIndent (``indent=2``). Error paths fall back to the stdlib
for its precise messages.
"""
import _json


def _invalid_constant(name):
    raise ValueError("invalid JSON constant %s" % name)


# The attributes the C scanner reads (Modules/_json.c: scanner_new), on a
# module object: a class for them would cost ~25 us to make at every start
# (see errors.py).
_ctx = type(_json)(__name__ + ".scanner")
vars(_ctx).update(strict=True, object_hook=None, object_pairs_hook=None, parse_float=float,
                  parse_int=int, parse_constant=_invalid_constant, memo=None)
_scan = _json.make_scanner(_ctx)
_encode_str = _json.encode_basestring  # non-ASCII kept as is, like Go
_WS = " \t\n\r"


def loads(data):
    """Parse one JSON document from str or bytes; ValueError when invalid."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    i, n = 0, len(data)
    while i < n and data[i] in _WS:
        i += 1
    try:
        obj, end = _scan(data, i)
    except StopIteration:
        obj = end = None
    if end is not None:
        while end < n and data[end] in _WS:
            end += 1
        if end == n:
            return _no_lone_surrogates(obj) if "\\u" in data and _has_surrogate_escape(data) else obj
    import json  # the slow path, for a good message
    obj = json.loads(data)
    return _no_lone_surrogates(obj) if "\\u" in data and _has_surrogate_escape(data) else obj


def _has_surrogate_escape(data):
    """Whether the text has a \\uD800-\\uDFFF escape (rare: checked only then)."""
    low = data.lower()
    return any(low.find("\\ud" + c) >= 0 for c in "89abcdef")


def _no_lone_surrogates(o):
    """A lone surrogate escape becomes U+FFFD, as Go's decoder does (Python
    keeps it, and then cannot encode the string as UTF-8)."""
    if isinstance(o, str):
        if any("\ud800" <= c <= "\udfff" for c in o):
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in o)
        return o
    if isinstance(o, dict):
        return {_no_lone_surrogates(k): _no_lone_surrogates(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_no_lone_surrogates(v) for v in o]
    return o


def _float(f):
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("cannot encode %r as JSON" % f)
    r = repr(f)
    return r[:-2] if r.endswith(".0") else r


_compact = _json.make_encoder(None, None, _encode_str, None, ":", ",", False, False, False)


def dumps(obj, indent=None):
    """Serialise like Go: compact, or MarshalIndent with ``indent`` spaces."""
    if indent is None:
        return "".join(_compact(obj, 0))
    out = []
    _pretty(obj, " " * indent, "\n", out)
    return "".join(out)


def _pretty(o, step, nl, out):
    if isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = nl + step
        sep = "{"
        for k, v in o.items():
            out.append(sep + inner + _encode_str(str(k)) + ": ")
            _pretty(v, step, inner, out)
            sep = ","
        out.append(nl + "}")
    elif isinstance(o, (list, tuple)):
        if not o:
            out.append("[]")
            return
        inner = nl + step
        sep = "["
        for v in o:
            out.append(sep + inner)
            _pretty(v, step, inner, out)
            sep = ","
        out.append(nl + "]")
    elif isinstance(o, str):
        out.append(_encode_str(o))
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif o is None:
        out.append("null")
    elif isinstance(o, int):
        out.append(str(int(o)))
    elif isinstance(o, float):
        out.append(_float(o))
    else:
        raise TypeError("cannot encode %s as JSON" % type(o).__name__)
