"""Agent: the tool loop against FakeClarifai over real loopback HTTP.

Scripted replies pin each scenario; the demo model (no script) plays a model end to end.
Nothing here asserts wall-clock durations: overlap is shown by the order of timestamps, and
waits that could hang are bounded by tool timeouts or ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import io
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Literal

import pytest

import aclarifai
from aclarifai import AsyncClarifai, BadRequestError, MaxTurnsExceeded, ToolCall
from aclarifai._agent_text import encode_output
from aclarifai.agent import (
    Agent,
    AgentEvent,
    AgentResult,
    RunFinished,
    ToolCallReady,
    ToolCallRecord,
    ToolResult,
    TurnFinished,
)
from aclarifai.errors import ConfigurationError
from aclarifai.events import ContentDelta, Finished, ToolCallArgumentsDelta, ToolCallStarted
from aclarifai.testing import FakeClarifai, make_chunk
from aclarifai.tools import RunContext, Tool, tool

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
EXAMPLE = Path(__file__).parent.parent / "examples" / "agent_weather.py"
BOUND = 5.0  # seconds: the most any wait in these tests may take before failing


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city.
        units: Temperature units.
    """
    return {"location": location, "temperature": 21, "units": units}


@tool
async def search(query: str) -> list[str]:
    """Search the web."""
    return [f"result for {query}"]


def make_agent(client: AsyncClarifai, tools: list[Any], **kwargs: Any) -> Agent:
    return Agent(MODEL, tools, client=client, **kwargs)


async def collect(agent: Agent, question: Any) -> list[AgentEvent]:
    async with agent.stream(question) as events:
        return [event async for event in events]


def tool_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["role"] == "tool"]


def assert_every_call_answered(messages: list[dict[str, Any]]) -> None:
    """The conversation is valid: each assistant tool call is answered right after it."""
    for position, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        if message["role"] != "assistant" or not calls:
            continue
        answers = messages[position + 1 : position + 1 + len(calls)]
        assert [a["role"] for a in answers] == ["tool"] * len(calls)
        assert [a["tool_call_id"] for a in answers] == [c["id"] for c in calls]


def agent_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("aclarifai tool")]


# -- the loop, end to end -----------------------------------------------------------------------


async def test_demo_model_end_to_end(fake: FakeClarifai, client: AsyncClarifai) -> None:
    agent = make_agent(client, [get_weather], instructions="You are a weather bot.")
    result = await agent.run("What's the weather in Paris?")

    assert [r.name for r in result.tool_calls] == ["get_weather"]
    record = result.tool_calls[0]
    assert record.arguments == {"location": "Paris"}
    assert record.output == {"location": "Paris", "temperature": 21, "units": "celsius"}
    assert record.error is None
    assert '{"location":"Paris","temperature":21,"units":"celsius"}' in result.output
    assert result.turns == 2 and fake.request_count == 2
    first = fake.requests[0].json
    assert first["tools"] == [get_weather.schema]
    assert first["stream"] is True
    assert first["messages"][0] == {"role": "system", "content": "You are a weather bot."}
    assert [m["role"] for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert result.messages[-1]["content"] == result.output
    assert_every_call_answered(result.messages)
    assert result.usage.total_tokens > 0
    assert agent.last_result == result


async def test_usage_is_summed_over_turns(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_tool_calls([{"name": "search", "arguments": {"query": "x"}}],
                        usage={"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12})
    fake.add_text("done", usage={"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21})
    events = await collect(make_agent(client, [search]), "look it up")

    turns = [e for e in events if isinstance(e, TurnFinished)]
    assert [(t.turn, t.usage and t.usage.total_tokens) for t in turns] == [(1, 12), (2, 21)]
    result = events[-1].result if isinstance(events[-1], RunFinished) else None
    assert result is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (30, 3)
    assert result.usage.total_tokens == 33


async def test_next_run_continues_without_repeating_instructions(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    agent = make_agent(client, [get_weather], instructions="Be brief.")
    first = await agent.run("What's the weather in Paris?")
    second = await agent.run(first.messages + [{"role": "user", "content": "Thanks!"}])

    sent = fake.last_request.json["messages"]
    assert [m["role"] for m in sent].count("system") == 1
    assert sent[: len(first.messages)] == first.messages
    assert second.messages[: len(first.messages)] == first.messages
    assert second.output.startswith('You said: "Thanks!"')


async def test_default_client_machinery(fake: FakeClarifai) -> None:
    agent = Agent(MODEL, [get_weather], api_key=fake.api_key, base_url=fake.base_url, temperature=0.2)
    try:
        result = await agent.run("What's the weather in Paris?")
    finally:
        await aclarifai.aclose_default_clients()
    assert result.tool_calls[0].output["location"] == "Paris"
    assert all(r.json["temperature"] == 0.2 for r in fake.requests)


async def test_missing_pat_propagates_before_any_request(fake: FakeClarifai) -> None:
    agent = Agent(MODEL, [get_weather], base_url=fake.base_url)
    with pytest.raises(aclarifai.MissingAPIKeyError):
        await agent.run("hi")
    assert fake.request_count == 0
    assert agent.last_result is not None and agent.last_result.turns == 0


async def test_api_errors_propagate(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_error(400)
    agent = make_agent(client, [get_weather])
    with pytest.raises(BadRequestError):
        await agent.run("hi")
    assert agent.last_result is not None and agent.last_result.turns == 1


# -- model mistakes go back to the model ----------------------------------------------------------


async def test_schema_errors_are_fed_back_and_corrected(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    calls: list[dict[str, Any]] = []

    @tool
    def forecast(location: str, units: Literal["celsius", "fahrenheit"]) -> str:
        """Forecast."""
        calls.append({"location": location, "units": units})
        return f"sunny in {location}"

    fake.add_tool_calls([{"name": "forecast", "arguments": {"units": "kelvin", "when": "now"}}])
    fake.add_tool_calls([{"name": "forecast", "arguments": {"location": "Oslo", "units": "celsius"}}])
    fake.add_text("It is sunny in Oslo.")
    result = await make_agent(client, [forecast]).run("Weather in Oslo?")

    assert calls == [{"location": "Oslo", "units": "celsius"}]
    feedback = fake.requests[1].json["messages"][-1]
    assert feedback["role"] == "tool"
    assert "invalid arguments for tool 'forecast'" in feedback["content"]
    assert "- $: 'location' is a required property" in feedback["content"]
    assert "('when' was unexpected)" in feedback["content"]
    assert "- $.units: 'kelvin' is not one of ['celsius', 'fahrenheit']" in feedback["content"]
    first, second = result.tool_calls
    assert first.error == feedback["content"] and first.output is None and first.duration == 0
    assert first.arguments == {"units": "kelvin", "when": "now"}
    assert second.output == "sunny in Oslo" and second.error is None
    assert tool_messages(result.messages)[1]["content"] == "sunny in Oslo"
    assert result.output == "It is sunny in Oslo." and result.turns == 3


async def test_invalid_json_arguments(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_tool_calls([{"name": "get_weather", "arguments": '{"location": "Par'}])
    fake.add_text("Sorry.")
    events = await collect(make_agent(client, [get_weather]), "Weather?")

    results = [e for e in events if isinstance(e, ToolResult)]
    assert len(results) == 1 and results[0].output is None
    assert not any(isinstance(e, ToolCallReady) for e in events)
    content = fake.requests[1].json["messages"][-1]["content"]
    assert content == results[0].error
    assert "arguments for tool 'get_weather' could not be read" in content
    assert "not valid JSON" in content


async def test_unknown_tool_lists_the_available_ones(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    fake.add_tool_calls([{"name": "get_wether", "arguments": {"location": "Paris"}}])
    fake.add_text("Oops.")
    result = await make_agent(client, [get_weather, search]).run("Weather?")

    content = tool_messages(result.messages)[0]["content"]
    assert content == (
        "Error: there is no tool named 'get_wether'. Available tools: get_weather, search."
    )
    assert result.tool_calls[0].name == "get_wether"
    assert result.output == "Oops."


async def test_tool_exception_is_reported_to_the_model(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        raise LookupError(f"no such city: {city}")

    fake.add_tool_calls([{"name": "lookup", "arguments": {"city": "Atlantis"}}])
    fake.add_text("It does not exist.")
    result = await make_agent(client, [lookup]).run("Where is Atlantis?")

    expected = "Error: tool 'lookup' raised LookupError: no such city: Atlantis"
    assert tool_messages(result.messages)[0]["content"] == expected
    assert result.tool_calls[0].error == expected
    assert result.output == "It does not exist."


async def test_tool_timeout_is_reported_to_the_model(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    never = asyncio.Event()

    @tool(timeout=0.05)
    async def slow(key: str) -> str:
        """Never answers."""
        await never.wait()
        return key

    fake.add_tool_calls([{"name": "slow", "arguments": {"key": "a"}}])
    fake.add_text("Gave up.")
    result = await make_agent(client, [slow]).run("go")

    content = tool_messages(result.messages)[0]["content"]
    assert content.startswith("Error: tool 'slow' timed out")
    assert "did not finish within 0.05 seconds" in content
    assert result.output == "Gave up."


async def test_raise_tool_errors_propagates_tool_exceptions(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ZeroDivisionError("boom")

    fake.add_tool_calls([{"name": "broken", "arguments": {"x": 1}}])
    fake.add_text("unreachable")
    agent = make_agent(client, [broken], raise_tool_errors=True)
    with pytest.raises(ZeroDivisionError, match="boom"):
        await agent.run("go")

    assert fake.request_count == 1
    assert agent.last_result is not None
    messages = agent.last_result.messages
    assert_every_call_answered(messages)
    assert "raised ZeroDivisionError: boom" in tool_messages(messages)[0]["content"]


async def test_raise_tool_errors_still_sends_argument_errors_to_the_model(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    fake.add_tool_calls([{"name": "get_weather", "arguments": {"place": "Paris"}}])
    fake.add_text("Retrying is up to me.")
    result = await make_agent(client, [get_weather], raise_tool_errors=True).run("Weather?")
    assert "'location' is a required property" in tool_messages(result.messages)[0]["content"]
    assert result.output == "Retrying is up to me."


# -- running tools ------------------------------------------------------------------------------


async def test_sync_and_async_tools(client: AsyncClarifai, fake: FakeClarifai) -> None:
    main_thread = threading.get_ident()
    threads: dict[str, int] = {}

    def blocking(n: int) -> int:
        """A sync tool: runs in a worker thread."""
        threads["blocking"] = threading.get_ident()
        return n * 2

    async def waiting(n: int) -> int:
        """An async tool: runs on the loop."""
        threads["waiting"] = threading.get_ident()
        return n + 1

    fake.add_tool_calls([
        {"name": "blocking", "arguments": {"n": 4}},
        {"name": "waiting", "arguments": {"n": 4}},
    ])
    fake.add_text("done")
    result = await make_agent(client, [blocking, waiting]).run("go")

    assert threads["blocking"] != main_thread and threads["waiting"] == main_thread
    assert [m["content"] for m in tool_messages(result.messages)] == ["8", "5"]
    assert [r.output for r in result.tool_calls] == [8, 5]


async def test_parallel_calls_results_in_call_order(client: AsyncClarifai, fake: FakeClarifai) -> None:
    # a waits for b, b waits for c: they can only finish if they run at the same time, and
    # they finish in the reverse of the call order.
    finished = {name: asyncio.Event() for name in "abc"}
    waits_for = {"a": "b", "b": "c", "c": None}

    @tool(timeout=BOUND)
    async def step(name: str) -> str:
        """One step."""
        other = waits_for[name]
        if other is not None:
            await finished[other].wait()
        finished[name].set()
        return f"{name} done"

    fake.add_tool_calls([{"name": "step", "arguments": {"name": n}} for n in "abc"])
    fake.add_text("all done")
    events = await collect(make_agent(client, [step]), "go")

    results = [e.output for e in events if isinstance(e, ToolResult)]
    assert results == ["c done", "b done", "a done"]  # events come as tools finish
    result = events[-1].result if isinstance(events[-1], RunFinished) else None
    assert result is not None
    assert [m["content"] for m in tool_messages(result.messages)] == ["a done", "b done", "c done"]
    calls = result.messages[-5]["tool_calls"]
    assert [m["tool_call_id"] for m in tool_messages(result.messages)] == [c["id"] for c in calls]


@pytest.mark.parametrize(("limit", "expected_peak"), [(None, 3), (1, 1), (2, 2)])
async def test_max_concurrency(
    client: AsyncClarifai, fake: FakeClarifai, limit: int | None, expected_peak: int
) -> None:
    running = peak = 0
    gate = asyncio.Event()

    @tool(timeout=BOUND)
    async def work(n: int) -> int:
        """Work."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await gate.wait()
        finally:
            running -= 1
        return n

    fake.add_tool_calls([{"name": "work", "arguments": {"n": n}} for n in range(3)])
    fake.add_text("ok")
    running_when_stream_ended = -1
    async with make_agent(client, [work], max_concurrency=limit).stream("go") as events:
        async for event in events:
            if isinstance(event, Finished) and not gate.is_set():
                for _ in range(10):  # every started tool reaches the gate (no I/O on the way)
                    await asyncio.sleep(0)
                running_when_stream_ended = running
                gate.set()
    assert running_when_stream_ended == peak == expected_peak
    assert [r.output for r in events.result.tool_calls] == [0, 1, 2]


async def test_eager_execution_starts_tools_while_the_model_streams(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    loop = asyncio.get_running_loop()
    started: dict[str, float] = {}

    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        started[url] = loop.time()
        await asyncio.sleep(0.01)
        return f"page {url}"

    urls = ["u0", "u1", "u2"]
    fake.add_tool_calls(
        [{"name": "fetch", "arguments": {"url": u}} for u in urls], fragments=2, chunk_delay=0.03
    )
    fake.add_text("read them all")
    stream_finished: list[float] = []
    third_call_started: list[float] = []
    async with make_agent(client, [fetch]).stream("fetch three pages") as events:
        async for event in events:
            if isinstance(event, Finished) and not stream_finished:
                stream_finished.append(loop.time())
            if isinstance(event, ToolCallStarted) and event.index == 2:
                third_call_started.append(loop.time())
        result = events.result

    assert set(started) == set(urls)
    # The first tool began before the model had even started the third call, let alone finished.
    assert started["u0"] < third_call_started[0] < stream_finished[0]
    assert started["u1"] < stream_finished[0]
    assert [m["content"] for m in tool_messages(result.messages)] == ["page u0", "page u1", "page u2"]


async def test_run_context_is_injected(client: AsyncClarifai, fake: FakeClarifai) -> None:
    seen: list[RunContext] = []

    @tool
    def remember(fact: str, ctx: RunContext) -> str:
        """Remember a fact."""
        seen.append(ctx)
        return "ok"

    fake.add_tool_calls([{"name": "remember", "arguments": {"fact": "tea"}, "id": "call_abc"}])
    fake.add_text("noted")
    agent = make_agent(client, [remember], instructions="sys")
    await agent.run("I like tea")

    (ctx,) = seen
    assert (ctx.tool_call_id, ctx.tool_name, ctx.agent) == ("call_abc", "remember", agent)
    assert ctx.messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "I like tea"},
    ]


async def test_outputs_are_encoded_for_the_model(client: AsyncClarifai, fake: FakeClarifai) -> None:
    @dataclasses.dataclass
    class Reading:
        city: str
        degrees: float

    @tool
    def read(city: str) -> Reading:
        """A reading."""
        return Reading(city, 21.5)

    fake.add_tool_calls([{"name": "read", "arguments": {"city": "Rome"}}])
    fake.add_text("ok")
    result = await make_agent(client, [read]).run("go")
    assert tool_messages(result.messages)[0]["content"] == '{"city":"Rome","degrees":21.5}'
    assert result.tool_calls[0].output == Reading("Rome", 21.5)


def test_encode_output() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "<opaque>"

    assert encode_output("plain text") == "plain text"
    assert encode_output(None) == "null"
    assert encode_output({"n": 1, "ok": True}) == '{"n":1,"ok":true}'
    assert encode_output({1: (1, 2)}) == '{"1":[1,2]}'
    assert encode_output({"x": Opaque(), "s": {3}, "b": b"hi"}) == '{"x":"<opaque>","s":[3],"b":"hi"}'
    assert encode_output(2**70) == str(2**70)


# -- the conversation as sent back ----------------------------------------------------------------


async def test_vendor_extras_are_sent_back(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_tool_calls(
        [{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "fc-1"}],
        extra={"thought_signature": "sig-1"},
    )
    fake.add_text("Sunny.")
    await make_agent(client, [get_weather]).run("Weather in Paris?")

    sent = fake.requests[1].json["messages"]
    assistant = sent[-2]
    assert assistant["tool_calls"] == [
        {
            "id": "fc-1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
            "thought_signature": "sig-1",
        }
    ]
    assert sent[-1] == {
        "role": "tool",
        "tool_call_id": "fc-1",
        "content": '{"location":"Paris","temperature":21,"units":"celsius"}',
    }


async def test_missing_tool_call_ids_are_assigned(client: AsyncClarifai, fake: FakeClarifai) -> None:
    def call(name: str, arguments: str) -> dict[str, Any]:
        return {"tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}

    fake.add_chunks([
        make_chunk({"role": "assistant", **call("get_weather", '{"location": "Paris"}')}),
        make_chunk(call("search", '{"query": "news"}')),
        make_chunk(finish_reason="tool_calls"),
    ])
    fake.add_text("done")
    events = await collect(make_agent(client, [get_weather, search]), "go")

    ready = [e for e in events if isinstance(e, ToolCallReady)]
    assert [e.call.id for e in ready] == ["call_1", "call_2"]
    sent = fake.requests[1].json["messages"]
    assert [c["id"] for c in sent[-3]["tool_calls"]] == ["call_1", "call_2"]
    assert [m["tool_call_id"] for m in sent[-2:]] == ["call_1", "call_2"]


async def test_repeated_ids_are_replaced(client: AsyncClarifai, fake: FakeClarifai) -> None:
    # The new id must not clash with one already in the conversation either.
    history = [
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "old"},
        {"role": "user", "content": "again"},
    ]
    fake.add_tool_calls([
        {"name": "search", "arguments": {"query": "a"}, "id": "dup"},
        {"name": "search", "arguments": {"query": "b"}, "id": "dup"},
    ])
    fake.add_text("done")
    result = await make_agent(client, [search]).run(history)
    assert [r.id for r in result.tool_calls] == ["dup", "call_2"]
    assert_every_call_answered(result.messages)


# -- bounds and events ----------------------------------------------------------------------------


async def test_max_turns_raises_with_the_partial_result(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    fake.add_tool_calls([{"name": "search", "arguments": {"query": "more"}}], times=5)
    agent = make_agent(client, [search], max_turns=2)
    with pytest.raises(MaxTurnsExceeded) as caught:
        await agent.run("search forever")

    assert caught.value.max_turns == 2
    partial = caught.value.result
    assert isinstance(partial, AgentResult)
    assert partial.turns == 2 and fake.request_count == 2
    assert partial.output is None
    assert len(partial.tool_calls) == 2
    assert partial.messages[-1]["role"] == "tool"
    assert_every_call_answered(partial.messages)
    assert agent.last_result == partial


async def test_event_order(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_tool_calls([
        {"name": "get_weather", "arguments": {"location": "Paris"}},
        {"name": "search", "arguments": {"query": "Paris"}},
    ])
    fake.add_text("Sunny in Paris.")
    events = await collect(make_agent(client, [get_weather, search]), "go")
    kinds = [type(e) for e in events]

    assert ContentDelta in kinds and ToolCallStarted in kinds and ToolCallArgumentsDelta in kinds
    for call_id in ("call_fake_000001_0", "call_fake_000001_1"):
        ready = next(i for i, e in enumerate(events)
                     if isinstance(e, ToolCallReady) and e.call.id == call_id)
        done = next(i for i, e in enumerate(events)
                    if isinstance(e, ToolResult) and e.call.id == call_id)
        assert ready < done
        assert isinstance(events[ready].call, ToolCall)
    turn_ends = [i for i, e in enumerate(events) if isinstance(e, TurnFinished)]
    assert [events[i].turn for i in turn_ends] == [1, 2]  # type: ignore[attr-defined]
    last_result = max(i for i, e in enumerate(events) if isinstance(e, ToolResult))
    assert last_result < turn_ends[0] < kinds.index(ContentDelta)
    assert kinds.count(RunFinished) == 1 and isinstance(events[-1], RunFinished)
    assert events[-1].result.output == "Sunny in Paris."
    assert all(isinstance(e.type, str) and e.type for e in events)


# -- cancellation -------------------------------------------------------------------------------


@dataclasses.dataclass
class Blocked:
    """Async tools that start, then wait forever (until cancelled)."""

    started: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    cancelled: list[str] = dataclasses.field(default_factory=list)
    count: int = 0

    def tool(self, expected: int) -> Tool:
        async def block(key: str) -> str:
            """Wait forever."""
            self.count += 1
            if self.count == expected:
                self.started.set()
            try:
                await asyncio.get_running_loop().create_future()
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise
            return key

        return tool(block)


async def wait_for_no_new_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    for _ in range(10):  # let finished tasks leave the loop's set
        await asyncio.sleep(0)
    return {t for t in asyncio.all_tasks() - before if not t.done()}


async def test_cancelling_run_cancels_every_tool(fake: FakeClarifai) -> None:
    before = asyncio.all_tasks()
    blocked = Blocked()
    fake.add_tool_calls([{"name": "block", "arguments": {"key": k}} for k in ("a", "b")])
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
        agent = make_agent(client, [blocked.tool(expected=2)])
        task = asyncio.create_task(agent.run("go"))
        await asyncio.wait_for(blocked.started.wait(), BOUND)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await fake.wait_idle(BOUND, connections=True)

    assert sorted(blocked.cancelled) == ["a", "b"]
    assert agent_tasks() == []
    assert await wait_for_no_new_tasks(before) == set()
    partial = agent.last_result
    assert partial is not None and partial.turns == 1
    assert_every_call_answered(partial.messages)
    assert all("cancelled" in m["content"] for m in tool_messages(partial.messages))
    assert [r.error is not None and "cancelled" in r.error for r in partial.tool_calls] == [True, True]


async def test_closing_the_stream_early_cancels_tools(client: AsyncClarifai, fake: FakeClarifai) -> None:
    blocked = Blocked()
    fake.add_tool_calls([
        {"name": "block", "arguments": {"key": "a"}},
        {"name": "get_weather", "arguments": {"location": "Paris"}},
    ])
    agent = make_agent(client, [blocked.tool(expected=1), get_weather])
    async with agent.stream("go") as events:
        async for event in events:
            if isinstance(event, ToolResult) and event.call.function.name == "get_weather":
                break  # the block tool is still running
    result = events.result

    assert blocked.cancelled == ["a"]
    assert agent_tasks() == []
    assert_every_call_answered(result.messages)
    contents = [m["content"] for m in tool_messages(result.messages)]
    assert "cancelled" in contents[0]
    assert contents[1] == '{"location":"Paris","temperature":21,"units":"celsius"}'
    assert result.output is None


async def test_closing_mid_stream_keeps_only_the_started_calls(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    # Events: head and arguments of call 0, then the head of call 1 (which completes call 0),
    # then the server stalls: call 1 never completes.
    fake.add_tool_calls(
        [{"name": "search", "arguments": {"query": q}} for q in ("first", "second")],
        fragments=1, stall_after=3,
    )
    agent = make_agent(client, [search])

    async def until_first_result() -> AgentResult:
        async with agent.stream("go") as events:
            async for event in events:
                if isinstance(event, ToolResult):  # comes while the model stream is stalled
                    break
        return events.result

    result = await asyncio.wait_for(until_first_result(), BOUND)
    await fake.wait_until(lambda: fake.streams_aborted == 1, BOUND)

    (assistant,) = [m for m in result.messages if m["role"] == "assistant"]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["search"]
    assert tool_messages(result.messages)[0]["content"] == '["result for first"]'
    assert_every_call_answered(result.messages)


async def test_breaking_out_without_closing_still_cleans_up(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    # Without `async with`, the abandoned generator is closed by the loop's finalizer hook.
    blocked = Blocked()
    fake.add_tool_calls([{"name": "block", "arguments": {"key": "a"}}])
    agent = make_agent(client, [blocked.tool(expected=1)])
    async for event in agent.stream("go"):
        if isinstance(event, ToolCallReady):
            break
    for _ in range(100):
        if agent.last_result is not None:
            break
        await asyncio.sleep(0)
    assert blocked.cancelled == ["a"]
    assert agent_tasks() == []
    assert agent.last_result is not None
    assert_every_call_answered(agent.last_result.messages)


async def test_a_broken_model_stream_stops_the_tools(client: AsyncClarifai, fake: FakeClarifai) -> None:
    blocked = Blocked()
    fake.add_tool_calls(
        [{"name": "block", "arguments": {"key": k}} for k in ("a", "b")],
        fragments=1, disconnect_after=3,
    )
    agent = make_agent(client, [blocked.tool(expected=1)])
    with pytest.raises(aclarifai.APIConnectionError):
        await asyncio.wait_for(agent.run("go"), BOUND)
    assert blocked.cancelled == ["a"]
    assert agent_tasks() == []
    assert agent.last_result is not None
    assert_every_call_answered(agent.last_result.messages)
    assert len(agent.last_result.tool_calls) == 1


async def test_cancelling_a_sync_tool_stops_waiting_for_its_thread(fake: FakeClarifai) -> None:
    release = threading.Event()
    entered = threading.Event()
    finished: list[str] = []

    def stuck(key: str) -> str:
        """Blocks its thread until released."""
        entered.set()
        release.wait(BOUND)
        finished.append(key)
        return key

    fake.add_tool_calls([{"name": "stuck", "arguments": {"key": "a"}}])
    try:
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
            agent = make_agent(client, [stuck])
            task = asyncio.create_task(agent.run("go"))
            await asyncio.wait_for(asyncio.to_thread(entered.wait, BOUND), BOUND)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert finished == []  # the run ended while the thread was still blocked
            assert agent_tasks() == []
            assert agent.last_result is not None
            assert "cancelled" in tool_messages(agent.last_result.messages)[0]["content"]
    finally:
        release.set()  # let the worker thread end, so the loop's executor can shut down


# -- output_schema ------------------------------------------------------------------------------

CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


async def test_output_schema_with_the_demo_model(client: AsyncClarifai, fake: FakeClarifai) -> None:
    result = await make_agent(client, [], output_schema=CITY_SCHEMA).run("Tell me about Lyon")
    assert fake.requests[0].json["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": CITY_SCHEMA, "strict": True},
    }
    assert result.output == {"city": "Lyon", "population": 1}  # the demo model mines the prompt
    assert result.turns == 1


@pytest.mark.parametrize(
    ("bad_answer", "expected_feedback"),
    [
        ('{"city": 3}', "- $: 'population' is a required property\n- $.city: 3 is not of type 'string'"),
        ("Lyon has 500k people", "Your answer is not valid JSON"),
    ],
)
async def test_output_schema_correction_turn(
    client: AsyncClarifai, fake: FakeClarifai, bad_answer: str, expected_feedback: str
) -> None:
    fake.add_text(bad_answer, chunks=1)
    fake.add_text('```json\n{"city": "Lyon", "population": 520000}\n```', chunks=1)
    result = await make_agent(client, [], output_schema=CITY_SCHEMA).run("Tell me about Lyon")

    feedback = fake.requests[1].json["messages"][-1]
    assert feedback["role"] == "user" and expected_feedback in feedback["content"]
    assert fake.requests[1].json["messages"][-2] == {"role": "assistant", "content": bad_answer}
    assert result.output == {"city": "Lyon", "population": 520000}
    assert result.turns == 2


# -- construction -------------------------------------------------------------------------------


def test_plain_functions_are_wrapped() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    agent = Agent(MODEL, [add, search], api_key="k")
    assert isinstance(agent.tools["add"], Tool) and agent.tools["search"] is search
    assert "add" in repr(agent)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tools": ["get_weather"]}, TypeError, "must be a Tool or a function"),
        ({"tools": get_weather}, TypeError, "must be a list"),
        ({"tools": [get_weather, get_weather]}, ValueError, "two tools are named 'get_weather'"),
        ({"tools": [lambda x: x]}, ValueError, "invalid tool name"),
        ({"max_turns": 0}, ValueError, "max_turns"),
        ({"max_concurrency": 0}, ValueError, "max_concurrency"),
        ({"stream": False}, TypeError, "always streams"),
        ({"output_schema": {"type": "nope"}}, ValueError, "not a valid JSON schema"),
        ({"output_schema": CITY_SCHEMA, "response_format": {"type": "text"}}, TypeError, "not both"),
        ({"model": "not a model"}, ValueError, "unrecognised model"),
        ({"client": object(), "api_key": "k"}, ConfigurationError, "not with client="),
    ],
)
def test_setup_mistakes_raise_at_construction(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    options: dict[str, Any] = {"model": MODEL, **kwargs}
    with pytest.raises(error, match=match):
        Agent(**options)


def test_untyped_function_raises_at_construction() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError, match="untyped"):
        Agent(MODEL, [untyped])


async def test_bad_input_raises() -> None:
    agent = Agent(MODEL, [], api_key="k")
    with pytest.raises(TypeError, match="input must be"):
        agent.stream({"role": "user", "content": "hi"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one message"):
        agent.stream([])


def test_importing_and_building_an_agent_does_not_load_jsonschema() -> None:
    code = (
        "import sys, aclarifai.agent\n"
        "def f(x: int) -> int:\n    return x\n"
        "aclarifai.agent.Agent('openai/chat-completion/models/gpt-oss-20b', [f], api_key='k')\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_records_and_events_are_frozen() -> None:
    record = ToolCallRecord("t", {}, 1, None, 0.0, "id")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.output = 2  # type: ignore[misc]
    assert ToolResult(ToolCall({}), 1, None, 0.0).type == "tool_call.result"


# -- the example --------------------------------------------------------------------------------


def test_example_runs_offline() -> None:
    spec = importlib.util.spec_from_file_location("agent_weather_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = io.StringIO()
    assert example.main([], out=out) == 0

    lines = out.getvalue().splitlines()
    assert lines[0] == "> What's the weather in Paris?"
    assert lines[1] == '[tool call] get_weather({"location": "Paris"})'
    assert lines[2].startswith(
        '[tool result] {"location": "Paris", "temperature": 21, "units": "celsius", '
        '"conditions": "sunny"}'
    )
    assert lines[3].startswith('Using get_weather: {"location":"Paris","temperature":21')
    assert lines[-1].startswith("[2 turns, ")

