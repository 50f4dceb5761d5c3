"""RFC 8785 (JCS) canonical JSON, with JSON parsing that follows ECMAScript number semantics."""

import json
import math

MAX_SAFE = 2**53


class JcsError(ValueError):
    pass


def _parse_int(s: str):
    v = int(s)
    # ECMAScript JSON.parse yields an IEEE double; keep exact ints only while they are exact.
    return v if -MAX_SAFE <= v <= MAX_SAFE else float(s)


def _reject_constant(name: str):
    raise ValueError(f"not JSON: {name}")


def parse_json(text):
    """Parse JSON text (str or UTF-8 bytes) strictly: no NaN/Infinity, no BOM."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="strict")
    if not isinstance(text, str):
        raise ValueError("not text")
    return json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)


def _number(v) -> str:
    if isinstance(v, int):
        if -MAX_SAFE <= v <= MAX_SAFE:
            return str(v)
        v = float(v)
    if not math.isfinite(v):
        raise JcsError("non-finite number")
    if v == 0:
        return "0"
    sign = "-" if v < 0 else ""
    r = repr(abs(v))  # shortest round-trip digits
    mant, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    if fp == "0":
        fp = ""
    digits = (ip + fp).lstrip("0")
    # position of the decimal point relative to the start of the digit string
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    n = len(ip) + e - lead_zeros
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        ex = n - 1
        es = ("+" if ex >= 0 else "-") + str(abs(ex))
        out = digits + "e" + es if k == 1 else digits[0] + "." + digits[1:] + "e" + es
    return sign + out


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in _ESC:
            out.append(_ESC[ch])
        elif o < 0x20:
            out.append("\\u%04x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            raise JcsError("lone surrogate")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _key(k: str) -> bytes:
    return k.encode("utf-16-be", errors="surrogatepass")


def _ser(v, out: list, depth: int):
    if depth > 1000:
        raise JcsError("too deep")
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(_number(v))
    elif isinstance(v, str):
        out.append(_string(v))
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _ser(x, out, depth + 1)
        out.append("]")
    elif isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise JcsError("non-string key")
        out.append("{")
        for i, k in enumerate(sorted(v, key=_key)):
            if i:
                out.append(",")
            out.append(_string(k))
            out.append(":")
            _ser(v[k], out, depth + 1)
        out.append("}")
    else:
        raise JcsError(f"not a JSON value: {type(v).__name__}")


def canonicalize(v) -> bytes:
    out: list = []
    _ser(v, out, 0)
    return "".join(out).encode("utf-8")
