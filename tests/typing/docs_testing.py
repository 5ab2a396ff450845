"""docs/testing.md: FakeClarifai scripted, faulted and counted, as a user's tests do."""

import asyncio
from typing import Any, assert_type

from aclarifai import AsyncClarifai, ChatCompletion, NotFoundError
from aclarifai.testing import (
    DEFAULT_API_KEY,
    DEFAULT_MODELS,
    DEFAULT_RETRY_AFTER,
    FakeClarifai,
    RecordedRequest,
    make_chunk,
)

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
OURS = "https://clarifai.com/acme/support/models/helpdesk-bot"


async def main() -> None:
    assert_type(DEFAULT_API_KEY, str)
    assert_type(DEFAULT_RETRY_AFTER, str)
    assert_type(DEFAULT_MODELS, tuple[str, str, str])
    async with FakeClarifai(models=[*DEFAULT_MODELS, OURS], accept_any_model=False) as fake:
        assert_type(fake, FakeClarifai)
        assert_type(fake.api_key, str)
        assert_type(fake.base_url, str)
        assert_type(fake.chat_url, str)
        assert_type(fake.models, list[str])
        assert_type(fake.accept_any_model, bool)

        fake.add_text("Thinking done.", reasoning="Let me think.", chunks=3, delay=0.0)
        fake.add_tool_calls(
            [{"name": "get_weather", "arguments": {"location": "Paris"}}], fragments=4, interleave=True
        )
        chunk = make_chunk({"role": "assistant", "content": "Par"}, finish_reason=None)
        assert_type(chunk, dict[str, Any])
        fake.add_chunks([chunk, b": a comment\n\n"], done=True, chunk_delay=0.0)
        fake.add_error(429)
        fake.add_error(502, "<html>Bad Gateway</html>", content_type="text/html", times=1)
        fake.add_response(200, {"unexpected": True})
        fake.add_disconnect()
        assert_type(fake.pending, int)
        fake.reset()

        fake.add_text("A short summary.")
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
            completion = await client.acompletion(
                model=MODEL, messages=[{"role": "user", "content": "Summarise this."}]
            )
            assert_type(completion, ChatCompletion)
            cut = await client.acompletion(
                model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=2, n=2,
                stop=["."],
            )
            assert_type(cut.choices[0].finish_reason, str | None)
            try:
                await client.acompletion(
                    model="https://clarifai.com/openai/chat-completion/models/gpt-4o",
                    messages=[{"role": "user", "content": "Hi"}],
                )
            except NotFoundError as error:
                assert_type(error.code, int | str | None)
            else:
                raise AssertionError("the fake serves only the models it knows")

        await fake.wait_idle(timeout=5, connections=True)
        await fake.wait_until(lambda: fake.active_requests == 0, timeout=5)
        request = fake.last_request
        assert_type(request, RecordedRequest)
        assert_type(request.json, Any)  # raw JSON: the user narrows it
        assert_type(request.headers, dict[str, str])
        assert_type(request.body, bytes)
        assert_type(request.received, float)
        assert_type(fake.requests, list[RecordedRequest])
        for count in (
            fake.request_count, fake.active_requests, fake.max_concurrency, fake.open_connections,
            fake.connections_opened, fake.connections_closed, fake.streams_completed,
            fake.streams_aborted,
        ):
            assert_type(count, int)
        assert request.headers["Authorization"] == "Bearer ***"


if __name__ == "__main__":
    asyncio.run(main())
