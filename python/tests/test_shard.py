"""Shard certificates and receipts of shards (docs/spec/receipt.md §7), on the shared vectors."""

import copy
import os
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import LOG_KEY, RECEIPTS, VECTORS, load  # noqa: E402

from chaoscore import ReceiptError, verify_receipt
from chaoscore.errors import Invalid
from chaoscore.shard import parse_shard_certificate, shard_number_of_origin, verify_shard_certificate

DIR = VECTORS / "shard-certificates"
FAMILY_KEY = (DIR / "family-key.txt").read_text().strip()
VALID = sorted(DIR.glob("valid-*.json"))
INVALID = sorted(DIR.glob("invalid-*.json"))
SETTINGS = settings(
    max_examples=int(os.environ.get("CHAOSCORE_FUZZ_EXAMPLES", "300")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def as_expected(cert):
    return {
        "familyOrigin": cert.family_origin, "shard": cert.shard,
        "shardOrigin": cert.shard_origin, "shardVerifierKey": cert.shard_verifier_key,
    }


def test_vectors_present():
    assert len(VALID) >= 3 and len(INVALID) >= 10


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_certificate(path):
    v = load(path)
    assert as_expected(verify_shard_certificate(v["certificate"], FAMILY_KEY)) == v["expected"]
    assert as_expected(parse_shard_certificate(v["certificate"])) == v["expected"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_certificate(path):
    v = load(path)
    with pytest.raises(Invalid) as e:
        verify_shard_certificate(v["certificate"], FAMILY_KEY)
    assert e.value.code == v["expectedError"], e.value.message


CERT = load(DIR / "valid-shard-1.json")["certificate"]


@SETTINGS
@given(st.integers(min_value=0, max_value=len(CERT.encode()) - 1), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_fails_coded(pos, delta):
    raw = bytearray(CERT.encode())
    raw[pos] = (raw[pos] + delta) % 256
    text = raw.decode("utf-8", errors="replace")
    if text == CERT:
        return
    with pytest.raises(Invalid) as e:
        verify_shard_certificate(text, FAMILY_KEY)
    assert e.value.code.startswith("SHARD_CERTIFICATE_")


def test_shard_number_of_origin():
    f = "chaoscore.local/log/default"
    assert shard_number_of_origin(f, f) == 0
    assert shard_number_of_origin(f, f + "/s7") == 7
    for o in [f + "/s0", f + "/s07", f + "/s", f + "s1", "other/s1", f + "/s99999999999999999"]:
        assert shard_number_of_origin(f, o) is None


def test_receipt_of_a_shard_names_its_shard():
    v = load(RECEIPTS / "valid-shard.json")
    r = verify_receipt(v["receipt"], LOG_KEY)
    assert r.origin.endswith("/s1")
    assert r.shard == {"family": LOG_KEY.split("+")[0], "number": 1, "verifierKey": r.shard["verifierKey"]}
    assert r.as_expected() == v["expected"]


def test_receipt_shard_member_shape():
    v = load(RECEIPTS / "valid-shard.json")
    for bad in ["", 7, None, ["x"]]:
        r = copy.deepcopy(v["receipt"])
        r["shard"] = bad
        with pytest.raises(ReceiptError) as e:
            verify_receipt(r, LOG_KEY)
        assert e.value.code == "RECEIPT_MALFORMED"


def test_cli_names_the_shard(capsys):
    from chaoscore.__main__ import main

    assert main(["verify", str(RECEIPTS / "valid-shard.json"), "--log-key", LOG_KEY]) == 0
    assert "shard 1 of the log family vectors.chaoscore.dev/log/receipts: certificate verified" in capsys.readouterr().out
    assert main(["verify", str(RECEIPTS / "tampered-shard-uncertified.json"), "--log-key", LOG_KEY]) == 1
    assert "✗ RECEIPT_SHARD_UNCERTIFIED" in capsys.readouterr().out
