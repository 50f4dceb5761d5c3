"""Offline CrewAI fixtures: a scripted LLM (a BaseLLM returning fixed answers, as CrewAI's own
tests do), a recording tool, and a guard that fails a test which opens a non-loopback socket."""

from __future__ import annotations

import os
import socket
from typing import Any

for _k, _v in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
}.items():
    os.environ.setdefault(_k, _v)

from crewai.llms.base_llm import BaseLLM  # noqa: E402


class ScriptedLLM(BaseLLM):
    """Answers with `responses` in order. A list answer is a batch of native tool calls."""

    responses: list[Any] = []
    native: bool = False
    calls: int = 0
    #: emit CrewAI's LLM call events as its real LLMs do (LLMCallStarted/Completed)
    emit_events: bool = False

    def call(self, messages, tools=None, callbacks=None, available_functions=None, from_task=None,
             from_agent=None, response_model=None):
        if self.calls >= len(self.responses):
            raise AssertionError(f"the scripted LLM ran out of answers after {self.calls} calls")
        if not self.emit_events:
            return self._answer(messages, tools, from_task, from_agent)
        from crewai.llms.base_llm import llm_call_context

        with llm_call_context():  # one call id for the call's events, as CrewAI's LLMs do
            return self._answer(messages, tools, from_task, from_agent)

    def _answer(self, messages, tools, from_task, from_agent):
        if self.emit_events:
            self._emit_call_started_event(messages, tools, from_task=from_task, from_agent=from_agent)
        answer = self.responses[self.calls]
        self.calls += 1
        if self.emit_events:
            from crewai.events.types.llm_events import LLMCallType

            self._emit_call_completed_event(
                answer, LLMCallType.LLM_CALL, from_task=from_task, from_agent=from_agent, messages=messages,
                usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}, finish_reason="stop",
            )
        return answer

    def supports_function_calling(self) -> bool:
        return self.native

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 8192


def react_tool_call(tool: str, args_json: str) -> str:
    return f"Thought: I should use a tool\nAction: {tool}\nAction Input: {args_json}"


def native_tool_call(call_id: str, tool: str, args_json: str) -> list[dict]:
    return [{"id": call_id, "type": "function", "function": {"name": tool, "arguments": args_json}}]


def final(text: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {text}"


class NetworkGuard:
    """Refuses (and records) connections to anything but loopback."""

    def __init__(self):
        self.attempts: list[Any] = []
        self._orig = socket.socket.connect
        self._orig_ex = socket.socket.connect_ex

    def _allowed(self, address) -> bool:
        host = address[0] if isinstance(address, tuple) else address
        return isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")) or not isinstance(address, tuple)

    def __enter__(self):
        guard = self

        def connect(sock, address):
            if not guard._allowed(address):
                guard.attempts.append(address)
                raise OSError("network disabled in tests")
            return guard._orig(sock, address)

        def connect_ex(sock, address):
            if not guard._allowed(address):
                guard.attempts.append(address)
                return 111
            return guard._orig_ex(sock, address)

        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        return self

    def __exit__(self, *exc):
        socket.socket.connect = self._orig
        socket.socket.connect_ex = self._orig_ex
