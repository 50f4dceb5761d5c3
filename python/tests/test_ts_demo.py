"""Cross-language: a receipt made by the TypeScript demo, verified here, offline and on chain.

Runs `chaoscore demo --keep-chain` (its own anvil, left running for --rpc;
killed by its pid at the end). Skipped without node or the repository's
node_modules; CHAOSCORE_SKIP_NODE_TESTS=1 skips it too.
"""

import base64
import copy
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import pytest

from chaoscore import ReceiptError, verify_receipt
from chaoscore.__main__ import main as cli
from chaoscore.anchor import AnchorMismatch, ChainError, JsonRpc, verify_anchor
from chaoscore.jcs import canonicalize

REPO = pathlib.Path(__file__).resolve().parents[2]
# the node processes get their own PGlite and no outside chain, whatever the caller's environment
ISOLATED = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHAOSCORE_RPC_URL", "CHAOSCORE_KEYSTORE", "CHAOSCORE_HOME")}
CLI = REPO / "packages" / "cli" / "bin" / "chaoscore.js"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (REPO / "node_modules").is_dir()
    or os.environ.get("CHAOSCORE_SKIP_NODE_TESTS") == "1",
    reason="needs node and the repository's node_modules",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("ts-demo") / "data"
    env = dict(ISOLATED, CHAOSCORE_PASSWORD=os.environ.get("CHAOSCORE_PASSWORD", "python-cross-language-test"))
    proc = subprocess.run(
        ["node", str(CLI), "demo", "--data-dir", str(data), "--keep-chain"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    out = proc.stdout
    pid = re.search(r"anvil pid (\d+)", out)
    try:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        last = out.strip().splitlines()[-1].split()
        assert last[0] == "RECEIPT" and len(last) == 3, last
        yield {
            "hash": last[1],
            "file": pathlib.Path(last[2]),
            "log_key": re.search(r"^log key\s+(\S+)", out, re.M).group(1),
            "rpc": re.search(r"^chain\s+(http://\S+)", out, re.M).group(1),
            # the contract the verifier trusts: the demo's deployment, not the receipt's claim
            "contract": json.loads((data / "deployments" / "31337.json").read_text())["contracts"][
                "CheckpointAnchor"
            ]["address"],
        }
    finally:
        if pid:
            try:
                os.kill(int(pid.group(1)), signal.SIGTERM)
            except ProcessLookupError:
                pass


def trusted(demo):
    return [{"chainId": "31337", "contract": demo["contract"]}]


def test_the_demo_receipt_verifies_offline(demo):
    raw = demo["file"].read_bytes()
    receipt = json.loads(raw)
    # the hash the demo prints is SHA-256 of the receipt's canonical JSON
    assert "0x" + hashlib.sha256(canonicalize(receipt)).hexdigest() == demo["hash"]
    r = verify_receipt(raw, demo["log_key"])
    assert r.outcome_id is not None and r.anchor is not None and r.attestation == "bound"
    eip712 = __import__("chaoscore.eip712", fromlist=["digest"])
    domain = eip712.Domain(int(r.chain_id), r.verifying_contract)  # the demo's deployment
    assert r.action_id == "0x" + eip712.digest("Action", receipt["action"]["entry"]["message"], domain).hex()
    # one changed field anywhere fails with the spec's code
    bad = copy.deepcopy(receipt)
    bad["payload"] = {"tampered": True}
    with pytest.raises(ReceiptError) as e:
        verify_receipt(bad, demo["log_key"])
    assert e.value.code == "RECEIPT_PAYLOAD_MISMATCH"


def test_the_demo_receipt_anchor_verifies_on_chain(demo, capsys):
    assert cli(["verify", str(demo["file"]), "--log-key", demo["log_key"], "--rpc", demo["rpc"], "--contract", demo["contract"]]) == 0
    out = capsys.readouterr().out
    assert "✓ anchor on chain 31337" in out
    r = verify_receipt(demo["file"].read_bytes(), demo["log_key"])
    a = verify_anchor(r.anchor, r.tree_size, base64.b64decode(r.root_hash), demo["rpc"], trusted=trusted(demo))
    assert a.size == r.tree_size and a.block_number == r.anchor["blockNumber"] and a.confirmations >= 1


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda a: a.update(index=a["index"] + 1), "not-anchored"),
        (lambda a: a.update(blockNumber=a["blockNumber"] + 1), "block"),
        (lambda a: a.update(txHash="0x" + "00" * 32), "tx"),
    ],
)
def test_a_changed_anchor_fails_on_chain(demo, change, reason):
    r = verify_receipt(demo["file"].read_bytes(), demo["log_key"])
    anchor = dict(r.anchor)
    change(anchor)
    with pytest.raises(AnchorMismatch) as e:
        verify_anchor(anchor, r.tree_size, base64.b64decode(r.root_hash), demo["rpc"], trusted=trusted(demo))
    assert e.value.code == "RECEIPT_ANCHOR_MISMATCH" and e.value.reason == reason


def test_another_checkpoint_does_not_match_the_anchor(demo):
    r = verify_receipt(demo["file"].read_bytes(), demo["log_key"])
    with pytest.raises(AnchorMismatch) as e:
        verify_anchor(r.anchor, r.tree_size + 1, base64.b64decode(r.root_hash), demo["rpc"], trusted=trusted(demo))
    assert e.value.reason == "checkpoint"
    with pytest.raises(ChainError) as e:
        verify_anchor(
            dict(r.anchor, chainId="1"), r.tree_size, base64.b64decode(r.root_hash), demo["rpc"],
            trusted=[("1", demo["contract"])],
        )
    assert e.value.code == "CHAIN_WRONG_CHAIN"
    with pytest.raises(ChainError) as e:
        verify_anchor(
            r.anchor, r.tree_size, base64.b64decode(r.root_hash), JsonRpc("http://127.0.0.1:9", timeout=2),
            trusted=trusted(demo),
        )
    assert e.value.code == "CHAIN_RPC_UNREACHABLE"


def test_cli_exit_codes(demo, capsys, tmp_path):
    bad = json.loads(demo["file"].read_text())
    bad["anchor"]["index"] += 1
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    assert cli(["verify", str(p), "--log-key", demo["log_key"], "--rpc", demo["rpc"], "--contract", demo["contract"]]) == 1
    assert "RECEIPT_ANCHOR_MISMATCH" in capsys.readouterr().out
    # offline, the same receipt passes (index is only checked on chain) and says so
    assert cli(["verify", str(p), "--log-key", demo["log_key"]]) == 0
    assert "anchor not checked on chain" in capsys.readouterr().out
    # and as a subprocess, the way the README runs it
    proc = subprocess.run([sys.executable, "-m", "chaoscore", "verify", str(demo["file"]), "--log-key", demo["log_key"],
                           "--rpc", demo["rpc"], "--contract", demo["contract"]], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "✓ anchor on chain" in proc.stdout
