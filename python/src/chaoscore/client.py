"""A client of the ChaosCore gateway (docs/api.md), on httpx.

Writes are authorised by an operator API key (`Authorization: Bearer cck_…`)
or signed by the agent itself (the four `ChaosCore-*` headers over the exact
body bytes sent). Errors come back as RFC 9457 problem documents and are
raised as `GatewayError` with the gateway's stable `code`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from .eip712 import Domain
from .signing import _MISSING, LocalSigner, sign_request
from .util import is_hex



class GatewayError(Exception):
    """A gateway answer that is not a success: `code` (errors.md), HTTP `status`, problem fields."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        retryable: bool = False,
        request_id: str | None = None,
    ):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.retryable = retryable
        self.request_id = request_id


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class GatewayClient:
    """Typed calls over the gateway's v1 routes.

    >>> client = GatewayClient("http://127.0.0.1:8080", api_key="cck_…")
    >>> client.checkpoint()["checkpoint"]
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._chain_id = chain_id
        self._verifying_contract = verifying_contract
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = _MISSING,
        *,
        query: Mapping[str, Any] | None = None,
        signer: LocalSigner | None = None,
        idempotency_key: str | None = None,
        allow_404: bool = False,
    ) -> Any:
        """One call; `path` starts with '/'. With `signer` the request is agent-signed, else the
        API key (if any) authorises it. Returns the decoded JSON (None for 404 with allow_404)."""
        target = path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                target = f"{path}?{urlencode(q)}"
        raw = b"" if body is _MISSING else _dumps(body)
        headers: dict[str, str] = {"Accept": "application/json, application/problem+json"}
        if body is not _MISSING:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if signer is not None:
            headers.update(sign_request(signer, self.domain(), method, target, raw, origin=self.origin))
        elif self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            resp = self._http.request(method.upper(), target, content=raw or None, headers=headers)
        except httpx.HTTPError as err:
            raise GatewayError("SDK_GATEWAY_UNREACHABLE", f"{method} {target}: {err}", retryable=True) from err
        if resp.status_code == 404 and allow_404:
            return None
        if resp.status_code >= 400:
            raise _problem(resp, method, target)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as err:
            raise GatewayError("SDK_RESPONSE_INVALID", f"{method} {target}: not JSON", status=resp.status_code) from err

    # -- routes ------------------------------------------------------------------------------

    def health(self) -> dict:
        return self.request("GET", "/healthz")

    def info(self) -> dict:
        """GET /v1: `{format, chainId, log: {id, origin, verifierKey}, features, chain}`.

        The log's verifier key read here is what the gateway claims; a verifier
        should get the trusted key out of band (receipt.md §4)."""
        return self.request("GET", "/v1")

    def chain_id(self) -> int:
        """The gateway's EIP-155 chain id (given, else read from /healthz or the checkpoint)."""
        if self._chain_id is None:
            self._chain_id = self._discover_chain_id()
        return self._chain_id

    def domain(self) -> Domain:
        """What agents sign for: the chain id and the deployment (`verifyingContract` of GET /v1,
        unless given). Pin `verifying_contract=` where the gateway is not trusted to name it."""
        if self._verifying_contract is None:
            found = (self.info() or {}).get("verifyingContract")
            if not is_hex(found, 20):
                raise GatewayError("SDK_RESPONSE_INVALID", "GET /v1 names no verifyingContract; pass verifying_contract=")
            self._verifying_contract = found
        return Domain(self.chain_id(), self._verifying_contract)

    def _discover_chain_id(self) -> int:
        for path in ("/v1", "/healthz", "/v1/log/checkpoint"):
            try:
                doc = self.request("GET", path)
            except GatewayError:
                continue
            found = _find_chain_id(doc)
            if found is not None:
                return found
        raise GatewayError(
            "SDK_RESPONSE_INVALID",
            "the gateway does not say its chain id (/v1, /healthz, /v1/log/checkpoint); pass chain_id=",
        )

    def register_agent(self, registration: Mapping[str, Any], *, signer: LocalSigner | None = None) -> dict:
        """POST /v1/agents with a `sign_registration` request (agent-signed when `signer`)."""
        return self.request("POST", "/v1/agents", dict(registration), signer=signer)

    def get_agent(self, agent: str) -> dict | None:
        return self.request("GET", f"/v1/agents/{quote(agent)}", allow_404=True)

    def signing_state(self, agent: str) -> dict:
        """`{agent, signer, status, actionNonce, nextNonce}` of an agent."""
        return self.request("GET", f"/v1/agents/{quote(agent)}/signing-state")

    def record_action(
        self,
        entry: Mapping[str, Any],
        payload: Any = _MISSING,
        *,
        attestation: Any = None,
        signer: LocalSigner | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """POST /v1/actions → `{id, kind, leafIndex, duplicate}`."""
        body: dict[str, Any] = {"entry": dict(entry)}
        if payload is not _MISSING:
            body["payload"] = payload
        if attestation is not None:
            body["attestation"] = attestation
        return self.request(
            "POST", "/v1/actions", body, signer=signer, idempotency_key=idempotency_key or _idem(entry)
        )

    def record_outcome(
        self,
        entry: Mapping[str, Any],
        metrics: Mapping[str, Any],
        *,
        signer: LocalSigner | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """POST /v1/outcomes → `{id, kind, leafIndex, duplicate}`."""
        body = {"entry": dict(entry), "metrics": dict(metrics)}
        return self.request(
            "POST", "/v1/outcomes", body, signer=signer, idempotency_key=idempotency_key or _idem(entry)
        )

    def get_action(self, action_id: str) -> dict | None:
        return self.request("GET", f"/v1/actions/{quote(action_id)}", allow_404=True)

    def list_actions(self, **query: Any) -> dict:
        """GET /v1/actions (agent, studio, task, actionType, limit, cursor) → `{items, nextCursor}`."""
        return self.request("GET", "/v1/actions", query=query)

    def receipt(self, action_id: str, *, signer: LocalSigner | None = None) -> dict:
        """The `chaoscore.receipt/v2` receipt of an action (with its outcome, if any).

        Its payload comes only to the action's agent (pass its `signer`: the read is signed)
        or an API key scoped admin, read or studio:<id>; others get the receipt without it."""
        return self.request("GET", f"/v1/actions/{quote(action_id)}/receipt", signer=signer)

    def checkpoint(self) -> Any:
        """The latest signed checkpoint."""
        return self.request("GET", "/v1/log/checkpoint")

    def studio(self, studio_id: str) -> dict | None:
        return self.request("GET", f"/v1/studios/{quote(studio_id)}", allow_404=True)

    def get_task(self, studio_id: str, task_id: str) -> dict:
        """GET /v1/studios/{id}/tasks/{task} → the task, its state and `lastAction`."""
        return self.request("GET", f"/v1/studios/{quote(studio_id)}/tasks/{quote(task_id, safe='')}")

    def transition(
        self, studio_id: str, transition: str, entry: Mapping[str, Any], payload: Any, *, signer: LocalSigner | None = None
    ) -> dict:
        """POST /v1/studios/{id}/tasks/transitions: a signed `studio.task.<transition>` → `{actionId, task}`."""
        body = {"transition": transition, "entry": dict(entry), "payload": payload}
        return self.request(
            "POST", f"/v1/studios/{quote(studio_id)}/tasks/transitions", body, signer=signer, idempotency_key=_idem(entry)
        )


def _idem(entry: Mapping[str, Any]) -> str:
    # a retry of the same signed entry carries the same key: the signature is unique to it
    sig = entry.get("signature")
    return f"entry-{sig[2:66]}" if isinstance(sig, str) and len(sig) > 66 else f"req-{uuid.uuid4()}"


def _find_chain_id(doc: Any) -> int | None:
    if not isinstance(doc, dict):
        return None
    for key in ("chainId", "chain_id"):
        v = doc.get(key)
        if isinstance(v, (int, str)) and str(v).isdigit() and int(v) > 0:
            return int(v)
    for key in ("chain", "log"):
        found = _find_chain_id(doc.get(key))
        if found is not None:
            return found
    return None


def _problem(resp: httpx.Response, method: str, target: str) -> GatewayError:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("code"), str):
        return GatewayError(
            doc["code"],
            str(doc.get("detail") or doc.get("title") or doc["code"]),
            status=resp.status_code,
            details=doc.get("details"),
            retryable=bool(doc.get("retryable", resp.status_code in (429, 503))),
            request_id=doc.get("requestId"),
        )
    return GatewayError(
        f"HTTP_{resp.status_code}",
        f"{method} {target}: {resp.text[:200]}",
        status=resp.status_code,
        retryable=resp.status_code in (429, 502, 503, 504),
    )
