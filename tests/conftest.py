"""Shared fixtures: a FakeClarifai per test, and a guard that fails any test that leaks.

``-W error`` turns warnings into failures, but a ResourceWarning raised in ``__del__`` goes to
``sys.unraisablehook`` and "Unclosed client session" is logged by asyncio's exception handler;
neither would fail a test on its own. The autouse guard collects both (after ``gc.collect()``,
so abandoned objects are finalised inside the test that abandoned them).

``gc.collect()`` is what makes the guard costly (tens of milliseconds once hypothesis is loaded),
so it runs only where something can leak: async tests, sync tests that created a socket (an
event loop makes one, so does any connection; an audit hook counts them) and tests marked
``@pytest.mark.leakcheck``. (``gc.freeze()`` after collection would make every collection cheap,
but it hides frozen objects from ``gc.get_referrers()``, which hypothesis relies on.)
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from aclarifai import AsyncClarifai, _retry
from aclarifai.testing import FakeClarifai
from tests.redis_server import RedisProcess

STREAMS = Path(__file__).parent / "fixtures" / "streams"
MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leakcheck: run the leak guard's gc.collect() for this sync test too"
    )
    config.addinivalue_line(
        "markers", "soak: a bounded soak test (many streams, injected faults); runs in CI"
    )
    config.addinivalue_line(
        "markers", "realtime: takes real seconds by design (a rate held over time); bounded, runs in CI"
    )


_sockets_created = [0]


def _count_sockets(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.__new__":
        _sockets_created[0] += 1


sys.addaudithook(_count_sockets)  # for the whole session: audit hooks cannot be removed


def _needs_collect(request: pytest.FixtureRequest, sockets_before: int) -> bool:
    if _sockets_created[0] != sockets_before:
        return True
    if request.node.get_closest_marker("leakcheck") is not None:
        return True
    return inspect.iscoroutinefunction(getattr(request.node, "function", None))


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    sockets_before = _sockets_created[0]
    unraisable: list[Any] = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    collector = _Collector()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(collector)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
            if _needs_collect(request, sockets_before):
                gc.collect()
    finally:
        sys.unraisablehook = previous_hook
        asyncio_logger.removeHandler(collector)
    problems = [f"unraisable: {u.exc_value!r} in {u.object!r}" for u in unraisable]
    problems += [f"asyncio logged: {r.getMessage()}" for r in collector.records]
    assert not problems, "\n".join(problems)


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai() as server:
        yield server


@pytest.fixture
async def client(fake: FakeClarifai) -> AsyncIterator[AsyncClarifai]:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as c:
        yield c


@pytest.fixture(autouse=True)
def no_pat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a real PAT from the developer's environment."""
    for name in ("CLARIFAI_PAT", "CLARIFAI_API_KEY", "CLARIFAI_API_BASE", "CLARIFAI_UI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    """A started real ``redis-server`` on 127.0.0.1 (see ``tests/redis_server.py``)."""
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_process: RedisProcess) -> str:
    """The URL of a real, freshly started ``redis-server`` (``redis://127.0.0.1:PORT/0``)."""
    return redis_process.url


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits requested by the client, in order; no real sleeping (each yields once)."""
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(_retry, "sleep", record)
    return delays
