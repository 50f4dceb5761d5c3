"""The Python verifier on vectors/trust-policy/ (the same vectors as the TypeScript one)."""

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import VECTORS, load  # noqa: E402

from chaoscore import ReceiptError
from chaoscore.__main__ import main
from chaoscore.errors import CODES
from chaoscore.policy import parse_trust_policy, verify_cosignatures, verify_receipt_with_policy

DIR = VECTORS / "trust-policy"
POLICY_VALID = sorted(DIR.glob("policy-valid-*.json"))
POLICY_INVALID = sorted(DIR.glob("policy-invalid-*.json"))
RECEIPT_VALID = sorted(DIR.glob("receipt-valid-*.json"))
RECEIPT_INVALID = sorted(DIR.glob("receipt-invalid-*.json"))


def test_vectors_present():
    assert len(POLICY_VALID) >= 4 and len(POLICY_INVALID) >= 10
    assert len(RECEIPT_VALID) >= 4 and len(RECEIPT_INVALID) >= 10


@pytest.mark.parametrize("path", POLICY_VALID, ids=lambda p: p.stem)
def test_policy_valid(path):
    v = load(path)
    assert parse_trust_policy(v["policy"]).as_expected() == v["expected"]
    assert parse_trust_policy(json.dumps(v["policy"])).as_expected() == v["expected"]


@pytest.mark.parametrize("path", POLICY_INVALID, ids=lambda p: p.stem)
def test_policy_invalid(path):
    v = load(path)
    with pytest.raises(ReceiptError) as e:
        parse_trust_policy(v["policyText"] if "policyText" in v else v["policy"])
    assert e.value.code == v["expectedError"]
    assert e.value.code in CODES


@pytest.mark.parametrize("path", RECEIPT_VALID, ids=lambda p: p.stem)
def test_receipt_valid(path):
    v = load(path)
    r = verify_receipt_with_policy(v["receipt"], v["policy"])
    assert r.as_expected() == v["expected"]
    assert verify_receipt_with_policy(json.dumps(v["receipt"]).encode(), v["policy"]).as_expected() == v["expected"]


@pytest.mark.parametrize("path", RECEIPT_INVALID, ids=lambda p: p.stem)
def test_receipt_invalid(path):
    v = load(path)
    with pytest.raises(ReceiptError) as e:
        verify_receipt_with_policy(v["receipt"], v["policy"])
    assert e.value.code == v["expectedError"]
    assert e.value.code in CODES


def test_cosignature_vectors_of_the_typescript_side():
    """The cosigned checkpoints of vectors/trust-policy/ check the same in Python (each line)."""
    v = load(DIR / "receipt-valid-quorum-3-of-3.json")
    checks = verify_cosignatures(v["receipt"]["checkpoint"], v["policy"]["witnesses"]["keys"])
    assert checks == v["expected"]["witnesses"]["cosignatures"]


def _files(tmp_path, vector):
    v = load(DIR / f"{vector}.json")
    receipt, policy = tmp_path / "r.json", tmp_path / "p.json"
    receipt.write_text(json.dumps(v["receipt"]))
    policy.write_text(json.dumps(v["policy"]))
    return str(receipt), str(policy)


def test_cli_verify_with_policy(tmp_path, capsys):
    receipt, policy = _files(tmp_path, "receipt-valid-quorum-2-of-3")
    assert main(["verify", receipt, "--policy", policy]) == 0
    out = capsys.readouterr().out
    assert "witnesses: 2 of 2 required" in out
    receipt, policy = _files(tmp_path, "receipt-invalid-one-of-two")
    assert main(["verify", receipt, "--policy", policy]) == 1
    assert "RECEIPT_WITNESS_QUORUM" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "chaoscore.trust-policy/v1"}')
    assert main(["verify", receipt, "--policy", str(bad)]) == 2
    assert "TRUST_POLICY_NO_KEY" in capsys.readouterr().out


def test_cli_checks_the_anchor_in_the_policys_contract(tmp_path, capsys, monkeypatch):
    """--policy with anchors: the on-chain check trusts the policy's contract (a scripted node)."""
    import base64

    from chaoscore import anchor as anchor_module
    from chaoscore.anchor import TOPIC_ANCHORED, JsonRpc

    v = load(DIR / "receipt-valid-trusted-anchor.json")
    a = v["receipt"]["anchor"]
    root = base64.b64decode(v["expected"]["rootHash"])
    size = v["expected"]["treeSize"]

    def word(n):
        return n.to_bytes(32, "big").hex()

    class Node(JsonRpc):
        def __init__(self, url):
            super().__init__(url)

        def call(self, method, params):
            return {
                "eth_chainId": hex(31337),
                "eth_getCode": "0x6080",
                "eth_call": "0x" + root.hex() + word(size) + word(1_800_000_000) + word(a["blockNumber"]),
                "eth_getTransactionReceipt": {
                    "status": "0x1", "blockNumber": hex(a["blockNumber"]), "blockHash": "0x" + "bb" * 32,
                    "logs": [{"address": a["contract"], "topics": [TOPIC_ANCHORED, a["logId"]],
                              "data": "0x" + word(a["index"]) + word(size) + root.hex()}],
                },
                "eth_getBlockByNumber": {"hash": "0x" + "bb" * 32, "timestamp": hex(1_800_000_000)},
                "eth_blockNumber": hex(a["blockNumber"] + 2),
            }[method]

    monkeypatch.setattr(anchor_module, "JsonRpc", Node)
    receipt, policy = _files(tmp_path, "receipt-valid-trusted-anchor")
    assert main(["verify", receipt, "--policy", policy, "--rpc", "http://node.test"]) == 0
    assert "✓ anchor on chain 31337" in capsys.readouterr().out
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**v["policy"], "anchors": [{"chainId": "31337", "contract": "0x" + "ee" * 20}]}))
    assert main(["verify", receipt, "--policy", str(other), "--rpc", "http://node.test"]) == 1
    assert "RECEIPT_ANCHOR_UNTRUSTED" in capsys.readouterr().out
