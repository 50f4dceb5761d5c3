"""GatewayClient, GatewaySink and ChaosCoreAgent over an in-process fake gateway (httpx.MockTransport).

The fake checks what the real gateway would check of a client: the agent-signed
request headers over the exact bytes sent, the body shapes of docs/api.md, and
one nonce sequence per agent. Failures come back as problem+json documents.
"""

import json

import httpx
import pytest

from chaoscore import eip712
from chaoscore.agent import ChaosCoreAgent
from chaoscore.card import make_card
from chaoscore.client import GatewayClient, GatewayError
from chaoscore.signing import _MISSING as NO_PAYLOAD
from chaoscore.signing import LocalSigner, request_message, sign_action
from chaoscore.sink import GatewaySink, MemorySink
from chaoscore.util import hex_bytes

CHAIN = 31337
DEPLOYMENT = eip712.deployment_address("client test")
ORIGIN = "http://gateway.test"


def problem(status, code, detail="", **details):
    return httpx.Response(
        status,
        headers={"content-type": "application/problem+json"},
        json={"type": f"https://chaoscore.dev/errors#{code}", "title": code, "status": status, "code": code,
              "detail": detail, "requestId": "req-1", "retryable": False, "details": details},
    )


class FakeGateway:
    """Backed by a MemorySink, which applies the log's acceptance rules."""

    def __init__(self):
        self.log = MemorySink(CHAIN, verifying_contract=DEPLOYMENT)
        self.requests: list[httpx.Request] = []
        self.seen_nonces: set[str] = set()
        self.expose_chain = True

    def _auth(self, req: httpx.Request):
        if req.headers.get("authorization") == "Bearer cck_admin_secret":
            return "admin"
        names = ("ChaosCore-Agent", "ChaosCore-Origin", "ChaosCore-Nonce", "ChaosCore-Expiry", "ChaosCore-Signature")
        h = {k: req.headers.get(k) for k in names}
        if None in h.values():
            return None
        target = req.url.raw_path.decode()
        m = request_message(h, req.method, target, req.content)
        domain = eip712.Domain(CHAIN, DEPLOYMENT)
        signer = eip712.recover(eip712.digest("Request", m, domain), hex_bytes(h["ChaosCore-Signature"]))
        if h["ChaosCore-Origin"] != ORIGIN:
            return "bad"
        if signer != h["ChaosCore-Agent"] or h["ChaosCore-Nonce"] in self.seen_nonces:
            return "bad"
        self.seen_nonces.add(h["ChaosCore-Nonce"])
        return signer

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(req)
        path = req.url.path
        if req.method == "GET" and path == "/v1":
            return httpx.Response(200, json={"verifyingContract": DEPLOYMENT, "origins": [ORIGIN]})
        if req.method == "GET" and path == "/healthz":
            return httpx.Response(200, json={"status": "ok", **({"chainId": str(CHAIN)} if self.expose_chain else {})})
        if req.method == "GET" and path == "/v1/log/checkpoint":
            return httpx.Response(200, json={"checkpoint": "…"})
        if req.method == "GET" and path.startswith("/v1/agents/"):
            agent = path.split("/")[3]
            if agent not in self.log.agents:
                return problem(404, "AGENT_NOT_FOUND")
            if path.endswith("/signing-state"):
                nxt = self.log.next_nonce(agent)
                return httpx.Response(200, json={"agent": agent, "signer": agent, "status": "active",
                                                 "actionNonce": None if nxt == 1 else str(nxt - 1), "nextNonce": str(nxt)})
            return httpx.Response(200, json={"id": agent})
        if req.method == "POST":
            who = self._auth(req)
            if who is None:
                return problem(401, "GATEWAY_UNAUTHENTICATED")
            if who == "bad":
                return problem(401, "GATEWAY_REQUEST_SIGNATURE_INVALID")
            body = json.loads(req.content)
            try:
                if path == "/v1/agents":
                    if who not in ("admin", body["message"]["agent"]):
                        return problem(403, "GATEWAY_FORBIDDEN")
                    self.log.register(body, None)
                    return httpx.Response(201, json={"id": body["message"]["agent"]})
                if path in ("/v1/actions", "/v1/outcomes"):
                    if who not in ("admin", body["entry"]["message"]["agent"]):
                        return problem(403, "GATEWAY_FORBIDDEN")
                    if path == "/v1/actions":
                        r = self.log.append_action(body["entry"], body.get("payload", NO_PAYLOAD), body.get("attestation"), None)
                    else:
                        r = self.log.append_outcome(body["entry"], body["metrics"], None)
                    return httpx.Response(201, json={"id": r.id, "kind": r.kind, "leafIndex": r.leaf_index, "duplicate": r.duplicate})
            except GatewayError as err:
                return problem(err.status or 400, err.code, err.message, **(err.details or {}))
        return problem(404, "GATEWAY_ROUTE_NOT_FOUND")


@pytest.fixture
def gw():
    return FakeGateway()


def client_for(gw, **kw):
    return GatewayClient("http://gateway.test", transport=httpx.MockTransport(gw), **kw)


def test_chain_id_is_read_from_healthz(gw):
    c = client_for(gw)
    assert c.chain_id() == CHAIN
    gw.expose_chain = False
    with pytest.raises(GatewayError) as e:
        client_for(gw).chain_id()
    assert e.value.code == "SDK_RESPONSE_INVALID"
    assert client_for(gw, chain_id=5).chain_id() == 5


def test_agent_registers_and_records_with_signed_requests(gw):
    signer = LocalSigner.generate()
    agent = ChaosCoreAgent(signer, GatewaySink(client_for(gw)))
    assert agent.ensure_registered(make_card("researcher", framework="crewai")) is True
    assert agent.ensure_registered(make_card("researcher", framework="crewai")) is False  # already there
    a = agent.record_action("tool.call", {"tool": "lookup", "input": {"q": "x"}})
    b = agent.record_action("tool.result", {"out": 1}, parents=[a.id])
    assert (a.leaf_index, b.leaf_index) == (0, 1)
    assert [r.entry["message"]["nonce"] for r in (a, b)] == ["1", "2"]
    posts = [r for r in gw.requests if r.method == "POST"]
    assert len(posts) == 3 and all(r.headers["ChaosCore-Agent"] == signer.address for r in posts)
    assert all("authorization" not in r.headers for r in posts)
    # a retry of the same signed entry carries the same Idempotency-Key
    assert posts[1].headers["Idempotency-Key"].startswith("entry-")
    evaluator = ChaosCoreAgent(LocalSigner.generate(), GatewaySink(client_for(gw)))
    evaluator.ensure_registered(make_card("evaluator"))
    o = evaluator.record_outcome(a.id, "success", metrics={"score": 1})
    assert o.kind == "outcome" and o.leaf_index == 2


def test_problem_documents_become_gateway_errors(gw):
    c = client_for(gw)
    signer = LocalSigner.generate()
    entry = sign_action(signer, eip712.Domain(CHAIN, DEPLOYMENT), "x", 1)
    with pytest.raises(GatewayError) as e:
        c.record_action(entry)  # no credentials
    assert (e.value.code, e.value.status, e.value.request_id) == ("GATEWAY_UNAUTHENTICATED", 401, "req-1")
    with pytest.raises(GatewayError) as e:
        c.record_action(entry, signer=signer)  # signed, but the agent is not registered
    assert e.value.code == "AGENT_NOT_FOUND"
    assert c.get_agent(signer.address) is None  # 404 → None where absence is an answer


def test_api_key_authorises_instead_of_the_agent(gw):
    agent = ChaosCoreAgent(LocalSigner.generate(), GatewaySink(client_for(gw, api_key="cck_admin_secret"), use_api_key=True))
    agent.ensure_registered(make_card("keyed"))
    agent.record_action("x")
    posts = [r for r in gw.requests if r.method == "POST"]
    assert all(r.headers["authorization"] == "Bearer cck_admin_secret" for r in posts)
    assert all("ChaosCore-Signature" not in r.headers for r in posts)


def test_nonce_conflict_is_resigned_above_the_logs_last(gw):
    signer = LocalSigner.generate()
    first = ChaosCoreAgent(signer, GatewaySink(client_for(gw)))
    first.ensure_registered(make_card("a"))
    first.record_action("x")  # nonce 1; the session now expects 2 next
    other = ChaosCoreAgent(signer, GatewaySink(client_for(gw)))  # the same key in another process
    assert other.record_action("y").entry["message"]["nonce"] == "2"
    r = first.record_action("z")  # signs 2, refused, re-signs 3
    assert r.entry["message"]["nonce"] == "3"
    codes = [json.loads(x.content)["entry"]["message"]["nonce"] for x in gw.requests if x.url.path == "/v1/actions"]
    assert codes == ["1", "2", "2", "3"]


def test_other_refusals_are_not_retried(gw):
    agent = ChaosCoreAgent(LocalSigner.generate(), GatewaySink(client_for(gw)))
    agent.ensure_registered(make_card("a"))
    with pytest.raises(GatewayError) as e:
        agent.record_action("x", parents=["0x" + "77" * 32])
    assert e.value.code == "AGENCY_PARENT_NOT_FOUND"


def test_unreachable_gateway():
    def down(req):
        raise httpx.ConnectError("refused", request=req)

    c = GatewayClient("http://gateway.test", transport=httpx.MockTransport(down), chain_id=1)
    with pytest.raises(GatewayError) as e:
        c.checkpoint()
    assert e.value.code == "SDK_GATEWAY_UNREACHABLE" and e.value.retryable


def test_memory_sink_refusals():
    sink = MemorySink(CHAIN, clock=lambda: 1000)
    s = LocalSigner.generate()
    ChaosCoreAgent(s, sink).ensure_registered(make_card("a"))
    cases = [
        (sign_action(s, 1, "x", 1, timestamp=990), "AGENCY_WRONG_CHAIN"),
        (sign_action(LocalSigner.generate(), CHAIN, "x", 1, timestamp=990, agent=s.address), "AGENCY_BAD_SIGNATURE"),
        (sign_action(s, CHAIN, "x", 1, timestamp=0, ttl_seconds=10), "AGENCY_EXPIRED"),
        (sign_action(LocalSigner.generate(), CHAIN, "x", 1, timestamp=990), "AGENT_NOT_FOUND"),
    ]
    for entry, code in cases:
        with pytest.raises(GatewayError) as e:
            sink.append_action(entry, NO_PAYLOAD, None, s)
        assert e.value.code == code
    e1 = sign_action(s, CHAIN, "x", 5, {"p": 1}, timestamp=990)
    with pytest.raises(GatewayError) as e:
        sink.append_action(e1, {"p": 2}, None, s)
    assert e.value.code == "AGENCY_PAYLOAD_MISMATCH"
    r = sink.append_action(e1, {"p": 1}, None, s)
    assert r.leaf_index == 0 and sink.append_action(e1, {"p": 1}, None, s).duplicate
    with pytest.raises(GatewayError) as e:
        sink.append_action(sign_action(s, CHAIN, "x", 5, timestamp=991), NO_PAYLOAD, None, s)
    assert e.value.code == "AGENCY_NONCE_NOT_INCREASING" and e.value.details == {"nonce": "5", "last": "5"}
