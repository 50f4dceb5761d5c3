"""AMD SEV-SNP attestation reports (docs/spec/attestation.md §12), independent of the
TypeScript verifier (packages/core/src/tee/snp.ts): same vectors
(vectors/attestation/snp.json), same codes. Certificates and RSASSA-PSS through
`cryptography`.
"""

from __future__ import annotations

import struct
import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import SignatureAlgorithmOID

from .errors import Invalid
from .tee_x509 import at_unix, ecdsa_verify, fingerprint

AMD_ARK_MILAN_SHA256 = "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"
AMD_ARK_GENOA_SHA256 = "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"
REPORT_BYTES = 0x4A0
VERSIONS = (2, 3, 5)
_SIGNED = 0x2A0
_DEBUG = 1 << 19
_EXT = {
    "bootLoader": "1.3.6.1.4.1.3704.1.3.1",
    "tee": "1.3.6.1.4.1.3704.1.3.2",
    "snp": "1.3.6.1.4.1.3704.1.3.3",
    "microcode": "1.3.6.1.4.1.3704.1.3.8",
}
_HWID = "1.3.6.1.4.1.3704.1.4"
_RSA_PSS_SHA384 = bytes.fromhex(
    "304606092a864886f70d01010a3039a00f300d06096086480165030402020500a11c301a06092a864886f70d010108"
    "300d06096086480165030402020500a203020130a303020101"
)


def _tcb(b: bytes, at: int) -> dict:
    return {"bootLoader": b[at], "tee": b[at + 1], "snp": b[at + 6], "microcode": b[at + 7]}


def parse_snp_report(data: bytes) -> dict:
    """The report's fields; raises Invalid(ATTESTATION_EVIDENCE_MALFORMED | _UNSUPPORTED_QUOTE | _ALGORITHM_UNSUPPORTED)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != REPORT_BYTES:
        raise Invalid("ATTESTATION_EVIDENCE_MALFORMED", f"an SNP report is {REPORT_BYTES} bytes")
    b = bytes(data)
    version = struct.unpack_from("<I", b, 0)[0]
    if version not in VERSIONS:
        raise Invalid("ATTESTATION_UNSUPPORTED_QUOTE", f"SNP report version {version} is not supported")
    if struct.unpack_from("<I", b, 0x34)[0] != 1:
        raise Invalid("ATTESTATION_ALGORITHM_UNSUPPORTED", "the report is not signed with ECDSA P-384 SHA-384")
    if (struct.unpack_from("<I", b, 0x48)[0] >> 2) & 0x7 != 0:
        raise Invalid("ATTESTATION_UNSUPPORTED_QUOTE", "only VCEK-signed reports are supported")
    s = _SIGNED
    if any(b[s + 48:s + 72]) or any(b[s + 120:]):
        raise Invalid("ATTESTATION_EVIDENCE_MALFORMED", "the signature's padding is not zero")
    return {
        "version": version,
        "policy": struct.unpack_from("<Q", b, 0x08)[0],
        "report_data": "0x" + b[0x50:0x90].hex(),
        "measurement": "0x" + b[0x90:0xC0].hex(),
        "host_data": "0x" + b[0xC0:0xE0].hex(),
        "reported_tcb": _tcb(b, 0x180),
        "chip_id": b[0x1A0:0x1E0],
        "signed": b[:_SIGNED],
        "signature": b[s:s + 48][::-1] + b[s + 72:s + 120][::-1],
    }


def _load(der: bytes) -> x509.Certificate:
    try:
        with warnings.catch_warnings():
            # AMD's KDS issues VCEKs with serial number 0, which cryptography warns about
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(bytes(der))
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc, cert.tbs_certificate_bytes, cert.signature
        _ = cert.issuer.public_bytes(), cert.subject.public_bytes(), cert.public_key()
        for ext in cert.extensions:
            _ = ext.value
        params = cert.signature_algorithm_parameters
        # inside the try: a mangled algorithm OID raises UnsupportedAlgorithm here (found by hypothesis)
        pss_sha384 = (
            cert.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
            and isinstance(cert.signature_hash_algorithm, hashes.SHA384)
            and isinstance(params, padding.PSS)
        )
        # the outer AlgorithmIdentifier is not signed: it must be exactly the PSS/SHA-384/salt-48
        # encoding, as the signed inner one (a changed salt or trailer byte there was accepted)
        der = bytes(der)
        header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
        outer = header + len(cert.tbs_certificate_bytes)
        pss_sha384 = pss_sha384 and der[outer:outer + len(_RSA_PSS_SHA384)] == _RSA_PSS_SHA384
        pss_sha384 = pss_sha384 and _RSA_PSS_SHA384 in cert.tbs_certificate_bytes
        # the signature BIT STRING must have no unused bits (cryptography ignores that byte)
        bits = outer + len(_RSA_PSS_SHA384)
        content = bits + 2 + (der[bits + 1] & 0x7F if der[bits + 1] & 0x80 else 0)
        pss_sha384 = pss_sha384 and der[bits] == 0x03 and der[content] == 0
    except Exception as e:  # noqa: BLE001 - any parse failure is the same coded error
        raise Invalid("ATTESTATION_CHAIN_INVALID", f"an AMD certificate is not valid DER X.509: {e}") from None
    if not pss_sha384:
        raise Invalid("ATTESTATION_CHAIN_INVALID", "an AMD certificate is not signed with RSASSA-PSS SHA-384")
    return cert


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(
            cert.signature, cert.tbs_certificate_bytes,
            padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48), hashes.SHA384(),
        )
        return True
    except InvalidSignature:
        return False


def _spl(cert: x509.Certificate, oid: str) -> int | None:
    try:
        value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value.value
    except (x509.ExtensionNotFound, AttributeError):
        return None
    if len(value) < 3 or len(value) > 6 or value[0] != 0x02 or value[1] != len(value) - 2 or value[2] & 0x80:
        return None
    return int.from_bytes(value[2:], "big")


def verify_snp_report(data: bytes, certificates: list, policy: dict) -> dict:
    """Verifies a report; every failure is Invalid with an ATTESTATION_* code (see _verify)."""
    try:
        return _verify(data, certificates, policy)
    except Invalid:
        raise
    except Exception as e:  # noqa: BLE001 - defensive: no stray exception escapes a verifier
        raise Invalid("ATTESTATION_EVIDENCE_MALFORMED", f"unexpected {type(e).__name__}") from None


def _verify(data: bytes, certificates: list, policy: dict) -> dict:
    """Verifies a report with [VCEK, ASK, ARK] (DER) under `policy` (now,
    trustedRootFingerprints, allowedMeasurements, minimumTcb, allowDebug,
    expectedReportData); returns {platform, version, measurement, host_data,
    reported_tcb, report_data, root_fingerprint}. Raises Invalid(code)."""
    now = policy.get("now")
    if not isinstance(now, int) or now < 0:
        raise Invalid("INVALID_INPUT", "policy.now must be unix seconds")
    r = parse_snp_report(data)
    if not isinstance(certificates, (list, tuple)) or len(certificates) != 3:
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the evidence carries the VCEK, the ASK and the ARK")
    chain = [_load(c) for c in certificates]
    vcek, ask, ark = chain
    roots = list(policy.get("trustedRootFingerprints") or [AMD_ARK_MILAN_SHA256, AMD_ARK_GENOA_SHA256])
    if fingerprint(ark) not in roots:
        raise Invalid("ATTESTATION_ROOT_UNTRUSTED", "the VCEK chain does not end at a pinned AMD root")
    at = at_unix(now)
    for i, cert in enumerate(chain):
        if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            raise Invalid("ATTESTATION_CERT_EXPIRED", f"certificate {i} is not valid at the time checked")
    for i, (child, issuer) in enumerate([(vcek, ask), (ask, ark)]):
        if (
            child.issuer.public_bytes() != issuer.subject.public_bytes()
            or not _is_ca(issuer)
            or not isinstance(issuer.public_key(), rsa.RSAPublicKey)
        ):
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i} is not issued by certificate {i + 1}")
        if not _signed_by(child, issuer):
            raise Invalid("ATTESTATION_CHAIN_INVALID", f"certificate {i}'s signature does not verify")
    key = vcek.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1" or _is_ca(vcek):
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the VCEK is not a P-384 end-entity certificate")
    try:
        hwid = vcek.extensions.get_extension_for_oid(x509.ObjectIdentifier(_HWID)).value.value
    except (x509.ExtensionNotFound, AttributeError):
        hwid = None
    if hwid != r["chip_id"]:
        raise Invalid("ATTESTATION_SNP_VCEK_MISMATCH", "the VCEK is for another chip than the report's")
    for k, oid in _EXT.items():
        if _spl(vcek, oid) != r["reported_tcb"][k]:
            raise Invalid("ATTESTATION_SNP_VCEK_MISMATCH", f"the VCEK's {k} SPL is not the report's")
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    if not ecdsa_verify("P-384", point, r["signed"], r["signature"]):
        raise Invalid("ATTESTATION_SNP_REPORT_SIGNATURE_INVALID", "the report's signature does not verify")
    for k, least in (policy.get("minimumTcb") or {}).items():
        if least is not None and not r["reported_tcb"][k] >= least:
            raise Invalid("ATTESTATION_TCB_STATUS_NOT_ALLOWED", f"the reported TCB's {k} SPL is below the policy's")
    if r["policy"] & _DEBUG and policy.get("allowDebug") is not True:
        raise Invalid("ATTESTATION_DEBUG_NOT_ALLOWED", "the guest policy allows debugging")
    allowed = policy.get("allowedMeasurements")
    if allowed is not None and r["measurement"] not in [m.lower() for m in allowed]:
        raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "MEASUREMENT is not in the allow-list")
    expected = policy.get("expectedReportData")
    if expected is not None and expected.lower() != r["report_data"]:
        raise Invalid("ATTESTATION_REPORT_DATA_MISMATCH", "REPORT_DATA is not the expected value")
    return {
        "platform": "amd-sev-snp", "version": r["version"], "measurement": r["measurement"],
        "host_data": r["host_data"], "reported_tcb": r["reported_tcb"], "report_data": r["report_data"],
        "root_fingerprint": fingerprint(ark),
    }
