"""The MCP recording middleware against a real MCP tool server run as a process (stdio)."""

import pathlib
import sys

import anyio
import pytest

mcp = pytest.importorskip("mcp", reason="the mcp package is not installed")
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from chaoscore.agent import ChaosCoreAgent  # noqa: E402
from chaoscore.card import make_card  # noqa: E402
from chaoscore.client import GatewayError  # noqa: E402
from chaoscore.mcp import McpRecordingError, record_mcp_tool_calls  # noqa: E402
from chaoscore.signing import LocalSigner, hash_json  # noqa: E402
from chaoscore.sink import MemorySink  # noqa: E402

SERVER = StdioServerParameters(command=sys.executable, args=[str(pathlib.Path(__file__).parent / "mcp_tool_server.py")])


def registered_agent(sink):
    agent = ChaosCoreAgent(LocalSigner.generate(), sink)
    agent.ensure_registered(make_card("mcp user", framework="mcp"))
    return agent


async def with_session(agent, body, **options):
    async with stdio_client(SERVER) as (read, write):
        async with ClientSession(read, write) as session:
            record_mcp_tool_calls(session, agent, **options)
            await session.initialize()
            return await body(session)


def test_tool_calls_are_recorded_before_and_after():
    sink = MemorySink(31337)
    agent = registered_agent(sink)

    async def body(session):
        result = await session.call_tool("echo", {"text": "hello"})
        return result

    result = anyio.run(with_session, agent, body)
    assert result.content[0].text == "hello"
    actions = [r for r in sink.entries if r.kind == "action"]
    assert [r.entry["message"]["actionType"] for r in actions] == ["tool.call", "tool.result"]
    call, answer = actions
    assert call.body == {
        "framework": "mcp",
        "server": {"name": "py-test-tools", "version": call.body["server"]["version"]},
        "tool": "echo",
        "argumentsHash": hash_json({"text": "hello"}),
    }
    assert answer.entry["message"]["parents"] == [call.id]
    assert answer.body["isError"] is False and answer.body["resultHash"].startswith("0x")


def test_a_refused_call_is_not_made():
    sink = MemorySink(31337)
    stranger = ChaosCoreAgent(LocalSigner.generate(), sink)  # never registered

    async def body(session):
        with pytest.raises(GatewayError) as refused:
            await session.call_tool("echo", {"text": "x"})
        served = await ClientSession.call_tool(session, "calls", {})  # unrecorded: the class's method
        return refused.value, served

    refused, served = anyio.run(with_session, stranger, body)
    assert refused.code.startswith("AGENT")
    assert served.content[0].text == "0"
    assert sink.entries == []


def test_arguments_that_are_not_json_are_refused_before_signing():
    sink = MemorySink(31337)
    agent = registered_agent(sink)

    async def body(session):
        for bad in ({"text": float("nan")}, {"text": object()}, {1: "x"}):
            with pytest.raises(McpRecordingError) as err:
                await session.call_tool("echo", bad)
            assert err.value.code == "MCP_ARGUMENTS_NOT_JSON"

    anyio.run(with_session, agent, body)
    assert [r for r in sink.entries if r.kind == "action"] == []


def test_content_is_recorded_only_when_asked():
    sink = MemorySink(31337)
    agent = registered_agent(sink)

    async def body(session):
        await session.call_tool("echo", {"text": "kept"})

    anyio.run(lambda: with_session(agent, body, include_content=True))
    call, answer = [r for r in sink.entries if r.kind == "action"]
    assert call.body["arguments"] == {"text": "kept"}
    assert answer.body["result"]["content"][0]["text"] == "kept"
