"""Each stage of aclarifai's per-chunk path alone, on the S1/S2 bodies: ``python -m benchmarks.stages``.

No network: the body the server would send is fed straight to each stage, and the last lines run
a real ``CompletionStream`` over an in-memory response (64 KiB reads), consumed by the benchmark's
own chunk and event loops. Numbers are µs per chunk, best of ``--repeat``: the best run is the
one least disturbed by other work, which makes this the tool for comparing two versions of the
library on a busy machine (``PYTHONPATH=other/checkout python -m benchmarks.stages``). It uses
``CompletionStream``'s constructor, which is internal: update ``_stream_over`` if that changes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson

from aclarifai import ChatCompletionChunk, ChunkAccumulator, CompletionStream, SSEDecoder

from . import scenarios as sc
from .client_aclarifai import _consume_chunks, _consume_events

_PIECE = 64 * 1024


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _split_floor(pieces: list[bytes]) -> list[bytes]:
    out, pending = [], b""
    for data in pieces:
        if pending:
            data = pending + data
        lines = data.split(b"\n")
        pending = lines.pop()
        out += [line[6:] for line in lines if line.startswith(b"data: ")]
    return out


def _decode(pieces: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    out = [e.data for p in pieces for e in decoder.feed(p)]
    return out + [e.data for e in decoder.flush()]


def _user_reads(chunks: list[ChatCompletionChunk]) -> None:
    """What a user's loop reads of each chunk (client_aclarifai's chunk variant)."""
    for chunk in chunks:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if delta.content:
            _ = delta.content
        if delta.tool_calls:
            for fragment in delta.tool_calls:
                _ = (fragment.index, fragment.id, fragment.function.name, fragment.function.arguments)
        _ = choice.finish_reason


class _Body:
    """What CompletionStream reads from an aiohttp response: ``readany()`` over fixed pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)

    async def readany(self) -> bytes:
        return next(self._pieces, b"")


class _Response:
    headers = {"Content-Type": "text/event-stream"}
    status = 200
    closed = False

    def __init__(self, pieces: list[bytes]) -> None:
        self.content = _Body(pieces)

    def close(self) -> None:
        self.closed = True

    release = close


def _stream_over(pieces: list[bytes], consume: Any) -> Callable[[], Any]:
    async def opener() -> Any:
        return _Response(pieces)

    async def run() -> None:
        stream = CompletionStream(opener, lambda error, attempt: None, max_line_size=1 << 23)
        await consume(stream)

    return lambda: asyncio.run(run())


def stages(name: str, repeat: int) -> list[tuple[str, float]]:
    reply = sc.replies(name, sc.FULL)[0]
    events = sc.sse_events(reply)
    body = b"".join(events)
    pieces = [body[i : i + _PIECE] for i in range(0, len(body), _PIECE)]
    n = len(reply.chunks)
    datas = [d for d in _decode(pieces) if d != "[DONE]"]
    raw = [d.encode() for d in datas]
    objs = [orjson.loads(d) for d in datas]

    def feed(events: bool) -> None:
        acc = ChunkAccumulator()
        buffer: list[Any] | None = [] if events else None
        for obj in objs:
            acc.feed(obj, buffer)
            if buffer:
                buffer.clear()
        acc.end()

    def materialise_parsed() -> None:
        acc = ChunkAccumulator()
        buffer: list[Any] = []
        for obj in objs:
            acc.feed(obj, buffer)
            for event in buffer:
                if event.type == "tool_call.arguments.delta":
                    _ = event.parsed_so_far
            buffer.clear()

    def wrap_and_read() -> None:
        _user_reads([ChatCompletionChunk(obj) for obj in objs])

    timings = [
        ("floor: split lines on b'\\n' (64 KiB reads)", lambda: _split_floor(pieces)),
        ("SSEDecoder.feed (64 KiB reads)", lambda: _decode(pieces)),
        ("SSEDecoder.feed (one event per read)", lambda: _decode(events)),
        ("orjson.loads(str), as the library does", lambda: [orjson.loads(d) for d in datas]),
        ("orjson.loads(bytes), as the floor does", lambda: [orjson.loads(d) for d in raw]),
        ("ChunkAccumulator.feed, no events (chunk iteration)", lambda: feed(False)),
        ("ChunkAccumulator.feed, with events (stream.events())", lambda: feed(True)),
        ("  + read parsed_so_far on every fragment", materialise_parsed),
        ("ChatCompletionChunk + a user's reads of it", wrap_and_read),
        ("whole CompletionStream, chunks, no socket", _stream_over(pieces, _consume_chunks)),
        ("whole CompletionStream, stream.events(), no socket",
         _stream_over(pieces, lambda stream: _consume_events(stream, live=False))),
    ]
    return [(label, _best(fn, repeat) * 1e6 / n) for label, fn in timings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="S1,S2")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    for name in args.scenarios.split(","):
        print(f"{name}: µs per chunk, best of {args.repeat}")
        for label, micros in stages(name, args.repeat):
            print(f"  {micros:7.2f}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
