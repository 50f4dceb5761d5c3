"""X.509 path checks shared by the Nitro and TDX verifiers (independent of the
TypeScript one: certificates are read with `cryptography`, not our DER walker).

Errors are `Invalid(code)` with the codes of docs/errors.md.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import Invalid

_CURVES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384}
_SIG_OIDS = {
    "1.2.840.10045.4.3.2": ("secp256r1", hashes.SHA256),
    "1.2.840.10045.4.3.3": ("secp384r1", hashes.SHA384),
}


def load_certificate(der: bytes, code: str = "ATTESTATION_CHAIN_INVALID") -> x509.Certificate:
    """A DER certificate with an ECDSA P-256/P-384 key and signature, else Invalid(code)."""
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
        key = cert.public_key()
        oid = cert.signature_algorithm_oid.dotted_string
        # cryptography parses lazily: touch every field the checks read, so that a
        # malformed one fails here with the coded error
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc, cert.extensions
        _ = cert.issuer.public_bytes(), cert.subject.public_bytes(), cert.tbs_certificate_bytes
        _ = cert.signature, cert.serial_number
        for ext in cert.extensions:
            _ = ext.value
    except Exception as e:  # noqa: BLE001 - any parse failure is the same coded error
        raise Invalid(code, f"a certificate is not valid DER X.509: {e}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        raise Invalid(code, "a certificate's key is not P-256/P-384")
    if oid not in _SIG_OIDS:
        raise Invalid(code, "a certificate is not signed with ECDSA SHA-256/SHA-384")
    return cert


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def is_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    curve, hash_cls = _SIG_OIDS[cert.signature_algorithm_oid.dotted_string]
    key = issuer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
        return False
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_cls()))
        return True
    except InvalidSignature:
        return False


def _ca(cert: x509.Certificate) -> tuple[bool, int | None, bool]:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca, path_length = bc.ca, bc.path_length
    except x509.ExtensionNotFound:
        is_ca, path_length = False, None
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        can_sign = ku.key_cert_sign
    except x509.ExtensionNotFound:
        can_sign = True
    return is_ca, path_length, can_sign


def verify_path(path: list[x509.Certificate], at: datetime, roots: list[str]) -> None:
    """path = [leaf, …, root]: the root is pinned by its SHA-256 fingerprint (its
    self-signature is not checked), every certificate is valid at `at`, each is
    issued and signed by the next, a CA allowed to sign within its path length."""
    if not path:
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the certificate path is empty")
    if fingerprint(path[-1]) not in roots:
        raise Invalid("ATTESTATION_ROOT_UNTRUSTED", "the certificate path does not end at a pinned root")
    for i, cert in enumerate(path):
        if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            raise Invalid("ATTESTATION_CERT_EXPIRED", f"certificate {i} is not valid at the time checked")
        if i + 1 == len(path):
            continue
        issuer = path[i + 1]
        if cert.issuer.public_bytes() != issuer.subject.public_bytes():
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i} is not issued by certificate {i + 1}")
        is_ca, path_length, can_sign = _ca(issuer)
        if not is_ca or not can_sign:
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i + 1} is not a CA")
        if path_length is not None and i > path_length:
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i + 1}'s path length is exceeded")
        if not is_signed_by(cert, issuer):
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i}'s signature does not verify")


def at_unix(now: int) -> datetime:
    return datetime.fromtimestamp(now, tz=timezone.utc)


def ecdsa_verify(curve: str, point: bytes, message: bytes, rs: bytes) -> bool:
    """ECDSA over `message` (hashed with the curve's hash) with r ‖ s, key an uncompressed point."""
    size = 32 if curve == "P-256" else 48
    if len(rs) != 2 * size or len(point) != 1 + 2 * size:
        return False
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    ec_curve = ec.SECP256R1() if curve == "P-256" else ec.SECP384R1()
    hash_cls = hashes.SHA256 if curve == "P-256" else hashes.SHA384
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec_curve, bytes(point))
        r = int.from_bytes(rs[:size], "big")
        s = int.from_bytes(rs[size:], "big")
        key.verify(encode_dss_signature(r, s), bytes(message), ec.ECDSA(hash_cls()))
        return True
    except (InvalidSignature, ValueError):
        return False
