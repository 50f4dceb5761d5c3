"""Trust policies (chaoscore.trust-policy/v1) and C2SP cosignatures, as in docs/spec/trust-policy.md.

A policy names the log key, the witnesses whose cosignatures a receipt's
checkpoint needs (k of n) and the anchor contracts to trust. Independent of the
TypeScript implementation: same vectors (vectors/trust-policy/), same codes.
"""

import json
import re
import struct
from dataclasses import dataclass, field

from . import ed25519
from .errors import Invalid, ReceiptError
from .jcs import parse_json
from .note import parse_verifier_key, valid_name
from .util import b64decode_canonical, sha256
from .tee_evidence import parse_attestation_policy
from .verify import VerifiedReceipt, verify_receipt

FORMAT = "chaoscore.trust-policy/v1"
MAX_POLICY_SIZE = 64 * 1024
MAX_WITNESSES = 64
MAX_ANCHORS = 64
ALG_COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_BYTES = 4 + 8 + 64


@dataclass(frozen=True)
class WitnessKey:
    name: str
    key_id: bytes
    public_key: bytes


@dataclass(frozen=True)
class TrustPolicy:
    log_key: str
    witness_keys: list = field(default_factory=list)
    quorum: int = 0
    anchors: list = field(default_factory=list)  # [{"chainId": str, "contract": lowercase str}]
    attestation: dict | None = None

    def as_expected(self) -> dict:
        """The policy in the vectors' `expected` shape."""
        out = {
            "format": FORMAT,
            "log": {"key": self.log_key},
            "witnesses": {"keys": list(self.witness_keys), "quorum": self.quorum},
            "anchors": [dict(a) for a in self.anchors],
        }
        if self.attestation is not None:
            out["attestation"] = self.attestation
        return out


def _fail(code: str, message: str):
    raise ReceiptError(code, message)


def witness_key_id(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key)[:4]


def parse_witness_key(text) -> WitnessKey:
    """A cosignature/v1 verifier key `<name>+<keyid>+<base64(0x04 || key)>`; raises Invalid."""
    if not isinstance(text, str):
        raise Invalid("COSIGNATURE_MALFORMED", "a witness key is text")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Invalid("COSIGNATURE_MALFORMED", "a witness key has the form <name>+<keyid>+<key>")
    name, kid, b64 = parts
    if not valid_name(name):
        raise Invalid("COSIGNATURE_MALFORMED", "invalid witness key name")
    if re.fullmatch(r"[0-9a-f]{8}", kid) is None:
        raise Invalid("COSIGNATURE_MALFORMED", "key id is not 8 lowercase hex digits")
    raw = b64decode_canonical(b64)
    if raw is None or len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise Invalid("COSIGNATURE_MALFORMED", "key is not canonical base64 of 0x04 || 32 bytes")
    pub = raw[1:]
    if not ed25519.point_decodes(pub):
        raise Invalid("COSIGNATURE_MALFORMED", "not an Ed25519 public key")
    if witness_key_id(name, pub).hex() != kid:
        raise Invalid("COSIGNATURE_MALFORMED", "key id does not match the key")
    return WitnessKey(name, bytes.fromhex(kid), pub)


def _is_int(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and v.is_integer()


def _is_key_string(v) -> bool:
    # TypeBox counts UTF-16 code units; keys are ASCII in practice
    return isinstance(v, str) and 1 <= len(v.encode("utf-16-le")) // 2 <= 1024


def _malformed(what: str):
    _fail("TRUST_POLICY_MALFORMED", what)


def _check_shape(p: dict):
    if not set(p) <= {"format", "log", "witnesses", "anchors", "attestation"}:
        _malformed("the trust policy has an unknown field")
    if set(p["log"]) != {"key"} or not _is_key_string(p["log"]["key"]):
        _malformed("log is {key}")
    if "witnesses" in p:
        w = p["witnesses"]
        if not isinstance(w, dict) or set(w) != {"keys", "quorum"}:
            _malformed("witnesses is {keys, quorum}")
        if not isinstance(w["keys"], list) or len(w["keys"]) > MAX_WITNESSES:
            _malformed("witnesses.keys is a list of at most 64 keys")
        if not all(_is_key_string(k) for k in w["keys"]):
            _malformed("a witness key is not a string")
        if not _is_int(w["quorum"]) or not 0 <= w["quorum"] <= MAX_WITNESSES:
            _malformed("witnesses.quorum is an integer in [0, 64]")
    if "anchors" in p:
        a = p["anchors"]
        if not isinstance(a, list) or len(a) > MAX_ANCHORS:
            _malformed("anchors is a list of at most 64 anchors")
        for x in a:
            if not isinstance(x, dict) or set(x) != {"chainId", "contract"}:
                _malformed("an anchor is {chainId, contract}")
            if not isinstance(x["chainId"], str) or re.fullmatch(r"[1-9][0-9]{0,19}", x["chainId"], re.ASCII) is None:
                _malformed("an anchor's chainId is a decimal chain id")
            if not isinstance(x["contract"], str) or re.fullmatch(r"0x[0-9a-fA-F]{40}", x["contract"], re.ASCII) is None:
                _malformed("an anchor's contract is a 0x-hex address")
    if "attestation" in p:
        try:
            parse_attestation_policy(p["attestation"])
        except Invalid as err:
            _malformed(f"the attestation member is malformed: {err.message}")


def parse_trust_policy(value) -> TrustPolicy:
    """Parse and check a policy (JSON text, UTF-8 bytes or a parsed dict); raises ReceiptError(TRUST_POLICY_*)."""
    if isinstance(value, TrustPolicy):
        value = value.as_expected()
    if isinstance(value, (str, bytes, bytearray)):
        raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        if len(raw) > MAX_POLICY_SIZE:
            _malformed("a trust policy is at most 64 KiB")
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            _malformed("the trust policy is not valid JSON")
    if not isinstance(value, dict):
        _malformed("a trust policy is a JSON object")
    if value.get("format") != FORMAT:
        _malformed(f'a trust policy\'s format is "{FORMAT}"')
    log = value.get("log")
    if not isinstance(log, dict) or not isinstance(log.get("key"), str) or log["key"].strip() == "":
        _fail("TRUST_POLICY_NO_KEY", "the trust policy names no log key (log.key)")
    _check_shape(value)
    try:
        parse_verifier_key(log["key"])
    except Invalid as err:
        _malformed(f"log.key is not a log verifier key ({err.code})")
    keys = value.get("witnesses", {}).get("keys", [])
    ids, pubs = set(), set()
    for i, k in enumerate(keys):
        try:
            w = parse_witness_key(k)
        except Invalid as err:
            _malformed(f"witnesses.keys[{i}] is not a witness (cosignature/v1) verifier key: {err.message}")
        if (w.name, w.key_id) in ids or w.public_key in pubs:
            _fail("TRUST_POLICY_DUPLICATE_KEY", f"witnesses.keys[{i}] is listed twice")
        ids.add((w.name, w.key_id))
        pubs.add(w.public_key)
    quorum = int(value.get("witnesses", {}).get("quorum", 0))
    if quorum > len(keys):
        _fail("TRUST_POLICY_QUORUM_INVALID", f"the quorum {quorum} exceeds the {len(keys)} witness key(s)")
    anchors = []
    for i, a in enumerate(value.get("anchors", [])):
        anchor = {"chainId": a["chainId"], "contract": a["contract"].lower()}
        if anchor in anchors:
            _malformed(f"anchors[{i}] is listed twice")
        anchors.append(anchor)
    return TrustPolicy(log["key"], list(keys), quorum, anchors, value.get("attestation"))


def verify_cosignatures(note: str, witness_keys: list) -> list:
    """Check the cosignature lines of a signed checkpoint by the given witness keys (C2SP tlog-cosignature).

    One result per line whose name and key ID match a key, in note order:
    {name, keyId, timestamp, verified}. The log's own signature is not checked here.
    """
    keys = [k if isinstance(k, WitnessKey) else parse_witness_key(k) for k in witness_keys]
    i = note.rfind("\n\n")
    if i < 0 or not note.endswith("\n"):
        raise Invalid("COSIGNATURE_MALFORMED", "not a signed note")
    body, block = note[: i + 1], note[i + 2 :]
    results = []
    for line in block[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Invalid("COSIGNATURE_MALFORMED", "a signature line starts with an em dash")
        name, sp, b64 = line[2:].partition(" ")
        blob = b64decode_canonical(b64) if sp else None
        if not valid_name(name) or blob is None or len(blob) < 5:
            raise Invalid("COSIGNATURE_MALFORMED", "a malformed signature line")
        key = next((k for k in keys if k.name == name and k.key_id == blob[:4]), None)
        if key is None:
            continue
        if len(blob) != COSIGNATURE_BYTES:
            results.append({"name": key.name, "keyId": key.key_id.hex(), "timestamp": 0, "verified": False})
            continue
        (t,) = struct.unpack(">Q", blob[4:12])
        message = f"cosignature/v1\ntime {t}\n".encode() + body.encode("utf-8")
        ok = t <= MAX_TIMESTAMP and ed25519.verify(key.public_key, message, blob[12:])
        results.append({"name": key.name, "keyId": key.key_id.hex(), "timestamp": t, "verified": ok})
    return results


def check_witness_quorum(note: str, policy: TrustPolicy) -> dict:
    """{required, verified (distinct policy witnesses), cosignatures}."""
    cosignatures = verify_cosignatures(note, policy.witness_keys) if policy.witness_keys else []
    distinct = {(c["name"], c["keyId"]) for c in cosignatures if c["verified"]}
    return {"required": policy.quorum, "verified": len(distinct), "cosignatures": cosignatures}


def is_trusted_anchor(policy: TrustPolicy, anchor: dict) -> bool:
    if not policy.anchors:
        return True
    return {"chainId": anchor["chainId"], "contract": anchor["contract"].lower()} in policy.anchors


@dataclass(frozen=True)
class VerifiedWithPolicy:
    receipt: VerifiedReceipt
    witnesses: dict

    def as_expected(self) -> dict:
        return {**self.receipt.as_expected(), "witnesses": self.witnesses}


def verify_receipt_with_policy(receipt, policy, attestation_roots=None, attestation_policy=None) -> VerifiedWithPolicy:
    """verify_receipt under the policy's log key, then the witness quorum, then the trusted anchors.

    Raises ReceiptError only: TRUST_POLICY_* (bad policy), the RECEIPT_* codes of verify_receipt,
    RECEIPT_WITNESS_QUORUM, RECEIPT_ANCHOR_UNTRUSTED.
    """
    p = parse_trust_policy(policy)
    # the policy's attestation member judges the receipt's attestation unless the caller gives one
    verified = verify_receipt(
        receipt, p.log_key, attestation_roots, attestation_policy if attestation_policy is not None else p.attestation,
    )
    obj = receipt
    if isinstance(receipt, (str, bytes, bytearray, memoryview)):
        obj = parse_json(receipt)
    try:
        witnesses = check_witness_quorum(obj["checkpoint"], p)
    except Invalid as err:
        _fail("RECEIPT_CHECKPOINT_INVALID", f"the checkpoint's cosignatures cannot be read ({err.code})")
    if witnesses["verified"] < witnesses["required"]:
        _fail(
            "RECEIPT_WITNESS_QUORUM",
            f"the checkpoint is cosigned by {witnesses['verified']} of the {witnesses['required']} witnesses the policy requires",
        )
    if verified.anchor is not None and not is_trusted_anchor(p, verified.anchor):
        _fail("RECEIPT_ANCHOR_UNTRUSTED", "the anchor is on a chain or contract the policy does not trust")
    return VerifiedWithPolicy(verified, witnesses)
