"""C2SP signed notes and tlog checkpoints, as in docs/spec/checkpoint.md."""

import re
from dataclasses import dataclass

from . import ed25519
from .errors import Invalid
from .util import b64decode_canonical, sha256

# Unicode White_Space property
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
MAX_NOTE = 1 << 20
MAX_SIZE = 2**53 - 1


def valid_name(name) -> bool:
    if not isinstance(name, str) or not name:
        return False
    for c in name:
        if c == "+" or c in WHITE_SPACE or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF:
            return False
    return True


def key_id(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n\x01" + public_key)[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes


def parse_verifier_key(text) -> VerifierKey:
    if not isinstance(text, str):
        raise Invalid("NOTE_MALFORMED", "verifier key is not text")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Invalid("NOTE_MALFORMED", "verifier key has no name/key id/key")
    name, kid, b64 = parts
    if not valid_name(name):
        raise Invalid("NOTE_MALFORMED", "invalid key name")
    if re.fullmatch(r"[0-9a-f]{8}", kid) is None:
        raise Invalid("NOTE_MALFORMED", "key id is not 8 lowercase hex digits")
    raw = b64decode_canonical(b64)
    if raw is None or len(raw) != 33 or raw[0] != 0x01:
        raise Invalid("NOTE_MALFORMED", "key is not canonical base64 of 0x01 || 32 bytes")
    pub = raw[1:]
    if not ed25519.point_decodes(pub):
        raise Invalid("NOTE_MALFORMED", "not an Ed25519 public key")
    if key_id(name, pub).hex() != kid:
        raise Invalid("NOTE_MALFORMED", "key id does not match the key")
    return VerifierKey(name, bytes.fromhex(kid), pub)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes


def parse_checkpoint_body(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise Invalid("CHECKPOINT_MALFORMED", "body does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise Invalid("CHECKPOINT_MALFORMED", "too few lines or an empty line")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if re.fullmatch(r"0|[1-9][0-9]*", size_s, flags=re.ASCII) is None or len(size_s) > 16:
        raise Invalid("CHECKPOINT_MALFORMED", "bad tree size")
    size = int(size_s)
    if size > MAX_SIZE:
        raise Invalid("CHECKPOINT_MALFORMED", "tree size too large")
    root = b64decode_canonical(root_s)
    if root is None or len(root) != 32:
        raise Invalid("CHECKPOINT_MALFORMED", "bad root hash")
    return Checkpoint(origin, size, root)


def open_checkpoint(note, key: VerifierKey) -> Checkpoint:
    """Verify a signed note under `key` and parse its checkpoint body (steps 2-8)."""
    cp = parse_checkpoint_body(open_note(note, key))
    if cp.origin != key.name:
        raise Invalid("CHECKPOINT_ORIGIN_MISMATCH", "checkpoint origin is not the key name")
    return cp


def open_note(note, key: VerifierKey) -> str:
    """Verify a C2SP signed note under `key`; returns its text (before the blank line)."""
    if isinstance(note, str):
        try:
            raw = note.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("NOTE_MALFORMED", "not well-formed UTF-8") from None
    elif isinstance(note, (bytes, bytearray)):
        raw = bytes(note)
    else:
        raise Invalid("NOTE_MALFORMED", "not text")
    if len(raw) > MAX_NOTE:
        raise Invalid("NOTE_MALFORMED", "note too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("NOTE_MALFORMED", "not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise Invalid("NOTE_MALFORMED", "control character")
    i = text.rfind("\n\n")
    if i < 0:
        raise Invalid("NOTE_MALFORMED", "no signature block")
    body = text[: i + 1]
    sigs = text[i + 2 :]
    if not sigs or not sigs.endswith("\n"):
        raise Invalid("NOTE_MALFORMED", "empty or unterminated signature block")
    lines = sigs[:-1].split("\n")
    if len(lines) > 100:
        raise Invalid("NOTE_MALFORMED", "too many signatures")
    parsed = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise Invalid("NOTE_MALFORMED", "signature line does not start with an em dash")
        rest = line[2:]
        name, sp, b64 = rest.partition(" ")
        if not sp or not valid_name(name):
            raise Invalid("NOTE_MALFORMED", "bad signature line")
        blob = b64decode_canonical(b64)
        if blob is None or len(blob) < 5:
            raise Invalid("NOTE_MALFORMED", "bad signature base64")
        parsed.append((name, blob[:4], blob[4:]))
    message = body.encode("utf-8")
    verified = 0
    for name, kid, sig in parsed:
        if name == key.name and kid == key.key_id:
            if not ed25519.verify(key.public_key, message, sig):
                raise Invalid("NOTE_SIGNATURE_INVALID", "signature of the trusted key does not verify")
            verified += 1
    if not verified:
        raise Invalid("NOTE_SIGNATURE_INVALID", "no signature of the trusted key")
    return body
