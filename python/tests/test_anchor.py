"""verify_anchor against a scripted JSON-RPC node: every mismatch reason and RPC failure.

(The real chain is exercised by test_ts_demo.py, on the TypeScript demo's anvil.)"""

import pytest

from chaoscore.anchor import (
    TOPIC_ANCHORED,
    AnchorMismatch,
    AnchorUntrusted,
    ChainError,
    JsonRpc,
    _RpcFault,
    verify_anchor as _verify_anchor,
    verify_receipt_anchor,
)
from chaoscore.util import keccak256

LOG_ID = "0x" + keccak256(b"chaoscore.local/log/default").hex()
CONTRACT = "0x" + "c0" * 20
TX = "0x" + "ab" * 32
BLOCK_HASH = "0x" + "bb" * 32
ROOT = bytes(range(32))
SIZE = 13
ANCHOR = {"chainId": "31337", "contract": CONTRACT, "logId": LOG_ID, "index": 2, "txHash": TX, "blockNumber": 14}
TRUSTED = [{"chainId": "31337", "contract": CONTRACT}]


def verify_anchor(anchor, size, root, node, **kw):
    return _verify_anchor(anchor, size, root, node, **{"trusted": TRUSTED, **kw})


def word(n: int) -> str:
    return n.to_bytes(32, "big").hex()


class FakeNode(JsonRpc):
    def __init__(self, **overrides):
        super().__init__("http://fake")
        self.calls = []
        self.answers = {
            "eth_chainId": hex(31337),
            "eth_getCode": "0x6080",
            "eth_getTransactionReceipt": {
                "status": "0x1", "blockNumber": hex(14), "blockHash": BLOCK_HASH,
                "logs": [{"address": CONTRACT, "topics": [TOPIC_ANCHORED, LOG_ID],
                          "data": "0x" + word(2) + word(SIZE) + ROOT.hex()}],
            },
            "eth_getBlockByNumber": {"hash": BLOCK_HASH, "timestamp": hex(1_800_000_000)},
            "eth_blockNumber": hex(16),
        }
        self.answers.update(overrides)

    def call(self, method, params):
        self.calls.append((method, params))
        a = self.answers[method]
        if isinstance(a, Exception):
            raise a
        return a


def test_a_matching_anchor():
    node = FakeNode()
    a = verify_anchor(ANCHOR, SIZE, ROOT, node)
    assert (a.index, a.size, a.root, a.block_number, a.confirmations, a.timestamp) == (
        2, SIZE, "0x" + ROOT.hex(), 14, 3, 1_800_000_000)
    # event only: no storage read (a group-anchored log has none), so no eth_call
    assert [m for m, _ in node.calls] == [
        "eth_chainId", "eth_getCode", "eth_getTransactionReceipt", "eth_getBlockByNumber", "eth_blockNumber"]


def receipt_with(*logs, block=14, status="0x1"):
    return {"eth_getTransactionReceipt": {"status": status, "blockNumber": hex(block), "blockHash": BLOCK_HASH,
                                          "logs": list(logs)}}


def anchored(index=2, size=SIZE, root=ROOT, address=CONTRACT, log_id=LOG_ID):
    return {"address": address, "topics": [TOPIC_ANCHORED, log_id], "data": "0x" + word(index) + word(size) + root.hex()}


def test_a_group_anchor_transaction_with_other_logs_events():
    other = "0x" + keccak256(b"another shard").hex()
    node = FakeNode(**receipt_with(anchored(0, 5, bytes(32), log_id=other), anchored()))
    assert verify_anchor(ANCHOR, SIZE, ROOT, node).index == 2


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"eth_getCode": "0x"}, "no-contract"),
        (receipt_with(anchored(3)), "not-anchored"),
        (receipt_with(anchored(size=SIZE + 1)), "checkpoint"),
        (receipt_with(anchored(root=bytes(32))), "checkpoint"),
        (receipt_with(anchored(), block=15), "block"),
        (receipt_with(anchored(log_id="0x" + "11" * 32), block=15), "tx"),
        ({"eth_getTransactionReceipt": None}, "tx"),
        ({"eth_getTransactionReceipt": {"status": "0x0", "blockNumber": hex(14), "logs": []}}, "tx"),
        (receipt_with(anchored(address="0x" + "00" * 20)), "event"),
        (receipt_with(), "event"),
        ({"eth_getBlockByNumber": {"hash": "0x" + "cc" * 32, "timestamp": "0x1"}}, "reorg"),
    ],
)
def test_mismatches(overrides, reason):
    with pytest.raises(AnchorMismatch) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(**overrides))
    assert e.value.code == "RECEIPT_ANCHOR_MISMATCH" and e.value.reason == reason


def test_chain_errors():
    with pytest.raises(ChainError) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(eth_chainId="0x1"))
    assert e.value.code == "CHAIN_WRONG_CHAIN"
    with pytest.raises(ChainError) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(eth_blockNumber=hex(14)), confirmations=2)
    assert e.value.code == "CHAIN_TIMEOUT"
    with pytest.raises(ChainError) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(eth_getTransactionReceipt=_RpcFault("eth_getTransactionReceipt", {"message": "rate limited"})))
    assert e.value.code == "CHAIN_RPC_ERROR"
    with pytest.raises(ChainError) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(eth_chainId=None))
    assert e.value.code == "CHAIN_RPC_ERROR"
    with pytest.raises(ChainError) as e:
        verify_anchor(ANCHOR, SIZE, ROOT, "http://127.0.0.1:9")
    assert e.value.code == "CHAIN_RPC_UNREACHABLE"


def test_an_anchor_in_another_contract_or_chain_is_untrusted_before_any_rpc_call():
    # An operator holding the log key anchors a forked history in a contract of its own: the
    # node would confirm it, but the verifier trusts only the caller's contracts.
    own = "0x" + "0e" * 20
    node = FakeNode(eth_getCode="0x6080")
    with pytest.raises(AnchorUntrusted) as e:
        verify_anchor(dict(ANCHOR, contract=own), SIZE, ROOT, node)
    assert e.value.code == "RECEIPT_ANCHOR_UNTRUSTED" and e.value.contract == own
    with pytest.raises(AnchorUntrusted):
        verify_anchor(dict(ANCHOR, chainId="1"), SIZE, ROOT, node)
    assert node.calls == []
    # the same contract given as a pair, in another case, on chain "0x7a69" (31337) is trusted
    a = _verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(), trusted=[("0x7a69", CONTRACT.upper().replace("0X", "0x"))])
    assert a.index == 2
    with pytest.raises(ValueError):
        _verify_anchor(ANCHOR, SIZE, ROOT, FakeNode(), trusted=[])


def test_verify_receipt_anchor_checks_the_checkpoint_signature_first():
    import json
    import pathlib

    vectors = pathlib.Path(__file__).resolve().parents[2] / "vectors" / "receipts"
    key = (vectors / "log-key.txt").read_text().strip()
    bad = json.loads((vectors / "tampered-checkpoint-signature.json").read_text())["receipt"]
    bad["anchor"] = dict(ANCHOR)
    node = FakeNode()
    with pytest.raises(Exception) as e:
        verify_receipt_anchor(bad, key, node, trusted=TRUSTED)
    assert getattr(e.value, "code", None) == "RECEIPT_CHECKPOINT_INVALID"
    assert node.calls == []
    good = json.loads((vectors / "valid-action.json").read_text())["receipt"]
    assert good["anchor"] is None
    assert verify_receipt_anchor(good, key, node, trusted=TRUSTED) is None
