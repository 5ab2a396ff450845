"""``python -m benchmarks.telemetry``: what OpenTelemetry tracing costs per stream, chunk and call.

Three clients in one process, against the benchmark server (its own process and core): telemetry
off, on (``aclarifai.otel.Telemetry`` on the OpenTelemetry SDK, spans dropped by the exporter,
metrics aggregated in memory and never read: ``client_aclarifai.sdk_telemetry``), and on with
``chunk_metrics=False``. Their runs are interleaved, round after round, so a burst of other work
on the machine lands on all three alike; each figure is the best and the median of the rounds,
in CPU (``time.process_time``) of the measured requests only:

- S1 (one stream of 20,000 content chunks, bulk 64 KiB writes and one event per write):
  µs per chunk, and the difference to telemetry off;
- S4 (200 sequential non-stream calls): µs per call, and the difference: the cost of one
  ``chat`` span and its per-call metrics (duration, token usage).

The cost of one traced stream is about the S4 difference (its span and per-call metrics) plus
its chunks times the S1 difference per chunk. Needs ``opentelemetry-sdk`` (the test extra has it).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aclarifai

from . import scenarios as sc
from .client_aclarifai import _consume_chunks, sdk_telemetry
from .runner import Launch, Server, cores
from .server import pin_to

VARIANTS = ("off", "on", "on, chunk_metrics=False")


def _clients(port: int) -> dict[str, aclarifai.AsyncClarifai]:
    base_url = f"http://127.0.0.1:{port}"
    telemetry = {
        "off": None,
        "on": sdk_telemetry(),
        "on, chunk_metrics=False": sdk_telemetry(chunk_metrics=False),
    }
    return {
        name: aclarifai.AsyncClarifai(api_key=sc.API_KEY, base_url=base_url, telemetry=value)
        for name, value in telemetry.items()
    }


async def _stream(client: aclarifai.AsyncClarifai, plan: sc.Plan) -> None:
    async with client.acompletion(model=sc.MODEL, messages=plan.messages, stream=True) as stream:
        await _consume_chunks(stream)


async def _calls(client: aclarifai.AsyncClarifai, plan: sc.Plan, count: int) -> None:
    for _ in range(count):
        await client.acompletion(model=sc.MODEL, messages=plan.messages)


async def _cpu(work: Callable[[aclarifai.AsyncClarifai], Awaitable[Any]],
               client: aclarifai.AsyncClarifai) -> float:
    started = time.process_time()
    await work(client)
    return time.process_time() - started


async def _rounds(
    clients: dict[str, aclarifai.AsyncClarifai], work: Callable[[aclarifai.AsyncClarifai], Awaitable[Any]],
    rounds: int, unit: int,
) -> dict[str, list[float]]:
    """µs per unit of each client's runs, interleaved (one warm-up run each, not counted)."""
    for client in clients.values():
        await work(client)
    out: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, client in clients.items():
            out[name].append(await _cpu(work, client) / unit * 1e6)
    return out


def _report(title: str, unit: str, runs: dict[str, list[float]]) -> list[str]:
    base_best, base_median = min(runs["off"]), statistics.median(runs["off"])
    lines = [f"{title}: CPU µs per {unit}, {len(runs['off'])} interleaved rounds",
             f"  {'telemetry':26} {'best':>8} {'median':>8} {'+best':>8} {'+median':>8}"]
    for name, values in runs.items():
        best, median = min(values), statistics.median(values)
        extra = "" if name == "off" else f" {best - base_best:+8.2f} {median - base_median:+8.2f}"
        lines.append(f"  {name:26} {best:8.2f} {median:8.2f}{extra}")
    return lines


async def measure(server: Server, rounds: int, modes: list[str]) -> list[str]:
    sizes = sc.Sizes()
    lines: list[str] = []
    clients = _clients(server.port)
    try:
        for mode in modes:
            server.configure(scenario="S1", mode=mode, warmup=0)
            plan = sc.plan("S1", sizes)
            chunks = len(sc.replies("S1", sizes)[0].chunks)  # as the runner counts them
            runs = await _rounds(clients, functools.partial(_stream, plan=plan), rounds, chunks)
            lines += _report(f"S1 {mode} ({sizes.s1_chunks:,} chunks)", "chunk", runs)
        server.configure(scenario="S4", mode="event", warmup=0)
        plan = sc.plan("S4", sizes)
        count = sizes.s4_requests
        runs = await _rounds(clients, functools.partial(_calls, plan=plan, count=count), rounds,
                             count)
        lines += _report(f"S4 ({count} non-stream calls)", "call", runs)
    finally:
        for client in clients.values():
            await client.aclose()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--modes", default="bulk,event", help="S1 write modes (default both)")
    args = parser.parse_args(argv)
    server_cpu, client_cpu = cores()
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(server_cpu, Launch.make(scratch))
        try:
            if client_cpu is not None:
                pin_to(client_cpu)
            lines = asyncio.run(measure(server, args.rounds, args.modes.split(",")))
        finally:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
