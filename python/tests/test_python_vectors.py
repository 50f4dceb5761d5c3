"""vectors/python-signed: committed, reproducible, and checked here with the independent code."""

import hashlib
import importlib.util
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import VECTORS  # noqa: E402

from chaoscore import eip712
from chaoscore.card import card_hash, card_problem
from chaoscore.jcs import canonicalize
from chaoscore.merkle import leaf_hash
from chaoscore.util import hex_bytes

DIR = VECTORS / "python-signed"
FILES = sorted(DIR.glob("*.json"))
SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "generate_vectors.py"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_vectors_are_what_the_generator_writes(tmp_path):
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert written == [p.name for p in FILES] and len(written) == 8
    for name in written:
        assert (tmp_path / name).read_bytes() == (DIR / name).read_bytes(), name
    assert gen.main(["--check"]) == 0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_vector_checks_with_the_independent_code(path):
    v = json.loads(path.read_text(encoding="utf-8"))
    chain = eip712.Domain(int(v["chainId"]), v["verifyingContract"])  # the chain and deployment signed for
    if v["kind"] in ("action", "outcome"):
        e = v["entry"]
        struct = "Action" if v["kind"] == "action" else "Outcome"
        digest = eip712.digest(struct, e["message"], chain)
        assert "0x" + digest.hex() == v["expected"]["id"]
        signer = eip712.recover(digest, hex_bytes(e["signature"]))
        assert signer == v["expected"]["signer"]
        assert (signer == e["message"]["agent"]) is v["expected"]["signedByAgent"]
        assert "0x" + leaf_hash(canonicalize(e)).hex() == v["expected"]["leafHash"]
        if "payload" in v:
            assert "0x" + hashlib.sha256(canonicalize(v["payload"])).hexdigest() == e["message"]["payloadHash"]
    elif v["kind"] == "registration":
        r = v["request"]
        assert card_problem(r["card"]) is None
        assert card_hash(r["card"]) == r["message"]["cardHash"] == v["expected"]["cardHash"]
        digest = eip712.digest("RegisterAgent", r["message"], chain)
        assert eip712.recover(digest, hex_bytes(r["signature"])) == r["message"]["agent"] == v["expected"]["signer"]
    else:
        r = v["request"]
        m = v["expected"]["message"]
        assert m["bodyHash"] == "0x" + hashlib.sha256(r["body"].encode("utf-8")).hexdigest()
        assert (m["agent"], m["origin"], m["nonce"], m["expiry"]) == (
            r["headers"]["ChaosCore-Agent"], r["headers"]["ChaosCore-Origin"],
            r["headers"]["ChaosCore-Nonce"], r["headers"]["ChaosCore-Expiry"],
        )
        digest = eip712.digest("Request", m, chain)
        assert "0x" + digest.hex() == v["expected"]["digest"]
        assert eip712.recover(digest, hex_bytes(r["headers"]["ChaosCore-Signature"])) == m["agent"]
