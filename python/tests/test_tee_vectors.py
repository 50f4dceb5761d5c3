"""The real TEE evidence vectors (vectors/attestation/{nitro,tdx}.json), verified by
the Python verifier with the codes the TypeScript one gives; fuzzed with hypothesis."""

import base64
import json
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaoscore.errors import Invalid
from chaoscore.nitro import verify_nitro_document
from chaoscore.tdx import verify_tdx_quote

DIR = pathlib.Path(__file__).resolve().parents[2] / "vectors" / "attestation"
NITRO = json.loads((DIR / "nitro.json").read_text())["cases"]
TDX = json.loads((DIR / "tdx.json").read_text())["cases"]


def evidence(case) -> bytes:
    if "evidence" in case:
        return (DIR / case["evidence"]).read_bytes()
    return base64.b64decode(case["evidenceBase64"])


def collateral(case):
    col = case.get("collateral")
    if col is None:
        return None
    text = lambda k: col.get(k + "Text") or (DIR / col[k]).read_text()  # noqa: E731
    out = {k: text(k) for k in ("tcbInfo", "tcbInfoIssuerChain", "qeIdentity", "qeIdentityIssuerChain")}
    if "pckCrl" in col:
        out["pckCrl"] = (DIR / col["pckCrl"]).read_bytes()
    return out


def code_of(f):
    try:
        return f()
    except Invalid as e:
        return e.code


@pytest.mark.parametrize("case", NITRO, ids=lambda c: c["name"])
def test_nitro(case):
    result = code_of(lambda: verify_nitro_document(evidence(case), {**case["policy"], "now": case["now"]}))
    expected = case["expected"]
    if "error" in expected:
        assert result == expected["error"]
    else:
        assert result["timestamp"] == expected["timestamp"]
        assert result["module_id"] == expected["moduleId"]
        assert result["pcrs"]["0"] == expected["pcr0"]
        assert result["root_fingerprint"] == expected["rootFingerprint"]


@pytest.mark.parametrize("case", TDX, ids=lambda c: c["name"])
def test_tdx(case):
    result = code_of(lambda: verify_tdx_quote(evidence(case), {**case["policy"], "now": case["now"]}, collateral(case)))
    expected = case["expected"]
    if "error" in expected:
        assert result == expected["error"]
    else:
        assert result["version"] == expected["version"]
        assert result["fmspc"] == expected["fmspc"]
        assert result["tcb_status"] == expected["tcbStatus"]
        assert result["qe_status"] == expected["qeStatus"]


NITRO_DOC = (DIR / "nitro" / "cape-2022-09-15.cbor").read_bytes()
TDX_QUOTE = (DIR / "tdx" / "spr-e4-quote-v4.dat").read_bytes()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(NITRO_DOC) - 1), st.integers(min_value=1, max_value=255))
def test_nitro_flipped_byte_is_a_coded_error(at, xor):
    doc = bytearray(NITRO_DOC)
    doc[at] ^= xor
    result = code_of(lambda: verify_nitro_document(bytes(doc), {"now": 1663263864}))
    if isinstance(result, dict):
        assert at == 6  # the COSE unprotected header (an empty map) is not signed
    else:
        assert result.startswith("ATTESTATION_")


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(TDX_QUOTE) - 1), st.integers(min_value=1, max_value=255))
def test_tdx_flipped_byte_is_a_coded_error(at, xor):
    quote = bytearray(TDX_QUOTE)
    quote[at] ^= xor
    result = code_of(lambda: verify_tdx_quote(bytes(quote), {"now": 1688173200, "allowedTcbStatuses": ["Unknown"]}))
    if isinstance(result, dict):
        assert at < 12 or at == len(TDX_QUOTE) - 1  # reserved header bytes, the PEM's trailing NUL
    else:
        assert result.startswith("ATTESTATION_")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1200))
def test_random_bytes_are_coded_errors(data):
    assert code_of(lambda: verify_nitro_document(data, {"now": 1663263864})).startswith("ATTESTATION_")
    assert code_of(lambda: verify_tdx_quote(data, {"now": 1688173200})).startswith("ATTESTATION_")
