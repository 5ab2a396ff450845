"""Property tests: random messages, rendered as chunk streams the way different servers do.

Whatever the rendering (split points anywhere, interleaved indexes, ids and names repeated or
not, empty ids, index omitted for whole calls, names streamed in pieces, usage on the last chunk
or a separate one, reasoning under either field name), the assembly must be exact and the event
sequence well-formed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aclarifai import ChunkAccumulator, stream_chunk_builder

from .streams import check_event_sequence

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
ARGUMENTS = st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{2,14}", fullmatch=True)


@dataclass
class Call:
    id: str
    name: str
    arguments: str


@dataclass
class Message:
    content: str
    reasoning: str
    calls: list[Call]
    usage: dict[str, int]


@dataclass
class Style:
    reasoning_field: str
    whole_calls_without_index: bool
    index_base: int
    index_step: int
    interleave: bool
    repeat_meta: bool
    empty_id_on_continuations: bool
    split_names: bool
    usage_separate: bool
    finish_on_last_delta: bool


@st.composite
def messages(draw: st.DrawFn) -> Message:
    count = draw(st.integers(0, 5))
    calls = [
        Call(
            id=f"call_{i}_{draw(st.text('abcdef0123456789', min_size=1, max_size=6))}",
            name=draw(NAMES),
            arguments=json.dumps(draw(ARGUMENTS), ensure_ascii=draw(st.booleans())),
        )
        for i in range(count)
    ]
    prompt, completion = draw(st.integers(0, 500)), draw(st.integers(0, 500))
    return Message(
        content=draw(st.text(max_size=40)),
        reasoning=draw(st.text(max_size=40)),
        calls=calls,
        usage={"prompt_tokens": prompt, "completion_tokens": completion,
               "total_tokens": prompt + completion},
    )


STYLES = st.builds(
    Style,
    reasoning_field=st.sampled_from(["reasoning_content", "reasoning"]),
    whole_calls_without_index=st.booleans(),
    index_base=st.sampled_from([0, 1]),
    index_step=st.sampled_from([1, 2]),
    interleave=st.booleans(),
    repeat_meta=st.booleans(),
    empty_id_on_continuations=st.booleans(),
    split_names=st.booleans(),
    usage_separate=st.booleans(),
    finish_on_last_delta=st.booleans(),
)


def split(draw: st.DrawFn, text: str) -> list[str]:
    if not text:
        return []
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=6)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def name_pieces(draw: st.DrawFn, name: str) -> list[str]:
    # A piece equal to (or extending) the name so far reads as a repeat: avoid generating those.
    cut = draw(st.integers(1, len(name) - 1))
    head, tail = name[:cut], name[cut:]
    return [name] if tail == head or tail.startswith(head) else [head, tail]


def delta(**fields: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-x", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def call_deltas(draw: st.DrawFn, message: Message, style: Style) -> list[list[dict[str, Any]]]:
    """Per call, its tool-call delta objects in order."""
    per_call: list[list[dict[str, Any]]] = []
    for position, call in enumerate(message.calls):
        if style.whole_calls_without_index:
            per_call.append([{"id": call.id, "type": "function",
                              "function": {"name": call.name, "arguments": call.arguments}}])
            continue
        index = style.index_base + position * style.index_step
        names = name_pieces(draw, call.name) if style.split_names else [call.name]
        pieces: list[dict[str, Any]] = [
            {"index": index, "id": call.id, "type": "function",
             "function": {"name": names[0], "arguments": ""}}
        ]
        pieces += [{"index": index, "function": {"name": n}} for n in names[1:]]
        for fragment in split(draw, call.arguments):
            piece: dict[str, Any] = {"index": index, "function": {"arguments": fragment}}
            if style.repeat_meta and not style.split_names:
                piece.update(id=call.id, type="function")
                piece["function"]["name"] = call.name
            elif style.empty_id_on_continuations:
                piece.update(id="", type="function")
                piece["function"]["name"] = ""
            pieces.append(piece)
        per_call.append(pieces)
    return per_call


def interleave(draw: st.DrawFn, sequences: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    queues = [list(s) for s in sequences if s]
    started = 0
    out: list[dict[str, Any]] = []
    while queues:
        # Calls start in order; once started, any open call may send its next piece.
        choices = list(range(min(started + 1, len(queues))))
        pick = draw(st.sampled_from(choices))
        out.append(queues[pick].pop(0))
        if pick == started:
            started += 1
        if not queues[pick]:
            queues.pop(pick)
            started -= 1
    return out


def render(draw: st.DrawFn, message: Message, style: Style) -> list[dict[str, Any]]:
    chunks = [delta(role="assistant")]
    chunks += [delta(**{style.reasoning_field: p}) for p in split(draw, message.reasoning)]
    chunks += [delta(content=p) for p in split(draw, message.content)]
    per_call = call_deltas(draw, message, style)
    ordered = interleave(draw, per_call) if style.interleave else [p for s in per_call for p in s]
    chunks += [delta(tool_calls=[piece]) for piece in ordered]
    reason = "tool_calls" if message.calls else "stop"
    if style.finish_on_last_delta and len(chunks) > 1:
        chunks[-1]["choices"][0]["finish_reason"] = reason
    else:
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    if style.usage_separate:
        chunks.append({"choices": [], "usage": message.usage})
    else:
        chunks[-1]["usage"] = message.usage
    return chunks


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(message=messages(), style=STYLES, data=st.data())
def test_round_trip_is_exact(message: Message, style: Style, data: st.DataObject) -> None:
    chunks = render(data.draw, message, style)
    acc = ChunkAccumulator()
    seen: list[Any] = []
    for chunk in chunks:
        seen += acc.add(chunk)
    seen += acc.end()
    completion = acc.completion()
    assert stream_chunk_builder(chunks) == completion
    choice = completion.choices[0]
    result = choice.message
    assert result.content == (message.content or None)
    assert result.reasoning_content == (message.reasoning or None)
    assert choice.finish_reason == ("tool_calls" if message.calls else "stop")
    assert completion.usage is not None and completion.usage.to_dict() == message.usage
    got = [(c.id, c.type, c.function.name, c.function.arguments) for c in result.tool_calls or []]
    assert got == [(c.id, "function", c.name, c.arguments) for c in message.calls]
    for call in result.tool_calls or []:
        assert call.function.parse_arguments() == json.loads(call.function.arguments or "{}")
    check_event_sequence(seen, completion)
