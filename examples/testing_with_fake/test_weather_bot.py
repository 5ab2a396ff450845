"""Testing your own app offline: FakeClarifai as a pytest fixture (no conftest.py needed).

Run with ``pytest examples/testing_with_fake`` (needs pytest and pytest-asyncio). The fake is a
real HTTP server on 127.0.0.1, so the client's whole stack runs: streaming, retries, timeouts.
With nothing scripted its demo model answers (it calls the tools a question names); ``add_text``,
``add_tool_calls``, ``add_error``... script exact replies; ``fake.requests`` shows what was sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from weather_bot import SORRY, WeatherBot

from aclarifai import AsyncClarifai
from aclarifai.testing import FakeClarifai

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai() as server:
        yield server


@pytest_asyncio.fixture
async def client(fake: FakeClarifai) -> AsyncIterator[AsyncClarifai]:
    # max_retries=0: a scripted error reaches the app at once.
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as client:
        yield client


async def test_answers_with_the_tool(fake: FakeClarifai, client: AsyncClarifai) -> None:
    answer = await WeatherBot(client).answer("What's the weather in Paris?")

    assert '"temperature_c":21' in answer  # the demo model quotes the tool's result
    first, second = (request.json for request in fake.requests)
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert second["messages"][-1]["role"] == "tool"


async def test_scripted_tool_call_and_answer(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_tool_calls([{"name": "get_weather", "arguments": {"location": "Oslo"}}])
    fake.add_text("It is sunny in Oslo.")

    assert await WeatherBot(client).answer("Is it cold up north?") == "It is sunny in Oslo."
    tool_message = fake.last_request.json["messages"][-1]
    assert "Oslo" in tool_message["content"]


async def test_apologises_when_the_api_fails(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_error(503)

    assert await WeatherBot(client).answer("What's the weather in Paris?") == SORRY


async def test_stops_reading_when_the_caller_stops(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("one two three four five six", chunk_delay=0.01)
    bot = WeatherBot(client)

    async with contextlib.aclosing(bot.stream_answer("Count")) as pieces:
        async for piece in pieces:
            assert piece == "one"
            break

    # The fake sees the client leave: the stream was closed, not read to the end.
    await fake.wait_until(lambda: fake.streams_aborted == 1)
    assert fake.streams_completed == 0
