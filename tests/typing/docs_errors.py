"""docs/errors.md and the README's "Errors": what a handler reads from each error."""

import asyncio
from collections.abc import Mapping
from typing import assert_type

import aclarifai
from aclarifai import AsyncClarifai, ChatCompletion
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
MESSAGES = [{"role": "user", "content": "Hello"}]


async def main() -> None:
    async with FakeClarifai() as fake:
        fake.add_error(404, {"status": {"code": 21200, "description": "Model does not exist"}})
        fake.add_chunks(
            [{"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, b"event: error\ndata: {}\n\n"]
        )
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
            try:
                await client.acompletion(model=MODEL, messages=MESSAGES)
            except aclarifai.NotFoundError as error:
                assert_type(error.status_code, int)
                assert_type(error.code, int | str | None)
                assert_type(error.message, str)
                assert_type(error.request_id, str | None)
                assert_type(error.body, object)
                assert_type(error.headers, Mapping[str, str] | None)
            try:
                async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                    pass
            except aclarifai.StreamError as error:
                assert_type(error.partial, ChatCompletion | None)
                if error.partial is not None:
                    assert_type(error.partial.choices[0].message.content, str | None)
            except aclarifai.APIError as error:
                assert_type(error.status_code, int | None)
            try:
                AsyncClarifai(api_key="my-pat", base_url="http://api.example.com")
            except aclarifai.ConfigurationError as error:
                assert_type(str(error), str)


if __name__ == "__main__":
    asyncio.run(main())
