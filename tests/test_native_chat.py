"""Chat on a pinned deployment: the native lane against FakeClarifai over loopback HTTP."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import aclarifai
from aclarifai import AsyncClarifai, _retry
from aclarifai.agent import Agent
from aclarifai.errors import (
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    StreamError,
)
from aclarifai.events import ContentDelta, Finished
from aclarifai.testing import FakeClarifai
from aclarifai.tools import tool

MODEL = "https://clarifai.com/acme/llms/models/my-llm"
MESSAGES = [{"role": "user", "content": "Hello"}]


def sent_chat(fake: FakeClarifai) -> dict[str, Any]:
    """The OpenAI request the last native call carried in its ``msg`` part."""
    msg = fake.native.calls[-1].arguments["msg"]
    chat: dict[str, Any] = orjson.loads(msg["string_value"])
    return chat


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def record(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(_retry, "sleep", record)
    return waited


async def test_non_stream_on_a_deployment(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("Hi from my deployment", usage={"prompt_tokens": 3, "completion_tokens": 4,
                                                  "total_tokens": 7})
    completion = await client.acompletion(MODEL, MESSAGES, deployment="dep-1", temperature=0.2)
    assert completion.choices[0].message.content == "Hi from my deployment"
    assert completion.usage is not None and completion.usage.total_tokens == 7
    call = fake.native.calls[-1]
    assert call.path == "/v2/users/acme/apps/llms/models/my-llm/outputs"
    assert call.method == "openai_transport" and not call.stream
    # the owner defaults to the model's user
    assert call.runner_selector == {"deployment": {"id": "dep-1", "user_id": "acme"}}
    assert call.authorization_scheme == "Key"
    assert fake.last_request.headers["Authorization"] == "Key ***"
    chat = sent_chat(fake)
    assert chat["messages"] == MESSAGES and chat["stream"] is False
    assert chat["temperature"] == 0.2 and chat["model"] == MODEL
    assert "deployment" not in chat and "runner_selector" not in chat
    assert list(call.arguments) == ["msg"]


async def test_stream_on_a_nodepool_feeds_chunks_and_events(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("one two three", reasoning="think first")
    chunks = [c async for c in client.acompletion(
        MODEL, MESSAGES, nodepool=("cluster-a", "pool-b"), deployment_owner="my-org")]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert chunks[-1].usage is not None  # the usage chunk Clarifai forces on
    call = fake.native.calls[-1]
    assert call.path == "/v2/users/acme/apps/llms/models/my-llm/outputs/generate"
    assert call.method == "openai_stream_transport" and call.stream
    assert call.runner_selector == {
        "nodepool": {"id": "pool-b", "compute_cluster": {"id": "cluster-a", "user_id": "my-org"}}
    }
    chat = sent_chat(fake)
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}

    fake.add_text("alpha beta")
    async with client.acompletion(MODEL, MESSAGES, stream=True, deployment="d") as stream:
        events = [e async for e in stream.events()]
        completion = await stream.get_final_completion()
    deltas = [e.text for e in events if isinstance(e, ContentDelta)]
    assert "".join(deltas) == "alpha beta"
    assert any(isinstance(e, Finished) for e in events)
    assert completion.choices[0].message.content == "alpha beta"
    assert completion.choices[0].finish_reason == "stop"


async def test_tool_calls_on_a_deployment(fake: FakeClarifai, client: AsyncClarifai) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    fake.add_tool_calls(calls)
    completion = await client.acompletion(MODEL, MESSAGES, tools=tools, deployment="d")
    call = completion.choices[0].message.tool_calls[0]
    assert (call.function.name, orjson.loads(call.function.arguments)) == (
        "get_weather", {"city": "Paris"})
    assert sent_chat(fake)["tools"] == tools

    fake.add_tool_calls(calls, fragments=4)
    stream = await client.acompletion(MODEL, MESSAGES, tools=tools, deployment="d", stream=True)
    async with stream:
        final = await stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert orjson.loads(streamed.function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


async def test_agent_runs_its_tool_loop_on_a_deployment(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    fake.add_tool_calls([{"name": "add", "arguments": {"a": 2, "b": 3}}])
    fake.add_text("The sum is 5.")
    agent = Agent(MODEL, tools=[add], client=client, deployment="dep-9", deployment_owner="ops")
    result = await agent.run("What is 2 + 3?")
    assert result.output == "The sum is 5."
    assert [c.method for c in fake.native.calls] == ["openai_stream_transport"] * 2
    assert {str(c.runner_selector) for c in fake.native.calls} == {
        str({"deployment": {"id": "dep-9", "user_id": "ops"}})}
    second = sent_chat(fake)["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == "5"
    assert fake.requests and all(r.path.startswith("/v2/users/") for r in fake.requests)


async def test_module_function_and_openai_alias(fake: FakeClarifai) -> None:
    fake.add_text("from the module function")
    completion = await aclarifai.acompletion(
        MODEL, MESSAGES, api_key=fake.api_key, base_url=fake.base_url, deployment="d1"
    )
    assert completion.choices[0].message.content == "from the module function"
    assert fake.native.calls[-1].runner_selector == {"deployment": {"id": "d1", "user_id": "acme"}}
    await aclarifai.aclose_default_clients()
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
        fake.add_text("from create")
        completion = await client.chat.completions.create(MODEL, MESSAGES, deployment="d2")
    assert completion.choices[0].message.content == "from create"
    assert fake.native.calls[-1].runner_selector == {"deployment": {"id": "d2", "user_id": "acme"}}


async def test_without_a_deployment_nothing_changes(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.models.append(MODEL)  # the OpenAI lane's fake serves only the models it lists
    fake.add_text("plain")
    await client.acompletion(MODEL, MESSAGES)
    assert fake.native.calls == []
    assert fake.last_request.path == "/v2/ext/openai/v1/chat/completions"
    assert fake.last_request.headers["Authorization"] == "Bearer ***"


async def test_a_pinned_version_goes_in_the_path(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("versioned")
    await client.acompletion(MODEL + "/versions/v42", MESSAGES, deployment="d")
    assert fake.native.calls[-1].path == "/v2/users/acme/apps/llms/models/my-llm/versions/v42/outputs"


async def test_embedded_model_errors_are_typed(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.native.add_model_error(details="CUDA out of memory")
    with pytest.raises(InternalServerError, match="CUDA out of memory") as info:
        await client.acompletion(MODEL, MESSAGES, deployment="d")
    assert info.value.code == 21313
    fake.native.add_model_error(details="CUDA out of memory")
    with pytest.raises(StreamError, match="CUDA out of memory") as stream_info:
        async for _ in client.acompletion(MODEL, MESSAGES, deployment="d"):
            pass
    assert stream_info.value.code == 21313


async def test_status_codes_are_typed_and_21353_is_not_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=3) as client:
        fake.native.add_status(21353, times=5)
        with pytest.raises(NotFoundError, match="not deployed") as info:
            await client.acompletion(MODEL, MESSAGES, deployment="d")
        assert info.value.code == 21353 and len(fake.native.calls) == 1
        with pytest.raises(NotFoundError) as stream_info:
            async for _ in client.acompletion(MODEL, MESSAGES, deployment="d"):
                pass
        assert stream_info.value.code == 21353 and len(fake.native.calls) == 2
        assert sleeps == []


async def test_deploying_then_ready_is_retried(fake: FakeClarifai, sleeps: list[float]) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=3) as client:
        fake.native.add_status(21351)
        fake.add_text("ready now")
        completion = await client.acompletion(MODEL, MESSAGES, deployment="d")
        assert completion.choices[0].message.content == "ready now"
        fake.native.add_status(21355)
        fake.add_text("loaded")
        text = [c.choices[0].delta.content async for c in client.acompletion(
            MODEL, MESSAGES, deployment="d") if c.choices]
        assert "".join(t or "" for t in text) == "loaded"
    assert len(fake.native.calls) == 4 and len(sleeps) == 2


async def test_a_status_after_output_ends_the_stream(fake: FakeClarifai, client: AsyncClarifai) -> None:
    failed = {"result": {"status": {"code": 21354, "description": "Model is busy"}}}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]}
    ok = {"result": {"status": {"code": 10000}, "outputs": [{"status": {"code": 10000}, "data": {
        "parts": [{"id": "return", "data": {"string_value": orjson.dumps(chunk).decode()}}]}}]}}
    fake.add_response(200, orjson.dumps(ok) + b"\n" + orjson.dumps(failed) + b"\n")
    received = []
    # after a chunk: a StreamError (StreamStatusError), with the partial answer
    with pytest.raises(StreamError) as info:
        async for c in client.acompletion(MODEL, MESSAGES, deployment="d"):
            received.append(c.choices[0].delta.content)
    assert received == ["par"]
    assert info.value.code == 21354
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "par"


async def test_bad_targets_are_refused_before_any_request(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    bad: list[dict[str, Any]] = [
        {"deployment": "d", "nodepool": ("c", "n")},
        {"deployment_owner": "me"},
        {"nodepool": "cluster/pool"},
        {"nodepool": ("only-one",)},
        {"deployment": ""},
        {"deployment": "has space"},
        {"deployment": "d", "fallbacks": ["https://clarifai.com/a/b/models/c"]},
    ]
    for options in bad:
        with pytest.raises(ConfigurationError):
            client.acompletion(MODEL, MESSAGES, **options)
    with pytest.raises(ConfigurationError):
        Agent(MODEL, client=client, deployment="d", nodepool=("c", "n"))
    assert fake.request_count == 0
