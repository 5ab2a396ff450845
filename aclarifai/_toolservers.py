"""Tool servers of an agent (``Agent(mcp_servers=[...])``): who opens them, and their tools.

A run lists each server's tools when it starts and again before every turn; a server caches its
listing until it announces a change (MCP's ``notifications/tools/list_changed``), so a turn
costs no round trip unless the tools changed. A server that is not connected when a run starts
is connected by the agent and closed when the last of the agent's runs that use it ends; a
server the caller connected is left open. No I/O of its own: it only calls the servers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .tools import Tool

__all__ = ["ToolServer", "ToolServers"]


@runtime_checkable
class ToolServer(Protocol):
    """What ``Agent(mcp_servers=...)`` needs of a server; :class:`aclarifai.mcp.MCPServer` is one."""

    name: str

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def aclose(self) -> None: ...

    async def tools(self) -> list[Tool]: ...


class ToolServers:
    """One agent's servers: opened for its runs as needed, closed after the last run using them."""

    def __init__(self, servers: Iterable[ToolServer]) -> None:
        if isinstance(servers, (str, bytes)) or isinstance(servers, ToolServer):
            raise TypeError("mcp_servers must be a list of servers")
        collected: list[ToolServer] = []
        for server in servers:
            if not isinstance(server, ToolServer):
                raise TypeError(
                    "each of mcp_servers must be an MCP server (aclarifai.mcp.MCPServer), "
                    f"not {type(server).__name__}"
                )
            if any(server is seen for seen in collected):
                raise ValueError(f"the MCP server {server.name!r} is given twice")
            collected.append(server)
        self.servers = tuple(collected)
        self._runs = 0
        self._opened: list[ToolServer] = []  # connected by us: ours to close

    def __bool__(self) -> bool:
        return bool(self.servers)

    async def enter(self) -> None:
        """A run starts: connect every server nobody connected (bounded by its connect timeout)."""
        self._runs += 1
        try:
            for server in self.servers:
                if not server.connected and not any(server is s for s in self._opened):
                    self._opened.append(server)  # before awaiting: a concurrent run must not open it too
                    await server.connect()
        except BaseException:
            await self.leave()
            raise

    async def leave(self) -> None:
        """A run ended: after the last one, close the servers this agent opened."""
        self._runs -= 1
        if self._runs > 0:
            return
        opened, self._opened = self._opened, []
        for server in opened:
            await server.aclose()

    async def tools(self, own: Mapping[str, Tool]) -> dict[str, Tool]:
        """The agent's own tools and every server's, by the name the model sees."""
        merged = dict(own)
        for server in self.servers:
            for item in await server.tools():
                if item.name in merged:
                    raise ConfigurationError(
                        f"the MCP server {server.name!r} has a tool named {item.name!r}, like "
                        "another tool of this agent; pass tools=await server.tools(prefix=...) "
                        "instead of mcp_servers= to rename its tools"
                    )
                merged[item.name] = item
        return merged
