"""On-chain check of a receipt's anchor (receipt.md §4.7, anchoring.md, contracts.md).

Run after the offline `verify_receipt` (which checks the checkpoint's
signature and that `anchor.logId` = keccak256(origin)), or call
`verify_receipt_anchor`, which does both. The CheckpointAnchor deployments to
trust come from the caller (`trusted`), never from the receipt: an operator
holding the log key could anchor a forked history in a contract of its own.

0. `(anchor.chainId, anchor.contract)` is one of `trusted`
   (ReceiptError("RECEIPT_ANCHOR_UNTRUSTED"), before any RPC call);
1. the RPC serves `anchor.chainId` (`CHAIN_WRONG_CHAIN`);
2. `anchor.contract` holds code;
3. transaction `txHash` succeeded in block `anchor.blockNumber` and emitted,
   from the contract's address, `Anchored(logId, index, size, root)` with the
   checkpoint's size and root. No storage is read (a log anchored through
   `anchorGroup` has its history in events only): only the trusted contract's
   code emits logs from its address, and only after its on-chain checks;
4. that block is canonical, with at least `confirmations` blocks on it.

Mismatches raise ReceiptError("RECEIPT_ANCHOR_MISMATCH") with `reason`
(log-id, no-contract, tx: absent, failed, or in another block without this
event; block: in another block; event: no Anchored event of this log;
not-anchored: none at this index; checkpoint: another size or root; reorg);
RPC problems raise ChainError with a `CHAIN_*` code.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .errors import ReceiptError
from .util import keccak256

TOPIC_ANCHORED = "0x" + keccak256(b"Anchored(bytes32,uint256,uint256,bytes32)").hex()


class ChainError(Exception):
    """The chain could not be asked or answered badly: CHAIN_RPC_UNREACHABLE, CHAIN_RPC_ERROR,
    CHAIN_WRONG_CHAIN, CHAIN_TIMEOUT."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AnchorUntrusted(ReceiptError):
    """The anchor names a chain or contract the caller does not trust."""

    def __init__(self, chain_id: str, contract: str):
        super().__init__(
            "RECEIPT_ANCHOR_UNTRUSTED",
            f"the receipt is anchored in contract {contract} on chain {chain_id}, which the verifier does not trust",
        )
        self.chain_id = chain_id
        self.contract = contract


def _trusted_pairs(trusted) -> set[tuple[str, str]]:
    """`trusted` as {(decimal chain id, lowercase contract)}: dicts {chainId, contract} or pairs."""
    pairs = set()
    for t in trusted or ():
        chain_id, contract = (t.get("chainId"), t.get("contract")) if isinstance(t, dict) else t
        try:
            chain = str(int(str(chain_id), 0))
        except ValueError:
            chain = str(chain_id)
        pairs.add((chain, str(contract).lower()))
    return pairs


class AnchorMismatch(ReceiptError):
    def __init__(self, reason: str, message: str):
        super().__init__("RECEIPT_ANCHOR_MISMATCH", f"{message} ({reason})")
        self.reason = reason


@dataclass(frozen=True)
class VerifiedAnchor:
    chain_id: str
    contract: str
    log_id: str
    index: int
    size: int
    root: str  # 0x-hex
    tx_hash: str
    block_number: int
    block_hash: str
    timestamp: int  # the anchoring block's, unix seconds
    confirmations: int


class JsonRpc:
    """A minimal JSON-RPC 2.0 client over HTTP (urllib)."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self._id = 0

    def call(self, method: str, params: list) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                doc = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise ChainError("CHAIN_RPC_UNREACHABLE", f"{method} at {self.url}: {err}") from None
        if not isinstance(doc, dict):
            raise ChainError("CHAIN_RPC_ERROR", f"{method}: not a JSON-RPC answer")
        if doc.get("error") is not None:
            err = doc["error"]
            raise _RpcFault(method, err if isinstance(err, dict) else {"message": str(err)})
        return doc.get("result")


class _RpcFault(ChainError):
    def __init__(self, method: str, error: dict):
        super().__init__("CHAIN_RPC_ERROR", f"{method}: {error.get('message', error)}")
        self.error = error


def _quantity(v: Any, what: str) -> int:
    if not isinstance(v, str) or not v.startswith("0x"):
        raise ChainError("CHAIN_RPC_ERROR", f"{what} is not a hex quantity")
    try:
        return int(v, 16)
    except ValueError:
        raise ChainError("CHAIN_RPC_ERROR", f"{what} is not a hex quantity") from None


def verify_anchor(
    anchor: dict,
    tree_size: int,
    root_hash: bytes,
    rpc: str | JsonRpc,
    *,
    trusted,
    confirmations: int = 1,
) -> VerifiedAnchor:
    """Checks `anchor` (a verified receipt's) against the chain for a checkpoint of
    `tree_size` and `root_hash` (32 raw bytes). `trusted`: the CheckpointAnchor
    deployments to trust, as dicts {chainId, contract} or (chain_id, contract) pairs
    (at least one). See the module doc for the steps."""
    pairs = _trusted_pairs(trusted)
    if not pairs:
        raise ValueError("verify_anchor needs at least one trusted (chainId, contract)")
    if (str(anchor["chainId"]), str(anchor["contract"]).lower()) not in pairs:  # 0
        raise AnchorUntrusted(str(anchor["chainId"]), str(anchor["contract"]).lower())
    client = rpc if isinstance(rpc, JsonRpc) else JsonRpc(rpc)
    contract = anchor["contract"]
    log_id = anchor["logId"]
    index = int(anchor["index"])
    block_number = int(anchor["blockNumber"])
    root_hex = "0x" + root_hash.hex()

    chain = _quantity(client.call("eth_chainId", []), "eth_chainId")  # 1
    if str(chain) != anchor["chainId"]:
        raise ChainError("CHAIN_WRONG_CHAIN", f"the RPC serves chain {chain}, the anchor is on {anchor['chainId']}")

    code = client.call("eth_getCode", [contract, "latest"])  # 2
    if not isinstance(code, str) or code in ("0x", "0x0", ""):
        raise AnchorMismatch("no-contract", f"no contract at {contract}")
    tx = client.call("eth_getTransactionReceipt", [anchor["txHash"]])  # 3
    if not isinstance(tx, dict):
        raise AnchorMismatch("tx", f"transaction {anchor['txHash']} is not on chain")
    if _quantity(tx.get("status"), "status") != 1:
        raise AnchorMismatch("tx", "the anchoring transaction failed")
    of_log = []  # (index, size, root) of the contract's Anchored events of this log
    for lg in tx.get("logs") or []:
        if (
            isinstance(lg, dict)
            and str(lg.get("address", "")).lower() == contract
            and [str(t).lower() for t in lg.get("topics", [])] == [TOPIC_ANCHORED, log_id]
        ):
            data = str(lg.get("data", "")).lower()
            if len(data) == 2 + 3 * 64:
                of_log.append((int(data[2:66], 16), int(data[66:130], 16), "0x" + data[130:]))
    at_index = next((e for e in of_log if e[0] == index), None)
    if _quantity(tx.get("blockNumber"), "blockNumber") != block_number:
        raise AnchorMismatch("tx" if at_index is None else "block", f"the anchoring transaction is not in block {block_number}")
    if not of_log:
        raise AnchorMismatch("event", "the transaction did not emit Anchored of this log from the contract")
    if at_index is None:
        raise AnchorMismatch("not-anchored", f"the transaction anchored no checkpoint {index} of log {log_id}")
    if at_index[1] != tree_size or at_index[2] != root_hex:
        raise AnchorMismatch("checkpoint", f"the chain anchored size {at_index[1]}, root {at_index[2]} for this anchor")

    block = client.call("eth_getBlockByNumber", [hex(block_number), False])  # 4
    head = _quantity(client.call("eth_blockNumber", []), "eth_blockNumber")
    if not isinstance(block, dict) or str(block.get("hash", "")).lower() != str(tx.get("blockHash", "")).lower():
        raise AnchorMismatch("reorg", f"block {block_number} is no longer the one that anchored")
    have = head - block_number + 1
    if have < confirmations:
        raise ChainError("CHAIN_TIMEOUT", f"{have} confirmation(s), {confirmations} required")
    return VerifiedAnchor(
        chain_id=anchor["chainId"], contract=contract, log_id=log_id, index=index, size=tree_size,
        root=root_hex, tx_hash=anchor["txHash"], block_number=block_number, block_hash=block["hash"],
        timestamp=_quantity(block.get("timestamp"), "timestamp"), confirmations=have,
    )


def verify_receipt_anchor(
    receipt, trusted_log_key: str, rpc: str | JsonRpc, *, trusted, confirmations: int = 1
) -> VerifiedAnchor | None:
    """Verifies the receipt offline under `trusted_log_key` (so the checkpoint's signature is
    checked before its root is compared), then its anchor on chain in one of the `trusted`
    deployments. None when the receipt carries no anchor."""
    import base64

    from .verify import verify_receipt

    r = verify_receipt(receipt, trusted_log_key)
    if r.anchor is None:
        return None
    return verify_anchor(
        r.anchor, r.tree_size, base64.b64decode(r.root_hash), rpc, trusted=trusted, confirmations=confirmations
    )
