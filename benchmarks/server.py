"""The benchmark server: a minimal HTTP/1.1 server on asyncio streams, in a process of its own.

``python -m benchmarks.server [--cpu N]`` prints ``{"port": P}`` once it listens on 127.0.0.1.
Replies are rendered to bytes once, when the runner selects a scenario (``POST /_bench/config``),
so serving costs a few writes per response and the server never competes with the client for the
measured core. It checks what a client sends (path, ``Bearer`` key, model, ``stream`` flag, and in
S5 the tool results) and answers anything wrong with an HTTP error, which the client then fails
on. ``GET /_bench/stats`` reports requests, peak concurrency and problems since the last config.

Modes: ``event`` writes each SSE event as its own chunk of the chunked body (a real server's
pattern), ``bulk`` writes the whole body in 64 KiB pieces, so the client's own per-event cost is
all that is left. With ``barrier`` set, responses are held until that many requests are in flight
(or ``barrier_timeout`` passes), which proves the clients' streams really ran concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
from dataclasses import dataclass, field
from typing import Any

from . import scenarios as sc

_BULK_PIECE = 64 * 1024
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\nx-request-id: bench\r\n\r\n"
)
_LAST_CHUNK = b"0\r\n\r\n"


def _frame(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


@dataclass
class Rendered:
    """One reply, ready to write: chunked-body frames for streams, a JSON body otherwise."""

    frames: list[bytes]
    json_body: bytes

    @classmethod
    def of(cls, reply: sc.Reply, mode: str) -> Rendered:
        events = sc.sse_events(reply)
        if mode == "event":
            frames = [_frame(event) for event in events]
        else:
            body = b"".join(events)
            frames = [_frame(body[i : i + _BULK_PIECE]) for i in range(0, len(body), _BULK_PIECE)]
        return cls(frames, sc.completion_body(reply))


@dataclass
class Config:
    scenario: str = "S1"
    mode: str = "event"
    quick: bool = False
    warmup: int = 1  # the first requests after a config get the small warm-up reply
    barrier: int = 0
    barrier_timeout: float = 30.0


@dataclass
class Stats:
    requests: int = 0
    measured: int = 0
    active: int = 0
    peak_concurrent: int = 0
    barrier_released_by: str | None = None
    problems: list[str] = field(default_factory=list)


class BenchServer:
    def __init__(self) -> None:
        self.config = Config()
        self.stats = Stats()
        self._cache: dict[tuple[str, bool, str, bool], list[Rendered]] = {}
        self._barrier = asyncio.Event()

    def configure(self, options: dict[str, Any]) -> None:
        self.config = Config(**options)
        self.stats = Stats()
        self._barrier = asyncio.Event()
        for warm in (False, True):
            self._rendered(warm)  # render now, never while a client is being measured

    def _sizes(self, warm: bool) -> sc.Sizes:
        sizes = sc.sizes_for(self.config.quick)
        return sc.warm_sizes(sizes) if warm else sizes

    def _rendered(self, warm: bool) -> list[Rendered]:
        c = self.config
        key = (c.scenario, c.quick, c.mode, warm)
        if key not in self._cache:
            replies = sc.replies(c.scenario, self._sizes(warm))
            self._cache[key] = [Rendered.of(r, c.mode) for r in replies]
        return self._cache[key]

    # -- connections --------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                method, path, headers = _parse_head(head)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                await self._route(method, path, headers, body, writer)
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, path: str, headers: dict[str, str], body: bytes,
                     writer: asyncio.StreamWriter) -> None:
        if path == sc.CHAT_PATH and method == "POST":
            await self._chat(headers, body, writer)
        elif path == "/_bench/config" and method == "POST":
            self.configure(json.loads(body))
            await _send_json(writer, 200, {"ok": True})
        elif path == "/_bench/stats":
            await _send_json(writer, 200, self.stats.__dict__)
        else:
            await _send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})

    # -- chat completions ---------------------------------------------------------------------

    async def _chat(self, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        stats.requests += 1
        warm = stats.requests <= self.config.warmup
        problem, request = _check_request(headers, body)
        rendered = self._rendered(warm)
        reply = rendered[0]
        if problem is None and self.config.scenario == "S5":
            problem, step = _s5_step(request, self._sizes(warm))
            reply = rendered[step]
        if problem is None and self.config.scenario == "S4" and request.get("stream"):
            problem = "S4 is a non-stream scenario, got stream=true"
        if problem is not None:
            stats.problems.append(problem)
            await _send_json(writer, 400, {"error": {"message": problem, "type": "bench"}})
            return
        if not warm:
            stats.measured += 1
        stats.active += 1
        stats.peak_concurrent = max(stats.peak_concurrent, stats.active)
        try:
            if not warm and self.config.barrier:
                await self._wait_for_barrier()
            if request.get("stream"):
                await self._send_stream(reply, writer)
            else:
                await _send_bytes(writer, 200, reply.json_body)
        finally:
            stats.active -= 1

    async def _wait_for_barrier(self) -> None:
        if self.stats.active >= self.config.barrier:
            self.stats.barrier_released_by = "count"
            self._barrier.set()
            return
        try:
            await asyncio.wait_for(self._barrier.wait(), self.config.barrier_timeout)
        except asyncio.TimeoutError:
            self.stats.barrier_released_by = "timeout"
            self._barrier.set()

    async def _send_stream(self, reply: Rendered, writer: asyncio.StreamWriter) -> None:
        writer.write(_SSE_HEAD)
        if self.config.mode == "event":
            for frame in reply.frames:
                writer.write(frame)
                await writer.drain()
        else:
            writer.writelines(reply.frames)
        writer.write(_LAST_CHUNK)
        await writer.drain()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target.split("?", 1)[0], headers


def _check_request(headers: dict[str, str], body: bytes) -> tuple[str | None, dict[str, Any]]:
    if headers.get("authorization") != f"Bearer {sc.API_KEY}":
        return "missing or wrong Authorization: Bearer <key>", {}
    try:
        request = json.loads(body)
    except ValueError:
        return "the request body is not JSON", {}
    if request.get("model") != sc.MODEL:
        return f"model {request.get('model')!r} is not {sc.MODEL!r}", request
    if not isinstance(request.get("messages"), list) or not request["messages"]:
        return "no messages", request
    return None, request


def _s5_step(request: dict[str, Any], sizes: sc.Sizes) -> tuple[str | None, int]:
    """S5: the first turn gets the tool calls; a turn carrying every tool result, the answer."""
    results = {m.get("tool_call_id"): m.get("content") for m in request["messages"]
               if m.get("role") == "tool"}
    if not results:
        return None, 0
    expected = {call_id: args for call_id, _, args in sc.s5_replies(sizes)[0].answer.tool_calls}
    if set(results) != set(expected):
        return f"S5: tool results for {sorted(results)}, expected {sorted(expected)}", 1
    for call_id, content in results.items():
        city = json.loads(expected[call_id])["city"]
        try:
            ok = json.loads(content or "null") == sc.s5_tool_result(city)
        except ValueError:
            ok = False
        if not ok:
            return f"S5: wrong tool result for {call_id}: {content!r}", 1
    return None, 1


async def _send_bytes(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    writer.write(
        b"HTTP/1.1 %d %b\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"x-request-id: bench\r\n\r\n%b" % (status, reason.encode(), len(body), body)
    )
    await writer.drain()


async def _send_json(writer: asyncio.StreamWriter, status: int, value: Any) -> None:
    await _send_bytes(writer, status, json.dumps(value).encode())


def pin_to(cpu: int | None) -> None:
    """Run this process on one core only (when the machine has it)."""
    if cpu is not None and hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                    else max(soft, 65536), hard))


async def serve(cpu: int | None) -> None:
    pin_to(cpu)
    raise_fd_limit()
    bench = BenchServer()
    server = await asyncio.start_server(bench.handle, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this core")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.cpu))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
