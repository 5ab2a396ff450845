"""One worker process of the limiter tests: N requests through a shared limiter, then a summary.

``python -m tests.limit_worker --base-url URL --worker NAME --requests N [--redis URL --key K]``
sends N non-stream completions (``--concurrency`` at a time) through one ``AsyncClarifai`` whose
limiter is a ``RedisRateLimiter`` (with ``--redis``) or an in-memory ``RateLimiter``, and prints
one JSON line: ``{"worker": ..., "ok": n, "errors": [...], "began": t0, "ended": t1}``
(``time.monotonic()`` around the requests). The tests start several of these as
separate processes, as gunicorn or Celery would.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

from aclarifai import AsyncClarifai, Limiter, RateLimiter

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"


async def run(args: argparse.Namespace) -> dict[str, object]:
    redis = None
    limiter: Limiter
    if args.redis:
        from redis.asyncio import Redis

        from aclarifai.redis import RedisRateLimiter

        redis = Redis.from_url(args.redis)
        limiter = RedisRateLimiter(redis, key=args.key, rate=args.rate, burst=args.burst)
    else:
        limiter = RateLimiter(args.rate, burst=args.burst)
    ok, errors = 0, []
    gate = asyncio.Semaphore(args.concurrency)
    client = AsyncClarifai(
        api_key=args.api_key, base_url=args.base_url, limiter=limiter, max_retries=3,
        default_headers={"X-Worker": args.worker},
    )

    async def one(i: int) -> None:
        nonlocal ok
        async with gate:
            try:
                await client.acompletion(MODEL, [{"role": "user", "content": f"request {i}"}])
                ok += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    try:
        async with client:
            began = time.monotonic()  # one clock for every process on Linux
            await asyncio.gather(*(one(i) for i in range(args.requests)))
            ended = time.monotonic()
    finally:
        if redis is not None:
            await redis.aclose()
    return {"worker": args.worker, "ok": ok, "errors": errors, "began": began, "ended": ended}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--redis", default=None)
    parser.add_argument("--key", default="fleet-test")
    summary = asyncio.run(run(parser.parse_args()))
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")


if __name__ == "__main__":
    main()
