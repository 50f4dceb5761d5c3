"""chaoscore.attestation/v1 quotes (attestation.md §2): schema, hash, mock-tee verification."""

from . import ed25519
from .errors import Invalid
from .jcs import canonicalize
from .util import hex_bytes, is_hex, is_text, is_uint64_string, sha256

QUOTE_FIELDS = {
    "format", "provider", "measurement", "reportData", "nonce", "timestamp",
    "enclaveKey", "certificateChain", "signature",
}
CERT_FIELDS = {"subject", "publicKey", "notBefore", "notAfter", "issuer", "signature"}


def quote_schema_error(q) -> str | None:
    if not isinstance(q, dict):
        return "the quote is not an object"
    if set(q) != QUOTE_FIELDS:
        return "the quote has missing or unknown fields"
    if q["format"] != "chaoscore.attestation/v1":
        return "wrong quote format"
    if not is_text(q["provider"], 1, 64):
        return "bad provider"
    for f in ("measurement", "reportData", "enclaveKey"):
        if not is_hex(q[f], 32):
            return f"bad {f}"
    if not is_hex(q["nonce"], None, 1, 64):
        return "bad nonce"
    if not is_uint64_string(q["timestamp"]):
        return "bad timestamp"
    if not is_hex(q["signature"], 64):
        return "bad signature"
    chain = q["certificateChain"]
    if not isinstance(chain, list) or not 1 <= len(chain) <= 4:
        return "bad certificate chain"
    for c in chain:
        if not isinstance(c, dict) or set(c) != CERT_FIELDS:
            return "a certificate has missing or unknown fields"
        if not is_text(c["subject"], 1, 256) or not is_text(c["issuer"], 1, 256):
            return "bad certificate subject/issuer"
        if not is_hex(c["publicKey"], 32) or not is_hex(c["signature"], 64):
            return "bad certificate key/signature"
        if not is_uint64_string(c["notBefore"]) or not is_uint64_string(c["notAfter"]):
            return "bad certificate validity"
    return None


def attestation_hash(q) -> bytes:
    return sha256(canonicalize(q))


def verify_quote(q, policy: dict) -> None:
    """attestation.md §2.1; raises Invalid(ATTESTATION_*) on the first failing step."""
    err = quote_schema_error(q)
    if err:
        raise Invalid("ATTESTATION_MALFORMED", err)
    roots = policy.get("trustedRoots")
    if not isinstance(roots, list) or not 1 <= len(roots) <= 64 or not all(is_hex(r, 32) for r in roots):
        raise Invalid("INVALID_INPUT", "trustedRoots must be 1-64 32-byte hex keys")
    ts = int(q["timestamp"])
    chain = q["certificateChain"]
    # 2. chain
    if chain[0]["publicKey"] != q["enclaveKey"]:
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the first certificate does not certify the enclave key")
    for c in chain:
        if not int(c["notBefore"]) <= ts <= int(c["notAfter"]):
            raise Invalid("ATTESTATION_CHAIN_INVALID", "certificate not valid at the quote's timestamp")
    for i, c in enumerate(chain):
        tbs = b"chaoscore.attestation/v1 certificate\n" + canonicalize(
            {k: c[k] for k in ("subject", "publicKey", "notBefore", "notAfter", "issuer")}
        )
        sig = hex_bytes(c["signature"])
        if i + 1 < len(chain):
            ok = ed25519.verify(hex_bytes(chain[i + 1]["publicKey"]), tbs, sig)
        else:
            ok = any(ed25519.verify(hex_bytes(r), tbs, sig) for r in roots)
        if not ok:
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i} does not verify")
    # 3. signature
    unsigned = {k: v for k, v in q.items() if k != "signature"}
    if not ed25519.verify(hex_bytes(q["enclaveKey"]), b"chaoscore.attestation/v1 quote\n" + canonicalize(unsigned), hex_bytes(q["signature"])):
        raise Invalid("ATTESTATION_SIGNATURE_INVALID", "quote signature does not verify")
    # 4. allow-lists
    ap = policy.get("allowedProviders")
    if ap is not None and q["provider"] not in ap:
        raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "provider not allowed")
    am = policy.get("allowedMeasurements")
    if am is not None and q["measurement"] not in am:
        raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "measurement not allowed")
    # 5. freshness
    now = int(policy["now"])
    max_age = int(policy.get("maxAgeSeconds", 3600))
    skew = int(policy.get("maxFutureSkewSeconds", 60))
    if not now - max_age <= ts <= now + skew:
        raise Invalid("ATTESTATION_STALE", "quote too old or in the future")
    # 6. report data
    if "expectedNonce" in policy and policy["expectedNonce"] != q["nonce"]:
        raise Invalid("ATTESTATION_REPORT_DATA_MISMATCH", "nonce mismatch")
    if "expectedReportData" in policy and policy["expectedReportData"] != q["reportData"]:
        raise Invalid("ATTESTATION_REPORT_DATA_MISMATCH", "report data mismatch")
