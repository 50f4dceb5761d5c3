import copy
import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import LOG_KEY, RECEIPTS, TEE_ROOT, VECTORS, load  # noqa: E402

from chaoscore import ReceiptError, verify_receipt
from chaoscore.attestation import attestation_hash, verify_quote
from chaoscore.errors import CODES, Invalid
from chaoscore.merkle import verify_inclusion, leaf_hash
from chaoscore.note import open_checkpoint, parse_verifier_key

VALID = sorted(RECEIPTS.glob("valid-*.json"))
TAMPERED = sorted(RECEIPTS.glob("tampered-*.json"))


def test_vectors_present():
    assert len(VALID) >= 5 and len(TAMPERED) >= 17


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid(path):
    v = load(path)
    r = verify_receipt(v["receipt"], LOG_KEY, v.get("attestationRoots"), v.get("attestationPolicy"))
    assert r.as_expected() == v["expected"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_from_bytes(path):
    raw = path.read_bytes()
    v = load(path)
    import json

    text = json.dumps(v["receipt"])
    assert verify_receipt(text.encode(), LOG_KEY, v.get("attestationRoots"), v.get("attestationPolicy")).as_expected() == v["expected"]
    assert verify_receipt(text, LOG_KEY, v.get("attestationRoots")).action_id == v["expected"]["actionId"]
    assert raw


def test_attested_without_roots_is_bound():
    v = load(RECEIPTS / "valid-attested.json")
    assert verify_receipt(v["receipt"], LOG_KEY).attestation == "bound"


def test_attested_with_wrong_root_is_invalid():
    v = load(RECEIPTS / "valid-attested.json")
    with pytest.raises(ReceiptError) as e:
        verify_receipt(v["receipt"], LOG_KEY, ["0x" + "11" * 32])
    assert e.value.code == "RECEIPT_ATTESTATION_INVALID"
    assert TEE_ROOT == v["attestationRoots"][0]


def test_attested_quote_stale_is_invalid():
    v = copy.deepcopy(load(RECEIPTS / "valid-attested.json"))
    # the same quote judged an hour and more later: the signed action's timestamp is `now`
    from chaoscore.attestation import verify_quote as vq

    with pytest.raises(Invalid) as e:
        vq(v["receipt"]["attestation"], {"trustedRoots": [TEE_ROOT], "now": 1800000000 + 3600, "maxAgeSeconds": 3600})
    assert e.value.code == "ATTESTATION_STALE"


@pytest.mark.parametrize("path", TAMPERED, ids=lambda p: p.stem)
def test_tampered(path):
    v = load(path)
    with pytest.raises(ReceiptError) as e:
        verify_receipt(v["receipt"], LOG_KEY, [TEE_ROOT], v.get("attestationPolicy"))
    assert e.value.code == v["expectedError"], e.value.message
    assert e.value.code in CODES
    if "expectedCause" in v:  # the ATTESTATION_* code behind RECEIPT_ATTESTATION_INVALID
        assert e.value.message.startswith(v["expectedCause"] + ":"), e.value.message


def test_v3_result_names_platform_measurements_tcb():
    v = load(RECEIPTS / "valid-v3-tdx.json")
    r = verify_receipt(v["receipt"], LOG_KEY, attestation_policy=v["attestationPolicy"])
    assert r.attestation_result["platform"] == "intel-tdx"
    assert r.attestation_result["tcbStatus"] == "NotSupported"
    assert r.attestation_result["qeStatus"] == "UpToDate"
    assert sorted(r.attestation_result["measurements"]) == ["mrTd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"]
    assert verify_receipt(v["receipt"], LOG_KEY).attestation == "bound"
    with pytest.raises(ReceiptError) as e:
        verify_receipt(v["receipt"], LOG_KEY, attestation_policy={"requireAgentBinding": False})
    assert e.value.message.startswith("ATTESTATION_TCB_STATUS_NOT_ALLOWED")


def test_anchor_logid():
    v = copy.deepcopy(load(RECEIPTS / "valid-action.json"))
    from chaoscore.util import keccak256

    good = "0x" + keccak256(b"vectors.chaoscore.dev/log/receipts").hex()
    v["receipt"]["anchor"] = {
        "chainId": "31337", "contract": "0x" + "ab" * 20, "logId": good, "index": 0,
        "txHash": "0x" + "cd" * 32, "blockNumber": 7,
    }
    assert verify_receipt(v["receipt"], LOG_KEY).anchor["logId"] == good
    v["receipt"]["anchor"]["logId"] = "0x" + "00" * 32
    with pytest.raises(ReceiptError) as e:
        verify_receipt(v["receipt"], LOG_KEY)
    assert e.value.code == "RECEIPT_ANCHOR_MISMATCH"


@pytest.mark.parametrize("bad", ["", "x", "a+b+c", LOG_KEY.replace("d3a0ad28", "d3a0ad29"), LOG_KEY.upper()])
def test_bad_log_key(bad):
    v = load(RECEIPTS / "valid-action.json")
    with pytest.raises(ReceiptError) as e:
        verify_receipt(v["receipt"], bad)
    assert e.value.code == "RECEIPT_CHECKPOINT_INVALID"


@pytest.mark.parametrize("bad", [None, 3, [], "not json", b"\xff\xfe", '{"format": NaN}', "[1, 2]"])
def test_garbage(bad):
    with pytest.raises(ReceiptError) as e:
        verify_receipt(bad, LOG_KEY)
    assert e.value.code in ("RECEIPT_MALFORMED", "RECEIPT_UNSUPPORTED_FORMAT")


# building blocks against the other specs' worked examples and vectors


def test_checkpoint_example():
    ex = load(VECTORS / "checkpoints" / "example.json")
    cp = open_checkpoint(ex["signedNote"], parse_verifier_key(ex["verifierKey"]))
    assert cp.origin == ex["origin"] and cp.size == ex["size"]
    import base64

    assert base64.b64encode(cp.root_hash).decode() == ex["rootHash"]


def test_go_note_interop():
    key = parse_verifier_key("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    note = (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n\n"
        "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )
    # the body is not a checkpoint, so only the signature part applies
    with pytest.raises(Invalid) as e:
        open_checkpoint(note, key)
    assert e.value.code == "CHECKPOINT_MALFORMED"


def test_merkle_worked_example():
    leaves = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
              bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    proof = [bytes.fromhex(h) for h in (
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
    root = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    verify_inclusion(leaf_hash(leaves[5]), 5, 8, proof, root)
    for m, n in ((4, 8), (5, 6), (8, 8), (6, 8)):
        with pytest.raises(Invalid):
            verify_inclusion(leaf_hash(leaves[5]), m, n, proof, root)


ATT = [p for p in sorted((VECTORS / "attestations").glob("*.json")) if p.stem not in ("root", "recorded-execution")]


@pytest.mark.parametrize("path", ATT, ids=lambda p: p.stem)
def test_attestation_vectors(path):
    v = load(path)
    if v.get("expectedError") is None:
        verify_quote(v["quote"], v["policy"])
        assert "0x" + attestation_hash(v["quote"]).hex() == v["attestationHash"]
    else:
        with pytest.raises(Invalid) as e:
            verify_quote(v["quote"], v["policy"])
        assert e.value.code == v["expectedError"]


def test_cli(capsys):
    from chaoscore.__main__ import main

    assert main(["verify", str(RECEIPTS / "valid-attested.json"), "--log-key", LOG_KEY, "--tee-root", TEE_ROOT]) == 0
    assert "✓" in capsys.readouterr().out
    assert main(["verify", str(RECEIPTS / "tampered-payload.json"), "--log-key", LOG_KEY]) == 1
    assert "✗ RECEIPT_PAYLOAD_MISMATCH" in capsys.readouterr().out


def test_cli_judges_v3_evidence_under_the_policy(tmp_path, capsys):
    import json

    from chaoscore.__main__ import main

    v = load(RECEIPTS / "valid-v3-snp.json")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"format": "chaoscore.trust-policy/v1", "log": {"key": LOG_KEY}, "attestation": v["attestationPolicy"]}))
    assert main(["verify", str(RECEIPTS / "valid-v3-snp.json"), "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "attestation verified: amd-sev-snp" in out and "NOT bound to the acting agent" in out
    policy.write_text(json.dumps({"format": "chaoscore.trust-policy/v1", "log": {"key": LOG_KEY}, "attestation": {"requireAgentBinding": False}}))
    assert main(["verify", str(RECEIPTS / "valid-v3-snp.json"), "--policy", str(policy)]) != 0
    assert "ATTESTATION_DEBUG_NOT_ALLOWED" in capsys.readouterr().out
