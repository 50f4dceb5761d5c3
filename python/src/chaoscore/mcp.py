"""MCP recording middleware: every `tools/call` an MCP client session makes is
signed and recorded before the request goes out, and its answer after.

>>> session = record_mcp_tool_calls(ClientSession(read, write), agent)
>>> await session.initialize()
>>> await session.call_tool("search", {"q": "hi"})   # tool.call recorded, then sent

What is recorded (as the TypeScript `recordMcpToolCalls` does):

| when                            | action        | payload                                                     | parents      |
| ------------------------------- | ------------- | ----------------------------------------------------------- | ------------ |
| before the request              | `tool.call`   | framework "mcp", server {name, version}, tool, argumentsHash | —            |
| after an answer                 | `tool.result` | framework, tool, resultHash, isError                         | its tool.call |
| after a failure (error, timeout) | `tool.error`  | framework, tool, error {code, message}                       | its tool.call |

Hashes are SHA-256 of the RFC 8785 canonical JSON; `include_content=True`
records the arguments and result themselves too. A call whose `tool.call` the
log refuses is not made (the refusal is raised). Arguments that are not JSON
raise `McpRecordingError("MCP_ARGUMENTS_NOT_JSON")` before anything is signed.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

try:
    import anyio
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("chaoscore.mcp needs the MCP SDK: pip install 'chaoscore[mcp]'") from err

from .agent import ChaosCoreAgent
from .jcs import canonicalize


class McpRecordingError(Exception):
    """The call could not be recorded as asked; `code` is an MCP_* code of docs/errors.md."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise McpRecordingError("MCP_ARGUMENTS_NOT_JSON", "nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise McpRecordingError("MCP_ARGUMENTS_NOT_JSON", "a number is not finite")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise McpRecordingError("MCP_ARGUMENTS_NOT_JSON", "an object key is not a string")
            _check_json(v, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_json(v, depth + 1)
        return
    raise McpRecordingError("MCP_ARGUMENTS_NOT_JSON", f"a {type(value).__name__} is not JSON")


def _hash(value: Any) -> str:
    _check_json(value)
    try:
        return "0x" + hashlib.sha256(canonicalize(value)).hexdigest()
    except Exception as err:  # e.g. an integer beyond 2^53 that RFC 8785 cannot write
        raise McpRecordingError("MCP_ARGUMENTS_NOT_JSON", str(err)) from err


def record_mcp_tool_calls(
    session: Any,
    agent: ChaosCoreAgent,
    *,
    include_content: bool = False,
    studio: str | None = None,
    task: str | None = None,
) -> Any:
    """Wraps `session.call_tool` (an `mcp.ClientSession`) so that each call is recorded; returns the session."""
    original_call = session.call_tool
    original_initialize = session.initialize
    server: dict[str, Any] = {"info": None}

    async def initialize(*args: Any, **kwargs: Any) -> Any:
        result = await original_initialize(*args, **kwargs)
        info = getattr(result, "serverInfo", None)
        if info is not None:
            server["info"] = {"name": info.name, "version": info.version}
        return result

    def record(action_type: str, payload: dict, parents: list[str]) -> Any:
        return agent.record_action(action_type, payload, parents=parents, studio=studio, task=task)

    async def call_tool(name: str, arguments: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        arguments_hash = _hash(arguments or {})
        payload: dict[str, Any] = {
            "framework": "mcp",
            "server": server["info"],
            "tool": name,
            "argumentsHash": arguments_hash,
        }
        if include_content:
            payload["arguments"] = arguments or {}
        call = await anyio.to_thread.run_sync(record, "tool.call", payload, [])
        try:
            result = await original_call(name, arguments, *args, **kwargs)
        except Exception as err:
            error = {"code": getattr(err, "code", "MCP_CALL_FAILED"), "message": str(err)}
            if not isinstance(error["code"], str):
                error["code"] = "MCP_CALL_FAILED"
            await anyio.to_thread.run_sync(
                record, "tool.error", {"framework": "mcp", "tool": name, "error": error}, [call.id]
            )
            raise
        dumped = result.model_dump(mode="json", exclude_none=True, by_alias=True)
        answer: dict[str, Any] = {
            "framework": "mcp",
            "tool": name,
            "resultHash": _hash(dumped),
            "isError": bool(getattr(result, "isError", False)),
        }
        if include_content:
            answer["result"] = dumped
        await anyio.to_thread.run_sync(record, "tool.result", answer, [call.id])
        return result

    session.initialize = initialize
    session.call_tool = call_tool
    return session
