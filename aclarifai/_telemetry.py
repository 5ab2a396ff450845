"""The seam between the client and a telemetry backend: what a call, an agent run and a tool
call report, where process-wide telemetry is installed, and how an agent's turns find their parent.

This module speaks no OpenTelemetry (``aclarifai.otel`` does); it only defines the protocols the
client, the stream and the agent call, so that with telemetry off they pay one ``is None`` check
per call, per network read and per tool call. A backend implements:

- ``Telemetry.call(request)``: a ``CallTrace`` for one model call (all its attempts), or None;
- ``Telemetry.agent(agent)``: an ``AgentTrace`` for one agent run, which makes a ``ToolTrace``
  per tool call (an async context manager around the tool's execution) and records rejected calls.

Parentage: an agent run sets ``PARENT`` only while it opens a turn's stream (``opened_under``),
never across a ``yield``, so a turn's call finds its agent run and nothing leaks into the code
that iterates the run. Tool traces take their parent from the agent trace explicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._request import CompletionRequest
    from .hooks import ErrorInfo, RequestInfo, ResponseInfo
    from .sse import ServerSentEvent
    from .streaming import CompletionStream
    from .types import ToolCall

__all__ = [
    "PARENT",
    "AgentTrace",
    "CallTrace",
    "Telemetry",
    "ToolTrace",
    "agent_trace",
    "install",
    "installed",
    "opened_under",
    "rejected_tool",
    "resolve",
    "traced_tool",
]


class CallTrace(Protocol):
    """One model call across its attempts; every method is synchronous and must not raise."""

    def attempt(self, info: RequestInfo) -> None:
        """Attempt ``info.attempt`` is about to be sent."""

    def chunks(self, events: Sequence[ServerSentEvent]) -> None:
        """One network read of a stream brought these events."""

    def response(self, info: ResponseInfo, answer: Any) -> None:
        """The call succeeded; ``answer`` is the JSON body, or the stream's accumulator."""

    def error(self, info: ErrorInfo) -> None:
        """An attempt failed (``info.will_retry`` and ``info.delay`` say what comes next)."""

    def abandon(self, exc: BaseException | None) -> None:
        """The call ended without an answer or an error: closed early (None) or cancelled."""


class ToolTrace(Protocol):
    """One tool call's execution: entered when the tool starts, exited when it ends."""

    async def __aenter__(self) -> ToolTrace: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def succeeded(self, content: str | None) -> None:
        """The tool returned; ``content`` is what goes back to the model."""

    def failed(self, exc: BaseException) -> None:
        """The tool raised ``exc`` (the agent turned it into an error for the model)."""


class AgentTrace(Protocol):
    """One agent run."""

    def tool(self, call: ToolCall, arguments: Any) -> ToolTrace:
        """A trace for a tool call about to run."""

    def rejected(self, call: ToolCall, arguments: Any, *, unknown: bool) -> None:
        """A tool call that did not run: unknown tool, or arguments that are invalid."""

    def end(self, result: Any, exc: BaseException | None) -> None:
        """The run ended with ``result`` (an ``AgentResult``), after ``exc`` if it failed."""


class Telemetry(Protocol):
    """A telemetry backend, such as ``aclarifai.otel.Telemetry``."""

    def call(self, request: RequestInfo) -> CallTrace | None:
        """A trace for the call whose first attempt is ``request`` (None: not traced)."""

    def agent(self, agent: Any) -> AgentTrace:
        """A trace for one run of ``agent``."""


installed: Telemetry | None = None
"""The process-wide telemetry set by ``aclarifai.instrument()``; None when not instrumented."""

PARENT: ContextVar[AgentTrace | None] = ContextVar("aclarifai_telemetry_parent", default=None)
"""The agent run whose turn is being opened (set only while ``opened_under`` opens it)."""


def install(telemetry: Telemetry | None) -> None:
    """Make ``telemetry`` the process-wide default (None turns it off)."""
    global installed
    installed = telemetry


def resolve(setting: bool | Telemetry | None) -> Telemetry | None:
    """The telemetry for a client's ``telemetry=`` setting (None there means: the installed one).

    ``True`` builds an ``aclarifai.otel.Telemetry`` on the global providers; importing it needs
    the ``otel`` extra (an ImportError that says so otherwise).
    """
    if setting is None or setting is False:
        return None
    if setting is True:
        from .otel import Telemetry as OpenTelemetry

        return OpenTelemetry()
    return setting


def agent_trace(telemetry: Telemetry | None, agent: Any) -> AgentTrace | None:
    """A trace for one run of ``agent``, or None when telemetry is off."""
    return None if telemetry is None else telemetry.agent(agent)


@contextlib.asynccontextmanager
async def opened_under(
    parent: AgentTrace | None, request: CompletionRequest[Any]
) -> AsyncIterator[CompletionStream]:
    """``async with request as stream``, with the call's trace parented to ``parent``.

    ``PARENT`` is set only while the stream opens (the trace is made at the first attempt) and
    reset before the stream is handed out, so it never leaks past a ``yield`` of the caller.
    """
    token = PARENT.set(parent)
    try:
        stream = await request.__aenter__()
    finally:
        PARENT.reset(token)
    try:
        yield stream
    finally:
        await request.__aexit__(None, None, None)


class _NoToolTrace:
    """The tool trace when telemetry is off: does nothing."""

    __slots__ = ()

    async def __aenter__(self) -> _NoToolTrace:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def succeeded(self, content: str | None) -> None:
        return None

    def failed(self, exc: BaseException) -> None:
        return None


_NO_TOOL_TRACE = _NoToolTrace()


def traced_tool(trace: AgentTrace | None, call: ToolCall, arguments: Any) -> ToolTrace:
    """The trace to wrap around one tool call (a no-op when ``trace`` is None)."""
    return _NO_TOOL_TRACE if trace is None else trace.tool(call, arguments)


def rejected_tool(trace: AgentTrace | None, call: ToolCall, arguments: Any, *, unknown: bool) -> None:
    """Record a tool call that was refused before running (nothing when ``trace`` is None)."""
    if trace is not None:
        trace.rejected(call, arguments, unknown=unknown)
