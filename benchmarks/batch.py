"""``python -m benchmarks.batch``: streamed batches against a hand-written semaphore loop.

The same N non-stream requests (S4's reply) with at most C in flight, three ways, each in a fresh
client process pinned to one core while the benchmark server (``server.py``) sits on another:

- ``semaphore``: what people write by hand: ``asyncio.Semaphore(C)`` around
  ``client.acompletion(...)``, one task per input, ``asyncio.gather`` over all of them;
- ``abatch_stream``: ``aclarifai.abatch_stream(MODEL, inputs, max_concurrency=C, client=...)``
  over a generator, each ``BatchItem`` taken as it comes;
- ``abatch_completion``: the collector over it (the whole input validated first).

Each client makes ``2 * C`` un-timed warm-up requests (connections, lazy imports), then measures
CPU (``time.process_time``) and wall time around the N requests only. Every answer is checked,
and so is the server's count of requests and of the most in flight at once. Variants take turns
within each repeat, so the machine's drift spreads over all of them; medians are reported, and
the ratio to ``semaphore`` (target: at most 1.1x its CPU per request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from . import scenarios as sc
from .runner import Launch, Server
from .server import pin_to, raise_fd_limit

VARIANTS = ("semaphore", "abatch_stream", "abatch_completion")
TARGET = 1.1


async def _semaphore(client: Any, messages: list[dict[str, Any]], n: int, c: int) -> list[Any]:
    gate = asyncio.Semaphore(c)

    async def one() -> Any:
        async with gate:
            return await client.acompletion(model=sc.MODEL, messages=messages)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def _stream(client: Any, messages: list[dict[str, Any]], n: int, c: int) -> list[Any]:
    import aclarifai

    inputs = (messages for _ in range(n))
    completions = []
    batch = aclarifai.abatch_stream(sc.MODEL, inputs, max_concurrency=c, client=client)
    async with contextlib.aclosing(batch) as items:
        async for item in items:
            completions.append(item.completion if item.error is None else item.error)
    return completions


async def _collect(client: Any, messages: list[dict[str, Any]], n: int, c: int) -> list[Any]:
    import aclarifai

    return list(await aclarifai.abatch_completion(
        sc.MODEL, [messages] * n, max_concurrency=c, client=client))


RUN = {"semaphore": _semaphore, "abatch_stream": _stream, "abatch_completion": _collect}


async def _child(variant: str, port: int, n: int, c: int) -> dict[str, Any]:
    import aclarifai

    messages = sc.plan("S4", sc.FULL).messages
    expected = sc.replies("S4", sc.FULL)[0].answer.content
    run = RUN[variant]
    async with aclarifai.AsyncClarifai(api_key=sc.API_KEY, base_url=f"http://127.0.0.1:{port}",
                                       max_retries=0) as client:
        await run(client, messages, 2 * c, c)
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        results = await run(client, messages, n, c)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    wrong = sum(1 for r in results
                if not isinstance(r, aclarifai.ChatCompletion) or r.choices[0].message.content != expected)
    return {"cpu_s": cpu, "wall_s": wall, "results": len(results), "wrong": wrong}


def _run_child(variant: str, server: Server, launch: Launch, n: int, c: int) -> dict[str, Any]:
    server.configure(scenario="S4", mode="event", warmup=2 * c)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.batch", "--child", variant, "--port", str(server.port),
         "--requests", str(n), "--concurrency", str(c)],
        cwd=launch.cwd, env=launch.env, capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    stats = server.stats()
    problems = []
    if report["wrong"] or report["results"] != n:
        problems.append(f"{report['wrong']} wrong answers, {report['results']} of {n} results")
    if stats["measured"] != n or stats["problems"]:
        problems.append(f"server saw {stats['measured']} measured requests: {stats['problems'][:3]}")
    if stats["peak_concurrent"] > c:
        problems.append(f"{stats['peak_concurrent']} requests in flight, above {c}")
    if problems:
        raise SystemExit(f"{variant}: " + "; ".join(problems))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        pin_to(0)
        raise_fd_limit()
        report = asyncio.run(_child(args.child, args.port, args.requests, args.concurrency))
        print(json.dumps(report))
        return 0
    n, c, repeats = (200, 8, 1) if args.quick else (args.requests, args.concurrency, args.repeats)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as cwd:
        launch = Launch.make(cwd)
        server = Server(1, launch)
        try:
            for repeat in range(repeats):
                order = VARIANTS[repeat % 3:] + VARIANTS[:repeat % 3]
                for variant in order:
                    runs[variant].append(_run_child(variant, server, launch, n, c))
        finally:
            server.stop()
    cpu = {v: statistics.median(r["cpu_s"] for r in runs[v]) / n * 1e6 for v in VARIANTS}
    print(f"{n} non-stream requests, at most {c} in flight, medians of {repeats} run(s)")
    print("| way | CPU µs/request | vs semaphore | requests/s (wall) |")
    print("|---|---:|---:|---:|")
    for v in VARIANTS:
        rate = n / statistics.median(r["wall_s"] for r in runs[v])
        print(f"| `{v}` | {cpu[v]:.0f} | {cpu[v] / cpu['semaphore']:.2f}x | {rate:,.0f} |")
    pairs = zip(runs["abatch_stream"], runs["semaphore"], strict=True)
    ratios = ", ".join(f"{r['cpu_s'] / s['cpu_s']:.2f}" for r, s in pairs)
    met = "met" if cpu["abatch_stream"] <= TARGET * cpu["semaphore"] else "missed"
    print(f"abatch_stream / semaphore CPU, per repeat: {ratios} (target <= {TARGET}x: {met})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
