"""ChunkAccumulator and stream_chunk_builder: the corpus, every quirk, events, snapshots."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

import aclarifai
from aclarifai import ChatCompletionChunk, ChunkAccumulator, events, stream_chunk_builder
from aclarifai.testing import FakeClarifai

from .conftest import MODEL
from .corpus import Case, assembled, cases, wanted
from .streams import check_event_sequence, chunk_dicts

CASES = cases()


def run(chunks: list[Any]) -> tuple[list[Any], aclarifai.ChatCompletion]:
    acc = ChunkAccumulator()
    seen: list[Any] = []
    for chunk in chunks:
        seen += acc.add(chunk)
    seen += acc.end()
    return seen, acc.completion()


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def finish(reason: str = "stop", **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}], **extra}


def calls_of(completion: aclarifai.ChatCompletion) -> list[dict[str, Any]]:
    return [c.to_dict() for c in completion.choices[0].message.tool_calls or []]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_corpus_assembles_and_events_are_well_formed(case: Case) -> None:
    chunks = chunk_dicts(case.body)
    seen, completion = run(chunks)
    assert assembled(completion, case.expected) == wanted(case.expected)
    check_event_sequence(seen, completion)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_builder_equals_accumulator_for_dicts_and_objects(case: Case) -> None:
    chunks = chunk_dicts(case.body)
    _, completion = run(chunks)
    assert stream_chunk_builder(chunks) == completion
    assert stream_chunk_builder([ChatCompletionChunk(c) for c in chunks]) == completion


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_completion_is_consistent_at_every_point(case: Case) -> None:
    chunks = chunk_dicts(case.body)
    acc = ChunkAccumulator()
    texts: list[str] = []
    for chunk in chunks:
        for event in acc.add(chunk):
            if isinstance(event, events.ContentDelta) and event.choice == 0:
                texts.append(event.text)
        snapshot = acc.completion()
        choice0 = [c for c in snapshot.choices if c.index == 0]
        if choice0:
            assert choice0[0].message.content == ("".join(texts) or None)
    before = acc.completion().to_dict()
    acc.add(delta(content="more"))
    assert acc.completion().to_dict() != before or not before["choices"]


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c.expected], ids=repr)
async def test_events_over_http_then_stream_error(fake: FakeClarifai, case: Case) -> None:
    fake.add_sse(case.body, split_seed=11)
    seen: list[Any] = []
    with pytest.raises(aclarifai.StreamError) as info:
        async with aclarifai.acompletion(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True,
            api_key=fake.api_key, base_url=fake.base_url,
        ) as stream:
            async for event in stream.events():
                seen.append(event)
    partial = info.value.partial
    reasoning = "".join(e.text for e in seen if isinstance(e, events.ReasoningDelta))
    assert (reasoning or None) == partial.choices[0].message.reasoning_content


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c.expected], ids=repr)
async def test_events_over_http_match_offline_events(fake: FakeClarifai, case: Case) -> None:
    fake.add_sse(case.body, split_seed=5)
    async with aclarifai.acompletion(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True,
        api_key=fake.api_key, base_url=fake.base_url,
    ) as stream:
        seen = [event async for event in stream.events()]
        completion = await stream.get_final_completion()
    offline, expected_completion = run(chunk_dicts(case.body))
    assert completion == expected_completion
    assert [dataclasses.asdict(e) for e in seen] == [dataclasses.asdict(e) for e in offline]


def test_interleaved_parallel_calls_finish_each_when_complete() -> None:
    chunks = [
        delta(role="assistant"),
        delta(tool_calls=[{"index": 0, "id": "a", "type": "function",
                           "function": {"name": "f", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"x": '}}]),
        delta(tool_calls=[{"index": 1, "id": "b", "type": "function",
                           "function": {"name": "g", "arguments": '{"y"'}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": "1}"}}]),
        delta(tool_calls=[{"index": 1, "function": {"arguments": ": 2}"}}]),
        finish("tool_calls"),
    ]
    seen, completion = run(chunks)
    check_event_sequence(seen, completion)
    kinds = [(type(e).__name__, getattr(e, "index", None)) for e in seen
             if type(e).__name__.startswith("ToolCall")]
    # Call 0 is NOT done when call 1 starts (its JSON is incomplete), only after its last piece.
    assert kinds == [
        ("ToolCallStarted", 0), ("ToolCallArgumentsDelta", 0),
        ("ToolCallStarted", 1), ("ToolCallArgumentsDelta", 1),
        ("ToolCallArgumentsDelta", 0), ("ToolCallDone", 0),
        ("ToolCallArgumentsDelta", 1), ("ToolCallDone", 1),
    ]
    assert [c["function"]["arguments"] for c in calls_of(completion)] == ['{"x": 1}', '{"y": 2}']


def test_repeated_ids_and_names_are_not_concatenated() -> None:
    meta = {"index": 0, "id": "call_1", "type": "function"}
    chunks = [
        delta(tool_calls=[{**meta, "function": {"name": "lookup", "arguments": '{"q":'}}]),
        delta(tool_calls=[{**meta, "function": {"name": "lookup", "arguments": ' "a"}'}}]),
        finish("tool_calls"),
    ]
    _, completion = run(chunks)
    assert calls_of(completion) == [{"id": "call_1", "type": "function",
                                     "function": {"name": "lookup", "arguments": '{"q": "a"}'}}]


def test_names_streamed_in_pieces_are_joined() -> None:
    chunks = [
        delta(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "get_"}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "weather"}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}]),
        finish("tool_calls"),
    ]
    seen, completion = run(chunks)
    assert calls_of(completion)[0]["function"]["name"] == "get_weather"
    started = [e for e in seen if isinstance(e, events.ToolCallStarted)]
    assert started[0].name == "get_weather"  # Started waits for the first argument piece


def test_growing_cumulative_names_are_replaced() -> None:
    chunks = [
        delta(tool_calls=[{"index": 0, "function": {"name": "get"}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "get_weather"}}]),
        finish("tool_calls"),
    ]
    assert calls_of(run(chunks)[1])[0]["function"]["name"] == "get_weather"


def test_index_less_calls_and_continuations() -> None:
    chunks = [
        delta(tool_calls=[{"id": "a", "function": {"name": "f", "arguments": '{"k":'}}]),
        delta(tool_calls=[{"function": {"arguments": "1}"}}]),
        delta(tool_calls=[{"id": "b", "function": {"name": "f", "arguments": "{}"}}]),
        delta(tool_calls=[{"function": {"name": "g", "arguments": "{}"}}]),
        finish("tool_calls"),
    ]
    seen, completion = run(chunks)
    check_event_sequence(seen, completion)
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in calls_of(completion)] == [
        ("a", "f", '{"k":1}'), ("b", "f", "{}"), (None, "g", "{}")]


def test_index_gaps_and_reused_index_with_a_new_id() -> None:
    def call(index: int, call_id: str, args: str) -> dict[str, Any]:
        return delta(tool_calls=[{"index": index, "id": call_id,
                                  "function": {"name": "f", "arguments": args}}])

    chunks = [call(3, "x", '{"a": 1}'), call(7, "y", "{}"), call(7, "z", "[]"), finish("tool_calls")]
    _, completion = run(chunks)
    assert [c["id"] for c in calls_of(completion)] == ["x", "y", "z"]


def test_empty_strings_never_overwrite_and_type_defaults() -> None:
    chunks = [
        delta(tool_calls=[{"index": 0, "id": "keep", "function": {"name": "n", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "id": "", "type": "", "function": {"name": "",
                                                                           "arguments": "{}"}}]),
        finish("tool_calls"),
    ]
    assert calls_of(run(chunks)[1]) == [
        {"id": "keep", "type": "function", "function": {"name": "n", "arguments": "{}"}}
    ]


def test_invalid_final_arguments_are_kept_and_flagged() -> None:
    chunks = [
        delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f",
                                                               "arguments": '{"a": tru'}}]),
        finish("tool_calls"),
    ]
    seen, completion = run(chunks)
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.arguments == '{"a": tru'
    assert call.function.arguments_error is not None
    with pytest.raises(ValueError):
        call.function.parse_arguments()
    assert [type(e).__name__ for e in seen].count("ToolCallDone") == 1


def test_empty_or_null_arguments_mean_empty_object() -> None:
    chunks = [delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}}]),
              finish("tool_calls")]
    call = run(chunks)[1].choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.arguments == ""
    assert call.function.parse_arguments() == {} and call.function.arguments_error is None


def test_finish_reason_and_usage_are_never_cleared() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    chunks = [delta(content="hi"), finish("stop", usage=usage),
              {"choices": [{"index": 0, "delta": {}, "finish_reason": None}], "usage": None},
              {"choices": [], "usage": None}]
    seen, completion = run(chunks)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens == 7
    assert [type(e).__name__ for e in seen] == [
        "ContentDelta", "ContentDone", "Finished", "UsageUpdated"]


def test_vendor_extras_survive_on_message_and_tool_call() -> None:
    extra = {"google": {"thought_signature": "sig=="}}
    chunks = [
        delta(role="assistant", tool_calls=[{"index": 0, "id": "c", "type": "function",
                                             "extra_content": extra,
                                             "function": {"name": "f", "arguments": "{}"}}],
              reasoning_details=[{"type": "reasoning.text", "text": "a"}]),
        delta(reasoning_details=[{"type": "reasoning.text", "text": "b"}]),
        finish("tool_calls"),
    ]
    _, completion = run(chunks)
    message = completion.choices[0].message.to_dict()
    assert message["tool_calls"][0]["extra_content"] == extra
    assert [d["text"] for d in message["reasoning_details"]] == ["a", "b"]


def test_n_choices_kept_apart_and_logprobs_collected() -> None:
    token = {"token": "a", "logprob": -0.1, "bytes": [97], "top_logprobs": []}
    chunks = [
        {"choices": [{"index": 1, "delta": {"content": "one"}, "logprobs": {"content": [token]}}]},
        {"choices": [{"index": 0, "delta": {"content": "zero"}, "logprobs": {"content": [token]}}]},
        {"choices": [{"index": 1, "delta": {"content": "!"}, "finish_reason": "stop",
                      "logprobs": {"content": [token], "refusal": None}}]},
    ]
    _, completion = run(chunks)
    by_index = {c.index: c for c in completion.choices}
    assert by_index[0].message.content == "zero" and by_index[1].message.content == "one!"
    assert by_index[1].logprobs == {"content": [token, token]}
    assert by_index[0].finish_reason is None and by_index[1].finish_reason == "stop"


def test_content_parts_and_reasoning_fields() -> None:
    chunks = [
        delta(content=[{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}]),
        delta(reasoning="more "),
        delta(reasoning_content="thought", reasoning="duplicate ignored"),
        delta(content=[{"type": "text", "text": "answer"}]),
        delta(refusal="no"),
    ]
    message = run(chunks)[1].choices[0].message
    assert message.reasoning_content == "hmmmore thought"
    assert (message.content, message.refusal) == ("answer", "no")


def test_completion_snapshot_is_independent_of_later_chunks() -> None:
    acc = ChunkAccumulator()
    acc.add(delta(content="a", reasoning_details=[{"x": 1}]))
    snapshot = acc.completion()
    frozen = copy.deepcopy(snapshot.to_dict())
    acc.add(delta(content="b", reasoning_details=[{"x": 2}]))
    assert snapshot.to_dict() == frozen


def test_rejects_non_chunks() -> None:
    with pytest.raises(TypeError, match="expected a chunk"):
        ChunkAccumulator().add("data: {}")  # type: ignore[arg-type]


def test_empty_builder() -> None:
    assert stream_chunk_builder([]).choices == []


def test_arguments_as_object_are_encoded() -> None:
    chunks = [delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f",
                                                                      "arguments": {"a": 1}}}])]
    assert calls_of(run(chunks)[1])[0]["function"]["arguments"] == '{"a":1}'


def test_parsed_so_far_grows_with_complete_members() -> None:
    pieces = ['{"city": "Par', 'is", "days": [1, 2', ", 3], ", '"unit": "c"}']
    chunks = [delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}}])]
    chunks += [delta(tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in pieces]
    seen, _ = run(chunks)
    parsed = [e.parsed_so_far for e in seen if isinstance(e, events.ToolCallArgumentsDelta)]
    assert parsed == [
        {},
        {"city": "Paris", "days": [1]},
        {"city": "Paris", "days": [1, 2, 3]},
        {"city": "Paris", "days": [1, 2, 3], "unit": "c"},
    ]
