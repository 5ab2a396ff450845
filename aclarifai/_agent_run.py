"""The agent loop: one run's turns, its tool tasks and its conversation (``Agent`` is in agent.py).

Everything runs in the task that consumes the events, plus one task per tool call (and, while
tools run, one that reads the model's next event). A call starts as soon as its ``ToolCallDone``
event arrives (the accumulator sends it when a later call begins and this one's arguments are
complete JSON, or when the choice finishes), so tools run while the model is still streaming the
next calls. Results go back in call order. Closing or cancelling the run cancels the model stream
and the tool tasks, waits for those tasks, then answers every call of the interrupted turn so
the conversation stays valid. A turn counts only when its stream ended whole: one that stops
early raises ``StreamError``, and so does one closed under the run, never a short final answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from . import _agent_text as text
from . import _telemetry
from ._default import acompletion
from .agent import (
    AgentEvent,
    AgentResult,
    RunFinished,
    ToolCallReady,
    ToolCallRecord,
    ToolResult,
    TurnFinished,
)
from .errors import MaxTurnsExceeded, StreamConnectionError, ToolArgumentsError, ToolServerError
from .events import StreamEvent, ToolCallDone
from .tools import RunContext, Tool
from .types import ChatCompletion, ToolCall, Usage

if TYPE_CHECKING:
    from ._request import CompletionRequest
    from .agent import Agent
    from .streaming import CompletionStream

__all__ = ["AgentRun"]


class _Slot:
    """One tool call of the current turn, and what became of it."""

    __slots__ = ("arguments", "call", "content", "duration", "error", "name", "output", "task")

    def __init__(self, call: ToolCall, name: str, arguments: dict[str, Any] | str) -> None:
        self.call = call
        self.name = name
        self.arguments = arguments
        self.task: asyncio.Task[None] | None = None
        self.output: Any = None
        self.error: str | None = None
        self.content: str | None = None  # the tool message's content, once settled
        self.duration = 0.0

    def succeed(self, output: Any, duration: float) -> None:
        self.output, self.duration = output, duration
        self.content = text.encode_output(output)

    def fail(self, error: str, duration: float = 0.0) -> None:
        self.error = self.content = error
        self.duration = duration

    def result_event(self) -> ToolResult:
        return ToolResult(self.call, self.output, self.error, self.duration)

    def record(self) -> ToolCallRecord:
        call_id = self.call.id or ""
        return ToolCallRecord(self.name, self.arguments, self.output, self.error, self.duration, call_id)

    def message(self) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.content or ""}


class _Turn:
    """One model request and the tool calls it made."""

    __slots__ = ("finished", "number", "recorded", "slots", "stream", "unreported")

    def __init__(self, number: int) -> None:
        self.number = number
        self.slots: list[_Slot] = []
        self.finished: deque[_Slot] = deque()  # calls whose task ended, in the order they ended
        self.unreported: set[asyncio.Task[None]] = set()  # tasks without a ToolResult event yet
        self.stream: CompletionStream | None = None
        self.recorded = False  # its messages were added to the conversation

    def running(self) -> list[asyncio.Task[None]]:
        return [s.task for s in self.slots if s.task is not None and not s.task.done()]


class AgentRun:
    """The state of one run; ``events()`` drives it."""

    def __init__(self, agent: Agent, messages: list[dict[str, Any]]) -> None:
        self.agent = agent
        self.messages = messages
        self.records: list[ToolCallRecord] = []
        self.usage = Usage()
        self.turns = 0
        self.output: Any = None
        self.done = False
        self._turn: _Turn | None = None
        self._trace: _telemetry.AgentTrace | None = None
        self._ids = text.tool_call_ids(messages)
        self._next_id = 1
        limit = agent.max_concurrency
        self._limit = asyncio.Semaphore(limit) if limit else None
        self._tool_map = agent.tools  # with mcp_servers: listed again before each turn
        self._tools = list(agent.tools.values()) or None
        self._params = dict(agent.params)
        if agent.output_schema is not None:
            self._params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": agent.output_schema, "strict": True},
            }

    def result(self) -> AgentResult:
        """A snapshot: the conversation up to the last complete (or interrupted) turn."""
        return AgentResult(self.output, list(self.messages), self.usage, self.turns, list(self.records))

    async def events(self) -> AsyncGenerator[AgentEvent, None]:
        telemetry = agent_telemetry(self.agent)
        trace = self._trace = _telemetry.agent_trace(telemetry, self.agent)
        failure: BaseException | None = None
        servers = self.agent._servers
        entered = False
        try:
            if servers:
                await servers.enter()
                entered = True
            while not self.done:
                turn = self._begin_turn()
                if servers:
                    self._tool_map = await servers.tools(self.agent.tools)
                    self._tools = list(self._tool_map.values()) or None
                async with contextlib.aclosing(self._model_turn(turn)) as model_turn:
                    async for out in model_turn:
                        yield out
                while turn.unreported:
                    await asyncio.wait(turn.unreported, return_when=FIRST_COMPLETED)
                    for out in self._harvest(turn):
                        yield out
                for out in self._end_turn(turn):
                    yield out
        except BaseException as exc:
            failure = exc
            raise
        finally:
            try:
                await self._stop()
            finally:
                if entered:
                    await servers.leave()
                if trace is not None:
                    trace.end(self.result(), failure)

    async def _model_turn(self, turn: _Turn) -> AsyncGenerator[AgentEvent, None]:
        """The model's events, the calls they start, and the results of calls ending meanwhile.

        While tools run, the next model event is read in a task so that a tool finishing
        during a pause of the model is reported at once; otherwise it is awaited directly
        (a task per chunk would cost more than the chunk).
        """
        request = self._request()  # a setting it cannot resolve (no PAT) raises here
        self.turns = turn.number
        async with _telemetry.opened_under(self._trace, request) as stream:
            turn.stream = stream
            model = stream.events()
            reader: asyncio.Task[StreamEvent | None] | None = None
            try:
                while True:
                    if turn.unreported or reader is not None:
                        if reader is None:
                            reader = asyncio.create_task(_next(model), name="aclarifai agent reader")
                        await asyncio.wait({reader, *turn.unreported}, return_when=FIRST_COMPLETED)
                        for out in self._harvest(turn):
                            yield out
                        if not reader.done():
                            continue
                        event = reader.result()
                        reader = None
                    else:
                        event = await _next(model)
                    if event is None:
                        if not stream.complete:  # closed under us: the answer may be cut short
                            raise StreamConnectionError(
                                "the model's stream was closed before its answer was complete",
                                request_id=stream.request_id, partial=stream.completion,
                            )
                        return
                    for out in self._on_model_event(turn, event):
                        yield out
            finally:
                if reader is not None:  # stop reading before closing what it reads
                    reader.cancel()
                    await asyncio.wait({reader})
                    if not reader.cancelled():
                        reader.exception()
                await model.aclose()

    # -- one turn ---------------------------------------------------------------------------

    def _begin_turn(self) -> _Turn:
        if self.turns >= self.agent.max_turns:
            raise MaxTurnsExceeded(self.agent.max_turns, self.result())
        self._turn = _Turn(self.turns + 1)
        return self._turn

    def _request(self) -> CompletionRequest[CompletionStream]:
        agent = self.agent
        key = agent._api_key  # wrapped; revealed only into acompletion's first line
        return acompletion(
            model=agent.model, messages=self.messages, stream=True, tools=self._tools,
            client=agent.client, api_key=None if key is None else key.reveal(),
            base_url=agent.base_url, **self._params,
        )

    def _on_model_event(self, turn: _Turn, event: Any) -> list[AgentEvent]:
        if getattr(event, "choice", 0) != 0:
            return []  # the agent follows the first choice only
        out: list[AgentEvent] = [event]
        if isinstance(event, ToolCallDone):
            out.append(self._dispatch(turn, event.tool_call))
        if turn.finished:
            out += self._harvest(turn)
        return out

    def _dispatch(self, turn: _Turn, received: ToolCall) -> AgentEvent:
        """Check a complete tool call and start its tool, or reject it with an error result."""
        data = received.to_dict()
        call_id = data.get("id")
        if not isinstance(call_id, str) or not call_id or call_id in self._ids:
            data["id"] = call_id = self._new_id()  # missing or repeated: the tool message needs one
        self._ids.add(call_id)
        call = ToolCall(data)
        name = call.function.name or ""
        tool = self._tool_map.get(name)
        problem, arguments = self._check(tool, name, call)
        slot = _Slot(call, name, arguments)
        turn.slots.append(slot)
        if tool is None or problem is not None or not isinstance(arguments, dict):
            slot.fail(problem or "")
            _telemetry.rejected_tool(self._trace, call, arguments, unknown=tool is None)
            return slot.result_event()
        context = RunContext(
            tool_call_id=call_id, agent=self.agent, messages=list(self.messages), tool_name=name
        )
        slot.task = asyncio.create_task(
            self._execute(slot, tool, arguments, context), name=f"aclarifai tool {name} {call_id}"
        )
        slot.task.add_done_callback(lambda _: turn.finished.append(slot))
        turn.unreported.add(slot.task)
        return ToolCallReady(call, arguments)

    def _check(
        self, tool: Tool | None, name: str, call: ToolCall
    ) -> tuple[str | None, dict[str, Any] | str]:
        """The error to send the model instead of running the call (None if fine), and the
        arguments (parsed, or the raw text when they are not a JSON object)."""
        raw = call.function.arguments or ""
        invalid = call.function.arguments_error
        if tool is None:
            return text.unknown_tool(name, self._tool_map), raw
        if invalid is not None:
            return text.invalid_json(name, invalid), raw
        arguments = call.function.parse_arguments()
        try:
            tool.validate(arguments)
        except ToolArgumentsError as exc:
            return text.invalid_arguments(name, exc.errors), arguments
        return None, arguments

    async def _execute(
        self, slot: _Slot, tool: Tool, arguments: dict[str, Any], context: RunContext
    ) -> None:
        traced = _telemetry.traced_tool(self._trace, slot.call, arguments)
        async with self._limit or contextlib.nullcontext(), traced:
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                output = await tool.invoke(arguments, context)
            except Exception as exc:
                slot.fail(text.tool_failed(slot.name, exc), loop.time() - start)
                traced.failed(exc)
                if self.agent.raise_tool_errors or isinstance(exc, ToolServerError):
                    raise  # a tool server that failed ends the run: the model cannot fix it
                return
            slot.succeed(output, loop.time() - start)
            traced.succeeded(slot.content)

    def _harvest(self, turn: _Turn) -> list[AgentEvent]:
        """ToolResult events for the calls that finished since last time, as they finished."""
        out: list[AgentEvent] = []
        while turn.finished:
            slot = turn.finished.popleft()
            assert slot.task is not None
            turn.unreported.discard(slot.task)
            if slot.task.cancelled():  # the tool cancelled itself; we had not asked
                slot.fail(text.CANCELLED_BY_TOOL)
            else:
                slot.task.result()  # re-raises a tool's exception when raise_tool_errors is set
            out.append(slot.result_event())
        return out

    def _end_turn(self, turn: _Turn) -> list[AgentEvent]:
        usage = self._record(turn, interrupted=False)
        model = turn.stream.accumulator.model if turn.stream is not None else None
        events: list[AgentEvent] = [TurnFinished(turn.number, usage, model)]
        if turn.slots:
            return events
        answer = self.messages[-1].get("content")
        output: Any = answer if isinstance(answer, str) else ""
        validator = self.agent._output_validator
        if validator is not None:
            output, problem = text.parse_output(output, validator)
            if problem is not None:
                self.messages.append({"role": "user", "content": problem})
                return events
        self.output, self.done = output, True
        events.append(RunFinished(self.result()))
        return events

    def _record(self, turn: _Turn, *, interrupted: bool) -> Usage | None:
        """Add the turn's messages, records and usage to the run; return the turn's usage."""
        turn.recorded = True
        stream = turn.stream
        usage = stream.usage if stream is not None else None
        if usage is not None:
            self.usage = self.usage + usage
        if interrupted and not turn.slots:
            return usage  # an unfinished answer without tool calls is dropped
        completion = stream.completion if stream is not None else None
        self.messages.append(_assistant_message(completion, turn.slots))
        for slot in turn.slots:
            self.messages.append(slot.message())
            self.records.append(slot.record())
        return usage

    # -- the end ----------------------------------------------------------------------------

    async def _stop(self) -> None:
        """However the run ends: stop the tools still running and answer every call."""
        turn = self._turn
        if turn is not None and not turn.recorded:
            running = turn.running()
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
            for slot in turn.slots:
                if slot.content is None:
                    slot.fail(text.CANCELLED)
                ended = slot.task
                if ended is not None and ended.done() and not ended.cancelled():
                    ended.exception()  # retrieved: its error is in the tool message already
            self._record(turn, interrupted=True)
        self.agent.last_result = self.result()

    def _new_id(self) -> str:
        while f"call_{self._next_id}" in self._ids:
            self._next_id += 1
        return f"call_{self._next_id}"


def agent_telemetry(agent: Agent) -> _telemetry.Telemetry | None:
    """The telemetry an agent's runs report to: its client's, else ``aclarifai.instrument()``'s."""
    client = agent.client
    return client.telemetry if client is not None else _telemetry.installed


async def _next(events: AsyncGenerator[StreamEvent, None]) -> StreamEvent | None:
    """The next model event, or None at the end (a task cannot end with StopAsyncIteration)."""
    try:
        return await events.__anext__()
    except StopAsyncIteration:
        return None


def _assistant_message(completion: ChatCompletion | None, slots: list[_Slot]) -> dict[str, Any]:
    """The assistant message as received (vendor fields kept), with the calls as they ran."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if completion is not None:
        for choice in completion.choices:
            if choice.index == 0:
                message = choice.message.to_dict()
                break
    message.pop("tool_calls", None)
    if slots:
        message["tool_calls"] = [slot.call.to_dict() for slot in slots]
    elif message.get("content") is None:
        message["content"] = ""  # most servers refuse a null content without tool calls
    return message
