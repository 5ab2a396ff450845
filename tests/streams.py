"""Helpers to turn SSE bodies into chunk dicts and to check event sequences."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import orjson

from aclarifai import SSEDecoder, events
from aclarifai._error_body import is_error_chunk


def chunk_dicts(body: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of a body up to ``[DONE]`` (an error chunk included, as the last one)."""
    decoder = SSEDecoder()
    result: list[dict[str, Any]] = []
    for event in decoder.feed(body) + decoder.flush():
        if event.data == "[DONE]":
            break
        obj = orjson.loads(event.data)
        result.append(obj)
        if event.event == "error" or is_error_chunk(obj):
            break
    return result


def check_event_sequence(all_events: list[Any], completion: Any) -> None:
    """Each tool call: one Started, its deltas, one Done; Done agrees with deltas and the result."""
    by_call: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for event in all_events:
        if isinstance(
            event, (events.ToolCallStarted, events.ToolCallArgumentsDelta, events.ToolCallDone)
        ):
            by_call[(event.choice, event.index)].append(event)
    finals = {
        (choice.index, position): call
        for choice in completion.choices
        for position, call in enumerate(choice.message.tool_calls or [])
    }
    assert set(by_call) == set(finals), (sorted(by_call), sorted(finals))
    for key, sequence in by_call.items():
        assert isinstance(sequence[0], events.ToolCallStarted), key
        assert isinstance(sequence[-1], events.ToolCallDone), key
        middle = sequence[1:-1]
        assert all(isinstance(e, events.ToolCallArgumentsDelta) for e in middle), key
        done = sequence[-1]
        final = finals[key]
        joined = "".join(e.delta for e in middle)
        assert done.tool_call.function.arguments == joined == final.function.arguments, key
        assert done.tool_call.to_dict() == final.to_dict(), key
        if middle:
            assert middle[-1].arguments_so_far == joined
            if final.function.arguments_error is None:
                assert middle[-1].parsed_so_far == json.loads(final.function.arguments)
    finished = [e for e in all_events if isinstance(e, events.Finished)]
    assert sorted(e.choice for e in finished) == sorted({c.index for c in completion.choices})
