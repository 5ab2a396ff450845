"""``python -m benchmarks.callcount --port P --variant limited --calls N``: S4's calls, for valgrind.

Makes 5 warm-up calls, then ``N`` sequential non-stream calls (S4's request) against a running
benchmark server, with one client variant: ``plain`` (no limiter), ``limited`` (an in-memory
``RateLimiter`` that never waits), ``budget`` (a ``TokenBudget`` that never waits) or ``hooks``
(an ``on_request`` hook). Nothing is timed: run it under ``valgrind --tool=callgrind`` twice, with
two values of ``N``, and the difference of the instruction counts divided by the difference of
``N`` is the cost of one call in instructions, which other work on the machine does not move
(CPU time on a loaded 2-core machine moves by 10-30% between runs)::

    python -m benchmarks.server --cpu 0 &             # prints {"port": P}
    curl -d '{"scenario": "S4", "warmup": 0}' 127.0.0.1:P/_bench/config
    for n in 10 410; do
      valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m benchmarks.callcount --port P --variant limited --calls $n 2>&1 | grep Collected
    done

``PYTHONPATH=DIR`` measures the library in ``DIR`` instead (``git archive <commit> aclarifai``).
"""

from __future__ import annotations

import argparse
import asyncio

import aclarifai

from . import scenarios as sc

VARIANTS = ("plain", "limited", "budget", "hooks")


def _client(port: int, variant: str) -> aclarifai.AsyncClarifai:
    options: dict[str, object] = {}
    if variant == "limited":
        options["limiter"] = aclarifai.RateLimiter(1e9)
    elif variant == "budget":
        options["token_budget"] = aclarifai.TokenBudget(1e12)
    elif variant == "hooks":
        options["hooks"] = aclarifai.Hooks(on_request=lambda info: None)
    return aclarifai.AsyncClarifai(
        api_key=sc.API_KEY, base_url=f"http://127.0.0.1:{port}", **options  # type: ignore[arg-type]
    )


async def run(port: int, variant: str, calls: int) -> None:
    plan = sc.plan("S4", sc.Sizes())
    async with _client(port, variant) as client:
        for _ in range(5 + calls):
            await client.acompletion(model=sc.MODEL, messages=plan.messages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--variant", choices=VARIANTS, default="plain")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    asyncio.run(run(args.port, args.variant, args.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
