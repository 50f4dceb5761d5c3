"""Local signing (eth-account) checked against the independent EIP-712 code and the spec's examples."""

import pytest

from chaoscore import eip712
from chaoscore.card import CardError, card_hash, card_problem, make_card
from chaoscore.eip712 import Domain, deployment_address
from chaoscore.signing import (
    ZERO_HASH,
    LocalSigner,
    SigningError,
    entry_id,
    hash_json,
    request_message,
    sign_action,
    sign_outcome,
    sign_registration,
    sign_request,
    typed_id,
)
from chaoscore.util import hex_bytes

# agent-card.md §2's example key (anvil's second dev account: a public test key)
KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SPEC_CARD = dict(
    description="Analyses DAO proposals and recommends a vote.",
    capabilities=["governance.analyse", "governance.vote"],
    framework="crewai",
    version="1.0.0",
    endpoints=[{"name": "A2A", "endpoint": "https://agent.example/.well-known/agent-card.json"}],
)


def recover(digest_hex: str, sig: str) -> str | None:
    return eip712.recover(hex_bytes(digest_hex), hex_bytes(sig))


def test_signer_address_and_repr_hide_the_key():
    s = LocalSigner(KEY)
    assert s.address == "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    assert KEY[2:] not in repr(s) and s.address in repr(s)
    with pytest.raises(SigningError):
        LocalSigner(b"\x01" * 31)


def test_spec_card_hash_and_registration_digest():
    card = make_card("Proposal Analyst", **SPEC_CARD)
    assert card_hash(card) == "0xf2ea8a70895f109732dbf51ea924c9f664cc360d4f38380add514ed377e20568"
    reg = sign_registration(LocalSigner(KEY), 31337, card, nonce=1, expiry=1900000000)
    assert reg["message"] == {
        "agent": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "cardHash": "0xf2ea8a70895f109732dbf51ea924c9f664cc360d4f38380add514ed377e20568",
        "nonce": "1",
        "expiry": "1900000000",
    }
    digest = typed_id("RegisterAgent", reg["message"], 31337)  # the development deployment (agent-card.md §2)
    assert digest == "0x2da396fe110b7ccfd4fe563db68bf834809c8dbd438149ea33c0cdbdc5a4a9f9"
    assert recover(digest, reg["signature"]) == reg["message"]["agent"]
    assert reg["chainId"] == "31337" and set(reg) == {"chainId", "card", "message", "signature"}


def test_action_signature_recovers_the_agent_and_is_canonical():
    s = LocalSigner.generate()
    parent = "0x" + "ab" * 32
    e = sign_action(s, 5, "tool.call", 7, {"q": "hi"}, studio="st", task="tk", parents=[parent], timestamp=1000, ttl_seconds=60)
    m = e["message"]
    assert m == {
        "agent": s.address, "studio": "st", "task": "tk", "actionType": "tool.call",
        "payloadHash": hash_json({"q": "hi"}), "parents": [parent], "attestationHash": ZERO_HASH,
        "timestamp": "1000", "nonce": "7", "expiry": "1060",
    }
    assert e["format"] == "chaoscore.entry/v2" and e["kind"] == "action" and e["chainId"] == "5"
    assert recover(entry_id(e), e["signature"]) == s.address
    sig = hex_bytes(e["signature"])
    assert sig[64] in (27, 28) and int.from_bytes(sig[32:64], "big") <= eip712.N // 2
    # the chain id is in the domain: the same message on another chain does not recover the agent
    other = dict(e, chainId="6")
    assert recover(entry_id(other), e["signature"]) != s.address


def test_action_without_payload_signs_the_zero_hash():
    e = sign_action(LocalSigner.generate(), 31337, "crew.kickoff", 1)
    assert e["message"]["payloadHash"] == ZERO_HASH


def test_signatures_are_deterministic():
    s = LocalSigner(KEY)
    a = sign_action(s, 31337, "x", 1, [1, 2], timestamp=5)
    b = sign_action(s, 31337, "x", 1, [1, 2], timestamp=5)
    assert a == b


def test_outcome():
    s = LocalSigner.generate()
    action = "0x" + "11" * 32
    e, metrics = sign_outcome(s, 31337, action, "partial", 3, result="ok", metrics={"q": 0.5}, timestamp=10)
    assert metrics == {"q": 0.5}
    assert e["message"]["resultHash"] == hash_json("ok") and e["message"]["metricsHash"] == hash_json({"q": 0.5})
    assert recover(entry_id(e), e["signature"]) == s.address
    e2, m2 = sign_outcome(s, 31337, action, "success", 4)
    assert m2 == {} and e2["message"]["resultHash"] == ZERO_HASH and e2["message"]["metricsHash"] == hash_json({})
    with pytest.raises(SigningError):
        sign_outcome(s, 31337, action, "done", 5)


@pytest.mark.parametrize(
    "field,value",
    [("nonce", -1), ("nonce", 2**64)],
)
def test_out_of_range_nonces_are_refused(field, value):
    with pytest.raises(SigningError):
        sign_action(LocalSigner.generate(), 31337, "x", value)


def test_malformed_parents_are_refused():
    with pytest.raises(SigningError):
        sign_action(LocalSigner.generate(), 31337, "x", 1, parents=["0xAB" + "00" * 31])


def test_request_headers():
    s = LocalSigner.generate()
    body = b'{"a":1}'
    h = sign_request(s, 31337, "post", "/v1/actions?x=1", body, origin="https://gw.example")
    assert set(h) == {"ChaosCore-Agent", "ChaosCore-Origin", "ChaosCore-Nonce", "ChaosCore-Expiry", "ChaosCore-Signature"}
    assert h["ChaosCore-Origin"] == "https://gw.example"
    assert h["ChaosCore-Agent"] == s.address and len(h["ChaosCore-Nonce"]) == 66
    m = request_message(h, "POST", "/v1/actions?x=1", body)
    assert m["method"] == "POST" and m["bodyHash"] == "0x" + __import__("hashlib").sha256(body).hexdigest()
    assert recover(typed_id("Request", m, 31337), h["ChaosCore-Signature"]) == s.address
    tampered = request_message(h, "POST", "/v1/actions?x=1", b'{"a":2}')
    assert recover(typed_id("Request", tampered, 31337), h["ChaosCore-Signature"]) != s.address
    other_gateway = dict(m, origin="https://other.example")
    assert recover(typed_id("Request", other_gateway, 31337), h["ChaosCore-Signature"]) != s.address
    other_deployment = Domain(31337, deployment_address("another deployment"))
    assert recover(typed_id("Request", m, other_deployment), h["ChaosCore-Signature"]) != s.address
    assert sign_request(s, 1, "GET", "/", origin="http://localhost", nonce="0x" + "00" * 32)["ChaosCore-Nonce"] == "0x" + "00" * 32


def test_entries_are_bound_to_their_deployment():
    s = LocalSigner.generate()
    domain = Domain(31337, deployment_address("deployment A"))
    e = sign_action(s, domain, "x", 1)
    assert e["format"] == "chaoscore.entry/v2" and e["verifyingContract"] == domain.verifying_contract
    assert recover(entry_id(e), e["signature"]) == s.address
    moved = dict(e, verifyingContract=deployment_address("deployment B"))
    assert recover(entry_id(moved), e["signature"]) != s.address


def test_cards_are_checked():
    assert card_problem(make_card("a")) is None
    for kwargs in (
        {"name": ""},
        {"name": "two\nlines"},
        {"name": "x", "capabilities": ["Upper"]},
        {"name": "x", "capabilities": ["a", "a"]},
        {"name": "x", "endpoints": [{"name": "e", "endpoint": "ftp://host/x"}]},
        {"name": "x", "endpoints": [{"name": "e", "endpoint": "https:///nohost"}]},
        {"name": "x", "owner": "0xAB" + "00" * 18},
        {"name": "x", "code_measurement": "0x12"},
        {"name": "x", "description": "bell\x07"},
        {"name": "\ud800"},
    ):
        name = kwargs.pop("name")
        with pytest.raises(CardError):
            make_card(name, **kwargs)
    assert card_problem({"format": "chaoscore.agent-card/v1"}) is not None
