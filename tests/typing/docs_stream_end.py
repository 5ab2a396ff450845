"""docs/streaming.md "Errors in a stream": a stream cut short, its partial, replaced bytes."""

import asyncio
from typing import assert_type

import aclarifai
from aclarifai import AsyncClarifai, ChatCompletion, StreamConnectionError, StreamError
from aclarifai.testing import FakeClarifai, make_chunk

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
MESSAGES = [{"role": "user", "content": "Hi"}]


async def main() -> None:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        fake.add_chunks([make_chunk({"content": "Half"})], done=False)
        try:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                for choice in chunk.choices:  # the usage-only last chunk has no choices
                    assert_type(choice.delta.content, str | None)
        except StreamConnectionError as error:
            assert isinstance(error, aclarifai.APIConnectionError)
            assert_type(error.partial, ChatCompletion | None)
            assert_type(error.message, str)
        except StreamError as error:
            assert_type(error.partial, ChatCompletion | None)

        fake.add_text("whole")
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            completion = await stream.get_final_completion()
            assert_type(completion, ChatCompletion)
            assert_type(stream.complete, bool)
            assert_type(stream.replaced_bytes, int)
            assert stream.complete and stream.replaced_bytes == 0


if __name__ == "__main__":
    asyncio.run(main())
