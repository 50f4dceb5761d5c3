"""AWS Nitro Enclaves attestation documents, verified independently of the
TypeScript verifier (docs/spec/attestation.md §6): COSE_Sign1 with ES384 (cbor2),
the certificate path to the pinned AWS Nitro Enclaves Root G1 (cryptography),
freshness, PCR allow-lists, expected user_data and nonce.
"""

from __future__ import annotations

import io

import cbor2

from .errors import Invalid
from .tee_x509 import at_unix, ecdsa_verify, fingerprint, load_certificate, verify_path

NITRO_ROOT_G1_SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
_KEYS = {"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce"}


def _malformed(message: str) -> Invalid:
    return Invalid("ATTESTATION_EVIDENCE_MALFORMED", message)


def _decode(data: bytes):
    stream = io.BytesIO(bytes(data))
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as e:  # noqa: BLE001 - truncated or invalid CBOR
        raise _malformed(f"the evidence is not valid CBOR: {e}") from None
    if stream.tell() != len(data):
        raise _malformed("trailing bytes after the CBOR value")
    return value


def _optional_bytes(value, name: str, limit: int) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) > limit:
        raise _malformed(f"{name} is not a byte string of at most {limit} bytes")
    return value


def parse_nitro_document(data: bytes) -> dict:
    """The document's fields; raises Invalid(ATTESTATION_EVIDENCE_MALFORMED | ATTESTATION_ALGORITHM_UNSUPPORTED)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > 64 * 1024:
        raise _malformed("the attestation document is not bytes of at most 64 KiB")
    cose = _decode(data)
    if isinstance(cose, cbor2.CBORTag):
        if cose.tag != 18:
            raise _malformed("the evidence has a CBOR tag other than COSE_Sign1 (18)")
        cose = cose.value
    if not isinstance(cose, list) or len(cose) != 4:
        raise _malformed("the evidence is not a COSE_Sign1 array of four members")
    protected, unprotected, payload, signature = cose
    if not (isinstance(protected, bytes) and isinstance(unprotected, dict) and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise _malformed("the COSE_Sign1 members have the wrong types")
    header = _decode(protected) if protected else {}
    if not isinstance(header, dict):
        raise _malformed("the COSE protected header is not a map")
    if header != {1: -35}:
        raise Invalid("ATTESTATION_ALGORITHM_UNSUPPORTED", "the COSE algorithm is not ES384 (-35)")
    if len(signature) != 96:
        raise _malformed("the ES384 signature is not 96 bytes")
    doc = _decode(payload)
    if not isinstance(doc, dict):
        raise _malformed("the payload is not a CBOR map")
    for key in doc:
        if not isinstance(key, str) or key not in _KEYS:
            raise _malformed(f"the payload has an unknown field {key!r}")
    module_id = doc.get("module_id")
    if not isinstance(module_id, str) or not 0 < len(module_id) <= 256:
        raise _malformed("module_id is not a non-empty text")
    if doc.get("digest") != "SHA384":
        raise _malformed('digest is not "SHA384"')
    ts = doc.get("timestamp")
    if not isinstance(ts, int) or isinstance(ts, bool) or not 0 < ts < 2**53:
        raise _malformed("timestamp is not a positive integer")
    pcrs = doc.get("pcrs")
    if not isinstance(pcrs, dict) or not 0 < len(pcrs) <= 32:
        raise _malformed("pcrs is not a map of 1 to 32 entries")
    for index, value in pcrs.items():
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 31:
            raise _malformed("a PCR index is not an integer 0..31")
        if not isinstance(value, bytes) or len(value) != 48:
            raise _malformed(f"PCR{index} is not 48 bytes (SHA-384)")
    cert = doc.get("certificate")
    if not isinstance(cert, bytes) or not 0 < len(cert) <= 1024:
        raise _malformed("certificate is not a DER byte string of 1..1024 bytes")
    bundle = doc.get("cabundle")
    if not isinstance(bundle, list) or not 0 < len(bundle) <= 8 or not all(isinstance(c, bytes) and 0 < len(c) <= 1024 for c in bundle):
        raise _malformed("cabundle is not 1..8 DER byte strings")
    return {
        "module_id": module_id,
        "timestamp_ms": ts,
        "pcrs": {str(k): "0x" + v.hex() for k, v in pcrs.items()},
        "certificate": cert,
        "cabundle": bundle,
        "public_key": _optional_bytes(doc.get("public_key"), "public_key", 1024),
        "user_data": _optional_bytes(doc.get("user_data"), "user_data", 1024),
        "nonce": _optional_bytes(doc.get("nonce"), "nonce", 1024),
        "protected": protected,
        "payload": payload,
        "signature": signature,
    }


def _expected(actual: bytes | None, expected: str | None, name: str) -> None:
    if expected is None:
        return
    try:
        want = bytes.fromhex(expected.removeprefix("0x"))
    except ValueError:
        raise Invalid("INVALID_INPUT", f"the expected {name} is not hex") from None
    if actual is None or actual != want:
        raise Invalid("ATTESTATION_REPORT_DATA_MISMATCH", f"the document's {name} is not the expected value")


def verify_nitro_document(data: bytes, policy: dict) -> dict:
    """Verifies a document under `policy` (now, trustedRootFingerprints, allowedPcrs,
    maxAgeSeconds, maxFutureSkewSeconds, expectedUserData, expectedNonce); returns
    {platform, timestamp, module_id, pcrs, root_fingerprint}. Raises Invalid(code)."""
    now = policy.get("now")
    if not isinstance(now, int) or now < 0:
        raise Invalid("INVALID_INPUT", "policy.now must be unix seconds")
    doc = parse_nitro_document(data)
    path = [load_certificate(doc["certificate"])] + [load_certificate(c) for c in reversed(doc["cabundle"])]
    verify_path(path, at_unix(now), list(policy.get("trustedRootFingerprints") or [NITRO_ROOT_G1_SHA256]))
    leaf_key = path[0].public_key()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = leaf_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    signed = cbor2.dumps(["Signature1", doc["protected"], b"", doc["payload"]])
    if leaf_key.curve.name != "secp384r1" or not ecdsa_verify("P-384", point, signed, doc["signature"]):
        raise Invalid("ATTESTATION_NITRO_SIGNATURE_INVALID", "the document's ES384 signature does not verify")
    timestamp = doc["timestamp_ms"] // 1000
    skew = policy.get("maxFutureSkewSeconds", 60)
    max_age = policy.get("maxAgeSeconds")
    if timestamp > now + skew or (max_age is not None and timestamp < now - max_age):
        raise Invalid("ATTESTATION_STALE", "the document's timestamp is outside the accepted window")
    for index, allowed in (policy.get("allowedPcrs") or {}).items():
        value = doc["pcrs"].get(str(index))
        if value is None or value not in [a.lower() for a in allowed]:
            raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", f"PCR{index} is not in the allow-list")
    _expected(doc["user_data"], policy.get("expectedUserData"), "user_data")
    _expected(doc["nonce"], policy.get("expectedNonce"), "nonce")
    return {
        "platform": "aws-nitro",
        "timestamp": timestamp,
        "module_id": doc["module_id"],
        "pcrs": doc["pcrs"],
        "root_fingerprint": fingerprint(path[-1]),
        "nonce": None if doc["nonce"] is None else "0x" + doc["nonce"].hex(),
        "user_data": None if doc["user_data"] is None else "0x" + doc["user_data"].hex(),
    }
