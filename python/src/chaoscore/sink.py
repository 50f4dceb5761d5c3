"""Where signed entries go: the gateway (`GatewaySink`) or a local in-memory log (`MemorySink`).

A sink takes entries that are already signed; it never sees a private key
(the `signer` argument is used only to sign the HTTP request itself).
`MemorySink` applies the log's acceptance rules that matter to a client —
signature by the registered agent, chain id, one strictly increasing nonce
sequence per agent shared by actions and outcomes, recorded parents, payload
and metrics hashes — so offline tests catch what the gateway would refuse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import eip712
from .eip712 import Domain
from .card import card_hash, card_problem
from .client import GatewayClient, GatewayError
from .signing import _MISSING, LocalSigner, entry_id, hash_json
from .util import hex_bytes, is_hex


@dataclass(frozen=True)
class Recorded:
    """An entry the log accepted."""

    id: str
    kind: str  # action | outcome
    leaf_index: int
    duplicate: bool
    entry: dict = field(repr=False)
    body: Any = field(default=None, repr=False)  # the payload (actions) or metrics (outcomes)


class RecordingSink(Protocol):
    """What an agent session needs from a log."""

    def domain(self) -> Domain: ...

    def is_registered(self, agent: str) -> bool: ...

    def register(self, registration: dict, signer: LocalSigner) -> None: ...

    def next_nonce(self, agent: str) -> int: ...

    def append_action(self, entry: dict, payload: Any, attestation: Any, signer: LocalSigner) -> Recorded: ...

    def append_outcome(self, entry: dict, metrics: dict, signer: LocalSigner) -> Recorded: ...


class GatewaySink:
    """Entries go to a running gateway. Entry writes are agent-signed requests unless
    `use_api_key`; so are registrations (a new agent signs its own)."""

    def __init__(self, client: GatewayClient, *, use_api_key: bool = False):
        self.client = client
        self.use_api_key = use_api_key

    def _auth(self, signer: LocalSigner) -> LocalSigner | None:
        return None if self.use_api_key else signer

    def domain(self) -> Domain:
        return self.client.domain()

    def is_registered(self, agent: str) -> bool:
        return self.client.get_agent(agent) is not None

    def register(self, registration: dict, signer: LocalSigner) -> None:
        # A new agent signs its own POST /v1/agents (its key is its id); the body's
        # RegisterAgent signature proves the key either way.
        self.client.register_agent(registration, signer=self._auth(signer))

    def next_nonce(self, agent: str) -> int:
        return int(self.client.signing_state(agent)["nextNonce"])

    def append_action(self, entry: dict, payload: Any, attestation: Any, signer: LocalSigner) -> Recorded:
        r = self.client.record_action(entry, payload, attestation=attestation, signer=self._auth(signer))
        return Recorded(
            r["id"], r.get("kind", "action"), int(r["leafIndex"]), bool(r.get("duplicate")), entry,
            None if payload is _MISSING else payload,
        )

    def append_outcome(self, entry: dict, metrics: dict, signer: LocalSigner) -> Recorded:
        r = self.client.record_outcome(entry, metrics, signer=self._auth(signer))
        return Recorded(r["id"], r.get("kind", "outcome"), int(r["leafIndex"]), bool(r.get("duplicate")), entry, metrics)


def _fail(code: str, message: str, **details: Any):
    status = 409 if code in ("AGENCY_NONCE_NOT_INCREASING", "AGENCY_NONCE_GAP_TOO_LARGE") else 400
    raise GatewayError(code, message, status=status, details=details)


MAX_NONCE_GAP = 1000  # as the log (receipt.md §2.1): a nonce may jump at most this far


class MemorySink:
    """A local log in memory, checking entries as the gateway would (see the module doc)."""

    def __init__(self, chain_id: int = 31337, *, verifying_contract: str = eip712.DEVELOPMENT_DEPLOYMENT, clock=time.time):
        self._chain_id = int(chain_id)
        self._domain = Domain(self._chain_id, verifying_contract)
        self._clock = clock
        self._lock = threading.Lock()
        self.entries: list[Recorded] = []
        self.agents: dict[str, dict] = {}
        self._last_nonce: dict[str, int] = {}
        self._by_id: dict[str, Recorded] = {}
        self._outcome_of: dict[tuple[str, str], str] = {}

    def domain(self) -> Domain:
        return self._domain

    def is_registered(self, agent: str) -> bool:
        return agent in self.agents

    def register(self, registration: dict, signer: LocalSigner) -> None:
        m = registration["message"]
        if registration.get("chainId") != str(self._chain_id):
            _fail("AGENT_WRONG_CHAIN", "registration for another chain")
        problem = card_problem(registration.get("card"))
        if problem is not None:
            _fail("AGENT_CARD_INVALID", problem)
        if m["cardHash"] != card_hash(registration["card"]):
            _fail("AGENT_CARD_HASH_MISMATCH", "cardHash is not the card's hash")
        digest = eip712.digest("RegisterAgent", m, self._domain)
        if eip712.recover(digest, hex_bytes(registration["signature"])) != m["agent"]:
            _fail("AGENT_BAD_SIGNATURE", "the registration is not signed by its agent")
        with self._lock:
            if m["agent"] in self.agents:
                _fail("AGENT_ALREADY_REGISTERED", "the id is taken")
            self.agents[m["agent"]] = {"card": registration["card"], "registration": registration}

    def next_nonce(self, agent: str) -> int:
        with self._lock:
            return self._last_nonce.get(agent, 0) + 1

    def _check_entry(self, entry: dict, kind: str) -> tuple[str, str]:
        if entry.get("format") != "chaoscore.entry/v2" or entry.get("kind") != kind:
            _fail("AGENCY_MALFORMED", f"not a chaoscore.entry/v2 {kind}")
        if entry["chainId"] != str(self._chain_id):
            _fail("AGENCY_WRONG_CHAIN", "signed for another chain", chainId=entry["chainId"])
        if entry.get("verifyingContract") != self._domain.verifying_contract:
            _fail("AGENCY_WRONG_DEPLOYMENT", "signed for another deployment", verifyingContract=entry.get("verifyingContract"))
        m = entry["message"]
        agent = m["agent"]
        if agent not in self.agents:
            _fail("AGENT_NOT_FOUND", "the agent is not registered", agent=agent)
        eid = entry_id(entry)
        signer = eip712.recover(hex_bytes(eid), hex_bytes(entry["signature"]))
        if signer != agent:
            _fail("AGENCY_BAD_SIGNATURE", "not signed by the agent's key", agent=agent, signer=signer)
        if int(m["expiry"]) <= self._clock():
            _fail("AGENCY_EXPIRED", "the message has expired")
        return eid, agent

    def _commit(self, eid: str, agent: str, nonce: int, rec_kind: str, entry: dict, body: Any) -> Recorded:
        last = self._last_nonce.get(agent, 0)
        if nonce <= last:
            _fail("AGENCY_NONCE_NOT_INCREASING", "nonce not above the last one", nonce=str(nonce), last=str(last))
        if nonce - last > MAX_NONCE_GAP:
            _fail("AGENCY_NONCE_GAP_TOO_LARGE", "nonce too far above the last one", nonce=str(nonce), last=str(last))
        rec = Recorded(eid, rec_kind, len(self.entries), False, entry, body)
        self.entries.append(rec)
        self._by_id[eid] = rec
        self._last_nonce[agent] = nonce
        return rec

    def append_action(self, entry: dict, payload: Any, attestation: Any, signer: LocalSigner) -> Recorded:
        eid, agent = self._check_entry(entry, "action")
        m = entry["message"]
        if payload is not _MISSING and hash_json(payload) != m["payloadHash"]:
            _fail("AGENCY_PAYLOAD_MISMATCH", "the payload does not hash to payloadHash")
        if attestation is not None and hash_json(attestation) != m["attestationHash"]:
            _fail("AGENCY_ATTESTATION_MISMATCH", "the attestation does not hash to attestationHash")
        with self._lock:
            if eid in self._by_id:
                r = self._by_id[eid]
                return Recorded(r.id, r.kind, r.leaf_index, True, r.entry, r.body)
            for p in m["parents"]:
                if not is_hex(p, 32) or self._by_id.get(p, None) is None or self._by_id[p].kind != "action":
                    _fail("AGENCY_PARENT_NOT_FOUND", "a parent is not a recorded action", parent=p)
            return self._commit(eid, agent, int(m["nonce"]), "action", entry, None if payload is _MISSING else payload)

    def append_outcome(self, entry: dict, metrics: dict, signer: LocalSigner) -> Recorded:
        eid, agent = self._check_entry(entry, "outcome")
        m = entry["message"]
        if not isinstance(metrics, Mapping) or hash_json(dict(metrics)) != m["metricsHash"]:
            _fail("AGENCY_PAYLOAD_MISMATCH", "the metrics do not hash to metricsHash")
        with self._lock:
            if eid in self._by_id:
                r = self._by_id[eid]
                return Recorded(r.id, r.kind, r.leaf_index, True, r.entry, r.body)
            target = self._by_id.get(m["action"])
            if target is None or target.kind != "action":
                _fail("AGENCY_ACTION_NOT_FOUND", "no such action", action=m["action"])
            # one outcome per evaluator and action (receipt.md §3.1); outside studios, any agent
            if (m["action"], agent) in self._outcome_of:
                _fail("AGENCY_OUTCOME_EXISTS", "the evaluator already posted an outcome of this action")
            rec = self._commit(eid, agent, int(m["nonce"]), "outcome", entry, dict(metrics))
            self._outcome_of[(m["action"], agent)] = eid
            return rec

    def actions(self) -> list[Recorded]:
        return [r for r in self.entries if r.kind == "action"]
