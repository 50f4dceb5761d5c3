"""Carried TEE evidence (chaoscore.tee-evidence/v1), the trust policy's `attestation`
member, and the judgement of a receipt's attestation (docs/spec/attestation.md §9–§10,
docs/spec/receipt.md §4 step 6). Independent of the TypeScript implementation: same
vectors, same codes.
"""

from __future__ import annotations

import base64
import hashlib
import re

from .attestation import quote_schema_error, verify_quote
from .errors import Invalid
from .jcs import canonicalize
from .nitro import verify_nitro_document
from .snp import verify_snp_report
from .tdx import verify_tdx_quote
from .util import sha256

TEE_EVIDENCE_FORMAT = "chaoscore.tee-evidence/v1"
PLATFORMS = ("mock-tee", "aws-nitro", "intel-tdx", "amd-sev-snp")
TCB_STATUSES = (
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked", "NotSupported", "Unknown",
)
NITRO_PCRS = ("0", "1", "2", "3", "4", "8")
DEFAULT_MAX_AGE = 3600
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_HEX48 = re.compile(r"0x[0-9a-f]{96}", re.ASCII)
_HEX32 = re.compile(r"0x[0-9a-f]{64}", re.ASCII)
_NONCE = re.compile(r"0x(?:[0-9a-f]{2}){1,64}", re.ASCII)


def _bad(path: str, what: str):
    err = Invalid("INVALID_INPUT", f"the attestation policy is malformed: {path} {what}")
    err.path = path
    raise err


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _list_of(v, path: str, pattern: re.Pattern | None, lo: int, hi: int, unique=False, choices=None):
    if not isinstance(v, list) or not lo <= len(v) <= hi:
        _bad(path, f"is a list of {lo} to {hi} items")
    for i, x in enumerate(v):
        ok = isinstance(x, str) and (
            (pattern is not None and pattern.fullmatch(x) is not None) or (choices is not None and x in choices)
        )
        if not ok:
            _bad(f"{path}/{i}", "is not allowed")
    if unique and len(set(v)) != len(v):
        _bad(path, "has duplicate items")


def _object(v, path: str, allowed: set):
    if not isinstance(v, dict):
        _bad(path, "is an object")
    for k in v:
        if k not in allowed:
            _bad(f"{path}/{k}", "Unexpected property")


def parse_attestation_policy(value) -> dict:
    """Checks the `attestation` member of a trust policy (the TypeScript schema,
    tee/evidence.ts); returns it unchanged. Raises Invalid("INVALID_INPUT", message, path)."""
    _object(value, "", {"platforms", "requireAgentBinding", "mock", "maxAgeSeconds", "nitro", "tdx", "snp"})
    if "platforms" in value:
        _list_of(value["platforms"], "/platforms", None, 1, 4, unique=True, choices=PLATFORMS)
    if "snp" in value:
        sp = value["snp"]
        _object(sp, "/snp", {"trustedRoots", "allowedMeasurements", "minimumTcb", "allowDebug"})
        if "trustedRoots" in sp:
            _list_of(sp["trustedRoots"], "/snp/trustedRoots", _SHA256, 1, 16)
        if "allowedMeasurements" in sp:
            _list_of(sp["allowedMeasurements"], "/snp/allowedMeasurements", _HEX48, 1, 64)
        if "minimumTcb" in sp:
            _object(sp["minimumTcb"], "/snp/minimumTcb", {"bootLoader", "tee", "snp", "microcode"})
            for k, v in sp["minimumTcb"].items():
                if not _is_int(v) or not 0 <= v <= 255:
                    _bad(f"/snp/minimumTcb/{k}", "is an integer in [0, 255]")
        if "allowDebug" in sp and not isinstance(sp["allowDebug"], bool):
            _bad("/snp/allowDebug", "is a boolean")
    if "requireAgentBinding" in value and not isinstance(value["requireAgentBinding"], bool):
        _bad("/requireAgentBinding", "is a boolean")
    if "mock" in value:
        m = value["mock"]
        _object(m, "/mock", {"trustedRoots", "allowedMeasurements"})
        if "trustedRoots" not in m:
            _bad("/mock/trustedRoots", "is required")
        _list_of(m["trustedRoots"], "/mock/trustedRoots", _HEX32, 1, 64)
        if "allowedMeasurements" in m:
            _list_of(m["allowedMeasurements"], "/mock/allowedMeasurements", _HEX32, 1, 256)
    if "maxAgeSeconds" in value:
        v = value["maxAgeSeconds"]
        if not _is_int(v) or not 1 <= v <= 10 * 365 * 86400:
            _bad("/maxAgeSeconds", "is an integer in [1, 10 years]")
    if "nitro" in value:
        n = value["nitro"]
        _object(n, "/nitro", {"trustedRoots", "allowedPcrs"})
        if "trustedRoots" in n:
            _list_of(n["trustedRoots"], "/nitro/trustedRoots", _SHA256, 1, 16)
        if "allowedPcrs" in n:
            _object(n["allowedPcrs"], "/nitro/allowedPcrs", set(NITRO_PCRS))
            for k, v in n["allowedPcrs"].items():
                _list_of(v, f"/nitro/allowedPcrs/{k}", _HEX48, 1, 64)
    if "tdx" in value:
        t = value["tdx"]
        _object(t, "/tdx", {"trustedRoots", "allowedMrTd", "allowedRtmrs", "allowedTcbStatuses", "allowDebug", "requireCollateral"})
        if "trustedRoots" in t:
            _list_of(t["trustedRoots"], "/tdx/trustedRoots", _SHA256, 1, 16)
        if "allowedMrTd" in t:
            _list_of(t["allowedMrTd"], "/tdx/allowedMrTd", _HEX48, 1, 64)
        if "allowedRtmrs" in t:
            _object(t["allowedRtmrs"], "/tdx/allowedRtmrs", {"0", "1", "2", "3"})
            for k, v in t["allowedRtmrs"].items():
                _list_of(v, f"/tdx/allowedRtmrs/{k}", _HEX48, 1, 64)
        if "allowedTcbStatuses" in t:
            _list_of(t["allowedTcbStatuses"], "/tdx/allowedTcbStatuses", None, 1, 10, unique=True, choices=TCB_STATUSES)
        for flag in ("allowDebug", "requireCollateral"):
            if flag in t and not isinstance(t[flag], bool):
                _bad(f"/tdx/{flag}", "is a boolean")
    return value


def _b64(value, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and _B64.fullmatch(value) is not None


def evidence_schema_error(e) -> str | None:
    """None when `e` is chaoscore.tee-evidence/v1, else what is wrong."""
    if not isinstance(e, dict) or e.get("format") != TEE_EVIDENCE_FORMAT:
        return "not chaoscore.tee-evidence/v1"
    if e.get("platform") == "aws-nitro":
        if set(e) != {"format", "platform", "document"} or not _b64(e["document"], 96 * 1024):
            return "bad aws-nitro evidence"
        return None
    if e.get("platform") == "intel-tdx":
        if not {"format", "platform", "quote"} <= set(e) <= {"format", "platform", "quote", "collateral", "nonce"}:
            return "bad intel-tdx evidence fields"
        if not _b64(e["quote"], 96 * 1024):
            return "bad quote"
        if "nonce" in e and (not isinstance(e["nonce"], str) or _NONCE.fullmatch(e["nonce"]) is None):
            return "bad nonce"
        if "collateral" in e:
            c = e["collateral"]
            limits = {"tcbInfo": 1024 * 1024, "tcbInfoIssuerChain": 16 * 1024, "qeIdentity": 64 * 1024, "qeIdentityIssuerChain": 16 * 1024}
            if not isinstance(c, dict) or not set(limits) <= set(c) <= set(limits) | {"pckCrl"}:
                return "bad collateral fields"
            if not all(isinstance(c[k], str) and len(c[k]) <= n for k, n in limits.items()):
                return "bad collateral text"
            if "pckCrl" in c and not _b64(c["pckCrl"], 96 * 1024):
                return "bad pckCrl"
        return None
    if e.get("platform") == "amd-sev-snp":
        if not {"format", "platform", "report", "certificates"} <= set(e) <= {"format", "platform", "report", "certificates", "nonce"}:
            return "bad amd-sev-snp evidence fields"
        if not _b64(e["report"], 96 * 1024):
            return "bad report"
        if not isinstance(e["certificates"], list) or len(e["certificates"]) != 3 or not all(_b64(c, 96 * 1024) for c in e["certificates"]):
            return "bad certificates"
        if "nonce" in e and (not isinstance(e["nonce"], str) or _NONCE.fullmatch(e["nonce"]) is None):
            return "bad nonce"
        return None
    return "unknown platform"


def _decode(b64: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except ValueError:
        raise Invalid("ATTESTATION_EVIDENCE_MALFORMED", "the evidence is not base64") from None


def is_agent_bound_nonce(nonce, agent: str) -> bool:
    """attestation.md §9: the nonce is the agent's address (20 bytes) ‖ 12–44 bytes of salt."""
    if not isinstance(nonce, str) or _NONCE.fullmatch(nonce) is None:
        return False
    n = (len(nonce) - 2) // 2
    return 32 <= n <= 64 and nonce[2:42] == agent.lower()[2:]


def verify_tee_evidence(evidence: dict, policy: dict, now: int) -> dict:
    """Verifies carried evidence under the attestation policy at `now`; returns
    {platform, measurements, tcbStatus, qeStatus?, timestamp, root, reportData, nonce}."""
    err = evidence_schema_error(evidence)
    if err is not None:
        raise Invalid("ATTESTATION_EVIDENCE_MALFORMED", err)
    platforms = policy.get("platforms")
    if platforms is not None and evidence["platform"] not in platforms:
        raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", f"platform {evidence['platform']} is not accepted")
    if evidence["platform"] == "aws-nitro":
        p = policy.get("nitro") or {}
        v = verify_nitro_document(_decode(evidence["document"]), {
            "now": now,
            **({"trustedRootFingerprints": p["trustedRoots"]} if "trustedRoots" in p else {}),
            **({"allowedPcrs": p["allowedPcrs"]} if "allowedPcrs" in p else {}),
            **({"maxAgeSeconds": policy["maxAgeSeconds"]} if "maxAgeSeconds" in policy else {}),
        })
        return {
            "platform": "aws-nitro", "measurements": v["pcrs"], "tcbStatus": "n/a",
            "timestamp": v["timestamp"], "root": v["root_fingerprint"], "nonce": v["nonce"], "reportData": v["user_data"],
        }
    if evidence["platform"] == "amd-sev-snp":
        p = policy.get("snp") or {}
        v = verify_snp_report(_decode(evidence["report"]), [_decode(c) for c in evidence["certificates"]], {
            "now": now,
            **({"trustedRootFingerprints": p["trustedRoots"]} if "trustedRoots" in p else {}),
            **{k: p[k] for k in ("allowedMeasurements", "minimumTcb", "allowDebug") if k in p},
        })
        return {
            "platform": "amd-sev-snp", "measurements": {"measurement": v["measurement"], "hostData": v["host_data"]},
            "tcbStatus": "n/a", "tcb": v["reported_tcb"], "timestamp": None, "root": v["root_fingerprint"],
            "nonce": None, "reportData": v["report_data"],
        }
    p = policy.get("tdx") or {}
    if "collateral" not in evidence and p.get("requireCollateral") is not False:
        raise Invalid("ATTESTATION_TCB_STATUS_NOT_ALLOWED", "the TDX quote comes without collateral: its TCB status is unknown")
    collateral = None
    if "collateral" in evidence:
        collateral = dict(evidence["collateral"])
        if "pckCrl" in collateral:
            collateral["pckCrl"] = _decode(collateral["pckCrl"])
    v = verify_tdx_quote(_decode(evidence["quote"]), {
        "now": now,
        **({"trustedRootFingerprints": p["trustedRoots"]} if "trustedRoots" in p else {}),
        **{k: p[k] for k in ("allowedMrTd", "allowedRtmrs", "allowedTcbStatuses", "allowDebug") if k in p},
    }, collateral)
    return {
        "platform": "intel-tdx", "measurements": v["measurements"], "tcbStatus": v["tcb_status"],
        "qeStatus": v["qe_status"], "timestamp": None, "root": v["root_fingerprint"],
        "nonce": None, "reportData": v["report_data"],
    }


def judge_receipt_attestation(att: dict, message: dict, mock_roots: list | None, policy: dict | None) -> dict:
    """receipt.md §4 step 6 under a policy: the summary {platform, measurements, tcbStatus,
    qeStatus?, timestamp, root, agentBound}. Raises Invalid(ATTESTATION_*)."""
    policy = policy or {}
    now = int(message["timestamp"])
    agent = str(message["agent"])
    require = policy.get("requireAgentBinding") is not False
    if att.get("format") != TEE_EVIDENCE_FORMAT:
        if policy.get("platforms") is not None and "mock-tee" not in policy["platforms"]:
            raise Invalid("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "platform mock-tee is not accepted")
        mock = policy.get("mock") or {}
        roots = mock_roots if mock_roots is not None else mock.get("trustedRoots")
        if roots is None:
            raise Invalid("ATTESTATION_CHAIN_INVALID", "the policy names no mock-tee roots")
        err = quote_schema_error(att)
        if err is not None:
            raise Invalid("ATTESTATION_MALFORMED", err)
        qpolicy = {"trustedRoots": roots, "now": now, "maxAgeSeconds": policy.get("maxAgeSeconds", DEFAULT_MAX_AGE)}
        if mock_roots is None and "allowedMeasurements" in mock:
            qpolicy["allowedMeasurements"] = mock["allowedMeasurements"]
        verify_quote(att, qpolicy)
        bound = is_agent_bound_nonce(att["nonce"], agent)
        if not bound and require:
            raise Invalid("ATTESTATION_AGENT_MISMATCH", "the quote's nonce does not bind the acting agent")
        root = next(r for r in roots if _signed_by(att, r))
        return {
            "platform": "mock-tee", "measurements": {"measurement": att["measurement"]}, "tcbStatus": "n/a",
            "timestamp": int(att["timestamp"]), "root": root, "agentBound": bound,
        }
    v = verify_tee_evidence(att, policy, now)
    if att["platform"] == "aws-nitro":
        bound = is_agent_bound_nonce(v["nonce"], agent)
    else:
        nonce = att.get("nonce")
        bound = (
            nonce is not None and is_agent_bound_nonce(nonce, agent)
            and v["reportData"][66:] == hashlib.sha256(bytes.fromhex(nonce[2:])).hexdigest()
        )
    if not bound and require:
        raise Invalid("ATTESTATION_AGENT_MISMATCH", f"the {att['platform']} evidence's nonce does not bind the acting agent")
    out = {k: v[k] for k in ("platform", "measurements", "tcbStatus")}
    for k in ("qeStatus", "tcb"):
        if k in v:
            out[k] = v[k]
    out.update({"timestamp": v["timestamp"], "root": v["root"], "agentBound": bound})
    return out


def _signed_by(quote: dict, root: str) -> bool:
    """The root whose key signs the quote chain's last certificate."""
    from . import ed25519
    from .util import hex_bytes

    last = quote["certificateChain"][-1]
    tbs = b"chaoscore.attestation/v1 certificate\n" + canonicalize(
        {k: last[k] for k in ("subject", "publicKey", "notBefore", "notAfter", "issuer")}
    )
    return ed25519.verify(hex_bytes(root), tbs, hex_bytes(last["signature"]))


def receipt_attestation_hash(att) -> bytes:
    """SHA-256(JCS(attestation)): the action's attestationHash (quote or evidence alike)."""
    return sha256(canonicalize(att))
