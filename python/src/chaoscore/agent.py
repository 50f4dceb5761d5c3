"""An agent's session: its key, its nonce sequence, and the sink its signed entries go to."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .client import GatewayClient, GatewayError
from .eip712 import Domain
from .signing import _MISSING, LocalSigner, sign_action, sign_outcome, sign_registration
from .sink import GatewaySink, Recorded, RecordingSink

NONCE_CONFLICT = "AGENCY_NONCE_NOT_INCREASING"


class ChaosCoreAgent:
    """Signs and records an agent's actions and outcomes, one at a time, in nonce order.

    Actions and outcomes share one strictly increasing nonce sequence per agent;
    the session reads the next nonce from the sink once, then counts locally.
    Sign-and-send is serialised under a lock, so entries reach the log in nonce
    order even when called from several threads. If the log reports a nonce
    conflict (another process used the key), the entry is signed again above
    the log's last nonce, once.

    >>> agent = ChaosCoreAgent(LocalSigner.generate(), GatewaySink(client))
    >>> agent.ensure_registered(make_card("researcher", framework="crewai"))
    >>> rec = agent.record_action("tool.call", {"tool": "search", "input": {"q": "x"}})
    """

    def __init__(self, signer: LocalSigner, sink: RecordingSink, *, studio: str = "", task: str = ""):
        self.signer = signer
        self.sink = sink
        self.studio = studio
        self.task = task
        self._lock = threading.RLock()
        self._next_nonce: int | None = None

    @classmethod
    def for_gateway(cls, signer: LocalSigner, url: str, **client_options: Any) -> ChaosCoreAgent:
        return cls(signer, GatewaySink(GatewayClient(url, **client_options)))

    @property
    def id(self) -> str:
        return self.signer.address

    def chain_id(self) -> int:
        return self.sink.domain().chain_id

    def domain(self) -> Domain:
        """The chain and deployment this agent signs for (the sink's)."""
        return self.sink.domain()

    def ensure_registered(self, card: Mapping[str, Any], *, nonce: int = 0) -> bool:
        """Registers the agent with `card` unless it is registered; True when it registered now."""
        if self.sink.is_registered(self.id):
            return False
        registration = sign_registration(self.signer, self.domain(), card, nonce=nonce)
        try:
            self.sink.register(registration, self.signer)
        except GatewayError as err:
            if err.code == "AGENT_ALREADY_REGISTERED":
                return False
            raise
        return True

    def _take_nonce(self) -> int:
        if self._next_nonce is None:
            self._next_nonce = self.sink.next_nonce(self.id)
        n = self._next_nonce
        self._next_nonce = n + 1
        return n

    def _resync(self, err: GatewayError) -> None:
        last = (err.details or {}).get("last") if isinstance(err.details, dict) else None
        self._next_nonce = int(last) + 1 if last is not None else self.sink.next_nonce(self.id)

    def record_action(
        self,
        action_type: str,
        payload: Any = _MISSING,
        *,
        parents: Sequence[str] = (),
        studio: str | None = None,
        task: str | None = None,
        attestation: Any = None,
        attestation_hash: str | None = None,
        ttl_seconds: int = 3600,
    ) -> Recorded:
        """Signs an action with the next nonce and records it; returns what the log accepted."""
        with self._lock:
            for attempt in (0, 1):
                entry = sign_action(
                    self.signer,
                    self.domain(),
                    action_type,
                    self._take_nonce(),
                    payload,
                    studio=self.studio if studio is None else studio,
                    task=self.task if task is None else task,
                    parents=parents,
                    attestation_hash=attestation_hash,
                    ttl_seconds=ttl_seconds,
                )
                try:
                    return self.sink.append_action(entry, payload, attestation, self.signer)
                except GatewayError as err:
                    if err.code != NONCE_CONFLICT or attempt:
                        raise
                    self._resync(err)
        raise AssertionError("unreachable")

    def record_with(
        self,
        send: Callable[[dict], Any],
        action_type: str,
        payload: Any,
        *,
        parents: Sequence[str] = (),
        studio: str,
        task: str,
        ttl_seconds: int = 3600,
    ) -> Any:
        """Signs an action with the next nonce and hands the entry to `send` (e.g. a studio
        transition route, which records it in the log); returns what `send` returns."""
        with self._lock:
            for attempt in (0, 1):
                entry = sign_action(
                    self.signer, self.domain(), action_type, self._take_nonce(), payload,
                    studio=studio, task=task, parents=parents, ttl_seconds=ttl_seconds,
                )
                try:
                    return send(entry)
                except GatewayError as err:
                    if err.code != NONCE_CONFLICT or attempt:
                        raise
                    self._resync(err)
        raise AssertionError("unreachable")

    def record_outcome(
        self,
        action_id: str,
        status: str,
        *,
        result: Any = _MISSING,
        metrics: Mapping[str, Any] | None = None,
        ttl_seconds: int = 3600,
    ) -> Recorded:
        """Signs this agent's evaluation of `action_id` (success | failure | partial) and records it."""
        with self._lock:
            for attempt in (0, 1):
                entry, m = sign_outcome(
                    self.signer, self.domain(), action_id, status, self._take_nonce(),
                    result=result, metrics=metrics, ttl_seconds=ttl_seconds,
                )
                try:
                    return self.sink.append_outcome(entry, m, self.signer)
                except GatewayError as err:
                    if err.code != NONCE_CONFLICT or attempt:
                        raise
                    self._resync(err)
        raise AssertionError("unreachable")
