"""Every recorded stream, replayed over real HTTP, assembles to its expected result.

Each body is served byte for byte by FakeClarifai, whole and cut at random points (fixed seeds),
so split UTF-8 characters, split ``\\r\\n`` pairs and split JSON all cross the network.
"""

from __future__ import annotations

import pytest

import aclarifai
from aclarifai import StreamError
from aclarifai.testing import FakeClarifai

from .conftest import MODEL
from .corpus import Case, assembled, cases, wanted

CASES = cases()
MESSAGES = [{"role": "user", "content": "replay"}]


async def replay(fake: FakeClarifai, case: Case, **split: object) -> aclarifai.ChatCompletion:
    fake.add_sse(case.body, **split)  # type: ignore[arg-type]
    stream = await aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, stream=True, api_key=fake.api_key,
        base_url=fake.base_url, max_retries=0,
    )
    return await stream.get_final_completion()


async def check(fake: FakeClarifai, case: Case, **split: object) -> None:
    expected = case.expected
    if "error" in expected:
        with pytest.raises(StreamError) as info:
            await replay(fake, case, **split)
        error = info.value
        assert error.body == expected["error"] or error.body.get("error") == expected["error"]
        assert assembled(error.partial, expected) == wanted(expected)
    else:
        completion = await replay(fake, case, **split)
        assert assembled(completion, expected) == wanted(expected)


@pytest.mark.parametrize("case", CASES, ids=repr)
async def test_whole_body(fake: FakeClarifai, case: Case) -> None:
    await check(fake, case)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=repr)
async def test_random_splits(fake: FakeClarifai, case: Case, seed: int) -> None:
    await check(fake, case, split_seed=seed)


@pytest.mark.parametrize("case", CASES[:8], ids=repr)
async def test_one_byte_writes(fake: FakeClarifai, case: Case) -> None:
    await check(fake, case, chunk_size=1)


@pytest.mark.parametrize("case", CASES, ids=repr)
async def test_chunks_then_error_are_all_delivered(fake: FakeClarifai, case: Case) -> None:
    """Iterating chunk by chunk yields every chunk before the error, then raises it."""
    fake.add_sse(case.body, split_seed=7)
    texts: list[str] = []
    request = aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
    )
    if "error" in case.expected:
        with pytest.raises(StreamError):
            async for chunk in request:
                texts.extend(c.delta.content or "" for c in chunk.choices if c.index == 0)
    else:
        async for chunk in request:
            texts.extend(c.delta.content or "" for c in chunk.choices if c.index == 0)
    assert ("".join(texts) or None) == case.expected["content"]
