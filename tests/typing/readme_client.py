"""README "In a web backend" and docs/migrating.md (from the OpenAI SDK): one AsyncClarifai."""

import asyncio
from typing import assert_type

import aclarifai
from aclarifai import (
    AsyncClarifai,
    ChatCompletion,
    ChatCompletionChunk,
    CompletionStream,
    ModelInfo,
    Timeout,
)
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


async def main() -> None:
    messages = [{"role": "user", "content": "Write a haiku about rivers."}]
    async with FakeClarifai() as fake:
        timeout = aclarifai.Timeout(connect=5, read=60)
        async with aclarifai.AsyncClarifai(
            api_key=fake.api_key, base_url=fake.base_url, timeout=timeout
        ) as client:
            assert_type(client, AsyncClarifai)
            assert_type(client.timeout, Timeout)
            async for chunk in client.acompletion(model=MODEL, messages=messages):
                assert_type(chunk, ChatCompletionChunk)
            completion = await client.chat.completions.create(model=MODEL, messages=messages)
            assert_type(completion, ChatCompletion)
            assert_type(completion.choices[0].message.content, str | None)
            completion = await client.acompletion(
                model=MODEL, messages=messages, temperature=0.2, max_tokens=64,
                extra_body={"top_k": 40}, timeout=30, max_retries=0,
            )
            assert_type(completion, ChatCompletion)

            # The OpenAI SDK's spelling streams too: iterate it, or await it with stream=True.
            async for chunk in client.chat.completions.create(model=MODEL, messages=messages):
                if chunk.choices:
                    assert_type(chunk.choices[0].delta.content, str | None)
            stream = await client.chat.completions.create(
                model=MODEL, messages=messages, stream=True
            )
            assert_type(stream, CompletionStream)
            async for chunk in stream:
                assert_type(chunk, ChatCompletionChunk)
            async with client.chat.completions.create(
                model=MODEL, messages=messages, stream=True
            ) as stream:
                assert_type(stream, CompletionStream)
                final = await stream.get_final_completion()
                assert_type(final, ChatCompletion)
            if final.usage is not None:
                assert_type(final.usage.total_tokens, int)

            models = await client.models.list()
            assert_type(models, list[ModelInfo])
            assert_type(models[0].id, str)
        assert_type(client.closed, bool)
        assert_type(aclarifai.resolve_model("clarifai/openai.chat-completion.gpt-oss-20b"), str)

        # Not `async with`: close it yourself.
        other = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=2)
        try:
            assert_type(await other.acompletion(model=MODEL, messages=messages), ChatCompletion)
        finally:
            await other.aclose()


if __name__ == "__main__":
    asyncio.run(main())
