"""CrewAI adapter: a crew's steps become signed ChaosCore actions.

`ChaosCoreListener` is a `crewai.events.BaseEventListener` (crewai ≥ 1.0). It
listens to crew, task, agent and tool events, and — where CrewAI has them
(feature-detected) — registers global tool hooks, so that each tool call is
signed and accepted by the log **before the tool runs** (a refused action
blocks the tool when `fail_closed`). Native (function-calling) tool calls go
through the same hooks, unlike `step_callback`.

CrewAI runs event handlers on a thread pool, so they may run out of order.
Handlers only capture what they need, tagged with the event's
`emission_sequence`; records are signed and sent in that order when the
listener flushes: before each tool call (from the tool hook, on the agent's
thread) and at `seal()`, which waits for CrewAI's pending handlers first.

What becomes an action (`actionType`, signer, parents):

| CrewAI                                  | action          | signed by        | parents            |
| --------------------------------------- | --------------- | ---------------- | ------------------ |
| CrewKickoffStartedEvent                 | `crew.kickoff`  | the crew's agent | —                  |
| TaskStartedEvent                        | `task.start`    | the task's agent | crew.kickoff       |
| before_tool_call hook                   | `tool.call`     | the caller       | its task.start     |
| after_tool_call hook                    | `tool.result`   | the caller       | its tool.call      |
| ToolUsageErrorEvent                     | `tool.error`    | the caller       | its task.start     |
| AgentLogsExecutionEvent (ReAct step)    | `agent.step`    | that agent       | its task.start     |
| LLMCallStartedEvent                     | `model.call`    | the caller       | its task.start     |
| LLMCallCompletedEvent / LLMCallFailedEvent | `model.result` / `model.error` | the caller | its model.call |
| TaskCompletedEvent / TaskFailedEvent    | `task.output` / `task.failed` | the task's agent | its task.start |
| CrewKickoffCompletedEvent / Failed      | `crew.complete` / `crew.failed` | the crew's agent | the task outputs |

With `studio_task` (a `chaoscore.studio.StudioTask` assigned to the agent of
the driving CrewAI task: the first one, or the one named `studio_task_for`),
the crew drives the studio task: its `task.start` claims it (the signed
transition `studio.task.start`) and its `task.output` submits the output
(`studio.task.submit`, `{ result: { text, sha256 } }`).

Without tool hooks, ToolUsageStarted/Finished events give `tool.call` and
`tool.result` after the fact. Model steps carry the model id, the SHA-256 of
the prompt's and the completion's canonical JSON, token counts, latency and
finish reason (the content itself only with `include_content`); pass
`record_models=False` to leave them out. Every action carries the listener's `studio`
and `task` context; CrewAI's own ids and names are in the payload.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    from crewai.events import BaseEventListener, crewai_event_bus
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "chaoscore.crewai needs CrewAI (>= 1.0): pip install 'chaoscore[crewai]'"
    ) from err

from .agent import ChaosCoreAgent
from .client import GatewayError
from .jcs import canonicalize
from .sink import Recorded
from .studio import StudioTask

try:  # tool hooks: crewai ≥ 1.x; feature-detected, never required
    from crewai.hooks import (
        register_after_tool_call_hook,
        register_before_tool_call_hook,
        unregister_after_tool_call_hook,
        unregister_before_tool_call_hook,
    )

    HAS_TOOL_HOOKS = True
except ImportError:  # pragma: no cover - depends on the installed crewai
    HAS_TOOL_HOOKS = False

MAX_PARENTS = 64


class RecordingError(Exception):
    """Some steps of a run could not be recorded; `errors` lists (actionType, GatewayError)."""

    def __init__(self, errors: list[tuple[str, Exception]]):
        first = errors[0]
        super().__init__(f"{len(errors)} step(s) not recorded; first: {first[0]}: {first[1]}")
        self.errors = errors


@dataclass
class _Pending:
    seq: int
    action_type: str
    role: str | None
    task_key: str | None
    payload: dict


@dataclass
class RunRecord:
    """What a sealed run recorded, in log order."""

    actions: list[tuple[str, Recorded]] = field(default_factory=list)
    outcome: Recorded | None = None

    def of_type(self, action_type: str) -> list[Recorded]:
        return [r for t, r in self.actions if t == action_type]

    @property
    def final(self) -> Recorded | None:
        done = self.of_type("crew.complete") or self.of_type("crew.failed")
        return done[-1] if done else None


def _jsonable(v: Any, depth: int = 0) -> Any:
    """A JSON value for `v` (RFC 8785 can canonicalize it): no NaN, string keys, str() fallback."""
    if depth > 32:
        return str(v)
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) <= 2**53 else str(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, depth + 1) for x in v]
    dump = getattr(v, "model_dump", None)
    if callable(dump):
        try:
            return _jsonable(dump(mode="json"), depth + 1)
        except Exception:
            pass
    return str(v)


class ChaosCoreListener(BaseEventListener):
    """Records a crew's run as signed actions (see the module doc).

    >>> listener = ChaosCoreListener(crew_agent, agents={"Researcher": researcher})
    >>> crew.kickoff()
    >>> run = listener.seal()          # flush, then the run's records
    >>> listener.close()               # unregister handlers and hooks

    `crew_agent` signs crew-level actions and the steps of any CrewAI agent
    whose role is not in `agents`. `max_text` bounds the text kept in a
    payload (longer text is cut; its SHA-256 and length are kept).
    """

    def __init__(
        self,
        crew_agent: ChaosCoreAgent,
        *,
        agents: Mapping[str, ChaosCoreAgent] | None = None,
        studio: str = "",
        task: str = "",
        use_tool_hooks: bool | None = None,
        fail_closed: bool = True,
        max_text: int = 4000,
        flush_timeout: float = 30.0,
        record_models: bool = True,
        include_content: bool = False,
        studio_task: StudioTask | None = None,
        studio_task_for: str | None = None,
    ):
        self.crew_agent = crew_agent
        self.agents = dict(agents or {})
        self.studio = studio
        self.task = task
        self.use_tool_hooks = HAS_TOOL_HOOKS if use_tool_hooks is None else (use_tool_hooks and HAS_TOOL_HOOKS)
        self.fail_closed = fail_closed
        self.max_text = max_text
        self.flush_timeout = flush_timeout
        self.record_models = record_models
        self.studio_task = studio_task
        self.studio_task_for = studio_task_for
        self._driving: str | None = None  # the CrewAI task id that drives studio_task
        self.include_content = include_content
        self._model_calls: dict[str, str] = {}  # CrewAI call id -> model.call action id
        self._model_started: dict[str, Any] = {}  # CrewAI call id -> start timestamp
        self.errors: list[tuple[str, Exception]] = []
        self.blocked_tools: list[str] = []
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._run = RunRecord()
        self._kickoff: str | None = None
        self._task_start: dict[str, str] = {}
        self._task_output: list[str] = []
        self._current_task: dict[str, str] = {}  # role -> CrewAI task id (from task.start, in order)
        self._tool_stack = threading.local()
        self._handlers: list[tuple[type, Callable]] = []
        self._hooks: list[tuple[Callable, Callable]] = []
        self._closed = False
        super().__init__()  # calls setup_listeners(crewai_event_bus)
        if self.use_tool_hooks:
            register_before_tool_call_hook(self._before_tool)
            register_after_tool_call_hook(self._after_tool)
            self._hooks = [
                (unregister_before_tool_call_hook, self._before_tool),
                (unregister_after_tool_call_hook, self._after_tool),
            ]

    # -- CrewAI event bus ---------------------------------------------------------------------

    def setup_listeners(self, crewai_event_bus) -> None:  # noqa: D401 - CrewAI's hook
        from crewai.events import (
            AgentLogsExecutionEvent,
            CrewKickoffCompletedEvent,
            CrewKickoffFailedEvent,
            CrewKickoffStartedEvent,
            TaskCompletedEvent,
            TaskFailedEvent,
            TaskStartedEvent,
            ToolUsageErrorEvent,
            ToolUsageFinishedEvent,
            ToolUsageStartedEvent,
        )

        capture = {
            CrewKickoffStartedEvent: self._on_kickoff,
            CrewKickoffCompletedEvent: self._on_crew_completed,
            CrewKickoffFailedEvent: self._on_crew_failed,
            TaskStartedEvent: self._on_task_started,
            TaskCompletedEvent: self._on_task_completed,
            TaskFailedEvent: self._on_task_failed,
            AgentLogsExecutionEvent: self._on_agent_step,
            ToolUsageErrorEvent: self._on_tool_error,
        }
        if self.record_models:
            from crewai.events.types.llm_events import (
                LLMCallCompletedEvent,
                LLMCallFailedEvent,
                LLMCallStartedEvent,
            )

            capture[LLMCallStartedEvent] = self._on_model_started
            capture[LLMCallCompletedEvent] = self._on_model_completed
            capture[LLMCallFailedEvent] = self._on_model_failed
        if not self.use_tool_hooks:
            capture[ToolUsageStartedEvent] = self._on_tool_started
            capture[ToolUsageFinishedEvent] = self._on_tool_finished
        for event_type, fn in capture.items():
            handler = self._guard(fn)
            crewai_event_bus.on(event_type)(handler)
            self._handlers.append((event_type, handler))

    def _guard(self, fn: Callable[[Any, Any], _Pending | None]) -> Callable[[Any, Any], None]:
        def handler(source: Any, event: Any) -> None:
            if self._closed:
                return
            try:
                p = fn(source, event)
            except Exception as err:  # a capture bug must not break the crew; it fails seal()
                self.errors.append((getattr(event, "type", "event"), err))
                return
            if p is not None:
                with self._pending_lock:
                    self._pending.append(p)

        handler.__name__ = f"chaoscore_{fn.__name__}"
        return handler

    def _text(self, s: Any) -> dict:
        text = s if isinstance(s, str) else json.dumps(_jsonable(s), ensure_ascii=False, sort_keys=True)
        out = {"text": text[: self.max_text], "sha256": "0x" + hashlib.sha256(text.encode("utf-8")).hexdigest()}
        if len(text) > self.max_text:
            out["truncated"] = True
            out["length"] = len(text)
        return out

    @staticmethod
    def _base(event: Any) -> dict:
        return {
            "crewai": {
                "event": event.type,
                "eventId": event.event_id,
                "emissionSequence": event.emission_sequence,
                "at": event.timestamp.isoformat(),
            }
        }

    def _on_kickoff(self, source: Any, event: Any) -> _Pending:
        p = self._base(event) | {"crew": event.crew_name, "inputs": _jsonable(event.inputs or {})}
        return _Pending(event.emission_sequence or 0, "crew.kickoff", None, None, p)

    def _on_crew_completed(self, source: Any, event: Any) -> _Pending:
        out = getattr(event.output, "raw", event.output)
        p = self._base(event) | {"crew": event.crew_name, "output": self._text(out), "totalTokens": event.total_tokens}
        return _Pending(event.emission_sequence or 0, "crew.complete", None, None, p)

    def _on_crew_failed(self, source: Any, event: Any) -> _Pending:
        p = self._base(event) | {"crew": event.crew_name, "error": self._text(event.error)}
        return _Pending(event.emission_sequence or 0, "crew.failed", None, None, p)

    def _on_task_started(self, source: Any, event: Any) -> _Pending:
        task = event.task or source
        role = getattr(getattr(task, "agent", None), "role", None)
        p = self._base(event) | {
            "taskId": str(getattr(task, "id", event.task_id)),
            "name": getattr(task, "name", None) or event.task_name,
            "description": self._text(getattr(task, "description", "") or ""),
            "expectedOutput": self._text(getattr(task, "expected_output", "") or ""),
            "agentRole": role,
        }
        return _Pending(event.emission_sequence or 0, "task.start", role, p["taskId"], p)

    def _on_task_completed(self, source: Any, event: Any) -> _Pending:
        task = event.task or source
        key = str(getattr(task, "id", event.task_id))
        role = getattr(getattr(task, "agent", None), "role", None) or getattr(event.output, "agent", None)
        p = self._base(event) | {"taskId": key, "name": event.task_name, "agentRole": role, "output": self._text(event.output.raw)}
        return _Pending(event.emission_sequence or 0, "task.output", role, key, p)

    def _on_task_failed(self, source: Any, event: Any) -> _Pending:
        task = event.task or source
        key = str(getattr(task, "id", event.task_id))
        role = getattr(getattr(task, "agent", None), "role", None)
        p = self._base(event) | {"taskId": key, "name": event.task_name, "agentRole": role, "error": self._text(event.error)}
        return _Pending(event.emission_sequence or 0, "task.failed", role, key, p)

    def _on_agent_step(self, source: Any, event: Any) -> _Pending:
        a = event.formatted_answer
        step: dict[str, Any] = {"thought": self._text(getattr(a, "thought", "") or "")}
        if hasattr(a, "tool"):
            step |= {"kind": "action", "tool": a.tool, "toolInput": self._text(a.tool_input), "result": self._text(a.result or "")}
        else:
            step |= {"kind": "finish", "output": self._text(getattr(a, "output", a))}
        p = self._base(event) | {"agentRole": event.agent_role, "step": step}
        return _Pending(event.emission_sequence or 0, "agent.step", event.agent_role, None, p)

    @staticmethod
    def _hash(value: Any) -> str:
        return "0x" + hashlib.sha256(canonicalize(_jsonable(value))).hexdigest()

    def _model_base(self, event: Any) -> dict:
        role = event.agent_role or getattr(event.from_agent, "role", None)
        return self._base(event) | {
            "framework": "crewai",
            "model": event.model,
            "callId": event.call_id,
            "agentRole": role,
            "taskId": event.task_id,
        }

    def _on_model_started(self, source: Any, event: Any) -> _Pending:
        p = self._model_base(event) | {"promptHash": self._hash(event.messages)}
        if self.include_content:
            p["prompt"] = _jsonable(event.messages)
        self._model_started[event.call_id] = event.timestamp
        return _Pending(event.emission_sequence or 0, "model.call", p["agentRole"], event.task_id, p)

    def _latency_ms(self, event: Any) -> int | None:
        started = self._model_started.pop(event.call_id, None)
        return None if started is None else int((event.timestamp - started).total_seconds() * 1000)

    def _on_model_completed(self, source: Any, event: Any) -> _Pending:
        usage = _jsonable(event.usage or {})
        p = self._model_base(event) | {
            "completionHash": self._hash(event.response),
            "usage": {
                "inputTokens": usage.get("prompt_tokens", usage.get("input_tokens")),
                "outputTokens": usage.get("completion_tokens", usage.get("output_tokens")),
                "totalTokens": usage.get("total_tokens"),
            },
            "latencyMs": self._latency_ms(event),
            "finishReason": event.finish_reason,
        }
        if self.include_content:
            p["completion"] = _jsonable(event.response)
        return _Pending(event.emission_sequence or 0, "model.result", p["agentRole"], event.task_id, p)

    def _on_model_failed(self, source: Any, event: Any) -> _Pending:
        p = self._model_base(event) | {"error": self._text(event.error), "latencyMs": self._latency_ms(event)}
        return _Pending(event.emission_sequence or 0, "model.error", p["agentRole"], event.task_id, p)

    def _tool_payload(self, event: Any) -> dict:
        return self._base(event) | {
            "tool": event.tool_name,
            "input": _jsonable(event.tool_args),
            "agentRole": event.agent_role,
            "taskId": event.task_id,
        }

    def _on_tool_started(self, source: Any, event: Any) -> _Pending:
        return _Pending(event.emission_sequence or 0, "tool.call", event.agent_role, event.task_id, self._tool_payload(event))

    def _on_tool_finished(self, source: Any, event: Any) -> _Pending:
        p = self._tool_payload(event) | {"output": self._text(event.output), "fromCache": event.from_cache}
        return _Pending(event.emission_sequence or 0, "tool.result", event.agent_role, event.task_id, p)

    def _on_tool_error(self, source: Any, event: Any) -> _Pending:
        p = self._tool_payload(event) | {"error": self._text(event.error)}
        return _Pending(event.emission_sequence or 0, "tool.error", event.agent_role, event.task_id, p)

    # -- tool hooks (run on the agent's thread, before and after the tool) --------------------

    def _stack(self) -> list:
        s = getattr(self._tool_stack, "calls", None)
        if s is None:
            s = self._tool_stack.calls = []
        return s

    def _before_tool(self, ctx: Any) -> bool | None:
        if self._closed:
            return None
        role = getattr(ctx.agent, "role", None)
        task_key = str(ctx.task.id) if getattr(ctx, "task", None) is not None else None
        payload = {
            "tool": ctx.tool_name,
            "input": _jsonable(ctx.tool_input),
            "agentRole": role,
            "taskId": task_key,
        }
        try:
            self.flush(wait_for_bus=True)  # earlier steps first: they get the lower nonces
            rec = self._send("tool.call", role, task_key, payload)
        except Exception as err:
            self.errors.append(("tool.call", err))
            self._stack().append((ctx.tool_name, None))
            if self.fail_closed:
                self.blocked_tools.append(ctx.tool_name)
                return False  # the tool does not run without its signed, accepted action
            return None
        self._stack().append((ctx.tool_name, rec.id))
        return None

    def _after_tool(self, ctx: Any) -> None:
        if self._closed:
            return None
        stack = self._stack()
        call_id = None
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == ctx.tool_name:
                call_id = stack.pop(i)[1]
                break
        if call_id is None:
            return None  # the call was not recorded (or blocked): no result to chain to it
        role = getattr(ctx.agent, "role", None)
        task_key = str(ctx.task.id) if getattr(ctx, "task", None) is not None else None
        payload = {"tool": ctx.tool_name, "agentRole": role, "taskId": task_key, "output": self._text(ctx.tool_result)}
        try:
            self._send("tool.result", role, task_key, payload, parents=[call_id])
        except Exception as err:
            self.errors.append(("tool.result", err))
        return None

    # -- signing, in order --------------------------------------------------------------------

    def _agent_for(self, role: str | None) -> ChaosCoreAgent:
        return self.agents.get(role or "", self.crew_agent)

    def _parents_for(
        self, action_type: str, role: str | None, task_key: str | None, call_id: str | None = None
    ) -> list[str]:
        if action_type == "crew.kickoff":
            return []
        if action_type == "task.start":
            return [self._kickoff] if self._kickoff else []
        if action_type in ("crew.complete", "crew.failed"):
            parents = self._task_output[-MAX_PARENTS:]
            return parents or ([self._kickoff] if self._kickoff else [])
        if action_type in ("model.result", "model.error") and call_id in self._model_calls:
            return [self._model_calls[call_id]]
        key = task_key or self._current_task.get(role or "")
        start = self._task_start.get(key or "")
        return [start] if start else ([self._kickoff] if self._kickoff else [])

    def _send(
        self, action_type: str, role: str | None, task_key: str | None, payload: dict, *, parents: list[str] | None = None
    ) -> Recorded:
        with self._flush_lock:
            if parents is None:
                parents = self._parents_for(action_type, role, task_key, payload.get("callId"))
            agent = self._agent_for(role if action_type not in ("crew.kickoff", "crew.complete", "crew.failed") else None)
            rec = agent.record_action(action_type, payload, parents=parents, studio=self.studio, task=self.task)
            self._run.actions.append((action_type, rec))
            if action_type == "crew.kickoff":
                self._kickoff = rec.id
            elif action_type == "task.start" and task_key:
                self._task_start[task_key] = rec.id
                if role:
                    self._current_task[role] = task_key
                self._drive_claim(task_key, payload)
            elif action_type in ("task.output", "task.failed"):
                self._task_output.append(rec.id)
                if action_type == "task.output" and task_key is not None and task_key == self._driving:
                    self._drive(lambda: self.studio_task.submit(payload["output"]), "studio.task.submit")
            elif action_type == "model.call" and payload.get("callId"):
                self._model_calls[payload["callId"]] = rec.id
            return rec

    def _drive_claim(self, task_key: str, payload: dict) -> None:
        """The first CrewAI task (or the one named `studio_task_for`) claims the studio task."""
        if self.studio_task is None or self._driving is not None:
            return
        if self.studio_task_for is not None and payload.get("name") != self.studio_task_for:
            return
        self._driving = task_key
        self._drive(self.studio_task.claim, "studio.task.start")

    def _drive(self, step: Callable[[], Any], action_type: str) -> None:
        try:
            step()
        except Exception as err:  # the crew goes on; seal() reports it
            self.errors.append((action_type, err))

    def flush(self, *, wait_for_bus: bool = True) -> None:
        """Signs and sends every captured step, in emission order.

        With `wait_for_bus`, first waits for CrewAI's pending event handlers
        (never call it so from inside an event handler).
        """
        if wait_for_bus:
            crewai_event_bus.flush(timeout=self.flush_timeout)
        with self._flush_lock:
            with self._pending_lock:
                batch = sorted(self._pending, key=lambda p: p.seq)
                self._pending.clear()
            for p in batch:
                try:
                    self._send(p.action_type, p.role, p.task_key, p.payload)
                except (GatewayError, ValueError) as err:
                    self.errors.append((p.action_type, err))

    def seal(
        self,
        *,
        evaluator: ChaosCoreAgent | None = None,
        status: str = "success",
        metrics: Mapping[str, Any] | None = None,
        result: Any = None,
        strict: bool = True,
    ) -> RunRecord:
        """Ends a run: flushes everything, then (with `evaluator`) signs the outcome of the
        run's final action. Raises RecordingError when a step could not be recorded (`strict`)."""
        self.flush(wait_for_bus=True)
        if strict and self.errors:
            raise RecordingError(list(self.errors))
        final = self._run.final
        if evaluator is not None and final is not None:
            kwargs: dict[str, Any] = {"metrics": dict(metrics or {})}
            if result is not None:
                kwargs["result"] = result
            self._run.outcome = evaluator.record_outcome(final.id, status, **kwargs)
        return self._run

    @property
    def run(self) -> RunRecord:
        return self._run

    def close(self) -> None:
        """Unregisters this listener's event handlers and tool hooks."""
        self._closed = True
        for event_type, handler in self._handlers:
            crewai_event_bus.off(event_type, handler)
        self._handlers.clear()
        for unregister, hook in self._hooks:
            unregister(hook)
        self._hooks.clear()

    def __enter__(self) -> ChaosCoreListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
