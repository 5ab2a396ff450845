"""The PAT and URL credentials: trimmed, checked at construction, never in traceback locals.

``rendered()`` is what an error tracker records: the traceback with every frame's locals
(``TracebackException(capture_locals=True)``), plus the error's str, repr and attributes. The
secrets are module constants so that the test's own frames never hold them as locals.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

import aclarifai
from aclarifai import Agent, AsyncClarifai, ConfigurationError
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

PAT = "pat-Zq8-very-secret-0123456789"
PAT_HALVES = ("pat-Zq8-very", "secret-0123456789")
WITH_CR = "pat-Zq8-very\r-secret-0123456789"
WITH_LF = "pat-Zq8-very\n-secret-0123456789"
WITH_NUL = "pat-Zq8-very\x00-secret-0123456789"
WITH_TAB = "pat-Zq8-very\t-secret-0123456789"
URL_SECRET = "url-pw-Xk29-do-not-show"
CREDENTIAL_URLS = (
    f"https://user:{URL_SECRET}@api.clarifai.com",
    f"https://{URL_SECRET}@gateway.example.com/v1",
    f"https://gateway.example.com/v1?api_key={URL_SECRET}",
)
MESSAGES = [{"role": "user", "content": "hi"}]


def rendered(error: BaseException) -> str:
    """The error as a tracker records it; the locals of this test file's own frames left out.

    (A test's parameters and closures hold the secrets it passes in: that is the caller's
    business, as a user's own frames are. Every frame of the library is rendered in full.)
    """
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    chained: traceback.TracebackException | None = exception
    while chained is not None:
        for frame in chained.stack:
            if frame.filename == __file__:
                frame.locals = None
        chained = chained.__cause__ or chained.__context__
    text = "".join(exception.format())
    return "\n".join([text, str(error), repr(error), repr(vars(error))])


def assert_hidden(error: BaseException) -> str:
    text = rendered(error)
    for secret in (PAT, *PAT_HALVES, URL_SECRET):
        assert secret not in text, f"{secret!r} shown in:\n{text}"
    return text


async def raise_from(action: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await action()
    except Exception as error:  # noqa: BLE001 - the error is the result
        return error
    raise AssertionError("no error was raised")


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai(api_key=PAT) as server:
        yield server


# -- a PAT read from a file -----------------------------------------------------------------------


@pytest.mark.parametrize("padded", [PAT + "\n", PAT + "\r\n", f"  {PAT}\t\n", "\ufeff" + PAT])
async def test_surrounding_whitespace_is_trimmed(fake: FakeClarifai, padded: str) -> None:
    if padded.startswith("\ufeff"):  # a byte-order mark is not whitespace: it is refused
        with pytest.raises(ConfigurationError, match="U\\+FEFF"):
            AsyncClarifai(api_key=padded, base_url=fake.base_url)
        return
    fake.add_text("client")
    fake.add_text("module")
    async with AsyncClarifai(api_key=padded, base_url=fake.base_url) as client:
        completion = await client.acompletion(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "client"
    completion = await aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, api_key=padded, base_url=fake.base_url
    )
    assert completion.choices[0].message.content == "module"
    await aclarifai.aclose_default_clients()
    assert [r.headers["Authorization"] for r in fake.requests] == ["Bearer ***"] * 2  # accepted


@pytest.mark.parametrize("name", ["CLARIFAI_PAT", "CLARIFAI_API_KEY"])
async def test_a_pat_from_the_environment_is_trimmed_too(
    fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, PAT + "\n")
    fake.add_text("from env")
    async with AsyncClarifai(base_url=fake.base_url) as client:
        completion = await client.acompletion(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "from env"


@pytest.mark.parametrize(
    ("key", "named"),
    [(WITH_CR, "carriage return"), (WITH_LF, "line feed"), (WITH_NUL, "NUL"), (WITH_TAB, "tab"),
     ("pat-Zq8-very\x7f-secret-0123456789", "U\\+007F"), (PAT + "\n" + PAT, "line feed")],
)
def test_a_control_character_inside_is_refused_at_construction(key: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as info:
        AsyncClarifai(api_key=key)
    assert "api_key" in str(info.value) and "not shown" in str(info.value)
    assert_hidden(info.value)
    with pytest.raises(ConfigurationError, match=named):
        aclarifai.acompletion(model=MODEL, messages=MESSAGES, api_key=key)
    with pytest.raises(ConfigurationError, match=named):
        Agent(MODEL, api_key=key)


def test_a_control_character_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLARIFAI_PAT", WITH_CR)
    with pytest.raises(ConfigurationError, match="CLARIFAI_PAT environment variable") as info:
        AsyncClarifai()
    assert_hidden(info.value)
    # An explicit api_key wins, and is not refused for the variable's sake.
    assert AsyncClarifai(api_key=PAT).base_url.startswith("https://api.clarifai.com")


# -- traceback locals, for every way in ------------------------------------------------------------


async def _batch(**params: Any) -> None:
    await aclarifai.abatch_completion(MODEL, [MESSAGES], **params)


async def _batch_stream(**params: Any) -> None:
    async with contextlib.aclosing(aclarifai.abatch_stream(MODEL, [MESSAGES], **params)) as items:
        async for _item in items:
            pass


def _entry_points(**params: Any) -> list[Callable[[], Awaitable[Any]]]:
    """Each public way to hand the client a PAT and a base URL, raising what it raises."""

    async def client() -> None:
        AsyncClarifai(**params)

    async def module() -> None:
        aclarifai.acompletion(model=MODEL, messages=MESSAGES, **params)

    async def agent() -> None:
        Agent(MODEL, **params)

    async def batch() -> None:
        await _batch(**params)

    async def batch_stream() -> None:
        await _batch_stream(**params)

    return [client, module, agent, batch, batch_stream]


@pytest.mark.parametrize("key", [WITH_CR, WITH_LF, WITH_NUL])
async def test_a_refused_pat_is_in_no_frame(key: str) -> None:
    for action in _entry_points(api_key=key):
        error = await raise_from(action)
        assert isinstance(error, ConfigurationError), action
        text = assert_hidden(error)
        assert "<secret>" in text  # the library's frames were rendered, holding it wrapped
        for half in key.replace("\x00", "\n").replace("\r", "\n").split("\n"):
            assert half not in text


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
async def test_a_refused_base_url_is_in_no_frame(url: str) -> None:
    for action in _entry_points(api_key=PAT, base_url=url):
        error = await raise_from(action)
        assert isinstance(error, ConfigurationError), action
        assert "credentials" in str(error) or "query" in str(error)
        assert "<secret>" in assert_hidden(error)


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
async def test_a_refused_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CLARIFAI_API_BASE", url)
    monkeypatch.setenv("CLARIFAI_PAT", PAT)
    for action in _entry_points():
        error = await raise_from(action)
        assert isinstance(error, ConfigurationError) and "CLARIFAI_API_BASE" in str(error)
        assert_hidden(error)


async def test_failing_requests_show_no_pat(fake: FakeClarifai) -> None:
    """A 401, a 500 and a refused connection, through the client, the module function, an agent."""
    wrong = "pat-wrong-but-still-secret-42"

    async def unauthorized_client() -> None:
        async with AsyncClarifai(api_key=wrong, base_url=fake.base_url, max_retries=0) as client:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES)

    async def unauthorized_module() -> None:
        try:
            await aclarifai.acompletion(
                model=MODEL, messages=MESSAGES, api_key=wrong, base_url=fake.base_url
            )
        finally:
            await aclarifai.aclose_default_clients()

    async def server_error_agent() -> None:
        fake.add_error(500, {"error": {"message": "boom"}})
        async with AsyncClarifai(api_key=PAT, base_url=fake.base_url, max_retries=0) as client:
            await Agent(MODEL, client=client).run("hi")

    async def refused() -> None:
        runner = web.AppRunner(web.Application())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        await runner.cleanup()  # nothing listens on that port any more
        base = f"http://127.0.0.1:{port}"
        async with AsyncClarifai(api_key=PAT, base_url=base, max_retries=0) as client:
            await client.acompletion(model=MODEL, messages=MESSAGES)

    for action in (unauthorized_client, unauthorized_module, server_error_agent, refused):
        error = await raise_from(action)
        assert isinstance(error, aclarifai.APIError), action
        text = assert_hidden(error)
        assert wrong not in text
        assert "'Authorization': '<secret>'" in text  # the frames holding the headers were shown


@pytest.mark.parametrize(
    "url",
    [f"ftp://gateway.example.com/v1?token={URL_SECRET}",
     f"https://gateway.example.com:port/v1?token={URL_SECRET}",
     f"https://gateway.example.com/v1#{URL_SECRET}"],
)
def test_other_refused_urls_are_not_echoed_when_they_may_carry_a_credential(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AsyncClarifai(api_key=PAT, base_url=url)
    message = str(info.value)
    assert "base_url" in message and ("not shown" in message or "query or fragment" in message)
    assert_hidden(info.value)


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
async def test_a_clarifai_mcp_server_with_a_refused_url_or_key(url: str) -> None:
    from aclarifai.mcp import MCPServer

    async def refused_url() -> None:
        MCPServer.clarifai("clarifai/acme.tools.search-mcp", api_key=PAT, base_url=url)

    async def refused_key() -> None:
        MCPServer.clarifai("clarifai/acme.tools.search-mcp", api_key=WITH_CR)

    for action in (refused_url, refused_key):
        error = await raise_from(action)
        assert isinstance(error, ConfigurationError)
        assert "<secret>" in assert_hidden(error)
