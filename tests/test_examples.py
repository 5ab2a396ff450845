"""Every example runs offline (each in its own interpreter, as a user would start it) and works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from aclarifai.sse import SSEDecoder

from .example_servers import chat_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 60  # seconds; each example takes about one


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # conftest removed any CLARIFAI_PAT
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("stream_terminal.py", ['[reasoning] The user wrote', 'You said: "Explain Server-Sent Events',
                                "[finish reason: stop]"]),
        ("tool_calling_by_hand.py", ['[tool call] get_weather({"location":"Paris"})',
                                     '[tool call] get_time({"city":"Paris"})',
                                     "[tool result] 14:05 in Paris", "That is what 2 tools told me."]),
        ("structured_output.py", ['{"city":"Lyon"', "city=Lyon party_size=1 day=Monday"]),
        ("agent_multi_tool.py", ['[tool call] get_weather({"location": "Paris"})',
                                 '[tool call] get_time({"city": "Paris"})',
                                 "[tool result] convert_currency:", "tools: convert_currency;"]),
        ("agent_weather.py", ["get_weather", "Paris"]),
    ],
)
def test_script_runs_offline(script: str, expected: list[str]) -> None:
    if not (EXAMPLES / script).exists():
        pytest.fail(f"examples/{script} is missing")
    result = run_example(str(EXAMPLES / script))
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, result.stdout


def test_offline_the_demo_model_plays_any_model_named() -> None:
    """FakeClarifai serves only the models it knows; the offline examples opt out."""
    model = "https://clarifai.com/qwen/qwenLM/models/Qwen3-30B-A3B-Instruct-2507"
    result = run_example(str(EXAMPLES / "stream_terminal.py"), "--model", model)
    assert result.returncode == 0, result.stderr
    assert "[finish reason: stop]" in result.stdout


def test_online_without_a_pat_explains_itself() -> None:
    result = run_example(str(EXAMPLES / "stream_terminal.py"), "--online")
    assert result.returncode == 2
    assert "CLARIFAI_PAT" in result.stderr


def test_the_testing_example_passes_under_pytest() -> None:
    result = run_example("-m", "pytest", "-p", "no:cacheprovider", str(EXAMPLES / "testing_with_fake"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_our_own_test_run_does_not_collect_the_examples() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


# -- the chat servers -----------------------------------------------------------------------------


async def chat(session: aiohttp.ClientSession, url: str, body: Any) -> list[dict[str, Any]]:
    async with session.post(url + "/api/chat", json=body) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        decoder = SSEDecoder()
        raw = await response.read()
    return [orjson.loads(e.data) for e in decoder.feed(raw) + decoder.flush()]


@pytest.mark.parametrize("app", ["aiohttp_chat/app.py", "fastapi_chat/app.py"])
async def test_chat_server_streams_an_agent(app: str) -> None:
    question = [{"role": "user", "content": "What's the weather in Paris?"}]
    async with chat_server(EXAMPLES / app, TIMEOUT) as url, aiohttp.ClientSession() as session:
        async with session.get(url + "/") as page:
            html = await page.text()
        assert 'id="input"' in html and 'id="send"' in html and "sseMessages" in html

        messages = await chat(session, url, {"messages": question})
        kinds = [m["type"] for m in messages]
        assert kinds[0] == "tool_call.started" and kinds[-1] == "done"
        (result,) = [m for m in messages if m["type"] == "tool_call.result"]
        assert result["name"] == "get_weather" and result["output"]["location"] == "Paris"
        text = "".join(m["text"] for m in messages if m["type"] == "text.delta")
        assert text.startswith("Using get_weather:") and '"temperature":21' in text

        answer = {"role": "assistant", "content": text}
        follow_up = [*question, answer, {"role": "user", "content": "Thanks!"}]
        messages = await chat(session, url, {"messages": follow_up})
        assert "Thanks!" in "".join(m.get("text", "") for m in messages)

        async with session.post(url + "/api/chat", json={"messages": []}) as bad:
            assert bad.status in (400, 422)  # aiohttp's check, FastAPI's validation
