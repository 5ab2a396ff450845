"""``python -m benchmarks``: start the server, run every client on every scenario, check, report.

Each (scenario, mode, repeat, client) is one fresh client process, run one at a time while the
server process sits on another core; clients take turns within each repeat so slow drift of the
machine spreads over all of them. A client whose answer is wrong, that crashes, or whose streams
were not really concurrent gets a FAIL row and makes the exit status 1; missed performance
targets are reported but do not change the exit status.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import checks, importtime, report
from . import scenarios as sc

ROOT = Path(__file__).resolve().parent.parent
ALL_SCENARIOS = (*sc.SCENARIOS, "import")
# client -> scenarios it runs; the aclarifai variants differ only in how a stream is consumed
APPLIES = {
    "floor": ("S1", "S2", "S3", "S4"),
    "aclarifai": ("S1", "S2", "S3", "S4", "S5"),
    "aclarifai-events": ("S1", "S2", "S3"),
    "aclarifai-parsed": ("S2",),
    "aclarifai-limited": ("S4",),  # the same, through an in-memory RateLimiter that never waits
    "aclarifai-otel": ("S1", "S3", "S4"),  # the same, traced (OpenTelemetry SDK, no export)
    "aclarifai-otel-nochunk": ("S1", "S3", "S4"),  # traced, without time_per_output_chunk
    "openai": ("S1", "S2", "S3", "S4"),
    "litellm": ("S1", "S2", "S3", "S4"),
}
# client -> module that must be installed
OPTIONAL = {"openai": "openai", "litellm": "litellm", "aclarifai-otel": "opentelemetry.sdk",
            "aclarifai-otel-nochunk": "opentelemetry.sdk"}
STREAM_MODES = ("bulk", "event")


@dataclass
class Measurement:
    """One (scenario, mode, client): its metrics per repeat, or why it failed or was skipped."""

    scenario: str
    mode: str
    client: str
    runs: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class Launch:
    """How child processes start: from an empty directory, with this checkout on the path.

    Not from the repository root, where ``python -m``/``-c`` would put the working tree's
    ``aclarifai`` first on ``sys.path``: ``--library`` must be able to put another one first.
    """

    cwd: str
    env: dict[str, str]

    @classmethod
    def make(cls, cwd: str, library: str | None = None) -> Launch:
        env = dict(os.environ)
        paths = (library, str(ROOT), env.get("PYTHONPATH"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return cls(cwd, env)


class Server:
    """The benchmark server process (see server.py), started and stopped by the runner."""

    def __init__(self, cpu: int | None, launch: Launch) -> None:
        self._log = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "benchmarks.server"]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self.process = subprocess.Popen(command, cwd=launch.cwd, env=launch.env,
                                        stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the benchmark server did not start")
        self.port = int(json.loads(line)["port"])

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def configure(self, **options: Any) -> None:
        self._call("/_bench/config", options)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/_bench/stats")
        return result

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def available_clients(wanted: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The clients to run, and notes on the ones left out."""
    names = list(APPLIES)
    if wanted:
        names = [n for n in names if any(n == w or n.startswith(w + "-") for w in wanted)]
        unknown = [w for w in wanted if not any(n == w or n.startswith(w + "-") for n in APPLIES)]
        if unknown:
            raise SystemExit(f"unknown clients: {', '.join(unknown)} (known: {', '.join(APPLIES)})")
    chosen, notes = [], []
    for name in names:
        module = OPTIONAL.get(name)
        if module and importlib.util.find_spec(module) is None:
            notes.append(f"{name}: not installed (pip install {module}), skipped")
        else:
            chosen.append(name)
    return chosen, notes


def _run_client(client: str, scenario: str, port: int, cpu: int | None, quick: bool,
                timeout: float, launch: Launch) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.client", "--client", client,
               "--scenario", scenario, "--port", str(port)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    if quick:
        command.append("--quick")
    try:
        done = subprocess.run(command, cwd=launch.cwd, env=launch.env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": "crashed: " + lines[-1][:300]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _metrics(scenario: str, plan: sc.Plan, replies: list[sc.Reply],
             result: dict[str, Any]) -> dict[str, float]:
    if scenario == "S5":
        bound = 1.15 * (result["stream_s"] + result["tool_s"])
        return {"wall_s": result["wall_s"], "stream_s": result["stream_s"], "bound_s": bound,
                "cpu_ms": result["cpu_s"] * 1e3}
    per_request = len(replies[0].chunks) if plan.stream else 1
    units = plan.concurrent * plan.sequential * per_request
    return {
        "cpu_us": result["cpu_s"] * 1e6 / units,
        "wall_ms": result["wall_s"] * 1e3,
        "maxrss_mib": result["maxrss_kib"] / 1024,
        "rss_kib_per_stream": result["rss_growth_kib"] / plan.concurrent,
    }


def run_one(server: Server, m: Measurement, options: argparse.Namespace, cpu: int | None,
            launch: Launch) -> None:
    """One repeat of one measurement: configure the server, run the client, check, record."""
    sizes = sc.sizes_for(options.quick)
    plan = sc.plan(m.scenario, sizes)
    replies = sc.replies(m.scenario, sizes)
    server.configure(scenario=m.scenario, mode=m.mode, quick=options.quick,
                     warmup=0 if m.scenario == "S5" else 1, barrier=plan.concurrent
                     if plan.concurrent > 1 else 0, barrier_timeout=options.timeout / 4)
    result = _run_client(m.client, m.scenario, server.port, cpu, options.quick, options.timeout,
                         launch)
    if "skipped" in result:
        m.skipped = result["skipped"]
        return
    problem = result.get("error") or checks.check_run(m.scenario, plan, replies, result,
                                                        server.stats())
    if problem:
        m.error = problem
        return
    m.runs.append(_metrics(m.scenario, plan, replies, result))


def cores() -> tuple[int | None, int | None]:
    """The server's core and the clients' core, when there are two to pin to."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def run_all(options: argparse.Namespace, clients: list[str], launch: Launch) -> list[Measurement]:
    server_cpu, client_cpu = cores()
    server = Server(server_cpu, launch)
    measurements: list[Measurement] = []
    try:
        for scenario in options.scenarios:
            if scenario == "import":
                continue
            modes = options.modes if scenario in ("S1", "S2") else ("event",)
            for mode in modes:
                group = [Measurement(scenario, mode, c) for c in clients if scenario in APPLIES[c]]
                measurements += group
                for n in range(options.repeat):
                    for m in group:
                        if m.error is None and m.skipped is None:
                            _progress(f"{scenario} {mode} {m.client} (run {n + 1}/{options.repeat})")
                            run_one(server, m, options, client_cpu, launch)
    finally:
        server.stop()
    return measurements


_STARTED = time.monotonic()


def _progress(text: str) -> None:
    sys.stderr.write(f"  [{time.monotonic() - _STARTED:6.1f} s] {text}\n")
    sys.stderr.flush()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a correctness check")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                        help=f"comma-separated, from {','.join(ALL_SCENARIOS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per measurement; the median is reported (default 3, quick 1)")
    parser.add_argument("--clients", default=None,
                        help=f"comma-separated, from {','.join(APPLIES)}; 'aclarifai' takes its "
                             "variants too (default: all that are installed)")
    parser.add_argument("--modes", default=",".join(STREAM_MODES),
                        help="server write modes for S1 and S2: bulk (few large writes), event "
                             "(one event per write); default both")
    parser.add_argument("--write", default=None, metavar="PATH",
                        help="also write the report into this markdown file (docs/performance.md)")
    parser.add_argument("--json", default=None, metavar="PATH", help="write raw results as JSON")
    parser.add_argument("--library", default=None, metavar="DIR",
                        help="import aclarifai from DIR (a directory holding an aclarifai/ "
                             "package) instead of this checkout, to measure a change")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per client process (default 300, quick 60)")
    options = parser.parse_args(argv)
    wanted = {s.strip() for s in options.scenarios.split(",") if s.strip()}
    if wanted - set(ALL_SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(wanted - set(ALL_SCENARIOS)))}")
    options.scenarios = [s for s in ALL_SCENARIOS if s in wanted]
    options.modes = [m.strip() for m in options.modes.split(",") if m.strip()]
    if not options.modes or any(m not in STREAM_MODES for m in options.modes):
        parser.error(f"--modes takes {' and/or '.join(STREAM_MODES)}")
    options.clients = [c.strip() for c in options.clients.split(",")] if options.clients else None
    options.repeat = options.repeat or (1 if options.quick else 3)
    options.timeout = options.timeout or (60.0 if options.quick else 300.0)
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    clients, notes = available_clients(options.clients)
    options.load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="aclarifai-bench-") as scratch:
        launch = Launch.make(scratch, options.library)
        measurements = run_all(options, clients, launch)
        imports: list[importtime.ImportTime] = []
        if "import" in options.scenarios:
            _progress("import times")
            runs = 1 if options.quick else max(5, options.repeat)
            imports = importtime.measure_all(clients, runs, launch.env, launch.cwd)
    options.load.append(os.getloadavg()[0])
    text = report.render(options, measurements, imports, notes)
    sys.stdout.write(text + "\n")
    if options.write:
        report.write_markdown(Path(options.write), text)
    if options.json:
        raw = {"measurements": [m.__dict__ for m in measurements],
               "imports": [i.__dict__ for i in imports], "notes": notes}
        Path(options.json).write_text(json.dumps(raw, indent=1))
    failed = [m for m in measurements if m.error] + [i for i in imports if i.error]
    return 1 if failed else 0
