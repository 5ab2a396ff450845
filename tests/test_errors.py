"""Error answers: the three body shapes, the status and Clarifai-code table, messages."""

from __future__ import annotations

import pytest

import aclarifai
from aclarifai import AsyncClarifai, errors
from aclarifai._error_body import error_from_response
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "hi"}]
OPENAI_BODY = {"error": {"message": "bad things", "type": "invalid_request_error", "code": "x1"}}
NATIVE_BODY = {
    "status": {
        "code": 11009, "description": "API key not found", "details": "no such key",
        "req_id": "req-native-1",
    }
}
MODEL_BODY = {"code": 21313, "description": "Model prediction failed", "details": "CUDA OOM"}


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (400, OPENAI_BODY, errors.BadRequestError, "x1", "bad things"),
        (401, NATIVE_BODY, errors.AuthenticationError, 11009, "API key not found: no such key"),
        (403, {"status": {"code": 11007, "description": "scopes"}}, errors.PermissionDeniedError,
         11007, "scopes"),
        (404, {"status": {"code": 21200, "description": "no model"}}, errors.NotFoundError,
         21200, "no model"),
        (409, OPENAI_BODY, errors.ConflictError, "x1", "bad things"),
        (422, OPENAI_BODY, errors.UnprocessableEntityError, "x1", "bad things"),
        (429, {"status": {"code": 11005, "description": "throttled"}}, errors.RateLimitError,
         11005, "throttled"),
        (500, MODEL_BODY, errors.InternalServerError, 21313,
         "Model prediction failed: CUDA OOM"),
        (503, MODEL_BODY, errors.InternalServerError, 21313, "Model prediction failed"),
        (400, {"status": {"code": 21200, "description": "gone"}}, errors.NotFoundError, 21200,
         "gone"),
        (400, {"status": {"code": 11009, "description": "key"}}, errors.AuthenticationError,
         11009, "key"),
        (408, OPENAI_BODY, errors.APIStatusError, "x1", "bad things"),
    ],
)
def test_error_table(
    status: int, body: dict[str, object], cls: type[Exception], code: object, message: str
) -> None:
    import orjson

    error = error_from_response(status, orjson.dumps(body), {"x-request-id": "rid-9"})
    assert type(error) is cls
    assert isinstance(error, errors.APIStatusError) and isinstance(error, errors.ClarifaiError)
    assert error.status_code == status and error.code == code
    assert message in error.message
    assert error.request_id == "rid-9"
    assert error.body == body
    text = str(error)
    assert f"HTTP {status}" in text and message in text and "rid-9" in text


def test_request_id_from_native_body() -> None:
    error = error_from_response(401, b'{"status": {"code": 11009, "req_id": "r-7"}}', {})
    assert error.request_id == "r-7"


def test_model_not_deployed_says_so() -> None:
    error = error_from_response(400, b'{"code": 21353, "description": "not deployed"}', {})
    assert "retrying will not help" in str(error)


def test_html_error_page_gives_an_excerpt() -> None:
    error = error_from_response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {},
                                fallback_reason="Bad Gateway")
    assert isinstance(error, errors.InternalServerError)
    assert "502 Bad Gateway" in error.message


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, OPENAI_BODY, errors.BadRequestError),
        (401, NATIVE_BODY, errors.AuthenticationError),
        (404, {"status": {"code": 21200, "description": "no model"}}, errors.NotFoundError),
        (500, MODEL_BODY, errors.InternalServerError),
    ],
)
async def test_errors_over_http_stream_and_non_stream(
    fake: FakeClarifai, status: int, body: dict[str, object], cls: type[Exception]
) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as c:
        fake.add_error(status, body)
        with pytest.raises(cls) as info:
            await c.acompletion(model=MODEL, messages=MESSAGES)
        assert info.value.request_id  # type: ignore[attr-defined]
        fake.add_error(status, body)
        with pytest.raises(cls):
            async for _ in c.acompletion(model=MODEL, messages=MESSAGES):
                pass


async def test_clarifai_status_error_on_a_200_answer(fake: FakeClarifai) -> None:
    fake.add_response(200, {"status": {"code": 11102, "description": "invalid request"}})
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as c:
        with pytest.raises(errors.BadRequestError, match="invalid request"):
            await c.acompletion(model=MODEL, messages=MESSAGES)


async def test_model_side_error_inside_a_stream(fake: FakeClarifai) -> None:
    fake.add_chunks(
        [
            {"choices": [{"index": 0, "delta": {"content": "partial "}, "finish_reason": None}]},
            MODEL_BODY,
        ]
    )
    with pytest.raises(aclarifai.StreamError) as info:
        stream = await aclarifai.acompletion(
            model=MODEL, messages=MESSAGES, stream=True, api_key=fake.api_key,
            base_url=fake.base_url, max_retries=0,
        )
        await stream.get_final_completion()
    error = info.value
    assert error.code == 21313 and "CUDA OOM" in error.message
    assert error.partial.choices[0].message.content == "partial "


def test_exception_tree() -> None:
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    for name in ("BadRequestError", "AuthenticationError", "PermissionDeniedError",
                 "NotFoundError", "ConflictError", "UnprocessableEntityError",
                 "RateLimitError", "InternalServerError"):
        assert issubclass(getattr(errors, name), errors.APIStatusError)
    for cls in (errors.APIStatusError, errors.APIConnectionError, errors.StreamError,
                errors.APIResponseValidationError):
        assert issubclass(cls, errors.APIError) and issubclass(cls, errors.ClarifaiError)
    assert issubclass(errors.MissingAPIKeyError, errors.AuthenticationError)
