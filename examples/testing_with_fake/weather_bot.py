"""The application under test: a small weather bot built on aclarifai.

It stands for your own code. ``test_weather_bot.py`` next to it shows how to test such code
offline with ``aclarifai.testing.FakeClarifai`` and pytest: run ``pytest examples/testing_with_fake``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aclarifai import APIError, AsyncClarifai
from aclarifai.agent import Agent
from aclarifai.tools import tool

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
SORRY = "Sorry, the weather service is unavailable right now."


@tool
def get_weather(location: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
    """
    return {"location": location, "temperature_c": 21, "conditions": "sunny"}


class WeatherBot:
    """Answers weather questions with a model and a tool; apologises when the API fails."""

    def __init__(self, client: AsyncClarifai, model: str = MODEL) -> None:
        self.agent = Agent(model, [get_weather], instructions="Answer briefly.", client=client)
        self.client = client
        self.model = model

    async def answer(self, question: str) -> str:
        try:
            result = await self.agent.run(question)
        except APIError:
            return SORRY
        return str(result.output)

    async def stream_answer(self, question: str) -> AsyncIterator[str]:
        """The answer's text as it arrives (no tools)."""
        messages = [{"role": "user", "content": question}]
        async with self.client.acompletion(model=self.model, messages=messages, stream=True) as stream:
            async for event in stream.events():
                if event.type == "content.delta":
                    yield event.text
