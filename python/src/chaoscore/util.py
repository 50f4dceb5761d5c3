import base64
import hashlib
import re

from Crypto.Hash import keccak as _keccak

HEX_RE = {}


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def keccak256(b: bytes) -> bytes:
    h = _keccak.new(digest_bits=256)
    h.update(b)
    return h.digest()


def is_hex(v, nbytes: int | None = None, min_bytes: int = 1, max_bytes: int = 1 << 20) -> bool:
    """Lowercase 0x-hex with an exact (or bounded) number of bytes."""
    if not isinstance(v, str) or not v.startswith("0x"):
        return False
    body = v[2:]
    if len(body) % 2 or re.fullmatch(r"[0-9a-f]*", body) is None:
        return False
    n = len(body) // 2
    if nbytes is not None:
        return n == nbytes
    return min_bytes <= n <= max_bytes


def hex_bytes(v: str) -> bytes:
    return bytes.fromhex(v[2:])


def b64decode_canonical(s) -> bytes | None:
    """Standard base64 with padding; only the canonical encoding of a value. None if not."""
    if not isinstance(s, str) or not s.isascii() or len(s) % 4:
        return None
    try:
        raw = base64.b64decode(s, validate=True)
    except Exception:
        return None
    return raw if base64.b64encode(raw).decode("ascii") == s else None


def b64encode(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


UINT64_RE = re.compile(r"(0|[1-9][0-9]*)")


def is_uint64_string(v) -> bool:
    return isinstance(v, str) and v.isascii() and UINT64_RE.fullmatch(v) is not None and len(v) <= 20 and int(v) <= 2**64 - 1


def is_chain_id(v) -> bool:
    # spec: decimal, no leading zero, >= 1; it must fit the EIP-712 uint256 of the domain
    return (
        isinstance(v, str)
        and v.isascii()
        and re.fullmatch(r"[1-9][0-9]*", v) is not None
        and len(v) <= 78
        and int(v) < 2**256
    )


def safe_int(v, lo: int = 0, hi: int = 2**53 - 1):
    """A JSON integer (ECMAScript semantics: 1.0 is the integer 1) within [lo, hi], or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float):
        if not v.is_integer():
            return None
        v = int(v)
    if not isinstance(v, int) or not lo <= v <= hi:
        return None
    return v


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le", errors="surrogatepass")) // 2


def is_text(v, min_len: int = 0, max_len: int = 256) -> bool:
    """Well-formed Unicode (no lone surrogate), no NUL, length in UTF-16 code units."""
    if not isinstance(v, str):
        return False
    if "\x00" in v or any(0xD800 <= ord(c) <= 0xDFFF for c in v):
        return False
    return min_len <= utf16_len(v) <= max_len
