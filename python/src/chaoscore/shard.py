"""Shard certificates and shard origins, as in docs/spec/receipt.md §7.

A shard certificate is a C2SP signed note, signed by a log family's key, whose
text is five lines: `chaoscore.log-shard/v1`, the family origin, the shard
number n >= 1, the shard origin `<family origin>/s<n>` and the shard's verifier
key (named for the shard origin). Failures raise Invalid with a
SHARD_CERTIFICATE_* code.
"""

import re
from dataclasses import dataclass

from .errors import Invalid
from .note import VerifierKey, open_note, parse_verifier_key, valid_name

SHARD_CERTIFICATE_FORMAT = "chaoscore.log-shard/v1"
MAX_SHARD = 2**53 - 1
_DECIMAL = re.compile(r"[1-9][0-9]*", flags=re.ASCII)


@dataclass(frozen=True)
class ShardCertificate:
    family_origin: str
    shard: int
    shard_origin: str
    shard_verifier_key: str


def _malformed(message: str):
    raise Invalid("SHARD_CERTIFICATE_MALFORMED", message)


def shard_number_of_origin(family_origin: str, origin: str) -> int | None:
    """n when `origin` is `<family_origin>/s<n>` (canonical n >= 1), 0 for the family origin, else None."""
    if origin == family_origin:
        return 0
    prefix = family_origin + "/s"
    if not origin.startswith(prefix):
        return None
    digits = origin[len(prefix):]
    if _DECIMAL.fullmatch(digits) is None or len(digits) > 16 or int(digits) > MAX_SHARD:
        return None
    return int(digits)


def _parse_statement(text: str) -> ShardCertificate:
    if not text.endswith("\n"):
        _malformed("the certificate text ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 5:
        _malformed("the certificate text has exactly five lines")
    fmt, family, shard_s, shard_origin, shard_key = lines
    if fmt != SHARD_CERTIFICATE_FORMAT:
        _malformed(f"the certificate text starts with {SHARD_CERTIFICATE_FORMAT}")
    if shard_s == "0":
        _malformed("shard 0 is the family's own log and has no certificate")
    if _DECIMAL.fullmatch(shard_s) is None or len(shard_s) > 16 or int(shard_s) > MAX_SHARD:
        _malformed("the shard number is an integer >= 1 in canonical decimal")
    if not valid_name(family):
        _malformed("the family origin is not a valid key name")
    shard = int(shard_s)
    if shard_origin != f"{family}/s{shard}":
        raise Invalid("SHARD_CERTIFICATE_ORIGIN_INVALID", "the shard origin is not <family origin>/s<shard number>")
    try:
        key = parse_verifier_key(shard_key)
    except Invalid:
        _malformed("the shard verifier key is not a signed-note verifier key")
    if key.name != shard_origin:
        raise Invalid("SHARD_CERTIFICATE_ORIGIN_INVALID", "the shard verifier key is not named for the shard origin")
    return ShardCertificate(family, shard, shard_origin, shard_key)


def parse_shard_certificate(note) -> ShardCertificate:
    """What a certificate claims, WITHOUT checking its signature."""
    if not isinstance(note, str):
        _malformed("a shard certificate is a signed note string")
    i = note.rfind("\n\n")
    if i < 0:
        _malformed("no blank line separates the text from the signatures")
    return _parse_statement(note[: i + 1])


def verify_shard_certificate(note, family_key) -> ShardCertificate:
    """Verify a shard certificate under the family's verifier key (text or parsed); returns what it certifies.

    Raises Invalid: SHARD_CERTIFICATE_MALFORMED, _ORIGIN_INVALID, _WRONG_FAMILY, _SIGNATURE_INVALID
    (NOTE_MALFORMED when `family_key` itself is malformed)."""
    key = family_key if isinstance(family_key, VerifierKey) else parse_verifier_key(family_key)
    claimed = parse_shard_certificate(note)
    if claimed.family_origin != key.name:
        raise Invalid("SHARD_CERTIFICATE_WRONG_FAMILY", "the certificate is for another log family than the trusted key's")
    try:
        text = open_note(note, key)
    except Invalid as err:
        if err.code == "NOTE_SIGNATURE_INVALID":
            raise Invalid("SHARD_CERTIFICATE_SIGNATURE_INVALID", "the certificate is not signed by the family key") from None
        raise Invalid("SHARD_CERTIFICATE_MALFORMED", f"the certificate is not a well-formed signed note ({err.code})") from None
    return _parse_statement(text)
