"""README "Tools from Python functions" and docs/tools.md (tool half), as a user's checker sees them.

A ``@tool`` function keeps its signature when called directly, and ``invoke()`` gives what the
function returns (awaited, for an ``async def``).
"""

import asyncio
from typing import Any, Literal, assert_type

import aclarifai
from aclarifai import tool
from aclarifai.errors import ToolArgumentsError
from aclarifai.tools import RunContext, Tool


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Get the current temperature for a place.

    Args:
        location: City and country, e.g. "Tokyo, Japan".
        units: Temperature units.
    """
    return {"location": location, "temperature": 21, "units": units}


@tool(name="search_docs", description="Search the documentation.", timeout=5.0)
async def search(query: str, limit: int = 5) -> list[str]:
    return [f"result {i} for {query}" for i in range(limit)]


@tool
async def remember(fact: str, ctx: RunContext) -> str:
    """Remember a fact for later."""
    return f"{ctx.tool_call_id}: remembered {fact!r}"


def lookup(word: str, language: str = "en") -> str:
    return f"{word} ({language})"


class Dictionary:
    def define(self, word: str) -> str:
        return word.upper()


async def main() -> None:
    # README: the decorated object is still the function, with its own signature.
    assert_type(get_weather("Paris"), dict[str, object])
    assert_type(get_weather("Paris", units="fahrenheit"), dict[str, object])
    assert_type(get_weather.schema, dict[str, Any])
    assert_type(get_weather.name, str)
    assert_type(get_weather.description, str)
    assert_type(get_weather.parameters, dict[str, Any])
    assert_type(get_weather.timeout, float | None)
    assert_type(get_weather.strict, bool)
    assert_type(get_weather.is_async, bool)
    assert isinstance(get_weather, Tool) and aclarifai.tool is tool

    # An async tool: awaiting the direct call gives the function's result.
    assert_type(await search("tools", limit=2), list[str])
    # invoke() validates the model's arguments and returns what the function returns.
    assert_type(await search.invoke({"query": "tools", "limit": 1}), list[str])
    assert_type(await get_weather.invoke({"location": "Oslo"}), dict[str, object])
    context = RunContext(tool_call_id="call_1", messages=[{"role": "user", "content": "I like tea."}])
    assert_type(context.tool_call_id, str | None)
    assert_type(context.tool_name, str)
    assert_type(await remember.invoke({"fact": "likes tea"}, context), str)

    # A raw Tool keeps the wrapped callable's types too.
    raw = Tool(
        name="lookup",
        description="Look a word up in the dictionary.",
        parameters={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
        function=lookup,
    )
    assert_type(raw("chat", "fr"), str)
    assert_type(await raw.invoke({"word": "chat"}), str)

    # A method becomes a tool through its bound method.
    define = tool(Dictionary().define)
    assert_type(define("cat"), str)

    # A list of mixed tools, as an Agent takes them: a bare Tool is Tool[..., Any].
    tools: list[Tool] = [get_weather, search, raw, define]
    assert_type(tools[0].name, str)

    try:
        get_weather.validate({"units": "kelvin"})
    except ToolArgumentsError as exc:
        assert_type(exc.tool_name, str)
        assert_type(exc.errors, list[tuple[str, str]])
        assert [path for path, _ in exc.errors] == ["$", "$.units"]


if __name__ == "__main__":
    asyncio.run(main())
