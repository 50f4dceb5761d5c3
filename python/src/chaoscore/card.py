"""`chaoscore.agent-card/v1` agent cards (docs/spec/agent-card.md §1): building, checking, hashing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .jcs import canonicalize
from .util import is_hex, sha256, utf16_len

CARD_FORMAT = "chaoscore.agent-card/v1"
CARD_FIELDS = (
    "format", "name", "description", "capabilities", "framework", "version",
    "endpoints", "codeMeasurement", "owner",
)
_CAPABILITY = re.compile(r"[a-z0-9][a-z0-9._:-]{0,63}")


class CardError(ValueError):
    """The card does not follow agent-card.md §1; `code` is AGENT_CARD_INVALID."""

    code = "AGENT_CARD_INVALID"


def _well_formed(s: str) -> bool:
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def _one_line(s: Any, lo: int, hi: int) -> bool:
    return (
        isinstance(s, str)
        and _well_formed(s)
        and lo <= utf16_len(s) <= hi
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s)
    )


def _description_ok(s: Any) -> bool:
    return (
        isinstance(s, str)
        and _well_formed(s)
        and utf16_len(s) <= 2000
        and not any((ord(c) < 0x20 and c not in "\t\n\r") or ord(c) == 0x7F for c in s)
    )


def _endpoint_ok(url: Any) -> bool:
    if not isinstance(url, str) or not _well_formed(url) or len(url) > 2048 or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def card_problem(card: Any) -> str | None:
    """Why `card` is not a valid v1 card, or None when it is."""
    if not isinstance(card, Mapping):
        return "the card is not an object"
    if set(card) != set(CARD_FIELDS):
        return f"the card must have exactly the fields {list(CARD_FIELDS)}"
    if card["format"] != CARD_FORMAT:
        return f"format must be {CARD_FORMAT}"
    if not _one_line(card["name"], 1, 128):
        return "name: 1..128 characters on one line"
    if not _description_ok(card["description"]):
        return "description: at most 2000 characters, no control character but tab, LF, CR"
    caps = card["capabilities"]
    if not isinstance(caps, list) or len(caps) > 64 or len(set(map(str, caps))) != len(caps):
        return "capabilities: at most 64, no duplicates"
    if not all(isinstance(c, str) and _CAPABILITY.fullmatch(c) for c in caps):
        return "capabilities: each must match ^[a-z0-9][a-z0-9._:-]{0,63}$"
    if not _one_line(card["framework"], 0, 64):
        return "framework: at most 64 characters on one line"
    if not _one_line(card["version"], 0, 32):
        return "version: at most 32 characters on one line"
    eps = card["endpoints"]
    if not isinstance(eps, list) or len(eps) > 16:
        return "endpoints: at most 16"
    for e in eps:
        if not isinstance(e, Mapping) or set(e) != {"name", "endpoint"}:
            return "an endpoint is {name, endpoint}"
        if not _one_line(e["name"], 1, 64) or not _endpoint_ok(e["endpoint"]):
            return "an endpoint needs a name and an absolute http(s) URL"
    if card["codeMeasurement"] is not None and not is_hex(card["codeMeasurement"], 32):
        return "codeMeasurement: 32-byte lowercase hex or null"
    if card["owner"] is not None and not is_hex(card["owner"], 20):
        return "owner: a lowercase address or null"
    return None


def make_card(
    name: str,
    *,
    description: str = "",
    capabilities: Sequence[str] = (),
    framework: str = "",
    version: str = "",
    endpoints: Sequence[Mapping[str, str]] = (),
    code_measurement: str | None = None,
    owner: str | None = None,
) -> dict:
    """A checked agent card. Raises CardError when a field breaks agent-card.md §1."""
    card = {
        "format": CARD_FORMAT,
        "name": name,
        "description": description,
        "capabilities": list(capabilities),
        "framework": framework,
        "version": version,
        "endpoints": [dict(e) for e in endpoints],
        "codeMeasurement": code_measurement,
        "owner": owner,
    }
    problem = card_problem(card)
    if problem is not None:
        raise CardError(problem)
    return card


def card_hash(card: Mapping[str, Any]) -> str:
    """SHA-256 of the card's RFC 8785 canonical JSON (agent-card.md §1.1), 0x-hex."""
    return "0x" + sha256(canonicalize(dict(card))).hex()
