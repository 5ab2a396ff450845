"""README "Agents", docs/tools.md "Streaming the run": agent.run() and agent.stream() results,
and ``event.type`` narrowing ``AgentEvent`` (the model's stream events and the agent's own)."""

import asyncio
from typing import Any, Literal, assert_type

from aclarifai import (
    Agent,
    AgentEvent,
    AgentResult,
    AgentStream,
    AsyncClarifai,
    ContentDelta,
    RunFinished,
    ToolCall,
    ToolCallDone,
    ToolCallReady,
    ToolCallRecord,
    ToolResult,
    TurnFinished,
    Usage,
)
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


def get_weather(location: str) -> str:
    """Get the current weather for a city."""
    return f"21 degrees in {location}"


def show(event: AgentEvent) -> str:
    if event.type == "content.delta":
        assert_type(event, ContentDelta)
        return event.text
    if event.type == "tool_call.done":  # the model's event: the call is complete
        assert_type(event, ToolCallDone)
        return event.tool_call.function.name or ""
    if event.type == "tool_call.ready":
        assert_type(event, ToolCallReady)
        assert_type(event.call, ToolCall)
        assert_type(event.arguments, dict[str, Any])
        return f"[calling {event.call.function.name}({event.arguments})]"
    if event.type == "tool_call.result":
        assert_type(event, ToolResult)
        assert_type(event.error, str | None)
        assert_type(event.duration, float)
        assert_type(event.output, Any)  # what the tool returned: the user's own type
        return f"[result: {event.error or event.output}]"
    if event.type == "turn.finished":
        assert_type(event, TurnFinished)
        assert_type(event.turn, int)
        assert_type(event.usage, Usage | None)
        assert_type(event.model, str | None)
        return ""
    if event.type == "run.finished":
        assert_type(event, RunFinished)
        assert_type(event.result, AgentResult)
        assert_type(event.type, Literal["run.finished"])
        return f"[done in {event.result.turns} turns]"
    return ""


def kind(event: AgentEvent) -> str:
    match event.type:
        case "tool_call.ready" | "tool_call.result":
            assert_type(event, ToolCallReady | ToolResult)
            return event.call.id or ""
        case _:
            return event.type


async def main() -> None:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        agent = Agent(MODEL, [get_weather], instructions="Answer briefly.", client=client)

        # README "Agents": run() to the end.
        fake.add_tool_calls([{"name": "get_weather", "arguments": {"location": "Paris"}}])
        fake.add_text("It is 21 degrees in Paris.")
        result = await agent.run("What's the weather in Paris?")
        assert_type(result, AgentResult)
        assert_type(result.output, Any)  # text, or the parsed JSON value with output_schema
        assert_type(result.usage.total_tokens, int)
        assert_type(result.turns, int)
        assert_type(result.messages, list[dict[str, Any]])
        assert_type(result.tool_calls, list[ToolCallRecord])
        names = [c.name for c in result.tool_calls]
        assert_type(names, list[str])
        assert names == ["get_weather"] and result.output == "It is 21 degrees in Paris."
        assert_type(result.tool_calls[0].error, str | None)
        assert_type(result.tool_calls[0].arguments, dict[str, Any] | str)
        assert_type(agent.last_result, AgentResult | None)

        # README "Agents" and docs/tools.md: stream() as it happens.
        fake.add_tool_calls([{"name": "get_weather", "arguments": {"location": "Tokyo"}}])
        fake.add_text("It is 21 degrees in Tokyo.")
        seen: list[str] = []
        async with agent.stream("And in Tokyo?") as events:
            assert_type(events, AgentStream)
            async for event in events:
                assert_type(event, AgentEvent)
                seen.append(event.type)
                show(event)
                kind(event)
            assert_type(events.result, AgentResult)
        assert seen[-1] == "run.finished" and "tool_call.result" in seen

        # A bare async for over agent.stream(), as in the README.
        fake.add_text("Bye.")
        async for event in agent.stream(result.messages + [{"role": "user", "content": "Bye"}]):
            if event.type == "run.finished":
                assert_type(event.result.output, Any)


if __name__ == "__main__":
    asyncio.run(main())
