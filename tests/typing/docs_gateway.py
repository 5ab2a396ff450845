"""docs/migrating.md "Behind a gateway" and docs/errors.md "Security": what a user touches."""

import asyncio
from typing import Any, assert_type

import aclarifai
from aclarifai import AsyncClarifai, CompletionRequest, CompletionStream
from aclarifai.testing import FakeClarifai

MESSAGES = [{"role": "user", "content": "Hello"}]


async def main() -> None:
    gateway = AsyncClarifai(api_key="sk-gateway-key", base_url="http://127.0.0.1:4000/v1")
    assert_type(gateway.base_url, str)
    request = gateway.acompletion(model="clarifai-gpt", messages=MESSAGES)
    assert_type(request, CompletionRequest[aclarifai.ChatCompletion])
    assert_type(request.body, dict[str, Any])
    assert request.body["model"] == "clarifai-gpt"  # sent verbatim to a gateway

    try:
        AsyncClarifai(api_key="my-pat").acompletion(model="clarifai-gpt", messages=MESSAGES)
    except aclarifai.InvalidModelError as error:
        assert_type(error, aclarifai.InvalidModelError)
        assert isinstance(error, ValueError) and isinstance(error, aclarifai.ConfigurationError)

    try:
        AsyncClarifai(api_key="my-\r\npat")
    except aclarifai.ConfigurationError as error:
        assert_type(str(error), str)

    async with FakeClarifai() as fake:
        async with AsyncClarifai(api_key=fake.api_key + "\n", base_url=fake.base_url) as client:
            async with client.acompletion(model="clarifai/openai.chat-completion.gpt-oss-20b",
                                          messages=MESSAGES, stream=True) as stream:
                assert_type(stream, CompletionStream)
                await stream.get_final_completion()
                assert_type(stream.request_id, str | None)
    await gateway.aclose()


if __name__ == "__main__":
    asyncio.run(main())
