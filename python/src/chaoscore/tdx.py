"""Intel TDX quotes (v4, v5), verified independently of the TypeScript verifier
(docs/spec/attestation.md §7): quote and QE report signatures, the QE report's
binding of the attestation key, the PCK chain to the pinned Intel SGX Root CA,
the PCK CRL, and the TCB status from TCB info and QE identity collateral.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import Invalid
from .tee_x509 import at_unix, ecdsa_verify, fingerprint, load_certificate, verify_path

INTEL_SGX_ROOT_CA_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
_SGX_EXT = "1.2.840.113741.1.13.1"
_STATUSES = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked",
}


def _malformed(message: str) -> Invalid:
    return Invalid("ATTESTATION_EVIDENCE_MALFORMED", message)


def _unsupported(message: str) -> Invalid:
    return Invalid("ATTESTATION_UNSUPPORTED_QUOTE", message)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.at + n > len(self.data):
            raise _malformed(f"the quote is truncated ({what})")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def u16(self, what: str) -> int:
        return struct.unpack("<H", self.take(2, what))[0]

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]


def parse_tdx_quote(data: bytes) -> dict:
    if not isinstance(data, (bytes, bytearray)) or len(data) > 64 * 1024:
        raise _malformed("the quote is not bytes of at most 64 KiB")
    data = bytes(data)
    r = _Reader(data)
    version = r.u16("version")
    key_type = r.u16("attestation key type")
    tee_type = r.u32("TEE type")
    r.take(4 + 16 + 20, "header")
    if version not in (4, 5):
        raise _unsupported(f"quote version {version} is not 4 or 5")
    if tee_type != 0x81:
        raise _unsupported(f"TEE type {tee_type:#x} is not TDX (0x81)")
    if key_type != 2:
        raise _unsupported("the attestation key type is not ECDSA P-256 (2)")
    body_size = 584
    if version == 5:
        body_type, size = r.u16("body type"), r.u32("body size")
        if (body_type, size) not in ((2, 584), (3, 648)):
            raise _unsupported(f"v5 body type {body_type} of {size} bytes is not TDX 1.0 or 1.5")
        body_size = size
    body = r.take(body_size, "TD report body")
    signed = data[:r.at]
    sig_len = r.u32("signature data length")
    if r.at + sig_len != len(data):
        raise _malformed("the signature data length disagrees with the quote's size")
    signature = r.take(64, "quote signature")
    att_key = b"\x04" + r.take(64, "attestation key")
    cert_type, cert_size = r.u16("certification data type"), r.u32("certification data size")
    if cert_type != 6:
        raise _unsupported(f"certification data type {cert_type} is not 6 (QE report)")
    if r.at + cert_size != len(data):
        raise _malformed("the certification data size disagrees with the quote's size")
    qe_report = r.take(384, "QE report")
    qe_sig = r.take(64, "QE report signature")
    auth = r.take(r.u16("QE auth data size"), "QE auth data")
    inner_type, inner_size = r.u16("PCK certification data type"), r.u32("PCK certification data size")
    if inner_type != 5:
        raise _unsupported(f"inner certification data type {inner_type} is not 5 (PCK chain)")
    if r.at + inner_size != len(data):
        raise _malformed("the PCK chain size disagrees with the quote's size")
    chain = r.take(inner_size, "PCK chain").rstrip(b"\x00")
    try:
        pem = chain.decode("ascii")
    except UnicodeDecodeError:
        raise _malformed("the PCK chain is not text") from None
    if not re.fullmatch(r"[\x20-\x7e\r\n]*", pem):
        raise _malformed("the PCK chain is not PEM text")
    return {
        "version": version, "body": body, "signed": signed, "signature": signature,
        "attestation_key": att_key, "qe_report": qe_report, "qe_report_signature": qe_sig,
        "qe_auth_data": auth, "pck_chain_pem": pem,
    }


def _pem_certs(text: str, code: str, cert_code: str | None = None) -> list[x509.Certificate]:
    import base64

    out = []
    for block in re.findall(r"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----", text):
        try:
            der = base64.b64decode("".join(block.split()), validate=True)
        except ValueError:
            raise Invalid(code, "a PEM certificate is not base64") from None
        out.append(load_certificate(der, cert_code or code))
    return out


def _point(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _der_children(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, content) of each TLV in `data` (a strict, minimal DER walk)."""
    out, at = [], 0
    while at < len(data):
        tag = data[at]
        if at + 1 >= len(data):
            raise ValueError("truncated")
        first = data[at + 1]
        at += 2
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            if n == 0 or n > 4 or at + n > len(data):
                raise ValueError("bad length")
            length = int.from_bytes(data[at:at + n], "big")
            at += n
        if at + length > len(data):
            raise ValueError("truncated")
        out.append((tag, data[at:at + length]))
        at += length
    return out


def _pck_extensions(cert: x509.Certificate) -> dict:
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(_SGX_EXT)).value.value
        (tag, seq), = _der_children(ext)
        fmspc = pce_id = pce_svn = None
        comps = [None] * 16
        prefix = bytes.fromhex("2a864886f84d010d01")
        for _, entry in _der_children(seq):
            (_, oid), (vtag, value) = _der_children(entry)[:2]
            if oid == prefix + b"\x04":
                fmspc = value.hex()
            elif oid == prefix + b"\x03":
                pce_id = value.hex()
            elif oid == prefix + b"\x02":
                for _, comp in _der_children(value):
                    (_, coid), (_, cval) = _der_children(comp)[:2]
                    if coid[:-1] == prefix + b"\x02" and len(coid) == len(prefix) + 2:
                        n = coid[-1]
                        if 1 <= n <= 16:
                            comps[n - 1] = int.from_bytes(cval, "big")
                        elif n == 17:
                            pce_svn = int.from_bytes(cval, "big")
        if fmspc is None or len(fmspc) != 12 or pce_id is None or pce_svn is None or None in comps:
            raise ValueError("missing")
        return {"fmspc": fmspc, "pce_id": pce_id, "sgx": comps, "pce_svn": pce_svn}
    except (x509.ExtensionNotFound, ValueError, TypeError):
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the PCK certificate's SGX extensions are missing or malformed") from None


def _signed_json(text: str, key: str, chain_pem: str, at: datetime, roots: list[str]) -> dict:
    prefix = '{"' + key + '":'
    if not isinstance(text, str) or not text.startswith(prefix):
        raise _malformed(f"the collateral does not start with {prefix}")
    m = re.search(r',"signature":"([0-9a-fA-F]{128})"}\s*$', text)
    if m is None:
        raise _malformed("the collateral's signature member is missing or malformed")
    value = text[len(prefix):m.start()]
    try:
        body = json.loads(value)
    except ValueError:
        raise _malformed("the collateral is not JSON") from None
    if not isinstance(body, dict):
        raise _malformed(f"{key} is not an object")
    chain = _pem_certs(chain_pem, "ATTESTATION_COLLATERAL_INVALID")
    try:
        verify_path(chain, at, roots)
    except Invalid as e:
        if e.code == "ATTESTATION_CHAIN_INVALID":
            raise Invalid("ATTESTATION_COLLATERAL_INVALID", f"the {key} issuer chain is invalid") from None
        raise
    if not ecdsa_verify("P-256", _point(chain[0]), value.encode(), bytes.fromhex(m.group(1))):
        raise Invalid("ATTESTATION_COLLATERAL_INVALID", f"the {key} signature does not verify")
    return body


def _window(body: dict, at: datetime, what: str) -> None:
    try:
        issue = datetime.fromisoformat(str(body["issueDate"]).replace("Z", "+00:00"))
        nxt = datetime.fromisoformat(str(body["nextUpdate"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise _malformed(f"{what} has no valid dates") from None
    if not issue <= at <= nxt:
        raise Invalid("ATTESTATION_COLLATERAL_EXPIRED", f"{what} is not valid at the time checked")


def _status(level: dict) -> str:
    s = level.get("tcbStatus")
    if s not in _STATUSES:
        raise _malformed(f"unknown TCB status {s}")
    return s


def _masked(value: bytes, mask: str, expected: str) -> bool:
    m, e = bytes.fromhex(mask), bytes.fromhex(expected)
    return len(value) == len(m) == len(e) and all((v & k) == x for v, k, x in zip(value, m, e))


def _evaluate(collateral: dict, q: dict, pck: dict, at: datetime, roots: list[str]) -> tuple[str, str]:
    tcb = _signed_json(collateral["tcbInfo"], "tcbInfo", collateral["tcbInfoIssuerChain"], at, roots)
    qe = _signed_json(collateral["qeIdentity"], "enclaveIdentity", collateral["qeIdentityIssuerChain"], at, roots)
    if tcb.get("id") != "TDX" or tcb.get("version") != 3:
        raise Invalid("ATTESTATION_COLLATERAL_MISMATCH", "the TCB info is not TDX TCB info version 3")
    if str(tcb.get("fmspc")).lower() != pck["fmspc"] or str(tcb.get("pceId")).lower() != pck["pce_id"]:
        raise Invalid("ATTESTATION_COLLATERAL_MISMATCH", "the TCB info is for another FMSPC or PCE id")
    if qe.get("id") != "TD_QE":
        raise Invalid("ATTESTATION_COLLATERAL_MISMATCH", "the QE identity is not TD_QE")
    _window(tcb, at, "TCB info")
    _window(qe, at, "QE identity")
    body = q["body"]
    module = tcb.get("tdxModule")
    if module is not None:
        if module["mrsigner"].lower() != body[64:112].hex() or not _masked(body[112:120], module["attributesMask"], module["attributes"]):
            raise Invalid("ATTESTATION_COLLATERAL_MISMATCH", "the TD's MRSIGNERSEAM or SEAM attributes are not the TCB info's TDX module")
    svn = body[0:16]
    status = "NotSupported"
    for level in tcb.get("tcbLevels") or []:
        t = level["tcb"]
        sgx = [c["svn"] for c in t["sgxtcbcomponents"]]
        tdx = [c["svn"] for c in t["tdxtcbcomponents"]]
        if all(p >= s for p, s in zip(pck["sgx"], sgx)) and pck["pce_svn"] >= t["pcesvn"] and all(v >= s for v, s in zip(svn, tdx)):
            status = _status(level)
            break
    if status != "NotSupported" and svn[1] > 0:
        ident = next((m for m in tcb.get("tdxModuleIdentities") or [] if m.get("id") == f"TDX_{svn[1]:02X}"), None)
        match = next((lv for lv in (ident or {}).get("tcbLevels") or [] if svn[0] >= lv["tcb"]["isvsvn"]), None)
        status = "NotSupported" if match is None else _status(match)
    report = q["qe_report"]
    misc = struct.unpack("<I", report[16:20])[0].to_bytes(4, "big")
    if (
        qe["mrsigner"].lower() != report[128:160].hex()
        or qe["isvprodid"] != struct.unpack("<H", report[256:258])[0]
        or not _masked(misc, qe["miscselectMask"], qe["miscselect"])
        or not _masked(report[48:64], qe["attributesMask"], qe["attributes"])
    ):
        raise Invalid("ATTESTATION_COLLATERAL_MISMATCH", "the QE report does not match Intel's QE identity")
    isvsvn = struct.unpack("<H", report[258:260])[0]
    qe_level = next((lv for lv in qe.get("tcbLevels") or [] if isvsvn >= lv["tcb"]["isvsvn"]), None)
    return status, ("NotSupported" if qe_level is None else _status(qe_level))


def verify_tdx_quote(data: bytes, policy: dict, collateral: dict | None = None) -> dict:
    """Verifies a TDX quote under `policy` (now, trustedRootFingerprints, allowedMrTd,
    allowedRtmrs, allowedTcbStatuses, allowDebug, expectedReportData) with optional
    collateral {tcbInfo, tcbInfoIssuerChain, qeIdentity, qeIdentityIssuerChain, pckCrl (DER bytes)}.
    Returns {platform, version, fmspc, tcb_status, qe_status, root_fingerprint}. Raises Invalid(code)."""
    now = policy.get("now")
    if not isinstance(now, int) or now < 0:
        raise Invalid("INVALID_INPUT", "policy.now must be unix seconds")
    at = at_unix(now)
    roots = list(policy.get("trustedRootFingerprints") or [INTEL_SGX_ROOT_CA_SHA256])
    q = parse_tdx_quote(data)
    chain = _pem_certs(q["pck_chain_pem"], "ATTESTATION_EVIDENCE_MALFORMED", "ATTESTATION_CHAIN_INVALID")
    if not 2 <= len(chain) <= 4:
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the PCK chain is not 2 to 4 certificates")
    verify_path(chain, at, roots)
    pck_cert = chain[0]
    if pck_cert.public_key().curve.name != "secp256r1":
        raise Invalid("ATTESTATION_CHAIN_INVALID", "the PCK key is not P-256")
    pck = _pck_extensions(pck_cert)
    if collateral is not None and collateral.get("pckCrl") is not None:
        try:
            crl = x509.load_der_x509_crl(collateral["pckCrl"])
        except ValueError:
            raise Invalid("ATTESTATION_COLLATERAL_INVALID", "the CRL is not valid DER") from None
        if crl.issuer.public_bytes() != pck_cert.issuer.public_bytes() or not crl.is_signature_valid(chain[1].public_key()):
            raise Invalid("ATTESTATION_COLLATERAL_INVALID", "the PCK CRL is not signed by the PCK certificate's issuer")
        if at < crl.last_update_utc or (crl.next_update_utc is not None and at > crl.next_update_utc):
            raise Invalid("ATTESTATION_COLLATERAL_EXPIRED", "the PCK CRL is not current at the time checked")
        if crl.get_revoked_certificate_by_serial_number(pck_cert.serial_number) is not None:
            raise Invalid("ATTESTATION_CERT_REVOKED", "the PCK certificate is revoked")
    if not ecdsa_verify("P-256", _point(pck_cert), q["qe_report"], q["qe_report_signature"]):
        raise Invalid("ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID", "the QE report signature does not verify under the PCK key")
    rd = q["qe_report"][320:384]
    if rd[:32] != hashlib.sha256(q["attestation_key"][1:] + q["qe_auth_data"]).digest() or any(rd[32:]):
        raise Invalid("ATTESTATION_TDX_QE_BINDING_INVALID", "the QE report does not bind the attestation key")
    if not ecdsa_verify("P-256", q["attestation_key"], q["signed"], q["signature"]):
        raise Invalid("ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID", "the quote signature does not verify under the attestation key")
    tcb_status, qe_status = ("Unknown", "Unknown") if collateral is None else _evaluate(collateral, q, pck, at, roots)
    allowed = policy.get("allowedTcbStatuses") or ["UpToDate"]
    if tcb_status not in allowed or qe_status not in allowed:
        raise Invalid("ATTESTATION_TCB_STATUS_NOT_ALLOWED", f"TCB status {tcb_status} (QE {qe_status}) is not allowed")
    body = q["body"]
    if body[120] & 0x01 and policy.get("allowDebug") is not True:
        raise Invalid("ATTESTATION_DEBUG_NOT_ALLOWED", "the TD runs with the DEBUG attribute")
    mrtd = "0x" + body[136:184].hex()
    if policy.get("allowedMrTd") is not None and mrtd not in [m.lower() for m in policy["allowedMrTd"]]:
        raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "MRTD is not in the allow-list")
    for index, values in (policy.get("allowedRtmrs") or {}).items():
        i = int(index)
        rtmr = "0x" + body[328 + 48 * i:376 + 48 * i].hex()
        if rtmr not in [v.lower() for v in values]:
            raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", f"RTMR{index} is not in the allow-list")
    if policy.get("expectedReportData") is not None:
        if policy["expectedReportData"].lower() != "0x" + body[520:584].hex():
            raise Invalid("ATTESTATION_REPORT_DATA_MISMATCH", "REPORTDATA is not the expected value")
    return {
        "platform": "intel-tdx", "version": q["version"], "fmspc": pck["fmspc"],
        "tcb_status": tcb_status, "qe_status": qe_status, "root_fingerprint": fingerprint(chain[-1]),
        "measurements": {
            "mrTd": mrtd, **{f"rtmr{i}": "0x" + body[328 + 48 * i:376 + 48 * i].hex() for i in range(4)},
        },
        "report_data": "0x" + body[520:584].hex(),
    }
