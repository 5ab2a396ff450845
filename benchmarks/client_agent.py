"""S5: one agent turn with parallel tool calls, against the same two streams done by hand.

The model (the server) answers the first request with ``s5_calls`` tool calls and the second,
which must carry every tool result, with a streamed answer. ``stream_s`` is the wall time of the
two streams alone (aclarifai, no tools run); ``wall_s`` is ``Agent.run()`` doing the same turn
with tools that each sleep ``s5_tool_seconds``. Run in parallel, the tools add one tool's time:
the target is ``wall_s <= 1.15 x (stream_s + tool_seconds)``.

Against a checkout without a working ``aclarifai.Agent`` (it arrived while this suite was being
written), the scenario reports a skip instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aclarifai
from aclarifai.tools import tool

from . import scenarios as sc


def _load_agent() -> Any:
    agent_class = getattr(aclarifai, "Agent", None)
    if agent_class is None:
        try:
            from aclarifai.agent import Agent as agent_class
        except ImportError:
            return None
    return agent_class


async def _consume(stream: aclarifai.CompletionStream) -> aclarifai.ChatCompletion:
    async for _ in stream:
        pass
    return await stream.get_final_completion()


async def _by_hand(client: aclarifai.AsyncClarifai, plan: sc.Plan, schema: dict[str, Any]) -> float:
    """The two streams of the turn, without running any tool: their wall time."""
    started = time.perf_counter()
    async with client.acompletion(model=sc.MODEL, messages=plan.messages, tools=[schema],
                                  stream=True) as stream:
        first = await _consume(stream)
    elapsed = time.perf_counter() - started
    message = first.choices[0].message
    messages = [*plan.messages, message.to_dict()]
    for call in message.tool_calls or ():
        city = call.function.parse_arguments()["city"]
        messages.append({"role": "tool", "tool_call_id": call.id,
                         "content": json.dumps(sc.s5_tool_result(city))})
    started = time.perf_counter()
    async with client.acompletion(model=sc.MODEL, messages=messages, tools=[schema],
                                  stream=True) as stream:
        await _consume(stream)
    return elapsed + time.perf_counter() - started


class _Tools:
    """The tool the agent may call, recording when each call ran."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, float, float]] = []

        @tool(name=sc.S5_TOOL)
        async def lookup_city(city: str) -> dict[str, Any]:
            """Look up the weather in a city.

            Args:
                city: The city's name.
            """
            started = time.perf_counter()
            await asyncio.sleep(self.seconds)
            self.calls.append((city, started, time.perf_counter()))
            return sc.s5_tool_result(city)

        self.tool = lookup_city

    def overlap(self) -> bool:
        """Did all the calls run at the same time?"""
        return bool(self.calls) and max(c[1] for c in self.calls) < min(c[2] for c in self.calls)


def _new_agent(agent_class: Any, client: aclarifai.AsyncClarifai, plan: sc.Plan,
               seconds: float) -> tuple[Any, _Tools]:
    tools = _Tools(seconds)
    agent = agent_class(model=sc.MODEL, tools=[tools.tool], client=client,
                        instructions=plan.messages[0]["content"])
    return agent, tools


async def measure(port: int, plan: sc.Plan, warm_plan: sc.Plan) -> dict[str, Any]:
    agent_class = _load_agent()
    if agent_class is None:
        return {"skipped": "aclarifai.Agent is not available yet (aclarifai/agent.py)"}
    seconds = float(plan.extra["tool_seconds"])
    async with aclarifai.AsyncClarifai(api_key=sc.API_KEY,
                                       base_url=f"http://127.0.0.1:{port}") as client:
        schema = _Tools(seconds).tool.schema
        await _by_hand(client, warm_plan, schema)
        stream_s = await _by_hand(client, plan, schema)
        try:  # warm-up: the first validation of tool arguments imports jsonschema
            await _new_agent(agent_class, client, plan, seconds)[0].run(plan.messages[-1]["content"])
        except ModuleNotFoundError as exc:  # a part of the agent that is not written yet
            if not (exc.name or "").startswith("aclarifai"):
                raise
            return {"skipped": f"aclarifai.Agent is not complete yet ({exc})"}
        agent, tools = _new_agent(agent_class, client, plan, seconds)
        cpu = time.process_time()
        started = time.perf_counter()
        result = await agent.run(plan.messages[-1]["content"])
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    called = sorted(c[0] for c in tools.calls)
    return {
        "cpu_s": cpu, "wall_s": wall, "stream_s": stream_s, "tool_s": seconds,
        "results": [{"content": result.output, "tool_calls": [], "finish_reason": "stop",
                     "called": called, "parallel": tools.overlap()}],
    }
