"""Import time of each library, in fresh interpreters: the median of N runs.

Each run is a new ``python -c`` that times its own ``import`` statement with ``perf_counter``
(interpreter start-up excluded; no ``-X importtime``, whose bookkeeping slows imports down). One
extra run first warms the ``.pyc`` and OS caches and is thrown away. The floor is
``import aiohttp, orjson``: what aclarifai imports anyway, so aclarifai's own cost is the
difference.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass, field

# client -> the import statement it stands for
STATEMENTS = {
    "floor": "import aiohttp, orjson",
    "aclarifai": "import aclarifai",
    "openai": "import openai",
    "litellm": "import litellm",
}
_PROGRAM = """
import os, time
cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
if len(cpus) >= 2:
    os.sched_setaffinity(0, {{cpus[1]}})
t = time.perf_counter()
{statement}
print((time.perf_counter() - t) * 1e3)
"""


@dataclass
class ImportTime:
    client: str
    statement: str
    runs_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


def _once(statement: str, env: dict[str, str], cwd: str) -> float:
    done = subprocess.run([sys.executable, "-c", _PROGRAM.format(statement=statement)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    return float(done.stdout.strip().splitlines()[-1])


def measure_all(clients: list[str], runs: int, env: dict[str, str], cwd: str) -> list[ImportTime]:
    names = [n for n in STATEMENTS if n in clients or n in ("floor", "aclarifai")]
    env = {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    results = [ImportTime(n, STATEMENTS[n]) for n in names]
    for result in results:
        try:
            _once(result.statement, env, cwd)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            result.error = f"import failed: {exc}"
    for _ in range(runs):  # round robin, so drift touches every library alike
        for result in results:
            if result.error is None:
                result.runs_ms.append(_once(result.statement, env, cwd))
    return results
