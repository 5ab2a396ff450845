"""``python -m benchmarks.limiter``: what a limiter costs per acquire, and what Redis sustains.

1. µs per ``acquire()`` (p50/p99) of the in-memory ``RateLimiter`` and of ``RedisRateLimiter``
   on a loopback ``redis-server``, at a rate that never makes a caller wait: the protocol's cost,
   not the limit's waiting.
2. Multi-process throughput: ``--processes`` processes (8 tasks each) acquiring from one Redis key
   for ``--seconds``: acquires per second the shared limiter serves when it does not limit, and
   the rate it holds when it does (``--rate``, e.g. 200/s) with every process competing.

The per-request cost inside a real request is measured by the S4 scenario of the main benchmark:
``python -m benchmarks --scenarios S4 --clients aclarifai,aclarifai-limited``.
``redis-server`` must be installed (``apt-get install redis-server``); it is started on a free
port in a temporary directory and stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aclarifai import RateLimiter

KEY = "bench"


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    return p50, p99


async def _time_acquires(acquire: Callable[[], Awaitable[None]], count: int) -> list[int]:
    for _ in range(min(count, 200)):  # warm up (script loading, connection)
        await acquire()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        started = clock()
        await acquire()
        samples.append(clock() - started)
    return samples


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="aclarifai-bench-redis-")
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self._dir.name,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.close()
        raise SystemExit("redis-server did not start")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._dir.cleanup()


async def _redis_acquires(url: str, count: int) -> list[int]:
    from redis.asyncio import Redis

    from aclarifai.redis import RedisRateLimiter

    redis = Redis.from_url(url)
    try:
        limiter = RedisRateLimiter(redis, key=KEY + "-latency", rate=1e9)
        return await _time_acquires(limiter.acquire, count)
    finally:
        await redis.aclose()


def _worker(url: str, rate: float, seconds: float, ready: Any, go: Any, results: Any) -> None:
    async def run() -> int:
        from redis.asyncio import Redis

        from aclarifai.redis import RedisRateLimiter

        redis = Redis.from_url(url)
        limiter = RedisRateLimiter(redis, key=f"{KEY}-{rate:g}", rate=rate)
        await redis.ping()
        ready.put(True)
        await asyncio.to_thread(go.wait)
        end = time.monotonic() + seconds
        done = 0

        async def task() -> None:
            nonlocal done
            while time.monotonic() < end:
                await limiter.acquire()
                if time.monotonic() <= end:
                    done += 1

        await asyncio.gather(*(task() for _ in range(8)))
        await redis.aclose()
        return done

    results.put(asyncio.run(run()))


def _throughput(url: str, processes: int, rate: float, seconds: float) -> float:
    """Acquires per second over ``seconds``, every process started before the clock runs."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    workers = [context.Process(target=_worker, args=(url, rate, seconds, ready, go, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    go.set()
    total = sum(results.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    return total / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.limiter")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0, help="the limited run's rate")
    args = parser.parse_args(argv)
    memory_count, redis_count = (2_000, 200) if args.quick else (200_000, 20_000)
    seconds = 0.5 if args.quick else args.seconds

    memory = asyncio.run(_time_acquires(RateLimiter(1e9).acquire, memory_count))
    p50, p99 = _percentiles(memory)
    print(f"in-memory RateLimiter.acquire: p50 {p50:.2f} µs, p99 {p99:.2f} µs "
          f"(mean {statistics.fmean(memory) / 1000:.2f} µs, {memory_count} acquires)")
    server = RedisServer()
    try:
        remote = asyncio.run(_redis_acquires(server.url, redis_count))
        p50, p99 = _percentiles(remote)
        print(f"RedisRateLimiter.acquire (loopback): p50 {p50:.0f} µs, p99 {p99:.0f} µs "
              f"({redis_count} acquires, one round trip each)")
        unlimited = _throughput(server.url, args.processes, 1e9, seconds)
        print(f"{args.processes} processes x 8 tasks, one Redis key, no limit: "
              f"{unlimited:,.0f} acquires/s")
        held = _throughput(server.url, args.processes, args.rate, seconds)
        print(f"{args.processes} processes x 8 tasks, one Redis key, rate={args.rate:g}/s: "
              f"{held:,.1f} starts/s held")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
