"""docs/mcp.md: tools from an MCP server (a real one, started over stdio), as a checker sees them."""

import asyncio
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, assert_type

from aclarifai import Agent, ToolServer, ToolServerError
from aclarifai.mcp import MCPServer, MCPServerError, MCPToolError, MCPToolOutput

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
SERVER = textwrap.dedent('''
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("math")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    server.run()
''')


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "math_server.py"
        script.write_text(SERVER)
        server = MCPServer.stdio(sys.executable, args=[str(script)], call_timeout=30)
        assert_type(server.connected, bool)
        assert_type(server.url, str | None)
        agent = Agent(model=MODEL, mcp_servers=[server], api_key="pat-not-used")
        assert_type(agent.mcp_servers, tuple[ToolServer, ...])
        async with server as math:
            assert_type(math, MCPServer)
            tools = await math.tools(prefix="math_", include=["add"])
            assert_type(tools[0].name, str)
            assert_type(tools[0].parameters, dict[str, Any])
            out = await math.call_tool("add", {"a": 2, "b": 40})
            assert_type(out, MCPToolOutput)
            assert_type(out.structured_content, dict[str, Any] | None)
            assert_type(out.content, tuple[dict[str, Any], ...])
            assert out == "42"
            try:
                await math.call_tool("nope", {})
            except MCPToolError as error:
                assert_type(str(error), str)
            except MCPServerError as error:
                assert isinstance(error, ToolServerError)


if __name__ == "__main__":
    asyncio.run(main())
