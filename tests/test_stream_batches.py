"""Several events in one network read: each is delivered in order, also before a bad one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import aclarifai
from aclarifai import events
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "x"}]


def body(*pieces: dict[str, Any] | bytes) -> bytes:
    return b"".join(p if isinstance(p, bytes) else b"data: " + orjson.dumps(p) + b"\n\n"
                    for p in pieces)


@pytest.mark.parametrize("mode", ["chunks", "events"])
async def test_events_before_a_malformed_one_in_the_same_read(fake: FakeClarifai, mode: str) -> None:
    fake.add_sse(body(make_chunk({"role": "assistant", "content": "a"}),
                      make_chunk({"content": "b"}), make_chunk({"content": "c"}),
                      b"data: {not json\n\n", make_chunk({"content": "never"})))
    texts: list[str] = []
    with pytest.raises(aclarifai.APIResponseValidationError, match="malformed JSON") as info:
        async with aclarifai.acompletion(model=MODEL, messages=MESSAGES, stream=True,
                                         api_key=fake.api_key, base_url=fake.base_url,
                                         max_retries=0) as stream:
            if mode == "events":
                async for event in stream.events():
                    if isinstance(event, events.ContentDelta):
                        texts.append(event.text)
            else:
                async for chunk in stream:
                    texts.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(texts) == "abc"
    assert info.value.partial.choices[0].message.content == "abc"


async def test_usage_and_error_chunks_mixed_with_content(fake: FakeClarifai) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    fake.add_sse(body(make_chunk({"content": "x"}), {"choices": [], "usage": usage},
                      make_chunk({"content": "y"}), {"error": {"message": "boom", "code": 500}}))
    seen: list[Any] = []
    with pytest.raises(aclarifai.StreamError, match="boom") as info:
        async with aclarifai.acompletion(model=MODEL, messages=MESSAGES, stream=True,
                                         api_key=fake.api_key, base_url=fake.base_url,
                                         max_retries=0) as stream:
            async for event in stream.events():
                seen.append(event.type)
    assert seen == ["content.delta", "usage", "content.delta"]
    assert info.value.partial.usage.total_tokens == 3
