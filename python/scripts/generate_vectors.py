#!/usr/bin/env python3
"""Writes vectors/python-signed/*.json: entries signed by the Python SDK with fixed keys.

Deterministic (fixed keys, timestamps and request nonces; ECDSA with RFC 6979
nonces), so a re-run rewrites the same bytes. The TypeScript core checks them
in packages/core/src/python-vectors.test.ts; python/tests/test_python_vectors.py
checks that the committed files are what this script writes.

    python/.venv/bin/python python/scripts/generate_vectors.py [--check]

The keys are public test keys: never use them for anything else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys

from chaoscore import eip712
from chaoscore.card import card_hash, make_card
from chaoscore.jcs import canonicalize
from chaoscore.merkle import leaf_hash
from chaoscore.signing import (
    LocalSigner,
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

OUT = pathlib.Path(__file__).resolve().parents[2] / "vectors" / "python-signed"
FORMAT = "chaoscore.python-vector/v1"
CHAIN_ID = 31337
# Signed for a deployment other than the development one, and requests for this gateway origin.
DOMAIN = eip712.Domain(CHAIN_ID, eip712.deployment_address("python vectors"))
ORIGIN = "https://gateway.example"
T0 = 1_900_000_000  # fixed signing time


def key(label: str) -> bytes:
    return hashlib.sha256(f"chaoscore python vector key: {label}".encode()).digest()


AGENT = LocalSigner(key("agent"))
EVALUATOR = LocalSigner(key("evaluator"))
OTHER = LocalSigner(key("other"))


def signer_key(signer: LocalSigner) -> bytes:
    return {AGENT.address: key("agent"), EVALUATOR.address: key("evaluator"), OTHER.address: key("other")}[signer.address]


def signer_of(digest_hex: str, signature: str) -> str | None:
    return eip712.recover(hex_bytes(digest_hex), hex_bytes(signature))


def action_vector(name: str, description: str, signer: LocalSigner, inputs: dict, *, agent: str | None = None) -> dict:
    payload = inputs.get("payload", ...)
    kwargs = {
        "studio": inputs.get("studio", ""),
        "task": inputs.get("task", ""),
        "parents": inputs.get("parents", []),
        "timestamp": inputs["timestamp"],
        "ttl_seconds": inputs["ttlSeconds"],
        "agent": agent,
    }
    if payload is ...:
        entry = sign_action(signer, DOMAIN, inputs["actionType"], inputs["nonce"], **kwargs)
    else:
        entry = sign_action(signer, DOMAIN, inputs["actionType"], inputs["nonce"], payload, **kwargs)
    eid = entry_id(entry)
    expected = {
        "id": eid,
        "signer": signer_of(eid, entry["signature"]),
        "signedByAgent": signer_of(eid, entry["signature"]) == entry["message"]["agent"],
        "payloadHash": entry["message"]["payloadHash"],
        "leafHash": "0x" + leaf_hash(canonicalize(entry)).hex(),
    }
    inputs = inputs | {"signerKey": "0x" + signer_key(signer).hex()}
    v = {
        "format": FORMAT, "description": description, "kind": "action",
        "chainId": str(CHAIN_ID), "verifyingContract": DOMAIN.verifying_contract, "input": inputs, "entry": entry,
    }
    if payload is not ...:
        v["payload"] = payload
    v["expected"] = expected
    return {name: v}


def build() -> dict[str, dict]:
    vectors: dict[str, dict] = {}
    tool_call = {
        "actionType": "tool.call",
        "nonce": "1",
        "payload": {"tool": "lookup", "input": {"query": "treasury balance"}, "agentRole": "Researcher", "note": "Grüße, 東京 ✓"},
        "studio": "governance",
        "task": "task-1",
        "timestamp": T0,
        "ttlSeconds": 3600,
    }
    vectors |= action_vector("action-tool-call", "a tool call with a payload (non-ASCII text), studio and task", AGENT, tool_call)
    first = vectors["action-tool-call"]["expected"]["id"]
    vectors |= action_vector(
        "action-with-parents",
        "a tool result following from the tool call (one parent) and a float in the payload",
        AGENT,
        {
            "actionType": "tool.result",
            "nonce": "2",
            "payload": {"tool": "lookup", "output": {"text": "100000", "sha256": hash_json("100000")}, "score": 0.75, "n": -3},
            "studio": "governance",
            "task": "task-1",
            "parents": [first],
            "timestamp": T0 + 1,
            "ttlSeconds": 600,
        },
    )
    vectors |= action_vector(
        "action-no-payload",
        "an action that signs no payload (payloadHash is the zero hash), nonce past 2^53",
        AGENT,
        {"actionType": "crew.kickoff", "nonce": str(2**60 + 1), "timestamp": T0 + 2, "ttlSeconds": 3600},
    )
    vectors |= action_vector(
        "action-signed-by-other-key",
        "an action naming AGENT but signed by another key: its signature recovers the other key, not the agent",
        OTHER,
        {"actionType": "tool.call", "nonce": "3", "payload": {"tool": "x"}, "timestamp": T0 + 3, "ttlSeconds": 3600},
        agent=AGENT.address,
    )

    outcome, metrics = sign_outcome(
        EVALUATOR, DOMAIN, first, "success", 1,
        result={"answer": "The treasury is 100000."}, metrics={"quality": 0.9, "latencyMs": 1200},
        timestamp=T0 + 10, ttl_seconds=3600,
    )
    oid = entry_id(outcome)
    vectors["outcome"] = {
        "format": FORMAT,
        "description": "an evaluator's outcome of action-tool-call, with a result and metrics",
        "kind": "outcome",
        "chainId": str(CHAIN_ID), "verifyingContract": DOMAIN.verifying_contract,
        "input": {"action": first, "status": "success", "nonce": "1", "result": {"answer": "The treasury is 100000."},
                  "metrics": metrics, "timestamp": T0 + 10, "ttlSeconds": 3600,
                  "signerKey": "0x" + key("evaluator").hex()},
        "entry": outcome,
        "metrics": metrics,
        "expected": {
            "id": oid,
            "signer": signer_of(oid, outcome["signature"]),
            "signedByAgent": True,
            "resultHash": hash_json({"answer": "The treasury is 100000."}),
            "metricsHash": hash_json(metrics),
            "leafHash": "0x" + leaf_hash(canonicalize(outcome)).hex(),
        },
    }

    card = make_card(
        "Research agent",
        description="Looks things up for a CrewAI crew.\nSigned by the Python SDK.",
        capabilities=["search", "crewai.tool-call"],
        framework="crewai",
        version="0.1.0",
        endpoints=[{"name": "A2A", "endpoint": "https://agent.example/.well-known/agent-card.json"}],
    )
    reg = sign_registration(AGENT, DOMAIN, card, nonce=0, expiry=T0 + 3600)
    rid = typed_id("RegisterAgent", reg["message"], DOMAIN)
    vectors["registration"] = {
        "format": FORMAT,
        "description": "a RegisterAgent request (POST /v1/agents body)",
        "kind": "registration",
        "chainId": str(CHAIN_ID), "verifyingContract": DOMAIN.verifying_contract,
        "request": reg,
        "expected": {"digest": rid, "signer": signer_of(rid, reg["signature"]), "cardHash": card_hash(card)},
    }

    for name, method, path, body in (
        ("request-post-action", "POST", "/v1/actions",
         json.dumps({"entry": vectors["action-tool-call"]["entry"], "payload": tool_call["payload"]},
                    ensure_ascii=False, separators=(",", ":"))),
        ("request-get-with-query", "GET", "/v1/actions?agent=" + AGENT.address + "&limit=10", ""),
    ):
        raw = body.encode("utf-8")
        nonce = "0x" + hashlib.sha256(f"request nonce: {name}".encode()).hexdigest()
        headers = sign_request(AGENT, DOMAIN, method, path, raw, origin=ORIGIN, nonce=nonce, expiry=T0 + 300)
        msg = request_message(headers, method, path, raw)
        digest = typed_id("Request", msg, DOMAIN)
        vectors[name] = {
            "format": FORMAT,
            "description": f"an agent-signed {method} request: ChaosCore-* headers over the raw body",
            "kind": "request",
            "chainId": str(CHAIN_ID), "verifyingContract": DOMAIN.verifying_contract,
            "input": {"signerKey": "0x" + key("agent").hex()},
            "request": {"method": method, "path": path, "body": body, "headers": headers},
            "expected": {
                "message": msg,
                "digest": digest,
                "signer": signer_of(digest, headers["ChaosCore-Signature"]),
                "bodyHash": msg["bodyHash"],
            },
        }
    for v in vectors.values():
        if v["kind"] != "action" or v["expected"]["signedByAgent"]:
            assert v["expected"]["signer"] in (AGENT.address, EVALUATOR.address), v["description"]
    return vectors


def render(v: dict) -> str:
    return json.dumps(v, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed files differ")
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    args = ap.parse_args(argv)
    vectors = build()
    stale = []
    args.out.mkdir(parents=True, exist_ok=True)
    for name, v in vectors.items():
        path = args.out / f"{name}.json"
        text = render(v)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale vectors: " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{len(vectors)} vectors {'checked' if args.check else 'written'} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
