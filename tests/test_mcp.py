"""aclarifai.mcp against real MCP servers (the ``mcp`` SDK's server API) that the tests start.

Over stdio (a subprocess started by ``MCPServer.stdio``) and over Streamable HTTP on 127.0.0.1
(``tests/mcp_servers/tool_server.py`` in a child process). Waits are bounded by ``BOUND``; no
assertion is about speed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from aclarifai import Tool, ToolArgumentsError, ToolServerError
from aclarifai.errors import APIConnectionError, ConfigurationError

mcp_sdk = pytest.importorskip("mcp", reason="pip install 'aclarifai[mcp]'")

from aclarifai.mcp import MCPServer, MCPServerError, MCPToolError, MCPToolOutput  # noqa: E402
from tests.mcp_servers.processes import TOOL_SERVER, HTTPServerProcess  # noqa: E402

BOUND = 90.0  # seconds: starting a Python MCP server on a loaded 2-core machine takes a few


def stdio_server(**kwargs: Any) -> MCPServer:
    return MCPServer.stdio(sys.executable, args=[TOOL_SERVER, "stdio"], name="tools", **kwargs)


@pytest.fixture
async def stdio() -> AsyncIterator[MCPServer]:
    server = stdio_server()
    await asyncio.wait_for(server.connect(), BOUND)
    try:
        yield server
    finally:
        await server.aclose()


@pytest.fixture
def http_process() -> Iterator[HTTPServerProcess]:
    process = HTTPServerProcess()
    process.start()
    try:
        yield process
    finally:
        process.kill()


async def test_stdio_lists_tools_as_aclarifai_tools(stdio: MCPServer) -> None:
    tools = await stdio.tools()
    by_name = {t.name: t for t in tools}
    assert {"add", "weather", "fail", "slow", "crash", "grow", "calls"} <= set(by_name)
    add = by_name["add"]
    assert isinstance(add, Tool)
    assert add.description == "Add two integers."
    assert add.parameters["properties"]["a"]["type"] == "integer"
    assert add.parameters["required"] == ["a", "b"]
    assert add.schema["function"]["name"] == "add"


async def test_stdio_call_joins_text_and_keeps_structured_content(stdio: MCPServer) -> None:
    add = {t.name: t for t in await stdio.tools()}["add"]
    out = await asyncio.wait_for(add.invoke({"a": 2, "b": 40}), BOUND)
    assert isinstance(out, MCPToolOutput)
    assert out == "42"
    assert out.structured_content == {"result": 42}
    assert out.content == ({"type": "text", "text": "42"},)


async def test_arguments_are_validated_before_the_call(stdio: MCPServer) -> None:
    add = {t.name: t for t in await stdio.tools()}["add"]
    with pytest.raises(ToolArgumentsError) as info:
        await add.invoke({"a": "two", "b": 1})
    assert ("$.a", "'two' is not of type 'integer'") in info.value.errors
    counted = await stdio.call_tool("calls", {})
    assert counted.structured_content is not None
    assert counted.structured_content.get("add", 0) == 0  # the server never saw the bad call


async def test_is_error_result_raises_tool_error_with_its_text(stdio: MCPServer) -> None:
    fail = {t.name: t for t in await stdio.tools()}["fail"]
    with pytest.raises(MCPToolError) as info:
        await fail.invoke({"reason": "no such city"})
    assert "'fail' reported an error" in str(info.value)
    assert not isinstance(info.value, ToolServerError)  # the model's to handle, not fatal


async def test_prefix_include_exclude(stdio: MCPServer) -> None:
    names = [t.name for t in await stdio.tools(prefix="calc_", include=["add", "weather"])]
    assert names == ["calc_add", "calc_weather"]
    rest = {t.name for t in await stdio.tools(exclude=["crash", "slow"])}
    assert "crash" not in rest and "slow" not in rest and "add" in rest
    with pytest.raises(ConfigurationError, match="no tool named 'nope'"):
        await stdio.tools(include=["nope"])
    prefixed = {t.name: t for t in await stdio.tools(prefix="calc_")}["calc_add"]
    assert await prefixed.invoke({"a": 1, "b": 1}) == "2"  # the server's own name is called


async def test_list_changed_notification_refreshes_the_cache(stdio: MCPServer) -> None:
    before = {t.name for t in await stdio.tools()}
    assert "double" not in before
    assert await stdio.call_tool("grow", {}) == "grown"

    async def listed() -> set[str]:
        while True:
            names = {t.name for t in await stdio.tools()}
            if "double" in names:
                return names
            await asyncio.sleep(0.05)

    names = await asyncio.wait_for(listed(), BOUND)
    assert before < names


async def test_server_that_crashes_mid_call_raises_typed_error(stdio: MCPServer) -> None:
    crash = {t.name: t for t in await stdio.tools()}["crash"]
    with pytest.raises(MCPServerError) as info:
        await asyncio.wait_for(crash.invoke({}), BOUND)
    assert isinstance(info.value, ToolServerError) and isinstance(info.value, APIConnectionError)
    assert "failed during tools/call 'crash'" in str(info.value)
    with pytest.raises(MCPServerError, match="is gone"):  # later calls fail fast, typed
        await asyncio.wait_for(stdio.call_tool("add", {"a": 1, "b": 2}), BOUND)


async def test_cancelling_a_call_cancels_it_and_the_server_keeps_serving(stdio: MCPServer) -> None:
    slow = {t.name: t for t in await stdio.tools()}["slow"]
    task = asyncio.create_task(slow.invoke({"seconds": 600}))

    async def started() -> None:
        while True:
            counted = await stdio.call_tool("calls", {})
            if (counted.structured_content or {}).get("slow"):
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(started(), BOUND)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, BOUND)
    assert await asyncio.wait_for(stdio.call_tool("add", {"a": 1, "b": 2}), BOUND) == "3"


async def test_call_timeout_bounds_each_call() -> None:
    async with stdio_server(call_timeout=0.5) as server:
        slow = {t.name: t for t in await server.tools()}["slow"]
        assert slow.timeout == 0.5
        with pytest.raises(TimeoutError, match="did not finish within 0.5 seconds"):
            await asyncio.wait_for(slow.invoke({"seconds": 600}), BOUND)


async def test_server_that_never_answers_initialize_times_out() -> None:
    silent = MCPServer.stdio(
        sys.executable, args=["-c", "import time; time.sleep(600)"], connect_timeout=1.0
    )
    with pytest.raises(MCPServerError, match="did not finish starting and answering initialize"):
        await asyncio.wait_for(silent.connect(), BOUND)
    assert not silent.connected


async def test_server_that_cannot_start_raises_typed_error() -> None:
    missing = MCPServer.stdio("/nonexistent/mcp-server-binary", connect_timeout=10.0)
    with pytest.raises(MCPServerError, match="could not connect"):
        await asyncio.wait_for(missing.connect(), BOUND)
    exits = MCPServer.stdio(sys.executable, args=["-c", "raise SystemExit(2)"], connect_timeout=30)
    with pytest.raises(MCPServerError):
        await asyncio.wait_for(exits.connect(), BOUND)


async def test_http_lists_and_calls(http_process: HTTPServerProcess) -> None:
    async with MCPServer.http(http_process.url) as server:
        assert server.url == http_process.url
        tools = {t.name: t for t in await asyncio.wait_for(server.tools(), BOUND)}
        assert await tools["add"].invoke({"a": 20, "b": 22}) == "42"
        out = await tools["weather"].invoke({"city": "Oslo"})
        assert '"city": "Oslo"' in out
        with pytest.raises(MCPToolError):
            await tools["fail"].invoke({"reason": "x"})


async def test_http_session_dropped_reconnects_once(http_process: HTTPServerProcess) -> None:
    async with MCPServer.http(http_process.url) as server:
        add = {t.name: t for t in await asyncio.wait_for(server.tools(), BOUND)}["add"]
        assert await add.invoke({"a": 1, "b": 1}) == "2"
        http_process.kill()  # the server restarts on the same port: the old session is gone
        restarted = HTTPServerProcess()
        restarted.port, restarted.url = http_process.port, http_process.url
        restarted.start()
        try:
            assert await asyncio.wait_for(add.invoke({"a": 2, "b": 2}), BOUND) == "4"
        finally:
            restarted.kill()


async def test_http_server_down_raises_typed_error(http_process: HTTPServerProcess) -> None:
    url = http_process.url
    http_process.kill()
    with pytest.raises(MCPServerError, match="could not connect"):
        await asyncio.wait_for(MCPServer.http(url, connect_timeout=5).connect(), BOUND)


async def test_http_server_that_never_answers_times_out() -> None:
    from aiohttp import web

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(600)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/mcp", hang)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        server = MCPServer.http(f"http://127.0.0.1:{port}/mcp", connect_timeout=1.0)
        with pytest.raises(MCPServerError, match="initialize within 1 s"):
            await asyncio.wait_for(server.connect(), BOUND)
    finally:
        await runner.cleanup()


CLARIFAI_PATH = "/v2/ext/mcp/v1/users/acme/apps/tools/models/search-mcp"
PAT = "pat-mcp-secret-5f1e9c"


async def test_clarifai_builds_the_documented_url_and_bearer_header() -> None:
    process = HTTPServerProcess(path=CLARIFAI_PATH, bearer=PAT)
    process.start()
    try:
        server = MCPServer.clarifai(
            "https://clarifai.com/acme/tools/models/search-mcp",
            api_key=PAT,
            base_url=process.base,
        )
        assert server.url == process.base + CLARIFAI_PATH
        assert PAT not in repr(server)
        async with server:
            names = {t.name for t in await asyncio.wait_for(server.tools(), BOUND)}
            assert "add" in names
        wrong = MCPServer.clarifai("acme/tools/models/search-mcp", api_key="wrong-" + PAT,
                                   base_url=process.base + "/v2/ext/openai/v1")
        assert wrong.url == process.base + CLARIFAI_PATH  # an OpenAI base is cut to its root
        with pytest.raises(MCPServerError) as info:
            await asyncio.wait_for(wrong.connect(), BOUND)
        shown = "".join(traceback.TracebackException.from_exception(info.value, capture_locals=True).format())
        assert PAT not in shown and PAT not in str(info.value)
    finally:
        process.kill()


def test_clarifai_url_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = "clarifai/acme.tools.search-mcp"
    default = MCPServer.clarifai(ref, api_key=PAT)
    assert default.url == "https://api.clarifai.com" + CLARIFAI_PATH
    monkeypatch.setenv("CLARIFAI_API_BASE", "https://api.example-clarifai.test")
    assert MCPServer.clarifai(ref, api_key=PAT).url == "https://api.example-clarifai.test" + CLARIFAI_PATH
    monkeypatch.setenv("CLARIFAI_PAT", PAT)
    assert MCPServer.clarifai(ref).url is not None  # PAT from the environment
    with pytest.raises(ConfigurationError, match="plain http"):
        MCPServer.clarifai(ref, base_url="http://api.example.com")
    with pytest.raises(ConfigurationError):
        MCPServer.clarifai("gpt-4o", api_key=PAT)
    monkeypatch.delenv("CLARIFAI_PAT")
    with pytest.raises(ConfigurationError, match="CLARIFAI_PAT"):
        MCPServer.clarifai(ref)


def test_headers_are_never_shown() -> None:
    server = MCPServer.http("https://mcp.example.com/mcp", headers={"Authorization": "Bearer " + PAT})
    assert PAT not in repr(server) and PAT not in repr(vars(server))
    with pytest.raises(ConfigurationError, match="credentials"):
        MCPServer.http("https://user:secret@mcp.example.com/mcp")


def test_import_aclarifai_does_not_import_mcp_and_the_extra_is_named() -> None:
    code = "import sys, aclarifai; print('mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    blocked = (
        "import sys; sys.modules['mcp'] = None\n"
        "try:\n import aclarifai.mcp\nexcept ImportError as e: print(e)"
    )
    out = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, check=True)
    assert "pip install 'aclarifai[mcp]'" in out.stdout


async def test_agent_runs_a_python_tool_and_an_mcp_tool_in_one_parallel_turn(
    stdio: MCPServer, fake: Any
) -> None:
    from aclarifai import Agent, AsyncClarifai, tool

    MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
    started: list[str] = []

    @tool
    async def local_weather(city: str) -> str:
        """The weather in a city, from Python."""
        started.append("python")
        return f"sunny in {city}"

    fake.add_tool_calls(
        [
            {"name": "local_weather", "arguments": {"city": "Oslo"}, "id": "call_py"},
            {"name": "add", "arguments": {"a": 2, "b": 40}, "id": "call_mcp"},
        ]
    )
    fake.add_text("It is sunny in Oslo and 2 + 40 = 42.")
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as client:
        agent = Agent(MODEL, tools=[local_weather, *await stdio.tools(include=["add"])], client=client)
        result = await asyncio.wait_for(agent.run("Weather in Oslo, and 2 + 40?"), BOUND)
    assert result.output == "It is sunny in Oslo and 2 + 40 = 42."
    answers = {m["tool_call_id"]: m["content"] for m in result.messages if m.get("role") == "tool"}
    assert answers == {"call_py": "sunny in Oslo", "call_mcp": "42"}
    second = fake.requests[-1].json
    tools_sent = {t["function"]["name"] for t in second["tools"]}
    assert tools_sent == {"local_weather", "add"}


# -- Agent(mcp_servers=[...]) ---------------------------------------------------------------------

AGENT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"


def _tool_answers(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in messages if m.get("role") == "tool"}


def _tools_sent(request: Any) -> set[str]:
    return {t["function"]["name"] for t in request.json.get("tools", [])}


async def test_agent_mcp_servers_opens_lists_runs_in_parallel_and_closes(fake: Any) -> None:
    from aclarifai import Agent, AsyncClarifai, tool

    @tool
    async def local_weather(city: str) -> str:
        """The weather in a city, from Python."""
        return f"sunny in {city}"

    fake.add_tool_calls(
        [
            {"name": "local_weather", "arguments": {"city": "Oslo"}, "id": "call_py"},
            {"name": "add", "arguments": {"a": 2, "b": 40}, "id": "call_mcp"},
        ]
    )
    fake.add_text("It is sunny in Oslo and 2 + 40 = 42.")
    server = stdio_server()
    assert not server.connected
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as client:
        agent = Agent(AGENT_MODEL, tools=[local_weather], mcp_servers=[server], client=client)
        assert agent.mcp_servers == (server,)
        result = await asyncio.wait_for(agent.run("Weather in Oslo, and 2 + 40?"), BOUND)
    assert result.output == "It is sunny in Oslo and 2 + 40 = 42."
    assert _tool_answers(result.messages) == {"call_py": "sunny in Oslo", "call_mcp": "42"}
    first, second = fake.requests[-2], fake.requests[-1]
    assert {"local_weather", "add", "weather", "grow"} <= _tools_sent(first)
    assert _tools_sent(first) == _tools_sent(second)
    assert not server.connected  # the agent opened it, so the agent closed it


async def test_agent_leaves_a_server_it_did_not_open_connected(
    stdio: MCPServer, client: Any, fake: Any
) -> None:
    from aclarifai import Agent

    fake.add_tool_calls([{"name": "add", "arguments": {"a": 1, "b": 2}, "id": "call_1"}])
    fake.add_text("3")
    agent = Agent(AGENT_MODEL, mcp_servers=[stdio], client=client)
    result = await asyncio.wait_for(agent.run("1 + 2?"), BOUND)
    assert _tool_answers(result.messages) == {"call_1": "3"}
    assert stdio.connected
    assert await asyncio.wait_for(stdio.call_tool("add", {"a": 2, "b": 2}), BOUND) == "4"


async def test_agent_mcp_servers_over_http(http_process: HTTPServerProcess, client: Any, fake: Any) -> None:
    from aclarifai import Agent

    fake.add_tool_calls([{"name": "weather", "arguments": {"city": "Oslo"}, "id": "call_1"}])
    fake.add_text("Mild.")
    server = MCPServer.http(http_process.url)
    agent = Agent(AGENT_MODEL, mcp_servers=[server], client=client)
    result = await asyncio.wait_for(agent.run("Weather in Oslo?"), BOUND)
    assert result.output == "Mild."
    assert '"city": "Oslo"' in _tool_answers(result.messages)["call_1"]
    assert not server.connected


async def test_agent_sees_tools_a_server_adds_mid_run(stdio: MCPServer, client: Any, fake: Any) -> None:
    from aclarifai import Agent, ToolResult

    fake.add_tool_calls([{"name": "grow", "arguments": {}, "id": "call_grow"}])
    fake.add_tool_calls([{"name": "double", "arguments": {"x": 21}, "id": "call_double"}])
    fake.add_text("42")
    agent = Agent(AGENT_MODEL, mcp_servers=[stdio], client=client)

    async def listing_has_double() -> None:
        while True:
            if "double" in {t.name for t in await stdio.list_tools()}:
                return
            await asyncio.sleep(0.05)

    async with agent.stream("Grow, then double 21.") as events:
        async for event in events:
            if isinstance(event, ToolResult) and event.call.id == "call_grow":
                # The server announced the change; wait (bounded) until the client has heard it.
                await asyncio.wait_for(listing_has_double(), BOUND)
    result = events.result
    assert _tool_answers(result.messages) == {"call_grow": "grown", "call_double": "42"}
    first, second = fake.requests[-3], fake.requests[-2]
    assert "double" not in _tools_sent(first)
    assert "double" in _tools_sent(second)


async def test_agent_run_ends_with_typed_error_when_the_server_dies(client: Any, fake: Any) -> None:
    from aclarifai import Agent

    fake.add_tool_calls([{"name": "crash", "arguments": {}, "id": "call_crash"}])
    fake.add_text("never sent")
    server = stdio_server()
    agent = Agent(AGENT_MODEL, mcp_servers=[server], client=client)  # raise_tool_errors=False
    with pytest.raises(MCPServerError, match="failed during tools/call 'crash'") as info:
        await asyncio.wait_for(agent.run("Crash."), BOUND)
    assert isinstance(info.value, ToolServerError)
    assert len(fake.requests) == 1  # the run ended: the model was not asked again
    partial = agent.last_result
    assert partial is not None
    assert list(_tool_answers(partial.messages)) == ["call_crash"]  # the call is still answered
    assert not server.connected


async def test_agent_run_ends_with_typed_error_when_a_server_cannot_start(client: Any, fake: Any) -> None:
    from aclarifai import Agent

    broken = MCPServer.stdio(sys.executable, args=["-c", "import sys; sys.exit(3)"], name="broken")
    agent = Agent(AGENT_MODEL, mcp_servers=[broken], client=client)
    with pytest.raises(MCPServerError, match="broken"):
        await asyncio.wait_for(agent.run("Hello"), BOUND)
    assert fake.requests == []
    silent = MCPServer.stdio(
        sys.executable, args=["-c", "import time; time.sleep(600)"], name="silent", connect_timeout=1.0
    )
    agent = Agent(AGENT_MODEL, mcp_servers=[silent], client=client)
    with pytest.raises(MCPServerError, match="within 1 s"):
        await asyncio.wait_for(agent.run("Hello"), BOUND)
    assert fake.requests == []


async def test_closing_an_agent_run_cancels_the_mcp_call(stdio: MCPServer, client: Any, fake: Any) -> None:
    from aclarifai import Agent, ToolCallReady

    fake.add_tool_calls([{"name": "slow", "arguments": {"seconds": 600}, "id": "call_slow"}])
    agent = Agent(AGENT_MODEL, mcp_servers=[stdio], client=client)

    async def server_counted(key: str) -> dict[str, Any]:
        while True:
            counted = (await stdio.call_tool("calls", {})).structured_content or {}
            if counted.get(key):
                return counted
            await asyncio.sleep(0.05)

    async with agent.stream("Wait.") as events:
        async for event in events:
            if isinstance(event, ToolCallReady):
                await asyncio.wait_for(server_counted("slow"), BOUND)  # the server is running it
                break  # leaving `async with` cancels the run, and with it the MCP request
    answers = _tool_answers(events.result.messages)
    assert list(answers) == ["call_slow"] and "cancel" in answers["call_slow"].lower()
    counted = await asyncio.wait_for(server_counted("slow_cancelled"), BOUND)  # it heard the cancel
    assert counted["slow"] == counted["slow_cancelled"] == 1
    assert await asyncio.wait_for(stdio.call_tool("add", {"a": 5, "b": 5}), BOUND) == "10"


async def test_agent_refuses_bad_mcp_servers_and_name_clashes(
    stdio: MCPServer, client: Any, fake: Any
) -> None:
    from aclarifai import Agent, tool

    with pytest.raises(TypeError, match="list of servers"):
        Agent(AGENT_MODEL, mcp_servers=stdio)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MCPServer"):
        Agent(AGENT_MODEL, mcp_servers=["python server.py"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="given twice"):
        Agent(AGENT_MODEL, mcp_servers=[stdio, stdio])

    @tool
    def add(a: int, b: int) -> int:
        """A Python tool with the server's name."""
        return a + b

    agent = Agent(AGENT_MODEL, tools=[add], mcp_servers=[stdio], client=client)
    with pytest.raises(ConfigurationError, match="prefix"):
        await asyncio.wait_for(agent.run("1 + 1?"), BOUND)
    assert fake.requests == []
    assert stdio.connected
