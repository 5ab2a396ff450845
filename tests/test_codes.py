"""docs/errors.md's table of Clarifai status codes is the client's table, and the client does what it says.

Each row is parsed from the page and checked against ``aclarifai._codes`` and then against the
client itself, over loopback HTTP: the class it raises and how many requests it makes, for the
code in a 5xx answer, a 400 answer, a 200 answer and a stream's first event.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import aclarifai
from aclarifai import APIError, AsyncClarifai, InternalServerError, _retry
from aclarifai._codes import CODES, NEVER_RETRY_CODES, RETRYABLE_CODES, code_number
from aclarifai._error_body import stream_error
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "hi"}]
ERRORS_PAGE = Path(__file__).parent.parent / "docs" / "errors.md"
ROW = re.compile(r"^\| (\d{5}) \| ([^|]+?) \| `(\w+)` \| (yes|no|status) \|$", re.M)


def documented() -> list[tuple[int, str, str, str]]:
    """``(code, meaning, class name, retried)`` for each row of the page's code table."""
    section = ERRORS_PAGE.read_text().split("### Clarifai status codes", 1)[1].split("\n## ", 1)[0]
    rows = [(int(c), meaning, cls, retried) for c, meaning, cls, retried in ROW.findall(section)]
    table_lines = [line for line in section.splitlines() if re.match(r"^\| \d", line)]
    assert len(rows) == len(table_lines), "a row of the code table does not parse"
    return rows


DOCUMENTED = documented()


def test_the_page_and_the_code_table_agree() -> None:
    assert [row[0] for row in DOCUMENTED] == sorted(CODES)  # every code, once, in order
    for code, meaning, cls, retried in DOCUMENTED:
        entry = CODES[code]
        assert (entry.meaning, entry.error.__name__, entry.retry) == (meaning, cls, retried)
        assert issubclass(getattr(aclarifai, cls), aclarifai.APIStatusError)
    assert {row[0] for row in DOCUMENTED if row[3] == "yes"} == RETRYABLE_CODES
    assert {row[0] for row in DOCUMENTED if row[3] == "no"} == NEVER_RETRY_CODES
    assert 21353 in NEVER_RETRY_CODES  # documented as never retried: it was retried on a 5xx



async def failure(client: AsyncClarifai, *, stream: bool = False) -> APIError:
    """The error the client raises for one call (after its retries)."""
    request = client.acompletion(model=MODEL, messages=MESSAGES)
    try:
        if stream:
            async for _chunk in request:
                pass
        else:
            await request
    except APIError as error:
        return error
    raise AssertionError("the call succeeded")


def body(code: int) -> dict[str, Any]:
    return {"status": {"code": code, "description": f"status {code}", "req_id": "body-req"}}


@pytest.mark.parametrize(("code", "meaning", "cls", "retried"), DOCUMENTED)
async def test_each_documented_code_behaves_as_documented(
    sleeps: list[float], code: int, meaning: str, cls: str, retried: str
) -> None:
    documented_class = getattr(aclarifai, cls)
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url, max_retries=1
    ) as client:
        # A 5xx answer: the status decides the class; the code decides the retry when it can.
        for _ in range(2):
            fake.add_error(503, body(code))
        error = await failure(client)
        assert isinstance(error, InternalServerError) and error.code == code
        assert fake.request_count == (1 if retried == "no" else 2)
        assert len(sleeps) == (0 if retried == "no" else 1)
        if code == 21353:
            assert "retrying will not help" in error.message

        # A 400 answer: the code decides the class, and a 400 is never retried.
        fake.reset()
        fake.add_error(400, body(code))
        error = await failure(client)
        assert type(error) is documented_class and error.status_code == 400
        assert fake.request_count == 1

        # A 200 answer carrying Clarifai's status object: the code decides both.
        fake.reset()
        for _ in range(2):
            fake.add_response(200, body(code))
        error = await failure(client)
        assert isinstance(error, documented_class) and error.code == code
        assert fake.request_count == (2 if retried == "yes" else 1)

        # The first event of a stream: retried (before any output) only when the code says so.
        fake.reset()
        for _ in range(2):
            fake.add_chunks([{"code": code, "description": meaning, "details": "x"}], done=False)
        error = await failure(client, stream=True)
        assert error.code == code
        assert fake.request_count == (2 if retried == "yes" else 1)
        fake.reset()


def test_codes_as_strings_count_as_numbers() -> None:
    assert code_number("21353") == 21353 and code_number(" 500 ") == 500
    assert code_number(21353) == 21353
    for not_a_number in ("rate_limit_exceeded", "", "５００", "1e3", None, True, 2.0):
        assert code_number(not_a_number) is None
    error = aclarifai.APIStatusError("x", status_code=503, code="21353")
    assert not _retry.should_retry(error)


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        ({"error": {"message": "upstream failed", "type": "None", "code": "500"}}, 500),
        ({"error": {"message": "overloaded", "code": 503}}, 503),
        ({"error": {"message": "throttled", "code": "429"}}, 429),
        ({"error": {"message": "named", "code": "rate_limit_exceeded"}}, None),
        ({"code": 21313, "description": "Model prediction failed"}, None),
    ],
)
def test_an_error_in_a_stream_with_a_numeric_code_sets_the_status(
    obj: dict[str, Any], status: int | None
) -> None:
    error = stream_error(obj, "req-1", None)
    assert error.status_code == status
    assert error.code == obj.get("error", obj)["code"]  # the code itself is kept as sent


async def test_a_gateway_stream_error_with_code_500_is_retried_before_output(
    sleeps: list[float],
) -> None:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url, max_retries=1
    ) as client:
        # LiteLLM's proxy reports an upstream failure inside the stream, the status as a string.
        fake.add_chunks([{"error": {"message": "upstream 500", "type": "None", "code": "500"}}])
        fake.add_text("second try")
        pieces = [
            choice.delta.content
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES)
            for choice in chunk.choices
        ]
        assert "".join(p or "" for p in pieces) == "second try"
        assert fake.request_count == 2 and len(sleeps) == 1

        fake.add_chunks([{"error": {"message": "bad input", "code": "400"}}])
        error = await failure(client, stream=True)
        assert error.status_code == 400 and error.code == "400"
        assert fake.request_count == 3  # a 400 is not retried
