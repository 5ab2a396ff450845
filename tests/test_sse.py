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


def test_invalid_utf8_is_replaced_and_counted() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: a\xff\xfeb\n\n") + decoder.flush()
    assert [e.data for e in events] == ["a\ufffd\ufffdb"]
    assert decoder.replaced_bytes == 2


@pytest.mark.parametrize(
    ("raw", "text", "replaced"),
    [
        (b"\xe2\x82", "\ufffd", 2),  # a 3-byte character cut short: one U+FFFD for its 2 bytes
        (b"\xe2\x82x", "\ufffdx", 2),
        (b"\xc0\xaf", "\ufffd\ufffd", 2),  # an overlong form: each byte on its own
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd", 3),  # an encoded surrogate
        (b"\xf0\x9f\x98", "\ufffd", 3),
        ("\ufffd".encode(), "\ufffd", 0),  # a real U+FFFD is not a replacement
    ],
)
def test_replacement_follows_the_maximal_subpart_rule(raw: bytes, text: str, replaced: int) -> None:
    """As the spec's "UTF-8 decode" (and Python's "replace") do: one U+FFFD per maximal subpart."""
    decoder = SSEDecoder()
    events = decoder.feed(b"data: " + raw + b"\n\n")
    assert [e.data for e in events] == [text]
    assert decoder.replaced_bytes == replaced


def test_invalid_utf8_in_other_fields_is_replaced() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"event: up\xffdate\nid: 7\xff\ndata:x\xff\n\n")
    assert events == [ServerSentEvent("x\ufffd", "up\ufffddate", "7\ufffd", None)]
    assert decoder.replaced_bytes == 3


def test_invalid_utf8_at_every_split_point() -> None:
    """Broken bytes next to valid multi-byte characters, cut at every offset and byte by byte."""
    body = (
        b'data: {"t": "caf\xc3\xa9 \xff \xe6\xbc\xa2\xe2\x82 \xf0\x9f\x98\x80"}\r\n\r\n'
        b"data: second \xfe\n\ndata: unterminated \x80"
    )
    whole = decode([body])
    assert [e.data for e in whole] == [
        '{"t": "caf\u00e9 \ufffd \u6f22\ufffd \U0001f600"}',
        "second \ufffd",
        "unterminated \ufffd",
    ]
    for offset in range(len(body) + 1):
        decoder = SSEDecoder()
        events = decoder.feed(body[:offset]) + decoder.feed(body[offset:]) + decoder.flush()
        assert events == whole, offset
        assert decoder.replaced_bytes == 5, offset
    decoder = SSEDecoder()
    events = [e for b in body for e in decoder.feed(bytes([b]))] + decoder.flush()
    assert events == whole and decoder.replaced_bytes == 5


def test_events_before_a_bad_line_are_returned_first() -> None:
    decoder = SSEDecoder(max_line_size=64)
    events = decoder.feed(b"data: good\n\ndata: " + b"x" * 100 + b"\n\n")
    assert [e.data for e in events] == ["good"]
    with pytest.raises(APIResponseValidationError, match="max_line_size"):
        decoder.feed(b"data: later\n\n")
