"""Profile one client on one scenario: ``python -m benchmarks.profile S1 --client aclarifai``.

Starts the benchmark server, runs the client process with cProfile around the measured part
only, and prints the functions by own time, grouped into the stages of the per-chunk path. For a
sampling profile without cProfile's per-call overhead (which inflates small functions), run the
same client under py-spy instead::

    python -m benchmarks.server --cpu 0 &            # prints {"port": P}; then configure it:
    curl -d '{"scenario": "S1", "mode": "bulk"}' 127.0.0.1:P/_bench/config
    py-spy record --format raw -r 2000 -o s1.txt -- \\
        python -m benchmarks.client --client aclarifai --scenario S1 --port P --cpu 1
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from . import scenarios as sc
from .runner import ROOT, Launch, Server, cores

# (stage, substring of "file:function") in order: the first match names a function's stage
STAGES = (
    ("SSE decoder", "aclarifai/sse.py"),
    ("accumulator", "aclarifai/accumulate.py"),
    ("accumulator (tool calls)", "aclarifai/_toolcall.py"),
    ("partial JSON parser", "aclarifai/_partial_json.py"),
    ("typed views (types.py)", "aclarifai/types.py"),
    ("stream events (events.py)", "aclarifai/events.py"),
    ("CompletionStream machinery", "aclarifai/streaming.py"),
    ("orjson.loads", "orjson.loads"),
    ("aiohttp", "aiohttp/"),
    ("asyncio event loop", "asyncio/"),
    ("benchmark consumer", "benchmarks/"),
)


def stage_of(location: str) -> str:
    return next((stage for stage, key in STAGES if key in location), "other")


def summarize(path: Path, units: int, top: int) -> str:
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = sum(entry[2] for entry in raw.values()) or 1e-9
    by_stage: dict[str, float] = {}
    rows = []
    for (file, line, name), (_, calls, own, _, _) in raw.items():
        location = f"{file}:{name}"
        by_stage[stage_of(location)] = by_stage.get(stage_of(location), 0.0) + own
        rows.append((own, calls, f"{os.path.relpath(file, ROOT) if file.startswith('/') else file}"
                                  f":{line}({name})"))
    lines = [f"own time by stage (cProfile; {units:,} units, total {total * 1e6 / units:.1f} µs/unit):"]
    for stage, own in sorted(by_stage.items(), key=lambda item: -item[1]):
        lines.append(f"  {stage:28} {own * 1e6 / units:7.2f} µs/unit  {own / total:6.1%}")
    lines.append(f"\ntop {top} functions by own time:")
    for own, calls, where in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {own * 1e6 / units:7.2f} µs/unit  {calls / units:6.2f} calls/unit  {where}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=("S1", "S2", "S3", "S4"))
    parser.add_argument("--client", default="aclarifai")
    parser.add_argument("--mode", default="bulk", choices=("bulk", "event"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", default=None, help="keep the .prof file here")
    parser.add_argument("--library", default=None, metavar="DIR",
                        help="import aclarifai from DIR instead of this checkout")
    args = parser.parse_args(argv)
    sizes = sc.sizes_for(args.quick)
    plan, replies = sc.plan(args.scenario, sizes), sc.replies(args.scenario, sizes)
    units = plan.concurrent * plan.sequential * (len(replies[0].chunks) if plan.stream else 1)
    server_cpu, client_cpu = cores()
    with tempfile.TemporaryDirectory() as scratch:
        launch = Launch.make(scratch, args.library)
        server = Server(server_cpu, launch)
        path = Path(args.save or Path(scratch) / "client.prof")
        try:
            server.configure(scenario=args.scenario, mode=args.mode, quick=args.quick,
                             barrier=plan.concurrent if plan.concurrent > 1 else 0)
            command = [sys.executable, "-m", "benchmarks.client", "--client", args.client,
                       "--scenario", args.scenario, "--port", str(server.port),
                       "--cprofile", str(path)]
            if client_cpu is not None:
                command += ["--cpu", str(client_cpu)]
            if args.quick:
                command.append("--quick")
            subprocess.run(command, cwd=launch.cwd, env=launch.env, check=True,
                           stdout=subprocess.DEVNULL)
        finally:
            server.stop()
        print(summarize(path, units, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
