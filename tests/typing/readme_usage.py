"""README "Usage": the module-level acompletion(), streamed, awaited and with ``async with``."""

import asyncio
from typing import assert_type

import aclarifai
from aclarifai import ChatCompletion, ChatCompletionChunk, CompletionRequest, CompletionStream
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


async def main() -> None:
    messages = [{"role": "user", "content": "Write a haiku about rivers."}]
    async with FakeClarifai() as fake:
        key, base = fake.api_key, fake.base_url

        # Stream: iterating always streams.
        async for chunk in aclarifai.acompletion(
            model=MODEL, messages=messages, api_key=key, base_url=base
        ):
            assert_type(chunk, ChatCompletionChunk)
            piece = chunk.choices[0].delta.content or "" if chunk.choices else ""
            assert_type(piece, str)

        # Non-stream: await it (no stream=, stream=False and stream=None all give a completion).
        request = aclarifai.acompletion(model=MODEL, messages=messages, api_key=key, base_url=base)
        assert_type(request, CompletionRequest[ChatCompletion])
        completion = await request
        assert_type(completion, ChatCompletion)
        assert_type(completion.choices[0].message.content, str | None)
        if completion.usage is not None:
            assert_type(completion.usage.total_tokens, int)
        off = await aclarifai.acompletion(
            model=MODEL, messages=messages, stream=False, api_key=key, base_url=base
        )
        assert_type(off, ChatCompletion)

        # OpenAI SDK habit: a context manager, then the assembled result.
        async with aclarifai.acompletion(
            model=MODEL, messages=messages, stream=True, api_key=key, base_url=base
        ) as stream:
            assert_type(stream, CompletionStream)
            async for chunk in stream:
                assert_type(chunk, ChatCompletionChunk)
            final = await stream.get_final_completion()
            assert_type(final, ChatCompletion)

        # Awaiting with stream=True gives the open stream.
        opened = await aclarifai.acompletion(
            model=MODEL, messages=messages, stream=True, api_key=key, base_url=base
        )
        assert_type(opened, CompletionStream)
        assert_type(opened.request_id, str | None)
        await opened.aclose()

        # A stream flag known only at run time: one of the two.
        flag = len(messages) > 5
        either = await aclarifai.acompletion(
            model=MODEL, messages=messages, stream=flag, api_key=key, base_url=base
        )
        assert_type(either, ChatCompletion | CompletionStream)
        if isinstance(either, CompletionStream):
            await either.aclose()
    await aclarifai.aclose_default_clients()


if __name__ == "__main__":
    asyncio.run(main())
