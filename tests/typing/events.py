"""README "Typed stream events", docs/events.md, docs/streaming.md: ``event.type`` narrows.

Each event class carries its ``type`` as a ``Literal`` tag, so comparing it (``==`` or
``match``) narrows ``StreamEvent`` to one class, and each field has its own type.
"""

import asyncio
from typing import Any, Literal, assert_type

import aclarifai
from aclarifai import (
    AsyncClarifai,
    ChatCompletion,
    ChunkAccumulator,
    ContentDelta,
    ContentDone,
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    Usage,
    UsageUpdated,
    stream_chunk_builder,
)
from aclarifai.testing import FakeClarifai, make_chunk

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


def show(event: StreamEvent) -> str:
    """Every tag narrows to its class (docs/events.md's table), with an exhaustive else."""
    if event.type == "content.delta":
        assert_type(event, ContentDelta)
        assert_type(event.text, str)
        assert_type(event.choice, int)
        return event.text
    elif event.type == "reasoning.delta":
        assert_type(event, ReasoningDelta)
        return f"({event.text})"
    elif event.type == "refusal.delta":
        assert_type(event, RefusalDelta)
        return event.text
    elif event.type == "content.done":
        assert_type(event, ContentDone)
        assert_type(event.content, str)
        return ""
    elif event.type == "tool_call.started":
        assert_type(event, ToolCallStarted)
        assert_type(event.name, str | None)
        assert_type(event.id, str | None)
        assert_type(event.index, int)
        return f"[calling {event.name}]"
    elif event.type == "tool_call.arguments.delta":
        assert_type(event, ToolCallArgumentsDelta)
        assert_type(event.delta, str)
        assert_type(event.arguments_so_far, str)
        assert_type(event.parsed_so_far, dict[str, Any])  # raw JSON values
        return ""
    elif event.type == "tool_call.done":
        assert_type(event, ToolCallDone)
        assert_type(event.tool_call, ToolCall)
        assert_type(event.tool_call.function.name, str | None)
        assert_type(event.tool_call.function.parse_arguments(), dict[str, Any])
        return ""
    elif event.type == "usage":
        assert_type(event, UsageUpdated)
        assert_type(event.usage, Usage)
        assert_type(event.usage.total_tokens, int)
        return ""
    else:
        assert_type(event, Finished)
        assert_type(event.type, Literal["finished"])
        assert_type(event.finish_reason, str | None)
        return ""


def kind(event: StreamEvent) -> str:
    """The same narrowing with ``match``."""
    match event.type:
        case "content.delta" | "reasoning.delta":
            assert_type(event, ContentDelta | ReasoningDelta)
            return event.text
        case "tool_call.done":
            assert_type(event, ToolCallDone)
            return event.tool_call.id or ""
        case _:
            return event.type


async def main() -> None:
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    weather: dict[str, Any] = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    async with FakeClarifai() as fake:
        fake.add_tool_calls([{"name": "get_weather", "arguments": {"location": "Paris"}}],
                            content="Let me look.", reasoning="A weather question.")
        fake.add_text("Sunny.")
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
            # README "Typed stream events and live tool calls"
            async with client.acompletion(
                model=MODEL, messages=messages, tools=[weather], stream=True
            ) as stream:
                names: list[str | None] = []
                async for event in stream.events():
                    assert_type(event, StreamEvent)
                    show(event)
                    kind(event)
                    if event.type == "content.delta":
                        print(event.text, end="")
                    elif event.type == "tool_call.arguments.delta":
                        assert_type(event.parsed_so_far, dict[str, Any])
                    elif event.type == "tool_call.done":
                        names.append(event.tool_call.function.name)
                completion = await stream.get_final_completion()
                assert_type(completion, ChatCompletion)
            assert names == ["get_weather"]

            # docs/streaming.md: events from a stream opened with await.
            opened = await client.acompletion(model=MODEL, messages=messages, stream=True)
            text = "".join([e.text async for e in opened.events() if e.type == "content.delta"])
            assert_type(text, str)
            assert text == "Sunny."

    # docs/events.md: ChunkAccumulator and stream_chunk_builder, without a network.
    start = {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "forecast", "arguments": ""}}
    chunks = [make_chunk({"role": "assistant", "tool_calls": [start]}),
              make_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]}),
              make_chunk({}, finish_reason="tool_calls")]
    accumulator = ChunkAccumulator()
    seen: list[dict[str, Any]] = []
    for chunk in chunks:
        events = accumulator.add(chunk)
        assert_type(events, list[StreamEvent])
        for event in events:
            if event.type == "tool_call.arguments.delta":
                seen.append(event.parsed_so_far)
    ended = accumulator.end()
    assert_type(ended, list[StreamEvent])
    assert seen[-1] == {"city": "Paris"}
    assembled = stream_chunk_builder(chunks)
    assert_type(assembled, ChatCompletion)
    calls = assembled.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "forecast"
    await aclarifai.aclose_default_clients()


if __name__ == "__main__":
    asyncio.run(main())
