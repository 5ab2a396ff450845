"""Typed views: OpenAI-shaped attribute access, from_dict/to_dict round trips, vendor fields."""

from __future__ import annotations

from typing import Any

import pytest

from aclarifai import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    Function,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

from .corpus import cases
from .streams import chunk_dicts

CHUNK: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "x_groq": {"id": "req_1"},
    "choices": [
        {
            "index": 0,
            "delta": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                        "extra_content": {"google": {"thought_signature": "abc"}},
                    }
                ],
            },
            "finish_reason": None,
            "logprobs": None,
        }
    ],
    "usage": None,
}


def test_chunk_attribute_access_like_openai() -> None:
    chunk = ChatCompletionChunk.from_dict(CHUNK)
    call = chunk.choices[0].delta.tool_calls[0]  # type: ignore[index]
    assert isinstance(call, ToolCallDelta)
    assert (call.index, call.id, call.type) == (0, "call_1", "function")
    assert (call.function.name, call.function.arguments) == ("f", "{}")
    assert call.extra_content == {"google": {"thought_signature": "abc"}}
    assert chunk.x_groq == {"id": "req_1"}
    assert chunk.usage is None and chunk.choices[0].finish_reason is None
    with pytest.raises(AttributeError, match="no attribute or field 'nope'"):
        _ = chunk.nope


@pytest.mark.parametrize("case", cases(), ids=repr)
def test_every_corpus_chunk_round_trips(case: object) -> None:
    for raw in chunk_dicts(case.body):  # type: ignore[attr-defined]
        chunk = ChatCompletionChunk.from_dict(raw)
        assert chunk.to_dict() == raw
        assert ChatCompletionChunk.from_dict(chunk.to_dict()) == chunk
        for choice, raw_choice in zip(chunk.choices, raw.get("choices") or [], strict=True):
            assert choice.to_dict() == raw_choice
            assert choice.delta.to_dict() == (raw_choice.get("delta") or {})


def test_to_dict_is_a_copy() -> None:
    chunk = ChatCompletionChunk(CHUNK)
    copied = chunk.to_dict()
    copied["choices"][0]["delta"]["role"] = "changed"
    assert CHUNK["choices"][0]["delta"]["role"] == "assistant"


@pytest.mark.parametrize(
    "cls", [ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, Delta, Function, Message,
            ToolCall, ToolCallDelta, Usage]
)
def test_every_type_has_from_dict_and_to_dict(cls: type[Any]) -> None:
    data = {"vendor_field": [1, {"a": None}]}
    view = cls.from_dict(data)
    assert view.to_dict() == data and view.vendor_field == [1, {"a": None}]
    assert cls.from_dict(view.to_dict()) == view
    with pytest.raises(TypeError):
        cls.from_dict([1, 2])


def test_message_fields_and_reasoning_aliases() -> None:
    message = Message({"role": "assistant", "content": "hi", "reasoning": "why", "refusal": None})
    assert (message.content, message.reasoning_content, message.refusal) == ("hi", "why", None)
    assert message.tool_calls is None
    parts = Message({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})
    assert parts.content == "ab" and parts.role == "assistant"


def test_delta_content_parts() -> None:
    delta = Delta({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "t"}]},
                               {"type": "text", "text": "x"}]})
    assert (delta.content, delta.reasoning_content) == ("x", "t")


def test_function_argument_parsing() -> None:
    assert Function({"arguments": '{"a": 1}'}).parse_arguments() == {"a": 1}
    assert Function({"arguments": None}).parse_arguments() == {}
    assert Function({"arguments": "  "}).parse_arguments() == {}
    assert Function({"arguments": "[1]"}).arguments_error is not None
    assert "not valid JSON" in (Function({"arguments": "{"}).arguments_error or "")


def test_usage_sums() -> None:
    a = Usage({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
               "completion_tokens_details": {"reasoning_tokens": 1}})
    b = Usage({"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30,
               "completion_tokens_details": {"reasoning_tokens": 5}, "cost": 0.5})
    total = a + b
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (11, 22, 33)
    assert total.completion_tokens_details == {"reasoning_tokens": 6}
    assert total.cost == 0.5
    assert sum([a, b], Usage({})).total_tokens == 33
    assert Usage({"prompt_tokens": 2, "completion_tokens": 3}).total_tokens == 5


def test_completion_views() -> None:
    completion = ChatCompletion(
        {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                                 "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "x"
    assert completion.usage is not None and completion.usage.total_tokens == 2
    assert "ChatCompletion(" in repr(completion)
