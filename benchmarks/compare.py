"""``python -m benchmarks.compare --base DIR``: two versions of aclarifai in the same run.

Like ``python -m benchmarks``, but every aclarifai client runs twice per repeat: once with this
checkout's library (or ``--head``'s) and once with the one in ``DIR`` (a directory holding an ``aclarifai/``
package, e.g. ``git archive <commit> aclarifai | tar -x -C DIR``), interleaved with the floor,
so that all of them see the same load. Answers are checked as in the main runner. Prints, per
scenario and client, the median CPU per unit of both versions, their ratios to the floor of the
same run, and the change. On a loaded machine this is the way to say "unchanged" or "x% faster"::

    python -m benchmarks.compare --base /tmp/old --scenarios S1,S3,S4 --clients floor,aclarifai
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence

from .runner import APPLIES, Launch, Measurement, Server, available_clients, cores, run_one


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, metavar="DIR",
                        help="the other library: a directory holding an aclarifai/ package")
    parser.add_argument("--head", default=None, metavar="DIR",
                        help="measure the library in DIR instead of this checkout's")
    parser.add_argument("--scenarios", default="S1,S3,S4")
    parser.add_argument("--clients", default="floor,aclarifai",
                        help=f"comma-separated, exact names, from {','.join(APPLIES)}")
    parser.add_argument("--modes", default="bulk,event", help="S1/S2 write modes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    wanted = options.clients.split(",")
    clients, notes = available_clients(wanted)
    clients = [c for c in clients if c in wanted]  # exact names: no variants unless listed
    server_cpu, client_cpu = cores()
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        launches = {"": Launch.make(scratch, options.head),
                    "base": Launch.make(scratch, options.base)}
        server = Server(server_cpu, launches[""])
        try:
            for scenario in options.scenarios.split(","):
                modes = options.modes.split(",") if scenario in ("S1", "S2") else ["event"]
                for mode in modes:
                    rows: dict[tuple[str, str], Measurement] = {}
                    for client in clients:
                        if scenario not in APPLIES[client]:
                            continue
                        versions = ("",) if not client.startswith("aclarifai") else ("", "base")
                        for version in versions:
                            rows[client, version] = Measurement(scenario, mode, client)
                    for repeat in range(options.repeat):
                        for (client, version), m in rows.items():
                            print(f"  {scenario} {mode} {client}{' (base)' if version else ''} "
                                  f"run {repeat + 1}/{options.repeat}", file=sys.stderr)
                            run_one(server, m, options, client_cpu, launches[version])
                    failed |= _print(scenario, mode, rows)
        finally:
            server.stop()
    for note in notes:
        print(f"- {note}")
    return 1 if failed else 0


def _print(scenario: str, mode: str, rows: dict[tuple[str, str], Measurement]) -> bool:
    failed = False
    medians: dict[tuple[str, str], float] = {}
    for key, m in rows.items():
        if m.error or m.skipped:
            failed |= bool(m.error)
            print(f"{scenario} {mode} {key[0]}{' (base)' if key[1] else ''}: "
                  f"{m.error or m.skipped}")
        elif m.runs:
            medians[key] = statistics.median(run["cpu_us"] for run in m.runs)
    floor = medians.get(("floor", ""))
    print(f"\n{scenario} {mode}: median CPU µs per unit, {len(next(iter(rows.values())).runs)} runs")
    print(f"  {'client':24} {'base':>9} {'x floor':>8} {'this':>9} {'x floor':>8} {'change':>8}")
    for client in dict.fromkeys(c for c, _ in rows):
        this, base = medians.get((client, "")), medians.get((client, "base"))
        if this is None:
            continue
        ratio = f"{this / floor:.3f}x" if floor else ""
        if base is None:
            print(f"  {client:24} {'':>9} {'':>8} {this:9.2f} {ratio:>8}")
            continue
        base_ratio = f"{base / floor:.3f}x" if floor else ""
        print(f"  {client:24} {base:9.2f} {base_ratio:>8} {this:9.2f} {ratio:>8} "
              f"{(this / base - 1) * 100:+7.1f}%")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
