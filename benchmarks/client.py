"""One client process: ``python -m benchmarks.client --client NAME --scenario S1 --port P``.

Imports only the one library under test, makes one un-timed warm-up request (first-call costs:
lazy imports, the connection), then measures the scenario: CPU (``time.process_time``) and wall
time around the requests only, peak RSS and its growth (``ru_maxrss``, KiB). Prints one JSON
object with the answers it assembled, for the runner to check.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import json
import resource
import sys
import time
from dataclasses import replace
from typing import Any

from . import scenarios as sc
from .server import pin_to, raise_fd_limit

# client name -> module (client_<module>.py); variants share a module
CLIENTS = {
    "floor": "floor",
    "aclarifai": "aclarifai",
    "aclarifai-events": "aclarifai",
    "aclarifai-parsed": "aclarifai",
    "aclarifai-limited": "aclarifai",
    "aclarifai-otel": "aclarifai",
    "aclarifai-otel-nochunk": "aclarifai",
    "openai": "openai",
    "litellm": "litellm",
}


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _run_plan(impl: Any, plan: sc.Plan) -> list[dict[str, Any]]:
    if plan.concurrent > 1:
        return list(await asyncio.gather(*(impl.stream(plan) for _ in range(plan.concurrent))))
    call = impl.stream if plan.stream else impl.complete
    return [await call(plan) for _ in range(plan.sequential)]


async def measure(name: str, port: int, plan: sc.Plan, warm_plan: sc.Plan,
                  profile_path: str | None) -> dict[str, Any]:
    module = importlib.import_module(f"benchmarks.client_{CLIENTS[name]}")
    impl = module.make(port, name)
    await impl.open()
    try:
        await _run_plan(impl, replace(warm_plan, concurrent=1, sequential=1))
        gc.collect()
        profiler = cProfile.Profile() if profile_path else None
        rss_before = _maxrss_kib()
        cpu = time.process_time()
        wall = time.perf_counter()
        if profiler:
            profiler.enable()
        results = await _run_plan(impl, plan)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        rss_after = _maxrss_kib()
    finally:
        await impl.close()
    if profiler and profile_path:
        profiler.dump_stats(profile_path)
    return {"cpu_s": cpu, "wall_s": wall, "maxrss_kib": rss_after,
            "rss_growth_kib": rss_after - rss_before, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", required=True, choices=sorted(CLIENTS))
    parser.add_argument("--scenario", required=True, choices=sc.SCENARIOS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cprofile", default=None, help="write a cProfile of the measured part")
    args = parser.parse_args(argv)
    pin_to(args.cpu)
    raise_fd_limit()
    sizes = sc.sizes_for(args.quick)
    plan = sc.plan(args.scenario, sizes)
    warm_plan = sc.plan(args.scenario, sc.warm_sizes(sizes))
    if args.scenario == "S5":
        from .client_agent import measure as measure_agent

        report = asyncio.run(measure_agent(args.port, plan, warm_plan))
    else:
        report = asyncio.run(measure(args.client, args.port, plan, warm_plan, args.cprofile))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
