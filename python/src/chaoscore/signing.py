"""Local EIP-712 signing of what an agent sends: actions, outcomes, registrations, requests.

The key never leaves the process: signatures are made with eth-account. Values
are carried in their JSON form (docs/spec/receipt.md §1): addresses and bytes32
as lowercase 0x-hex, uint64 as decimal strings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from eth_account import Account

from . import eip712
from .eip712 import Domain, as_domain
from .card import card_hash
from .jcs import canonicalize
from .util import is_hex, sha256

ENTRY_FORMAT = "chaoscore.entry/v2"
ZERO_HASH = "0x" + "00" * 32
MAX_UINT64 = 2**64 - 1
_N = eip712.N
_MISSING: Any = object()

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


class SigningError(ValueError):
    """A message could not be built (bad field); `code` is INVALID_INPUT."""

    code = "INVALID_INPUT"


def hash_json(value: Any) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of `value`, as 0x-hex."""
    return "0x" + sha256(canonicalize(value)).hex()


class LocalSigner:
    """A secp256k1 key held in this process. Its repr never shows the key."""

    __slots__ = ("_account", "address")

    def __init__(self, private_key: bytes | str):
        if isinstance(private_key, str):
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        if len(private_key) != 32:
            raise SigningError("a private key is 32 bytes")
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address.lower()

    @classmethod
    def generate(cls) -> LocalSigner:
        """A fresh random key."""
        while True:
            k = os.urandom(32)
            if 0 < int.from_bytes(k, "big") < _N:
                return cls(k)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"

    def sign_typed(self, kind: str, message: Mapping[str, Any], domain: Domain | int) -> str:
        """EIP-712 signature (r ‖ s ‖ v, low s, v ∈ {27, 28}) of `message` as struct `kind`,
        for `domain` (a Domain; a bare chain id means the development deployment)."""
        d = as_domain(domain)
        if not is_hex(d.verifying_contract, 20):
            raise SigningError("verifyingContract must be a lowercase 0x-hex address")
        fields = eip712.TYPES[kind]
        if set(message) != {f for f, _ in fields}:
            raise SigningError(f"{kind} must have exactly the fields {[f for f, _ in fields]}")
        typed = {}
        for name, typ in fields:
            v = message[name]
            if typ == "uint64":
                if not isinstance(v, str) or not v.isdigit() or int(v) > MAX_UINT64 or (len(v) > 1 and v[0] == "0"):
                    raise SigningError(f"{kind}.{name} must be a uint64 decimal string")
                typed[name] = int(v)
            elif typ == "address":
                if not is_hex(v, 20):
                    raise SigningError(f"{kind}.{name} must be a lowercase 0x-hex address")
                typed[name] = v
            elif typ == "bytes32":
                if not is_hex(v, 32):
                    raise SigningError(f"{kind}.{name} must be lowercase 0x-hex of 32 bytes")
                typed[name] = bytes.fromhex(v[2:])
            elif typ == "bytes32[]":
                if not isinstance(v, list) or not all(is_hex(x, 32) for x in v):
                    raise SigningError(f"{kind}.{name} must be a list of 32-byte hex")
                typed[name] = [bytes.fromhex(x[2:]) for x in v]
            elif typ == "string":
                if not isinstance(v, str):
                    raise SigningError(f"{kind}.{name} must be a string")
                typed[name] = v
        full = {
            "types": {"EIP712Domain": _DOMAIN_TYPE, kind: [{"name": f, "type": t} for f, t in fields]},
            "primaryType": kind,
            "domain": {
                "name": "ChaosCore",
                "version": eip712.DOMAIN_VERSION,
                "chainId": d.chain_id,
                "verifyingContract": d.verifying_contract,
            },
            "message": typed,
        }
        signed = self._account.sign_message(_encode_typed(full))
        r, s, v = signed.r, signed.s, signed.v
        if s > _N // 2:  # EIP-2 low s (libsecp256k1 already gives it; keep the invariant explicit)
            s, v = _N - s, 55 - v
        return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + bytes([v]).hex()


def _encode_typed(full: dict):
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message=full)


def _times(timestamp: int | None, ttl_seconds: int) -> tuple[str, str]:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return str(ts), str(ts + int(ttl_seconds))


def typed_id(kind: str, message: Mapping[str, Any], domain: Domain | int) -> str:
    """The EIP-712 digest of a message: the id of an action or outcome (0x-hex)."""
    return "0x" + eip712.digest(kind, dict(message), as_domain(domain)).hex()


def entry_domain(entry: Mapping[str, Any]) -> Domain:
    """The chain and deployment an entry was signed for."""
    return Domain(int(entry["chainId"]), entry["verifyingContract"])


def entry_id(entry: Mapping[str, Any]) -> str:
    """The id of a `chaoscore.entry/v2` entry."""
    kind = "Action" if entry["kind"] == "action" else "Outcome"
    return typed_id(kind, entry["message"], entry_domain(entry))


def sign_action(
    signer: LocalSigner,
    chain_id: Domain | int,
    action_type: str,
    nonce: int,
    payload: Any = _MISSING,
    *,
    payload_hash: str | None = None,
    studio: str = "",
    task: str = "",
    parents: Sequence[str] = (),
    attestation_hash: str | None = None,
    timestamp: int | None = None,
    ttl_seconds: int = 3600,
    agent: str | None = None,
) -> dict:
    """A signed action entry. Only the payload's hash is signed (ZERO_HASH without a payload)."""
    if payload_hash is None:
        payload_hash = ZERO_HASH if payload is _MISSING else hash_json(payload)
    ts, expiry = _times(timestamp, ttl_seconds)
    message = {
        "agent": agent or signer.address,
        "studio": studio,
        "task": task,
        "actionType": action_type,
        "payloadHash": payload_hash,
        "parents": list(parents),
        "attestationHash": attestation_hash or ZERO_HASH,
        "timestamp": ts,
        "nonce": str(int(nonce)),
        "expiry": expiry,
    }
    d = as_domain(chain_id)
    return {
        "format": ENTRY_FORMAT,
        "kind": "action",
        "chainId": str(d.chain_id),
        "verifyingContract": d.verifying_contract,
        "message": message,
        "signature": signer.sign_typed("Action", message, d),
    }


def sign_outcome(
    signer: LocalSigner,
    chain_id: Domain | int,
    action: str,
    status: str,
    nonce: int,
    *,
    result: Any = _MISSING,
    metrics: Mapping[str, Any] | None = None,
    timestamp: int | None = None,
    ttl_seconds: int = 3600,
    agent: str | None = None,
) -> tuple[dict, dict]:
    """A signed outcome entry (by an evaluator) and its metrics object."""
    if status not in ("success", "failure", "partial"):
        raise SigningError("status must be success, failure or partial")
    metrics = dict(metrics or {})
    ts, expiry = _times(timestamp, ttl_seconds)
    message = {
        "agent": agent or signer.address,
        "action": action,
        "status": status,
        "resultHash": ZERO_HASH if result is _MISSING else hash_json(result),
        "metricsHash": hash_json(metrics),
        "timestamp": ts,
        "nonce": str(int(nonce)),
        "expiry": expiry,
    }
    d = as_domain(chain_id)
    entry = {
        "format": ENTRY_FORMAT,
        "kind": "outcome",
        "chainId": str(d.chain_id),
        "verifyingContract": d.verifying_contract,
        "message": message,
        "signature": signer.sign_typed("Outcome", message, d),
    }
    return entry, metrics


def sign_registration(
    signer: LocalSigner,
    chain_id: Domain | int,
    card: Mapping[str, Any],
    *,
    nonce: int = 0,
    ttl_seconds: int = 3600,
    expiry: int | None = None,
) -> dict:
    """A `RegisterAgent` request `{chainId, card, message, signature}` (agent-card.md §2.2)."""
    message = {
        "agent": signer.address,
        "cardHash": card_hash(card),
        "nonce": str(int(nonce)),
        "expiry": str(int(time.time()) + ttl_seconds if expiry is None else int(expiry)),
    }
    d = as_domain(chain_id)
    return {
        "chainId": str(d.chain_id),
        "card": dict(card),
        "message": message,
        "signature": signer.sign_typed("RegisterAgent", message, d),
    }


def sign_request(
    signer: LocalSigner,
    chain_id: Domain | int,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    origin: str,
    nonce: str | None = None,
    expiry: int | None = None,
    ttl_seconds: int = 120,
) -> dict[str, str]:
    """The five `ChaosCore-*` headers of an agent-signed request (docs/api.md, Authentication).

    `origin` is the gateway's origin (scheme://host[:port]); `path` the request target as
    sent (path and query string); `body` the raw body bytes.
    """
    message = {
        "agent": signer.address,
        "origin": origin,
        "method": method.upper(),
        "path": path,
        "bodyHash": "0x" + sha256(body).hex(),
        "nonce": nonce or "0x" + os.urandom(32).hex(),
        "expiry": str(int(time.time()) + ttl_seconds if expiry is None else int(expiry)),
    }
    return {
        "ChaosCore-Agent": signer.address,
        "ChaosCore-Origin": origin,
        "ChaosCore-Nonce": message["nonce"],
        "ChaosCore-Expiry": message["expiry"],
        "ChaosCore-Signature": signer.sign_typed("Request", message, chain_id),
    }


def request_message(headers: Mapping[str, str], method: str, path: str, body: bytes = b"") -> dict:
    """The `Request` message that signed headers claim to sign (for checking them)."""
    return {
        "agent": headers["ChaosCore-Agent"],
        "origin": headers["ChaosCore-Origin"],
        "method": method.upper(),
        "path": path,
        "bodyHash": "0x" + sha256(body).hex(),
        "nonce": headers["ChaosCore-Nonce"],
        "expiry": headers["ChaosCore-Expiry"],
    }
