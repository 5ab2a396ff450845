"""docs/batches.md and docs/extras.md: streamed batches, their items and rows, and the collector."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, assert_type

import aclarifai
from aclarifai import APIError, BatchItem, BatchResult, ChatCompletion, Usage
from aclarifai.batch import ROW_COLUMNS, RateLimiter, total_usage
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


async def prompts() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    for i in range(5):
        yield f"doc-{i}", [{"role": "user", "content": f"Summarise document {i}."}]


async def main() -> None:
    async with FakeClarifai() as fake, aclarifai.AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        stream = aclarifai.abatch_stream(
            MODEL, prompts(), max_concurrency=4, limiter=RateLimiter(1000), ordered=True,
            client=client, max_tokens=50,
        )
        items: list[BatchItem] = []
        async with contextlib.aclosing(stream) as results:
            async for item in results:
                assert_type(item, BatchItem)
                assert_type(item.index, int)
                assert_type(item.key, Any)
                assert_type(item.ok, bool)
                assert_type(item.content, str | None)
                assert_type(item.completion, ChatCompletion | None)
                assert_type(item.error, Exception | None)
                assert_type(item.usage, Usage | None)
                assert_type(item.latency, float)
                row = item.to_row()
                assert_type(row, dict[str, Any])
                assert list(row) == list(ROW_COLUMNS)
                items.append(item)
        assert_type(total_usage(items), Usage)

        collected = await aclarifai.abatch_completion(
            MODEL, [[{"role": "user", "content": "Hi"}]], client=client
        )
        assert_type(collected, BatchResult)
        for outcome in collected:
            assert_type(outcome, ChatCompletion | APIError)


if __name__ == "__main__":
    asyncio.run(main())
