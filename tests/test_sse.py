"""The SSE decoder: WHATWG framing, every byte boundary, line endings, bounds."""

from __future__ import annotations

import pytest

from aclarifai import APIResponseValidationError, ServerSentEvent, SSEDecoder

from .corpus import cases


def decode(pieces: list[bytes], **kwargs: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    return events + decoder.flush()


@pytest.mark.parametrize("case", cases(), ids=repr)
def test_every_split_point_gives_the_same_events(case: object) -> None:
    body: bytes = case.body  # type: ignore[attr-defined]
    whole = decode([body])
    assert whole, "every corpus stream has events"
    for offset in range(len(body) + 1):
        assert decode([body[:offset], body[offset:]]) == whole, offset


@pytest.mark.parametrize("case", cases()[:6], ids=repr)
@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_other_line_endings_give_the_same_events(case: object, newline: bytes) -> None:
    body: bytes = case.body  # type: ignore[attr-defined]
    converted = body.replace(b"\n", newline)
    whole = decode([body])
    assert decode([converted]) == whole
    assert decode([bytes([b]) for b in converted]) == whole


def test_crlf_split_between_cr_and_lf() -> None:
    events = decode([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"])
    assert [e.data for e in events] == ["a", "b"]


def test_multibyte_character_split_across_reads() -> None:
    body = "data: {\"t\": \"caf\u00e9 \u6f22\u5b57 \U0001f600\"}\n\n".encode()
    for offset in range(len(body)):
        events = decode([body[:offset], body[offset:]])
        assert events[0].data == '{"t": "caf\u00e9 \u6f22\u5b57 \U0001f600"}'


def test_fields_comments_and_multiline_data() -> None:
    body = (
        b": keep-alive\n"
        b"event: update\nid: 7\nretry: 1500\ndata: line one\ndata:line two\ndata\n\n"
        b"data: second\n\n"
        b"retry: soon\nid\n\n"  # invalid retry ignored; an id-only event dispatches nothing
        b"data: third\n\n"
    )
    events = decode([body])
    assert events == [
        ServerSentEvent("line one\nline two\n", "update", "7", 1500),
        ServerSentEvent("second", "message", "7", 1500),
        ServerSentEvent("third", "message", "", 1500),
    ]


def test_unicode_line_separator_is_not_a_line_break() -> None:
    events = decode(["data: a\u2028b\u0085c\n\n".encode()])
    assert events[0].data == "a\u2028b\u0085c"


def test_pending_event_at_end_of_body_is_dispatched() -> None:
    assert [e.data for e in decode([b"data: x\n\ndata: last"])] == ["x", "last"]
    assert [e.data for e in decode([b"data: y\n"])] == ["y"]


def test_byte_order_mark_is_stripped_once() -> None:
    assert [e.data for e in decode([b"\xef\xbb", b"\xbfdata: a\n\n"])] == ["a"]


def test_field_without_space_and_id_with_nul_ignored() -> None:
    events = decode([b"data:x\nid: a\x00b\n\n"])
    assert events == [ServerSentEvent("x", "message", "", None)]


def test_line_too_long_is_a_clear_error() -> None:
    decoder = SSEDecoder(max_line_size=64)
    with pytest.raises(APIResponseValidationError, match="max_line_size"):
        for _ in range(10):
            decoder.feed(b"data: " + b"x" * 20)
    with pytest.raises(APIResponseValidationError, match="limit of 64 bytes"):
        SSEDecoder(max_line_size=64).feed(b"data: " + b"y" * 100 + b"\n")


def test_invalid_utf8_is_a_typed_error() -> None:
    with pytest.raises(APIResponseValidationError, match="invalid UTF-8"):
        decode([b"data: \xff\xfe\n\n"])


def test_events_before_a_bad_line_are_returned_first() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: good\n\ndata: \xff\n\n")
    assert [e.data for e in events] == ["good"]
    with pytest.raises(APIResponseValidationError, match="invalid UTF-8"):
        decoder.feed(b"data: later\n\n")
