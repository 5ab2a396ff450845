"""A bounded soak: thousands of streams, one in ten broken on purpose, a hundred at a time.

The server's replies are scripted in order (FakeClarifai pops one per request), so after the run
the test knows exactly which replies were served: every good one must come back whole, once, to
exactly one caller, and every call must end with a result or a typed error. Runs in CI (a few
seconds here); ``-m soak`` selects it, ``-m "not soak"`` skips it.
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from aclarifai import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncClarifai,
    BadRequestError,
    CompletionStream,
    InternalServerError,
    RateLimitError,
    StreamError,
    Timeout,
)
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

pytestmark = pytest.mark.soak

CALLS = 2000
CONCURRENCY = 100
FAULT_RATE = 0.10
READ_TIMEOUT = 4.0  # stalls are rare and cost this much each; ordinary streams never go quiet


@dataclass
class Script:
    """What the server was told to send, in order; good replies carry an id in their text."""

    kinds: list[str] = field(default_factory=list)
    good: dict[str, list[str]] = field(default_factory=dict)  # id -> content pieces

    def served(self, request_count: int) -> list[str]:
        return self.kinds[:request_count]


def _words(rng: random.Random, reply_id: str) -> list[str]:
    count = rng.randint(3, 25)
    words = [reply_id] + [f"{rng.choice('abcdefgh')}{rng.randint(0, 99)}" for _ in range(count)]
    return [words[0]] + [" " + word for word in words[1:]]


BROKEN_TEXTS = ("broken reply cut in the middle", "broken reply that stalls", "broken reply")


def _fault(fake: FakeClarifai, rng: random.Random, kind: str) -> None:
    pieces = [make_chunk({"content": w}) for w in ("broken", " reply")]
    if kind == "503":
        fake.add_error(503)
    elif kind == "429":
        fake.add_error(429, headers={"retry-after-ms": "5"})
    elif kind == "drop":
        fake.add_disconnect()
    elif kind == "cut-before-output":
        fake.add_sse(b": hello\n\n" + b'data: {"choices": []}', disconnect_after=9)
    elif kind == "cut-mid":
        fake.add_text("broken reply cut in the middle", disconnect_after=rng.randint(1, 4))
    elif kind == "malformed":
        fake.add_chunks([*pieces, b"data: {not json\n\n"])
    elif kind == "stream-error":
        # Before any output this is retried (a 503); after it, it is the caller's StreamError.
        fake.add_chunks([*pieces, {"error": {"message": "overloaded", "code": 503}}],
                        chunk_delay=0.01)
    elif kind == "stall":
        fake.add_text("broken reply that stalls", stall_after=rng.randint(1, 3))
    else:
        assert kind == "400"
        fake.add_error(400)


# The fault mix: mostly retryable, some fatal after output, a few stalls.
FAULTS = ["503"] * 4 + ["429"] * 2 + ["drop"] * 3 + ["cut-before-output"] * 3 + ["cut-mid"] * 3 + [
    "malformed"
] * 2 + ["stream-error"] * 2 + ["400"] * 1 + ["stall"] * 1
FATAL_ERRORS = (
    APIConnectionError, APITimeoutError, APIResponseValidationError, StreamError, BadRequestError,
    InternalServerError, RateLimitError,
)


def script_replies(fake: FakeClarifai, rng: random.Random, calls: int, prefix: str) -> Script:
    script = Script()
    # A tail of good replies after the main script covers the retries.
    for i in range(calls + calls // 2):
        if i < calls and rng.random() < FAULT_RATE:
            kind = rng.choice(FAULTS)
            _fault(fake, rng, kind)
        else:
            kind = "good"
            reply_id = f"{prefix}{i:05d}"
            pieces = _words(rng, reply_id)
            script.good[reply_id] = pieces
            fake.add_text("".join(pieces), chunks=None)
        script.kinds.append(kind)
    return script


@dataclass
class Outcome:
    pieces: list[str]
    error: BaseException | None = None


async def run_calls(client: AsyncClarifai, calls: int) -> list[Outcome]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> Outcome:
        pieces: list[str] = []
        async with limit:
            try:
                async for chunk in client.acompletion(
                    model=MODEL, messages=[{"role": "user", "content": f"call {i}"}]
                ):
                    pieces.extend(choice.delta.content or "" for choice in chunk.choices)
            except Exception as error:  # noqa: BLE001 - every outcome is checked below
                return Outcome(pieces, error)
        return Outcome(pieces)

    return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(calls))), 240)


def check(outcomes: list[Outcome], script: Script, fake: FakeClarifai) -> None:
    # Replies are popped in script order, so the served ones are the first `request_count`,
    # and the good ones among them are the first good ids.
    served = script.served(fake.request_count)
    served_good = set(list(script.good)[: served.count("good")])
    returned: list[str] = []
    for outcome in outcomes:
        text = "".join(outcome.pieces)
        error = outcome.error
        if error is None:
            reply_id = text.split(" ", 1)[0]
            assert reply_id in script.good, text
            assert [p for p in outcome.pieces if p] == script.good[reply_id]  # no dup, no loss
            returned.append(reply_id)
            continue
        assert isinstance(error, FATAL_ERRORS), repr(error)
        assert isinstance(error, APIError)
        # What the caller was handed is what the error says was assembled, and it can only
        # come from a broken reply: a good reply is never cut short or mixed in.
        partial = error.partial
        assert partial is not None
        assert (partial.choices[0].message.content if partial.choices else None) in (text, None)
        assert any(broken.startswith(text) for broken in BROKEN_TEXTS), text
        if text:  # output had reached the caller: whatever ended it is a StreamError
            assert isinstance(error, StreamError), repr(error)
    assert len(returned) == len(set(returned)), "a reply reached two callers"
    assert set(returned) == served_good, "a served reply was lost"


def pool(client: AsyncClarifai) -> tuple[int, int]:
    session = client._session
    assert session is not None
    connector: Any = session.connector
    return len(connector._acquired), sum(len(c) for c in connector._conns.values())


def live(cls: type) -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


async def test_soak_streams_with_injected_faults() -> None:
    rng = random.Random(31337)
    async with FakeClarifai() as fake:
        baseline_tasks = asyncio.all_tasks()

        async def phase(calls: int, prefix: str) -> list[Outcome]:
            async with AsyncClarifai(
                api_key=fake.api_key, base_url=fake.base_url, max_connections=CONCURRENCY,
                timeout=Timeout(read=READ_TIMEOUT),
            ) as client:
                script = script_replies(fake, rng, calls, prefix)
                outcomes = await run_calls(client, calls)
                await fake.wait_idle()
                await fake.wait_until(lambda: fake.open_connections == pool(client)[1])
                assert pool(client)[0] == 0, "a connection is still checked out"
                check(outcomes, script, fake)
            # A fresh client per phase: its pool (a legitimate cache) does not blur the memory.
            await fake.wait_idle(connections=True)
            fake.reset()
            await asyncio.sleep(0.01)  # let closed transports finish their callbacks
            return outcomes

        await phase(CALLS // 10, "w")  # warm-up: caches, lazy imports and free lists fill up
        gc.collect()  # the warm-up's errors, their tracebacks and the streams these hold
        blocks, objects = sys.getallocatedblocks(), len(gc.get_objects())
        streams = live(CompletionStream)  # other tests' failures may keep some alive

        outcomes = await phase(CALLS, "s")
        failures = [o for o in outcomes if o.error is not None]
        assert 0 < len(failures) < CALLS * FAULT_RATE  # faults happened; most were retried away
        kinds = {type(o.error).__name__ for o in failures}
        assert {"StreamConnectionError", "StreamValidationError", "BadRequestError"} <= kinds
        del outcomes, failures
        gc.collect()

        # Flat memory: a leak of one allocation per call would add CALLS blocks; the run-to-run
        # noise measured here is a few dozen.
        assert sys.getallocatedblocks() - blocks < CALLS // 4
        assert len(gc.get_objects()) - objects < 100
        assert live(CompletionStream) == streams

        leftover = [
            t for t in asyncio.all_tasks() - baseline_tasks
            if not t.done() and "RequestHandler" not in t.get_coro().__qualname__
        ]
        assert leftover == []
