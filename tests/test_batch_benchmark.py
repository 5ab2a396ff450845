"""``python -m benchmarks.batch --quick`` runs end to end: every variant's answers are checked
(a wrong or missing answer, or more requests in flight than asked, fails the run); nothing
about timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_batch_benchmark_runs_and_checks_every_answer() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.batch", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["semaphore", "abatch_stream", "abatch_completion"]
    assert "abatch_stream / semaphore CPU, per repeat:" in done.stdout
