"""Real MCP servers, written with the ``mcp`` package's own server API, that the tests start."""
