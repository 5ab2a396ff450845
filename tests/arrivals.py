"""A loopback chat-completions server that timestamps every request's arrival.

The limiter tests count request starts as the server sees them: ``Arrivals`` answers each
``POST .../chat/completions`` at once with a small JSON completion, and records when it arrived
(``time.monotonic()``, which on Linux is one clock for every process on the machine) and which
worker sent it (the ``X-Worker`` header). ``throttle_at`` lists arrival numbers (0-based) that get
a 429 with ``Retry-After`` instead. FakeClarifai is not used here because its replies are scripted
per request order, and these tests need the arrival times of several processes on one server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web

PATH = "/v2/ext/openai/v1/chat/completions"
API_KEY = "arrivals-pat-0123456789"


@dataclass
class Arrival:
    at: float
    worker: str
    status: int


@dataclass
class Arrivals:
    throttle_at: set[int] = field(default_factory=set)
    retry_after: str = "2"
    arrivals: list[Arrival] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    async def __aenter__(self) -> Arrivals:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        body = await request.json()
        number = len(self.arrivals)
        worker = request.headers.get("X-Worker", "")
        if number in self.throttle_at:
            self.arrivals.append(Arrival(at, worker, 429))
            return web.json_response(
                {"error": {"message": "too many requests", "type": "rate_limit_error"}},
                status=429, headers={"Retry-After": self.retry_after},
            )
        self.arrivals.append(Arrival(at, worker, 200))
        return web.json_response({
            "id": f"arrival-{number}", "object": "chat.completion", "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        })

    def starts(self) -> list[float]:
        return sorted(a.at for a in self.arrivals)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals inside any half-open window ``[t, t + window)``."""
    best, low = 0, 0
    for high, t in enumerate(times):
        while times[low] <= t - window:
            low += 1
        best = max(best, high - low + 1)
    return best
