"""Agent: a model and its tools in a loop, with the loop's events and its result.

An :class:`Agent` sends the conversation to the model, runs the tool calls the model makes
(each one as soon as its arguments are complete, while the model is still streaming), sends
the results back and repeats until the model answers without calling a tool. The loop itself
lives in ``_agent_run``; this module holds the public face: ``Agent``, ``AgentStream``,
``AgentResult``, ``ToolCallRecord`` and the agent events.

Events, in order for each turn: the model's stream events (``aclarifai.events``, first choice
only), with ``ToolCallReady`` after each valid call's ``ToolCallDone`` and ``ToolResult`` when a
call finishes (or is rejected), then one ``TurnFinished``; ``RunFinished`` comes last.
Each event is built like the stream events: a frozen dataclass whose ``type`` class attribute is
its ``Literal`` tag, so ``if event.type == "tool_call.result":`` narrows ``AgentEvent`` in a type
checker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ._config import _Secret, is_clarifai_api, resolve_api_key, resolve_base_url
from ._native_target import target_of
from ._toolservers import ToolServer, ToolServers
from .errors import ConfigurationError
from .events import StreamEvent
from .models import wire_model
from .tools import Tool, tool
from .types import ToolCall, Usage

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from ._agent_run import AgentRun
    from .client import AsyncClarifai

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentResult",
    "AgentStream",
    "RunFinished",
    "ToolCallReady",
    "ToolCallRecord",
    "ToolResult",
    "TurnFinished",
]


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call of a run: what the model asked for and what came of it."""

    name: str
    arguments: dict[str, Any] | str
    """The parsed arguments, or the raw text when it is not a JSON object."""
    output: Any
    """What the tool returned (``None`` when it failed or did not run)."""
    error: str | None
    """The error sent to the model instead of an output, or ``None``."""
    duration: float
    """Seconds the tool ran (0 for calls rejected before running)."""
    id: str
    """The tool call id, as sent back in the ``tool`` message (assigned when the server sent none)."""


@dataclass(frozen=True)
class AgentResult:
    """The outcome of a run (or of part of one, on ``MaxTurnsExceeded`` or cancellation)."""

    output: Any
    """The final answer's text, or the parsed JSON value with ``output_schema``; ``None`` if none."""
    messages: list[dict[str, Any]]
    """The whole conversation; every tool call is answered, so it can start the next run."""
    usage: Usage
    """Token usage summed over all turns."""
    turns: int
    """How many model requests the run made."""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    """Every tool call of the run, in call order."""


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A tool call's arguments are valid JSON that fits the schema: the tool is starting."""

    call: ToolCall
    arguments: dict[str, Any]
    type: ClassVar[Literal["tool_call.ready"]] = "tool_call.ready"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool call finished: ``output`` is what the tool returned, or ``error`` says why not."""

    call: ToolCall
    output: Any
    error: str | None
    duration: float
    type: ClassVar[Literal["tool_call.result"]] = "tool_call.result"


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """A model turn and its tool calls are over; ``usage`` is this turn's, if reported."""

    turn: int
    usage: Usage | None
    model: str | None = None
    """The model that answered this turn, as the server named it (with ``fallbacks=``: which)."""
    type: ClassVar[Literal["turn.finished"]] = "turn.finished"


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run is over; always the last event."""

    result: AgentResult
    type: ClassVar[Literal["run.finished"]] = "run.finished"


AgentEvent = StreamEvent | ToolCallReady | ToolResult | TurnFinished | RunFinished


class Agent:
    """A model, its tools and instructions; ``run()`` loops until the model gives an answer.

    >>> agent = Agent(model=MODEL, tools=[get_weather], instructions="Be brief.")
    >>> result = await agent.run("What's the weather in Paris?")
    >>> result.output, result.usage.total_tokens
    >>> followup = await agent.run(result.messages + [{"role": "user", "content": "And Rome?"}])

    Mistakes the model makes (arguments that are not JSON or fail the schema, an unknown tool,
    a tool that raises or times out) go back to it as ``tool`` messages and it gets another
    turn. Errors from the API always propagate, and so does a tool server that fails
    (:class:`~aclarifai.errors.ToolServerError`: an MCP server that died or cannot be reached);
    with ``raise_tool_errors=True`` an exception raised by a tool (its timeout included)
    propagates too. Mistakes in the setup raise here.

    ``mcp_servers`` (:class:`aclarifai.mcp.MCPServer` objects) add their tools to ``tools``:
    listed when a run starts and before each turn (a server's list is cached until it announces
    a change). A server that is not connected when a run starts is connected by the agent and
    closed when the run ends; one the caller connected stays open.
    Extra keyword arguments go into every request body (``temperature``, ``tool_choice``...).
    """

    def __init__(
        self,
        model: str,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        instructions: str | None = None,
        max_turns: int = 10,
        output_schema: dict[str, Any] | None = None,
        max_concurrency: int | None = None,
        raise_tool_errors: bool = False,
        mcp_servers: Iterable[ToolServer] = (),
        client: AsyncClarifai | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        **params: Any,
    ) -> None:
        # The first line: from here on this frame holds the PAT and the URL only wrapped.
        key, base = _Secret.wrap(api_key), _Secret.wrap(base_url)
        del api_key, base_url
        if client is not None and (key is not None or base is not None):
            raise ConfigurationError("pass api_key and base_url to the client, not with client=")
        if key:  # a PAT given here is checked now (trimmed; a CR or LF inside is refused)
            key = resolve_api_key(key)
        # The URL requests will go to decides how the model is checked (a gateway takes aliases).
        url = client.base_url if client is not None else resolve_base_url(base)
        wire_model(model, clarifai_api=is_clarifai_api(url))  # a bad model raises now, not later
        _check_count("max_turns", max_turns)
        if max_concurrency is not None:
            _check_count("max_concurrency", max_concurrency)
        if instructions is not None and not isinstance(instructions, str):
            raise TypeError(f"instructions must be a str, not {type(instructions).__name__}")
        _check_params(params, output_schema)
        self.model = model
        self.tools: dict[str, Tool] = _collect_tools(tools)
        self._servers = ToolServers(mcp_servers)
        self.mcp_servers = self._servers.servers
        """The MCP servers whose tools join :attr:`tools` in every run."""
        self.instructions = instructions
        self.max_turns = max_turns
        self.output_schema = output_schema
        self.max_concurrency = max_concurrency
        self.raise_tool_errors = raise_tool_errors
        self.client = client
        self._api_key = key  # private and wrapped: never in a repr
        self.base_url = None if base is None else url
        self.params = params
        self.last_result: AgentResult | None = None
        """The result (possibly partial) of the latest run to end, however it ended."""
        self._output_validator = _compile_output_schema(output_schema)

    def __repr__(self) -> str:
        # getattr: a traceback may show a half-built agent (capture_locals in __init__)
        return (
            f"Agent(model={getattr(self, 'model', None)!r}, "
            f"tools={list(getattr(self, 'tools', {}))!r}, "
            f"max_turns={getattr(self, 'max_turns', None)})"
        )

    def stream(self, input: str | Sequence[Any]) -> AgentStream:
        """Run the agent, yielding :data:`AgentEvent` objects as they happen.

        ``input`` is the user's message, or a list of messages (a previous
        ``result.messages`` plus a new user message continues a conversation). Close the
        stream (``async with``, ``aclose()``) to stop the run early: the model stream and the
        running tools are cancelled and ``stream.result`` still answers every tool call.
        """
        from ._agent_run import AgentRun

        return AgentStream(AgentRun(self, self._conversation(input)))

    async def run(self, input: str | Sequence[Any]) -> AgentResult:
        """Run the agent to its final answer and return the :class:`AgentResult`.

        Raises :class:`~aclarifai.errors.MaxTurnsExceeded` (with the partial result) when
        ``max_turns`` model turns were not enough. If the run is cancelled or fails, the
        partial result is in :attr:`last_result`.
        """
        async with self.stream(input) as events:
            async for _ in events:
                pass
        return events.result

    def _conversation(self, input: str | Sequence[Any]) -> list[dict[str, Any]]:
        if isinstance(input, str):
            messages = [{"role": "user", "content": input}]
        elif isinstance(input, (bytes, dict)) or not isinstance(input, Sequence):
            raise TypeError(f"input must be a str or a list of messages, not {type(input).__name__}")
        else:
            messages = [_message_dict(m) for m in input]
        if self.instructions:
            system = {"role": "system", "content": self.instructions}
            if not messages or messages[0] != system:
                messages.insert(0, system)
        if not messages:
            raise ValueError("input must contain at least one message")
        return messages


class AgentStream:
    """The events of one run, from :meth:`Agent.stream`: iterate it, ideally in ``async with``.

    Leaving ``async with`` or calling ``aclose()`` before the end cancels the run. ``result``
    is the run's result at any time: final once ``RunFinished`` was yielded, partial before
    (the conversation up to the last complete turn, or, after closing, up to the moment the
    run stopped, with every tool call answered).
    """

    def __init__(self, run: AgentRun) -> None:
        self._run = run
        self._events = run.events()

    def __aiter__(self) -> AgentStream:
        return self

    async def __anext__(self) -> AgentEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the run (idempotent): cancel the model stream and the running tools."""
        await self._events.aclose()

    async def __aenter__(self) -> AgentStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def result(self) -> AgentResult:
        return self._run.result()


# -- helpers ------------------------------------------------------------------------------------


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, not {value!r}")


def _check_params(params: dict[str, Any], output_schema: object) -> None:
    if "stream" in params:
        raise TypeError("Agent always streams: do not pass stream=")
    if "messages" in params:
        raise TypeError("pass the messages to run() or stream(), not to Agent()")
    if output_schema is not None and "response_format" in params:
        raise TypeError("pass output_schema= or response_format=, not both")
    # deployment= / nodepool= (the native lane): a bad pair raises here, not at the first turn
    target_of(params.get("deployment"), params.get("deployment_owner"), params.get("nodepool"))


def _collect_tools(tools: Iterable[Tool | Callable[..., Any]]) -> dict[str, Tool]:
    if isinstance(tools, (str, bytes, Tool)) or callable(tools):
        raise TypeError("tools must be a list of tools or functions")
    collected: dict[str, Tool] = {}
    for item in tools:
        if isinstance(item, Tool):
            wrapped = item
        elif callable(item):
            wrapped = tool(item)
        else:
            raise TypeError(f"each tool must be a Tool or a function, not {item!r}")
        if wrapped.name in collected:
            raise ValueError(f"two tools are named {wrapped.name!r}; pass name=... to one of them")
        collected[wrapped.name] = wrapped
    return collected


def _message_dict(message: Any) -> dict[str, Any]:
    if isinstance(message, dict):
        return message
    to_dict = getattr(message, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
        if isinstance(value, dict):
            return value
    raise TypeError(f"each message must be a dict (or have .to_dict()), not {type(message).__name__}")


def _compile_output_schema(schema: object) -> Validator | None:
    """Check and compile ``output_schema``; jsonschema is imported only when there is one."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise TypeError(f"output_schema must be a dict (a JSON schema), not {type(schema).__name__}")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"output_schema is not a valid JSON schema: {exc.message}") from None
    validator: Validator = cls(schema)
    return validator
