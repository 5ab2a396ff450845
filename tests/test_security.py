"""The PAT stays secret; redirects, TLS and plain http are handled safely."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import ssl
import subprocess
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aclarifai
from aclarifai import (
    APIConnectionError,
    APIError,
    AsyncClarifai,
    AuthenticationError,
    ConfigurationError,
    Timeout,
)
from aclarifai.client import _Headers, _redirect_headers, _Secret
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

PAT = "pat-Zq8-very-secret-0123456789"
MESSAGES = [{"role": "user", "content": "hi"}]
CHAT_PATH = "/v2/ext/openai/v1/chat/completions"


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai(api_key=PAT) as server:
        yield server


def rendered(error: BaseException) -> str:
    """Everything a user or a log could see of an error, locals of every frame included."""
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    return "\n".join([text, str(error), repr(error), repr(vars(error))])


async def raise_from(action: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await action()
    except Exception as error:  # noqa: BLE001 - the error is the result
        return error
    raise AssertionError("no error was raised")


# -- the PAT in reprs, logs, errors and tracebacks ------------------------------------------------


def test_secret_and_headers_hide_the_pat() -> None:
    secret = _Secret(PAT)
    assert secret.reveal() == PAT
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert PAT not in shown
    headers = _Headers({"Authorization": f"Bearer {PAT}", "X-Other": "visible"})
    for shown in (repr(headers), str(headers), f"{headers}", repr({"h": headers})):
        assert PAT not in shown and "visible" in shown
    client = AsyncClarifai(api_key=PAT)
    for shown in (repr(client), str(client), repr(vars(client)), str(vars(client))):
        assert PAT not in shown


async def test_prepared_requests_hide_the_pat(fake: FakeClarifai) -> None:
    async with AsyncClarifai(api_key=PAT, base_url=fake.base_url) as client:
        request = client._prepare(
            "POST", "/chat/completions", {"model": MODEL}, stream=True,
            timeout=Timeout(), max_retries=0, extra_headers=None,
        )
        assert request.headers["Authorization"] == f"Bearer {PAT}"  # sent, but never shown
        shown = repr({slot: getattr(request, slot) for slot in request.__slots__})
        assert PAT not in shown and "<secret>" in shown


@pytest.mark.parametrize(
    "scenario", ["status", "stream-status", "mid-stream", "stream-event", "refused", "timeout"]
)
async def test_errors_from_inside_a_request_never_show_the_pat(
    fake: FakeClarifai, scenario: str
) -> None:
    options: dict[str, Any] = {"max_retries": 0}
    base_url = fake.base_url
    if scenario in ("status", "stream-status"):
        fake.add_error(500, {"error": {"message": "boom"}})
    elif scenario == "mid-stream":
        fake.add_text("one two three", disconnect_after=2)
    elif scenario == "stream-event":
        fake.add_chunks([{"code": 21313, "description": "Model prediction failed"}])
    elif scenario == "refused":
        with socket.socket() as sock:  # a free loopback port: nothing listens there
            sock.bind(("127.0.0.1", 0))
            base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    else:
        fake.add_text("late", delay=5)
        options["timeout"] = Timeout(read=0.1)

    async with AsyncClarifai(api_key=PAT, base_url=base_url, **options) as client:
        if scenario in ("status", "refused", "timeout"):
            error = await raise_from(lambda: client.acompletion(model=MODEL, messages=MESSAGES))
        else:

            async def consume() -> None:
                async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                    pass

            error = await raise_from(consume)
    assert isinstance(error, APIError)
    text = rendered(error)
    assert PAT not in text
    assert "client = AsyncClarifai(" in text  # the locals really were rendered


async def test_configuration_errors_never_show_the_pat(fake: FakeClarifai) -> None:
    async def bad_client() -> None:
        AsyncClarifai(api_key=PAT, base_url="http://api.example.com")

    async def bad_model() -> None:
        aclarifai.acompletion(model="not a model", messages=MESSAGES, api_key=PAT)

    async def bad_timeout() -> None:
        aclarifai.acompletion(model=MODEL, messages=MESSAGES, api_key=PAT, timeout=-1)

    async def bad_retries() -> None:
        AsyncClarifai(api_key=PAT, max_retries=-1)

    # Each error is raised after the PAT was read, in a frame that had it as an argument.
    for action, marker in (
        (bad_client, "self = AsyncClarifai("),
        (bad_model, "key = <secret>"),
        (bad_timeout, "key = <secret>"),
        (bad_retries, "self = AsyncClarifai("),
    ):
        error = await raise_from(action)
        assert isinstance(error, (ConfigurationError, ValueError))
        text = rendered(error)
        assert PAT not in text
        assert marker in text  # the locals really were rendered


async def test_wrong_pat_error_and_server_echo(fake: FakeClarifai) -> None:
    wrong = "pat-wrong-but-still-secret-42"
    async with AsyncClarifai(api_key=wrong, base_url=fake.base_url) as client:
        error = await raise_from(lambda: client.acompletion(model=MODEL, messages=MESSAGES))
    assert isinstance(error, AuthenticationError)
    assert wrong not in rendered(error)


async def test_the_pat_is_in_no_log_record(
    fake: FakeClarifai, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_error(503)
    fake.add_text("after a retry")
    fake.add_response(307, b"", headers={"Location": fake.chat_url})
    fake.add_text("after a redirect")
    fake.add_error(429, headers={"Retry-After": "3600"})
    async with AsyncClarifai(api_key=PAT, base_url=fake.base_url, max_retries=1) as client:
        await client.acompletion(model=MODEL, messages=MESSAGES)
        async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
            pass
        with pytest.raises(aclarifai.RateLimitError):
            await client.acompletion(model=MODEL, messages=MESSAGES)
    ours = [r for r in caplog.records if r.name == "aclarifai"]
    assert ours, "the library logs its requests"
    messages = [r.getMessage() for r in ours]
    assert any("retrying" in m and "fake-req-000001" in m for m in messages)
    assert any("not retrying" in m and "more than 60s" in m and "fake-req-000005" in m
               for m in messages)
    assert any("-> 200 (request id fake-req-" in m for m in messages)
    for record in caplog.records:
        assert PAT not in record.getMessage()
        assert PAT not in repr(record.args) and PAT not in repr(vars(record))


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_authorization_is_not_sent_to_another_origin(fake: FakeClarifai, stream: bool) -> None:
    async with FakeClarifai(api_key=PAT) as other:  # same host, another port: another origin
        fake.add_response(307, b"", headers={"Location": other.chat_url})
        async with AsyncClarifai(api_key=PAT, base_url=fake.base_url, max_retries=0) as client:
            request = client.acompletion(model=MODEL, messages=MESSAGES)
            with pytest.raises(AuthenticationError):  # the other server wants a PAT it never got
                if stream:
                    async for _chunk in request:
                        pass
                else:
                    await request
        assert fake.last_request.headers["Authorization"] == "Bearer ***"
        assert other.request_count == 1
        moved = other.last_request
        assert "Authorization" not in moved.headers
        assert moved.method == "POST" and moved.json["messages"] == MESSAGES  # body kept (307)


async def test_authorization_is_kept_on_the_same_origin(fake: FakeClarifai) -> None:
    fake.add_response(307, b"", headers={"Location": fake.chat_url})
    fake.add_response(308, b"", headers={"Location": "/v2/ext/openai/v1/chat/completions"})
    fake.add_text("arrived")
    async with AsyncClarifai(api_key=PAT, base_url=fake.base_url) as client:
        completion = await client.acompletion(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "arrived"
    assert [r.headers.get("Authorization") for r in fake.requests] == ["Bearer ***"] * 3


async def test_redirect_loops_end(fake: FakeClarifai) -> None:
    fake.add_response(302, b"", headers={"Location": fake.chat_url}, times=10)
    async with AsyncClarifai(api_key=PAT, base_url=fake.base_url, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="too many redirects"):
            await client.acompletion(model=MODEL, messages=MESSAGES)
    assert fake.request_count == 6


def test_redirect_rules() -> None:
    headers = _Headers({"Authorization": f"Bearer {PAT}", "Accept": "x"})
    same = _redirect_headers("https://api.clarifai.com/a", "https://api.clarifai.com/b", headers)
    assert same["Authorization"] == f"Bearer {PAT}"
    for target in ("https://evil.example/b", "https://api.clarifai.com:8443/b",
                   "https://sub.api.clarifai.com/b"):
        moved = _redirect_headers("https://api.clarifai.com/a", target, headers)
        assert "Authorization" not in moved and moved["Accept"] == "x"
    with pytest.raises(APIConnectionError, match="from https"):
        _redirect_headers("https://api.clarifai.com/a", "http://api.clarifai.com/b", headers)
    with pytest.raises(APIConnectionError, match="refusing a redirect"):
        _redirect_headers("https://api.clarifai.com/a", "file:///etc/passwd", headers)


# -- TLS and plain http ---------------------------------------------------------------------------


async def test_tls_verification_is_on_by_default_and_configurable() -> None:
    context = ssl.create_default_context()
    for option, expected in ((None, True), (context, context), (False, False)):
        async with AsyncClarifai(api_key=PAT, ssl=option) as client:
            connector = client._get_session().connector
            assert isinstance(connector, aiohttp.TCPConnector)
            assert connector._ssl is expected


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@contextlib.asynccontextmanager
async def tls_server(cert: Path, key: Path) -> AsyncIterator[str]:
    """A one-route https server on loopback that answers every chat request with "secure"."""
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        completion = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": "secure"}}]}
        return web.json_response(completion)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_post(CHAT_PATH, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_an_untrusted_certificate_is_refused(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate

    async def no_retry_wait(delay: float) -> None:
        raise AssertionError(f"a certificate error was retried (wait of {delay}s)")

    monkeypatch.setattr(aclarifai._retry, "sleep", no_retry_wait)
    async with tls_server(cert, key) as base_url:
        async with AsyncClarifai(api_key=PAT, base_url=base_url, max_retries=2) as client:
            with pytest.raises(APIConnectionError, match="(?i)certificate") as info:
                await client.acompletion(model=MODEL, messages=MESSAGES)
            assert info.value.retryable is False
            assert PAT not in rendered(info.value)
        trusted = ssl.create_default_context(cafile=str(cert))
        async with AsyncClarifai(api_key=PAT, base_url=base_url, ssl=trusted) as client:
            completion = await client.acompletion(model=MODEL, messages=MESSAGES)
            assert completion.choices[0].message.content == "secure"
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    "url", ["http://api.example.com", "http://10.0.0.5:8080", "http://clarifai.internal/v1"]
)
def test_plain_http_needs_an_explicit_opt_in(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        AsyncClarifai(api_key=PAT, base_url=url)
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        aclarifai.acompletion(model=MODEL, messages=MESSAGES, api_key=PAT, base_url=url)
    monkeypatch.setenv("CLARIFAI_API_BASE", url)
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        AsyncClarifai(api_key=PAT)
    client = AsyncClarifai(api_key=PAT, base_url=url, allow_insecure_http=True)
    assert client.base_url.startswith("http://")


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.1:1234", "http://127.5.6.7", "http://[::1]:99"]
)
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    assert AsyncClarifai(api_key=PAT, base_url=url).base_url.startswith(url)


def test_credentials_in_the_base_url_are_refused_and_not_echoed() -> None:
    for url in (f"https://user:{PAT}@api.clarifai.com", f"https://{PAT}@api.clarifai.com"):
        with pytest.raises(ConfigurationError, match="must not carry credentials") as info:
            AsyncClarifai(api_key="k", base_url=url)
        assert PAT not in str(info.value)
