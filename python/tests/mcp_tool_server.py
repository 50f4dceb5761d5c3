"""A small MCP tool server run as its own process by test_mcp.py (stdio)."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("py-test-tools")
served = {"n": 0}


@server.tool()
def echo(text: str) -> str:
    """Answers its text."""
    served["n"] += 1
    return text


@server.tool()
def calls() -> int:
    """Tool calls served so far."""
    return served["n"]


if __name__ == "__main__":
    server.run("stdio")
