"""The Ray driver of ``tests/test_ray.py``: a local Ray in a process of its own.

``python -m tests.ray_driver --base-url URL --redis-url URL --temp-dir DIR --out FILE`` starts a
local Ray (``ray.init(num_cpus=2)``), maps ``--rows`` rows through ``ClarifaiChat`` with 2 actors
sharing one ``RedisRateLimiter`` of ``--rate`` per second, then runs ``docs/batches.md``'s Ray
blocks as written, shuts Ray down and writes what came back as JSON to ``--out``.

Ray Data leaves the process that ran a dataset changed for good (hooks and caches of its own:
a later test's allocation count drifts), so the pytest process never runs one. The actors find
the PAT and the server in the environment this driver was started with (``CLARIFAI_PAT``,
``CLARIFAI_API_BASE``), as a user's shell would give them; the first job passes them explicitly
(``Secret``, ``base_url=``) instead.
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import Any

import orjson
import ray

from aclarifai.ray import ClarifaiChat, Secret

from .test_docs import extract_blocks

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
ROOT = Path(__file__).resolve().parent.parent


def shared_limiter(redis_url: str, rate: float) -> Any:
    """Called in each actor (a Redis client cannot be pickled); notes which actor made one."""
    from redis import Redis as SyncRedis
    from redis.asyncio import Redis

    from aclarifai.redis import RedisRateLimiter

    with SyncRedis.from_url(redis_url) as registry:
        registry.sadd("actor-pids", os.getpid())
    return RedisRateLimiter(Redis.from_url(redis_url), key="ray-test", rate=rate)


def map_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    items = [{"id": i, "messages": [{"role": "user", "content": f"question {i}"}]}
             for i in range(args.rows)]
    out = ray.data.from_items(items).map_batches(
        ClarifaiChat,
        fn_constructor_kwargs={
            "model": MODEL, "api_key": Secret(os.environ["CLARIFAI_PAT"]), "base_url": args.base_url,
            "limiter": functools.partial(shared_limiter, args.redis_url, args.rate),
            "max_concurrency": 8, "max_retries": 0, "key_column": "id",
        },
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=25,
        num_cpus=0.5,  # 2 actors and the read tasks fit in 2 CPUs
    )
    rows: list[dict[str, Any]] = out.take_all()
    return rows


def docs_blocks() -> dict[str, Any]:
    page = ROOT / "docs" / "batches.md"
    blocks = [b for b in extract_blocks(page) if "tests/test_ray.py" in (b.skip or "")]
    results: dict[str, Any] = {"blocks": len(blocks)}
    for block in blocks:
        namespace: dict[str, Any] = {"__name__": f"batches_md_{block.line}"}
        exec(compile("\n" * block.line + block.source, str(page), "exec"), namespace)
        if "rows" in namespace:
            results["laptop_rows"], results["laptop_failed"] = namespace["rows"], namespace["failed"]
        if "labels" in namespace:
            results["labelled"] = True
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--temp-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url  # the docs' Redis block reads it
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=args.temp_dir, log_to_driver=False)
    try:
        result = {"rows": map_rows(args), **docs_blocks()}
    finally:
        ray.shutdown()
    Path(args.out).write_bytes(orjson.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
