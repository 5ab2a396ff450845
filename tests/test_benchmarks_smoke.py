"""The benchmark suite runs end to end and every client's answer is right.

``python -m benchmarks --quick`` with tiny sizes: a correctness check only, nothing about timing.
Peers that are not installed (openai, litellm) are skipped by the suite itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import checks
from benchmarks import scenarios as sc

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_checks_every_answer(tmp_path: Path) -> None:
    raw_path = tmp_path / "bench.json"
    report_path = tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(raw_path),
         "--write", str(report_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,  # a loaded machine: minutes
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    raw = json.loads(raw_path.read_text())
    ran = {(m["scenario"], m["mode"], m["client"]) for m in raw["measurements"] if m["runs"]}
    for scenario, mode in [("S1", "bulk"), ("S1", "event"), ("S2", "bulk"), ("S2", "event"),
                           ("S3", "event"), ("S4", "event")]:
        for client in ("floor", "aclarifai"):
            assert (scenario, mode, client) in ran, (scenario, mode, client)
    assert ("S2", "event", "aclarifai-events") in ran
    for m in raw["measurements"]:
        assert m["error"] is None, m
        assert m["runs"] or m["skipped"], m
    assert {i["client"] for i in raw["imports"]} >= {"floor", "aclarifai"}
    text = report_path.read_text()
    assert "| **S1**" in text and "CPU µs/chunk" in text


def test_a_wrong_answer_is_caught() -> None:
    reply = sc.replies("S2", sc.QUICK)[0]
    right = reply.answer.to_json()
    assert checks.check_answer(right, reply.answer) is None
    cut = dict(right, tool_calls=[[i, n, a[:-1]] for i, n, a in right["tool_calls"]])
    assert "arguments differs" in (checks.check_answer(cut, reply.answer) or "")
    library_wrong = dict(right, library=dict(right, finish_reason="stop"))
    assert "get_final_completion" in (checks.check_answer(library_wrong, reply.answer) or "")


def test_streams_that_were_not_concurrent_fail() -> None:
    plan = sc.plan("S3", sc.QUICK)
    replies = sc.replies("S3", sc.QUICK)
    report = {"results": [replies[0].answer.to_json()] * plan.concurrent}
    stats = {"measured": plan.concurrent, "peak_concurrent": plan.concurrent,
             "barrier_released_by": "count", "problems": []}
    assert checks.check_run("S3", plan, replies, report, stats) is None
    stats.update(peak_concurrent=plan.concurrent - 1, barrier_released_by="timeout")
    assert "in flight at once" in (checks.check_run("S3", plan, replies, report, stats) or "")
