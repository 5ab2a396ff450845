"""The native stream framing parser: every framing, cut at every byte offset, and its refusals."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from aclarifai._native_chat import ChunkDecoder
from aclarifai._native_stream import JSONStreamParser
from aclarifai.errors import APIResponseValidationError, InternalServerError, StreamError

MESSAGES: list[Any] = [
    {"result": {"status": {"code": 10000}, "outputs": [{"data": {"parts": [
        {"id": "return", "data": {"string_value": '{"choices": [{"delta": {"content": "h\\u00e9"}}]}'}}
    ]}}]}},
    {"result": {"note": "braces } and { and ] in a string, a quote \" and a backslash \\\\"}},
    {"result": {"text": "emoji \U0001f600 and \u00e9, newline \n inside"}},
    {"result": {"nested": [[{"a": [1, 2, {"b": {}}]}], []]}},
]


def ndjson(messages: list[Any]) -> bytes:
    return b"".join(orjson.dumps(m) + b"\n" for m in messages)


def framings(messages: list[Any]) -> dict[str, bytes]:
    array = b"[" + b",\n".join(orjson.dumps(m) for m in messages) + b"]"
    pretty = b"".join(orjson.dumps(m, option=orjson.OPT_INDENT_2) + b"\r\n" for m in messages)
    sse = b"".join(b"data: " + orjson.dumps(m) + b"\n\n" for m in messages) + b"data: [DONE]\n\n"
    return {
        "ndjson": ndjson(messages),
        "concatenated": b"".join(orjson.dumps(m) for m in messages),
        "pretty-crlf": pretty,
        "json-array": array,
        "json-array-spaced": b"  [\n " + b" ,\n ".join(orjson.dumps(m) for m in messages) + b"\n]\n",
        "bom-ndjson": b"\xef\xbb\xbf" + ndjson(messages),
        "sse": sse,
    }


def parse(pieces: list[bytes], max_size: int = 1 << 20) -> list[Any]:
    parser = JSONStreamParser(max_size)
    out: list[Any] = []
    for piece in pieces:
        out += parser.feed(piece)
    return out + parser.flush()


@pytest.mark.parametrize("name", list(framings(MESSAGES)))
def test_every_single_split(name: str) -> None:
    body = framings(MESSAGES)[name]
    assert parse([body]) == MESSAGES
    for cut in range(len(body) + 1):
        assert parse([body[:cut], body[cut:]]) == MESSAGES, cut


@pytest.mark.parametrize("name", list(framings(MESSAGES)))
def test_byte_by_byte_and_random_splits(name: str) -> None:
    body = framings(MESSAGES)[name]
    assert parse([body[i : i + 1] for i in range(len(body))]) == MESSAGES
    rng = random.Random(name)
    for _ in range(50):
        points = sorted(rng.sample(range(1, len(body)), 5))
        bounds = [0, *points, len(body)]
        assert parse([body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]) == MESSAGES


def test_objects_come_out_as_soon_as_they_are_whole() -> None:
    parser = JSONStreamParser()
    first, second = orjson.dumps(MESSAGES[0]), orjson.dumps(MESSAGES[1])
    assert parser.feed(first[:-1]) == []
    assert parser.feed(first[-1:] + b"\n" + second[:3]) == [MESSAGES[0]]
    assert parser.framing == "ndjson"
    assert parser.feed(second[3:]) == [MESSAGES[1]]
    assert parser.flush() == []


def test_framing_is_reported() -> None:
    for name, expected in (("json-array", "json-array"), ("sse", "sse"), ("ndjson", "ndjson")):
        parser = JSONStreamParser()
        parser.feed(framings(MESSAGES)[name])
        assert parser.framing == expected


def test_an_array_cut_before_its_end_keeps_whole_elements() -> None:
    body = framings(MESSAGES)["json-array"]
    cut = body.rindex(b",\n")
    assert parse([body[:cut]]) == MESSAGES[:-1]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"result": {"a": 1}}\n{"result": {"b"', "inside a JSON object"),
        (b"<html>Bad gateway</html>", "neither JSON nor server-sent events"),
        (b'{"a": 1} junk', "unexpected bytes"),
        (b'[{"a": 1}] {"b": 2}', "unexpected bytes"),
        (b'{"a": 1, }', "malformed JSON"),
        (b"[1, 2]", "unexpected bytes"),
        (b"da", "inside a JSON object"),
    ],
)
def test_malformed_bodies_raise(body: bytes, words: str) -> None:
    with pytest.raises(APIResponseValidationError, match=words):
        parse([body])


def test_an_oversized_object_raises_instead_of_growing() -> None:
    parser = JSONStreamParser(max_size=64)
    with pytest.raises(APIResponseValidationError, match="larger than 64 bytes"):
        parser.feed(b'{"result": "' + b"x" * 100)


def chunk_message(text: str) -> dict[str, Any]:
    part = {"id": "return", "data": {"string_value": text}}
    return {"result": {"status": {"code": 10000}, "outputs": [{"data": {"parts": [part]}}]}}


def test_chunk_decoder_turns_messages_into_chunk_events() -> None:
    body = ndjson([chunk_message('{"choices": [1]}'), chunk_message(""), chunk_message('{"x": 2}')])
    for cut in range(len(body) + 1):
        decoder = ChunkDecoder(1 << 20)
        events = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.flush()
        assert [e.data for e in events] == ['{"choices": [1]}', '{"x": 2}']
        assert {e.event for e in events} == {"message"}


def test_chunk_decoder_raises_a_failed_status_after_what_came_before() -> None:
    failed = {"result": {"status": {"code": 21354, "description": "Model is busy"}}}
    body = ndjson([chunk_message('{"choices": [1]}'), failed])
    decoder = ChunkDecoder(1 << 20)
    assert [e.data for e in decoder.feed(body)] == ['{"choices": [1]}']
    with pytest.raises(InternalServerError) as info:
        decoder.flush()
    assert info.value.code == 21354
    decoder = ChunkDecoder(1 << 20)
    with pytest.raises(InternalServerError, match="busy"):
        decoder.feed(ndjson([failed]))


def test_chunk_decoder_raises_a_gateway_error_message() -> None:
    decoder = ChunkDecoder(1 << 20)
    with pytest.raises(InternalServerError, match="upstream went away") as info:
        decoder.feed(b'{"error": {"code": 14, "message": "upstream went away"}}\n')
    assert info.value.code == 14
    assert not isinstance(info.value, StreamError)
