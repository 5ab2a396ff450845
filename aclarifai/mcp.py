"""Tools from MCP servers: ``pip install 'aclarifai[mcp]'`` (the official ``mcp`` SDK).

:class:`MCPServer` connects to a Model Context Protocol server over stdio (a subprocess),
Streamable HTTP, or Clarifai's hosted MCP endpoint, and turns the server's tools into ordinary
:class:`aclarifai.Tool` objects: the schema is the server's ``inputSchema`` (arguments are
validated with jsonschema before the call, like every tool) and the call goes to the server.

    async with MCPServer.stdio("python", args=["my_server.py"]) as server:
        agent = Agent(model=MODEL, tools=[get_weather], mcp_servers=[server])
        result = await agent.run("...")

How it behaves when things go wrong:

- A server that cannot be started, or that does not answer ``initialize`` within
  ``connect_timeout`` seconds, raises :class:`MCPServerError` (never a hang).
- A server that dies mid-call raises :class:`MCPServerError`, which ends an agent run
  (it is a :class:`~aclarifai.errors.ToolServerError`, also an ``APIConnectionError``).
- An HTTP server whose session dropped is reconnected once and the request sent again.
- A result with ``isError`` is the model's to handle: the tool raises :class:`MCPToolError` and
  the agent sends the text back as the tool's error.
- Cancelling the caller cancels the MCP request in flight.

The session lives in a task of its own (the MCP SDK's task groups must be entered and left by
one task), so a server may be opened in one task and used or closed from others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

try:
    import anyio
    import httpx2
    import mcp_types
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client
    from mcp.client.subscriptions import ListenNotSupportedError
    from mcp.shared.exceptions import MCPError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "aclarifai.mcp needs the official MCP SDK: pip install 'aclarifai[mcp]'"
    ) from exc

from ._config import _Secret, resolve_api_key
from ._mcp_tools import (
    MCPServerError,
    MCPToolError,
    MCPToolOutput,
    clarifai_mcp_url,
    exposed_name,
    select_tools,
    tool_output,
)
from .errors import ConfigurationError
from .tools import Tool

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - anyio depends on the backport on 3.10
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["MCPServer", "MCPServerError", "MCPToolError", "MCPToolOutput"]
_TRANSPORT_ERRORS = (
    httpx2.HTTPError,
    OSError,
    EOFError,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
)

Kind = Literal["stdio", "http"]
_PAGE_CAP = 100  # tools/list pages followed at most: a paginator that never ends cannot hang


class _Headers:
    """HTTP headers that never show themselves (they may carry a PAT)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def reveal(self) -> dict[str, str]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"<{len(self._items)} headers>"


class MCPServer:
    """One MCP server: ``async with server:`` connects, :meth:`tools` lists its tools.

    Make one with :meth:`stdio`, :meth:`http` or :meth:`clarifai`. ``connect_timeout`` bounds
    starting the server and the MCP handshake (and each ``tools/list``); ``call_timeout``, when
    set, is every tool's :attr:`~aclarifai.Tool.timeout`.
    """

    def __init__(
        self,
        *,
        kind: Kind,
        name: str,
        target: str,
        open_transport: Callable[[], Any],
        connect_timeout: float = 30.0,
        call_timeout: float | None = None,
    ) -> None:
        if not connect_timeout > 0:
            raise ValueError("connect_timeout must be a positive number of seconds")
        if call_timeout is not None and not call_timeout > 0:
            raise ValueError("call_timeout must be a positive number of seconds, or None")
        self.kind: Kind = kind
        self.name = name
        self._target = target  # shown in messages: a command or a URL without credentials
        self._open_transport = open_transport
        self.connect_timeout = float(connect_timeout)
        self.call_timeout = call_timeout
        self._client: Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._lock = asyncio.Lock()
        self._listing: list[mcp_types.Tool] | None = None
        self._dead: str | None = None  # why the session ended, once it has

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        name: str | None = None,
        connect_timeout: float = 30.0,
        call_timeout: float | None = None,
    ) -> MCPServer:
        """A server started as a subprocess, spoken to over its stdin and stdout.

        ``env`` is added to a minimal default environment (the MCP SDK's), not to this
        process's: pass what the server needs.
        """
        if isinstance(args, str):
            raise TypeError("args takes a list of arguments, not a single str")
        params = StdioServerParameters(
            command=command,
            args=list(args),
            env=dict(env) if env else None,
            cwd=None if cwd is None else os.fspath(cwd),
        )
        return cls(
            kind="stdio",
            name=name or os.path.basename(command) or "mcp",
            target=f"command {command!r}",
            open_transport=lambda: params,
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
        )

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        connect_timeout: float = 30.0,
        call_timeout: float | None = None,
    ) -> MCPServer:
        """A server reached over Streamable HTTP at ``url`` (headers are never shown)."""
        parts = httpx2.URL(url)
        if parts.scheme not in ("http", "https") or not parts.host:
            raise ConfigurationError("url must be an http(s) URL")
        if parts.userinfo:
            raise ConfigurationError("url must not carry credentials; pass them in headers")
        secret = _Headers(headers or {})
        shown = str(parts.copy_with(query=None, fragment=None))
        return cls(
            kind="http",
            name=name or parts.host,
            target=f"URL {shown}",
            open_transport=lambda: _http_transport(url, secret, connect_timeout),
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
        )

    @classmethod
    def clarifai(
        cls,
        model_url_or_ref: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        name: str | None = None,
        connect_timeout: float = 30.0,
        call_timeout: float | None = None,
    ) -> MCPServer:
        """An MCP server hosted on Clarifai, for any model reference the client accepts.

        The URL is ``{api_base}/v2/ext/mcp/v1/users/{user}/apps/{app}/models/{model}``, on
        ``base_url``, else ``CLARIFAI_API_BASE``, else ``https://api.clarifai.com`` (an
        OpenAI-compatible base such as ``.../v2/ext/openai/v1`` is cut back to its root). The PAT
        comes from ``api_key`` or ``CLARIFAI_PAT`` / ``CLARIFAI_API_KEY`` and is sent as
        ``Authorization: Bearer``; it never appears in a repr, a log or an error.
        """
        # The first line: from here on this frame holds the PAT and the URL only wrapped.
        key, base = _Secret.wrap(api_key), _Secret.wrap(base_url)
        del api_key, base_url
        url = clarifai_mcp_url(model_url_or_ref, base)
        server = cls.http(
            url,
            _bearer(resolve_api_key(key).reveal()),
            name=name or url.rsplit("/", 1)[-1],
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
        )
        return server

    @property
    def url(self) -> str | None:
        """The server's URL (HTTP servers), without credentials."""
        return self._target.removeprefix("URL ") if self.kind == "http" else None

    @property
    def connected(self) -> bool:
        """Whether a session is open (it may still have died since; calls then raise)."""
        return self._client is not None

    def __repr__(self) -> str:
        return f"MCPServer({self.kind}, name={self.name!r}, {self._target})"

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> MCPServer:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def connect(self) -> None:
        """Start the server (stdio) or open the session (HTTP), and do the MCP handshake."""
        async with self._lock:
            if self._client is None:
                await self._open()

    async def aclose(self) -> None:
        """End the session (a stdio server's process is stopped). Safe to call twice."""
        async with self._lock:
            await self._close_session()
            self._listing = None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Client] = loop.create_future()
        closing = asyncio.Event()
        owner = asyncio.create_task(self._own(ready, closing), name=f"mcp-session-{self.name}")
        try:
            done, _ = await asyncio.wait({ready}, timeout=self.connect_timeout)
        except BaseException:  # our caller was cancelled while the server started
            ready.cancel()
            await _cancel(owner)
            raise
        if not done:
            ready.cancel()
            await _cancel(owner)
            raise MCPServerError(
                f"the MCP server {self.name!r} ({self._target}) did not finish starting and "
                f"answering initialize within {self.connect_timeout:g} s"
            )
        if ready.exception() is not None:
            await _cancel(owner)
            raise MCPServerError(
                f"could not connect to the MCP server {self.name!r} ({self._target}): "
                f"{_describe(ready.exception())}"
            ) from None
        self._client, self._owner, self._closing, self._dead = ready.result(), owner, closing, None

    async def _own(self, ready: asyncio.Future[Client], closing: asyncio.Event) -> None:
        """The session's task: enters the SDK client, serves until told to close, leaves it."""
        try:
            # No read timeout on the session: a tool call may rightly take long (call_timeout
            # bounds it when set); the handshake and tools/list are bounded by connect_timeout.
            client = Client(self._open_transport(), message_handler=self._on_message, cache=None)
            async with client:
                if ready.cancelled():
                    return
                ready.set_result(client)
                listener = asyncio.create_task(self._listen(client))
                try:
                    await closing.wait()
                finally:
                    await _cancel(listener)
        except BaseException as exc:  # noqa: BLE001 - reported through ready or _dead, never lost
            if not ready.done():
                if isinstance(exc, Exception):
                    ready.set_exception(exc)
                else:  # cancelled (or the process is exiting): nobody is waiting for an answer
                    ready.cancel()
            elif not closing.is_set():
                self._dead = _describe(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _listen(self, client: Client) -> None:
        """Mark the tool list stale on each change the server announces (2026-07-28 servers)."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._listing = None
        except ListenNotSupportedError:
            return  # older servers send notifications/tools/list_changed: see _on_message
        except Exception:  # noqa: BLE001 - a lost subscription only means no refresh on change
            return

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._listing = None

    async def _close_session(self) -> None:
        owner, closing = self._owner, self._closing
        self._client = self._owner = self._closing = None
        if owner is not None and closing is not None:
            closing.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(owner), timeout=10)
            await _cancel(owner)

    # -- tools ------------------------------------------------------------------------------

    async def list_tools(self) -> list[mcp_types.Tool]:
        """The server's tool definitions, as the SDK types (cached until the server says so)."""
        if self._listing is None:
            listing = await self._request("tools/list", self._list_all, MCPServerError)
            self._listing = listing
            return list(listing)
        return list(self._listing)

    async def tools(
        self,
        prefix: str | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> list[Tool]:
        """The server's tools as :class:`aclarifai.Tool` objects for an ``Agent`` or a request.

        ``include`` / ``exclude`` take the server's tool names; ``prefix`` is put before each
        name the model sees (``prefix="fs_"`` makes ``read`` into ``fs_read``).
        """
        listing = await self.list_tools()
        keep = set(select_tools([spec.name for spec in listing], include, exclude))
        made: dict[str, Tool] = {}
        for spec in listing:
            if spec.name not in keep:
                continue
            tool = self._make_tool(spec, prefix)
            if tool.name in made:
                raise ConfigurationError(
                    f"two tools of the MCP server {self.name!r} would both be called {tool.name!r}"
                )
            made[tool.name] = tool
        return list(made.values())

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> MCPToolOutput:
        """Call the server's tool ``name`` (its own name, not a prefixed one)."""

        async def call(client: Client) -> mcp_types.CallToolResult:
            return await client.call_tool(name, dict(arguments))

        result = await self._request(f"tools/call {name!r}", call, MCPToolError)
        content = [
            block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content
        ]
        return tool_output(content, result.structured_content, bool(result.is_error), name)

    def _make_tool(self, spec: mcp_types.Tool, prefix: str | None) -> Tool:
        server_name = spec.name

        async def call_mcp_tool(**arguments: Any) -> MCPToolOutput:
            return await self.call_tool(server_name, arguments)

        schema = dict(spec.input_schema or {})
        schema.setdefault("type", "object")
        description = spec.description or spec.title or ""
        try:
            return Tool(
                exposed_name(server_name, prefix),
                description,
                schema,
                call_mcp_tool,
                timeout=self.call_timeout,
            )
        except (TypeError, ValueError) as exc:
            raise MCPServerError(
                f"the MCP server {self.name!r} describes tool {server_name!r} with an unusable "
                f"inputSchema: {exc}"
            ) from None

    async def _list_all(self, client: Client) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(_PAGE_CAP):
            try:
                page = await asyncio.wait_for(client.list_tools(cursor=cursor), self.connect_timeout)
            except asyncio.TimeoutError:
                raise MCPServerError(
                    f"the MCP server {self.name!r} did not answer tools/list within "
                    f"{self.connect_timeout:g} s"
                ) from None
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def _request(
        self, what: str, send: Callable[[Client], Any], refused: type[Exception]
    ) -> Any:
        """One request to the server; an HTTP session that dropped is reopened once.

        A JSON-RPC error from a live server raises ``refused`` (``MCPToolError`` for a call, so
        the model hears of it); a broken connection raises :class:`MCPServerError`.
        """
        for attempt in (1, 2):
            client = await self._session_for(what)
            try:
                return await send(client)
            except MCPError as exc:
                if exc.code != mcp_types.CONNECTION_CLOSED:
                    raise refused(f"the MCP server {self.name!r} refused {what}: {exc}") from None
                problem = _describe(exc)
            except _TRANSPORT_ERRORS as exc:
                problem = _describe(exc)
            self._dead = problem
            if self.kind == "http" and attempt == 1:
                async with self._lock:
                    await self._close_session()
                continue
            break
        raise MCPServerError(
            f"the MCP server {self.name!r} ({self._target}) failed during {what}: {self._dead}"
        )

    async def _session_for(self, what: str) -> Client:
        if self._client is None or (self._dead is not None and self.kind == "http"):
            async with self._lock:
                if self._client is None or self._dead is not None:
                    await self._close_session()
                    await self._open()
        elif self._dead is not None:
            raise MCPServerError(
                f"the MCP server {self.name!r} ({self._target}) is gone ({self._dead}); "
                f"cannot send {what}"
            )
        assert self._client is not None
        return self._client


# -- helpers ----------------------------------------------------------------------------------


def _bearer(pat: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {pat}"}


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: _Headers, connect_timeout: float) -> AsyncIterator[Any]:
    limits = httpx2.Timeout(connect_timeout, read=max(connect_timeout, 300.0))
    async with httpx2.AsyncClient(headers=headers.reveal(), timeout=limits) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams


def _describe(exc: BaseException | None) -> str:
    """A failure in words: the innermost error of an exception group, its type and text."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if exc is None:
        return "unknown error"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _cancel(task: asyncio.Task[Any]) -> None:
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        await task
