"""verify_receipt: docs/spec/receipt.md §4, steps in order."""

from dataclasses import dataclass

from . import eip712
from .attestation import quote_schema_error
from .errors import Invalid, ReceiptError
from .jcs import canonicalize, parse_json
from .merkle import leaf_hash, verify_inclusion
from .note import open_checkpoint, parse_verifier_key
from .shard import shard_number_of_origin, verify_shard_certificate
from .tee_evidence import TEE_EVIDENCE_FORMAT, evidence_schema_error, judge_receipt_attestation, receipt_attestation_hash
from .util import (
    b64decode_canonical, b64encode, hex_bytes, is_chain_id, is_hex, is_text,
    is_uint64_string, keccak256, safe_int, sha256,
)

ZERO_HASH = "0x" + "00" * 32
RECEIPT_FIELDS_REQUIRED = {"format", "action", "outcome", "checkpoint", "anchor", "attestation"}
ENTRY_FIELDS = {"format", "kind", "chainId", "verifyingContract", "message", "signature"}
PROOF_FIELDS = {"entry", "leafIndex", "inclusionProof", "keyRotations"}
ANCHOR_FIELDS = {"chainId", "contract", "logId", "index", "txHash", "blockNumber"}
RECEIPT_FORMATS = ("chaoscore.receipt/v2", "chaoscore.receipt/v3")  # v3: exactly when the attestation is TEE evidence


@dataclass(frozen=True)
class VerifiedReceipt:
    action_id: str
    outcome_id: str | None
    agent: str
    chain_id: str
    verifying_contract: str  # the deployment the entries were signed for
    leaf_index: int
    origin: str
    tree_size: int
    root_hash: str  # base64, as in the checkpoint
    anchor: dict | None
    attestation: str  # none | absent | bound | verified
    # when verified: platform, measurements, tcbStatus, qeStatus?, timestamp, root, agentBound
    attestation_result: dict | None = None
    # a receipt of shard n >= 1 of the trusted key's family (receipt.md §7): {family, number, verifierKey}
    shard: dict | None = None

    def as_expected(self) -> dict:
        """The result in the vectors' `expected` shape."""
        out = {
            "actionId": self.action_id, "outcomeId": self.outcome_id, "agent": self.agent,
            "chainId": self.chain_id, "verifyingContract": self.verifying_contract, "leafIndex": self.leaf_index, "origin": self.origin,
            "treeSize": self.tree_size, "rootHash": self.root_hash, "anchor": self.anchor,
            "attestation": self.attestation,
        }
        if self.attestation_result is not None:
            out["attestationResult"] = self.attestation_result
        if self.shard is not None:
            out["shard"] = self.shard
        return out


class _Malformed(Exception):
    pass


def _need(cond, what: str):
    if not cond:
        raise _Malformed(what)


def _check_fields(obj, fields: set, what: str, optional: set = frozenset()):
    _need(isinstance(obj, dict), f"{what} is not an object")
    keys = set(obj)
    _need(fields <= keys, f"{what} lacks a field")
    _need(keys <= fields | optional, f"{what} has an unknown field")


def _check_action_message(m):
    _check_fields(m, {f for f, _ in eip712.TYPES["Action"]}, "the action message")
    _need(is_hex(m["agent"], 20), "action agent")
    _need(is_text(m["studio"], 0, 256) and is_text(m["task"], 0, 256), "action studio/task")
    _need(is_text(m["actionType"], 1, 128), "action type")
    _need(is_hex(m["payloadHash"], 32) and is_hex(m["attestationHash"], 32), "action hashes")
    _need(isinstance(m["parents"], list) and len(m["parents"]) <= 64, "action parents")
    _need(all(is_hex(p, 32) for p in m["parents"]), "action parent")
    for f in ("timestamp", "nonce", "expiry"):
        _need(is_uint64_string(m[f]), f"action {f}")


def _check_outcome_message(m):
    _check_fields(m, {f for f, _ in eip712.TYPES["Outcome"]}, "the outcome message")
    _need(is_hex(m["agent"], 20) and is_hex(m["action"], 32), "outcome agent/action")
    _need(m["status"] in ("success", "failure", "partial"), "outcome status")
    _need(is_hex(m["resultHash"], 32) and is_hex(m["metricsHash"], 32), "outcome hashes")
    for f in ("timestamp", "nonce", "expiry"):
        _need(is_uint64_string(m[f]), f"outcome {f}")


def _check_entry_proof(p, kind: str) -> dict:
    _check_fields(p, PROOF_FIELDS, f"the {kind} proof")
    e = p["entry"]
    _check_fields(e, ENTRY_FIELDS, f"the {kind} entry")
    _need(e["format"] == "chaoscore.entry/v2", "entry format")
    _need(e["kind"] == kind, "entry kind")
    _need(is_chain_id(e["chainId"]), "entry chainId")
    _need(is_hex(e["verifyingContract"], 20), "entry verifyingContract")
    _need(is_hex(e["signature"], 65), "entry signature")
    (_check_action_message if kind == "action" else _check_outcome_message)(e["message"])
    idx = safe_int(p["leafIndex"])
    _need(idx is not None, "leafIndex")
    proof = p["inclusionProof"]
    _need(isinstance(proof, list) and len(proof) <= 64, "inclusionProof")
    hashes = []
    for h in proof:
        raw = b64decode_canonical(h)
        _need(raw is not None and len(raw) == 32, "inclusion proof hash")
        hashes.append(raw)
    rots = p["keyRotations"]
    _need(isinstance(rots, list) and len(rots) <= 64, "keyRotations")
    for r in rots:
        _check_fields(r, {"message", "signature"}, "a key rotation")
        _check_fields(r["message"], {"agent", "newSigner", "nonce", "expiry"}, "a key rotation message")
        rm = r["message"]
        _need(is_hex(rm["agent"], 20) and is_hex(rm["newSigner"], 20), "rotation addresses")
        _need(is_uint64_string(rm["nonce"]) and is_uint64_string(rm["expiry"]), "rotation nonce/expiry")
        _need(is_hex(r["signature"], 65), "rotation signature")
    return {"index": idx, "proof": hashes}


def _check_anchor(a):
    _check_fields(a, ANCHOR_FIELDS, "the anchor")
    _need(is_chain_id(a["chainId"]), "anchor chainId")
    _need(is_hex(a["contract"], 20) and is_hex(a["logId"], 32) and is_hex(a["txHash"], 32), "anchor hex")
    _need(safe_int(a["index"]) is not None and safe_int(a["blockNumber"]) is not None, "anchor integers")


def _check_entry(p, parsed, checkpoint, what: str) -> str:
    """Step 3 for one entry proof; returns the entry id."""
    e = p["entry"]
    domain = eip712.Domain(int(e["chainId"]), e["verifyingContract"])  # the chain and deployment
    struct = "Action" if e["kind"] == "action" else "Outcome"
    digest = eip712.digest(struct, e["message"], domain)
    signer = eip712.recover(digest, hex_bytes(e["signature"]))  # 3.1
    if signer is None:
        raise ReceiptError("RECEIPT_SIGNATURE_INVALID", f"{what}'s signature is malformed")
    agent = e["message"]["agent"]
    key = agent
    for i, r in enumerate(p["keyRotations"]):  # 3.2
        rm = r["message"]
        if rm["agent"] != agent:
            raise ReceiptError("RECEIPT_SIGNER_PROOF_INVALID", f"{what}'s rotation {i} is for another agent")
        rs = eip712.recover(eip712.digest("RotateAgentKey", rm, domain), hex_bytes(r["signature"]))
        if rs is None or rs != key:
            raise ReceiptError("RECEIPT_SIGNER_PROOF_INVALID", f"{what}'s rotation {i} is not signed by the current key")
        key = rm["newSigner"]
    if signer != key:  # 3.3
        code = "RECEIPT_SIGNER_PROOF_INVALID" if p["keyRotations"] else "RECEIPT_SIGNATURE_INVALID"
        raise ReceiptError(code, f"{what} is not signed by the agent's key")
    try:  # 3.4
        verify_inclusion(leaf_hash(canonicalize(e)), parsed["index"], checkpoint.size, parsed["proof"], checkpoint.root_hash)
    except Invalid as err:
        raise ReceiptError("RECEIPT_INCLUSION_INVALID", f"{what}'s inclusion proof: {err.code}") from None
    return "0x" + digest.hex()


def _verify(receipt, trusted_log_key, attestation_roots, attestation_policy) -> VerifiedReceipt:
    # 1. parse, format, schema
    if isinstance(receipt, (str, bytes, bytearray, memoryview)):
        try:
            receipt = parse_json(receipt)
        except Exception:
            raise ReceiptError("RECEIPT_MALFORMED", "not JSON") from None
    if not isinstance(receipt, dict):
        raise ReceiptError("RECEIPT_MALFORMED", "the receipt is not an object")
    if receipt.get("format") not in RECEIPT_FORMATS:
        raise ReceiptError("RECEIPT_UNSUPPORTED_FORMAT", f"unsupported format {str(receipt.get('format'))[:80]!r}")
    try:
        _check_fields(receipt, RECEIPT_FIELDS_REQUIRED, "the receipt", optional={"payload", "shard"})
        if "shard" in receipt:
            sh = receipt["shard"]  # 1 to 65,536 UTF-16 code units, as the TypeScript schema counts
            _need(isinstance(sh, str) and 0 < len(sh.encode("utf-16-le", "surrogatepass")) // 2 <= 65536, "shard")
        action_p = _check_entry_proof(receipt["action"], "action")
        outcome_p = None if receipt["outcome"] is None else _check_entry_proof(receipt["outcome"], "outcome")
        _need(isinstance(receipt["checkpoint"], str), "checkpoint")
        if receipt["anchor"] is not None:
            _check_anchor(receipt["anchor"])
        att = receipt["attestation"]
        evidence = isinstance(att, dict) and att.get("format") == TEE_EVIDENCE_FORMAT
        if att is not None:
            err = evidence_schema_error(att) if evidence else quote_schema_error(att)
            _need(err is None, f"attestation: {err}")
        # the format follows from the attestation: v3 exactly for TEE evidence
        _need(evidence == (receipt["format"] == "chaoscore.receipt/v3"), "the format does not match the attestation")
        payload_hash = None
        if "payload" in receipt:
            payload_hash = "0x" + sha256(canonicalize(receipt["payload"])).hex()
    except _Malformed as m:
        raise ReceiptError("RECEIPT_MALFORMED", str(m)) from None
    except (ValueError, TypeError, RecursionError):
        raise ReceiptError("RECEIPT_MALFORMED", "not canonicalizable JSON") from None

    # 2. checkpoint, under the certified shard key for a shard of the trusted family (§7.2)
    try:
        key = parse_verifier_key(trusted_log_key)
    except Invalid as err:
        raise ReceiptError("RECEIPT_CHECKPOINT_INVALID", f"{err.code}: {err.message}") from None
    shard = _certified_shard(receipt, key)
    try:
        cp = open_checkpoint(receipt["checkpoint"], key if shard is None else parse_verifier_key(shard["verifierKey"]))
    except Invalid as err:
        raise ReceiptError("RECEIPT_CHECKPOINT_INVALID", f"{err.code}: {err.message}") from None

    # 3. entries
    action = receipt["action"]["entry"]
    action_id = _check_entry(receipt["action"], action_p, cp, "the action")
    outcome_id = None
    if outcome_p is not None:
        # 4. the outcome refers to the action, checked before step 3 for the outcome
        # (receipt.md §4 allows this order; vectors/receipts/tampered-swapped-outcome.json needs it:
        # its outcome message names another action, so its signature no longer recovers either)
        out = receipt["outcome"]["entry"]
        if out["message"]["action"] != action_id:
            raise ReceiptError("RECEIPT_OUTCOME_MISMATCH", "the outcome refers to another action")
        if out["chainId"] != action["chainId"] or out["verifyingContract"] != action["verifyingContract"]:
            raise ReceiptError("RECEIPT_OUTCOME_MISMATCH", "the outcome was signed for another chain or deployment")
        outcome_id = _check_entry(receipt["outcome"], outcome_p, cp, "the outcome")

    # 5. payload
    if payload_hash is not None and payload_hash != action["message"]["payloadHash"]:
        raise ReceiptError("RECEIPT_PAYLOAD_MISMATCH", "the payload does not hash to payloadHash")

    # 6. attestation
    signed = action["message"]["attestationHash"]
    status = "none" if signed == ZERO_HASH else "absent"
    att = receipt["attestation"]
    result = None
    if att is not None:
        if "0x" + receipt_attestation_hash(att).hex() != signed:
            raise ReceiptError("RECEIPT_ATTESTATION_MISMATCH", "the attestation does not hash to attestationHash")
        status = "bound"
        if attestation_roots is not None or attestation_policy is not None:
            try:
                result = judge_receipt_attestation(att, action["message"], attestation_roots, attestation_policy)
            except Invalid as err:
                raise ReceiptError("RECEIPT_ATTESTATION_INVALID", f"{err.code}: {err.message}") from None
            status = "verified"

    # 7. anchor (offline)
    anchor = receipt["anchor"]
    if anchor is not None and anchor["logId"] != "0x" + keccak256(cp.origin.encode("utf-8")).hex():
        raise ReceiptError("RECEIPT_ANCHOR_MISMATCH", "the anchor is for another log")

    return VerifiedReceipt(
        action_id=action_id, outcome_id=outcome_id, agent=action["message"]["agent"],
        chain_id=action["chainId"], verifying_contract=action["verifyingContract"], leaf_index=action_p["index"], origin=cp.origin,
        tree_size=cp.size, root_hash=b64encode(cp.root_hash), anchor=anchor, attestation=status,
        attestation_result=result, shard=shard,
    )


def _certified_shard(receipt: dict, family_key) -> dict | None:
    """receipt.md §7.2 steps 1-4: the certified shard of the checkpoint's origin, or None (judge under the trusted key)."""
    origin = receipt["checkpoint"].split("\n", 1)[0]
    if "shard" not in receipt:
        n = shard_number_of_origin(family_key.name, origin)
        if n is not None and n > 0:
            raise ReceiptError("RECEIPT_SHARD_UNCERTIFIED", f"the checkpoint is of shard {n} but the receipt carries no shard certificate")
        return None
    try:
        cert = verify_shard_certificate(receipt["shard"], family_key)
    except Invalid as err:
        raise ReceiptError("RECEIPT_SHARD_CERTIFICATE_INVALID", f"{err.code}: {err.message}") from None
    if cert.shard_origin != origin:
        raise ReceiptError("RECEIPT_SHARD_MISMATCH", "the shard certificate is for another origin than the checkpoint's")
    return {"family": family_key.name, "number": cert.shard, "verifierKey": cert.shard_verifier_key}


def verify_receipt(
    receipt, trusted_log_key: str, attestation_roots: list[str] | None = None, attestation_policy: dict | None = None,
) -> VerifiedReceipt:
    """Verify a chaoscore.receipt/v2 or /v3 receipt offline; raises ReceiptError(code, message) only.

    With `attestation_roots` (mock TEE roots) or `attestation_policy` (a trust policy's
    `attestation` member) the carried attestation is judged at the action's time."""
    try:
        return _verify(receipt, trusted_log_key, attestation_roots, attestation_policy)
    except ReceiptError:
        raise
    except RecursionError:
        raise ReceiptError("RECEIPT_MALFORMED", "nested too deeply") from None
    except Exception as err:  # defensive: never leak another exception type
        raise ReceiptError("RECEIPT_MALFORMED", f"unexpected {type(err).__name__}") from None
