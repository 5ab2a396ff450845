"""Is a client's answer right? Compare what it assembled with what the server sent.

Each function returns None when all is well, or a short reason: the runner turns a reason into a
FAIL row instead of a number.
"""

from __future__ import annotations

import json
from typing import Any

from . import scenarios as sc


def _first_difference(got: str | None, want: str | None) -> str:
    if got is None or want is None:
        return f"{got!r:.60} instead of {want!r:.60}"
    pairs = enumerate(zip(got, want, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(got), len(want)))
    return (f"differs at character {at} of {len(want)} (got {len(got)}): "
            f"{got[at:at + 30]!r} instead of {want[at:at + 30]!r}")


def check_answer(result: dict[str, Any], want: sc.Answer) -> str | None:
    """One assembled answer (and the library's own assembly, when the client reported it)."""
    if result.get("content") != want.content:
        return "content " + _first_difference(result.get("content"), want.content)
    if result.get("finish_reason") != want.finish_reason:
        return f"finish_reason {result.get('finish_reason')!r} instead of {want.finish_reason!r}"
    calls = [tuple(call) for call in result.get("tool_calls") or ()]
    if len(calls) != len(want.tool_calls):
        return f"{len(calls)} tool calls instead of {len(want.tool_calls)}"
    for k, (got, expected) in enumerate(zip(calls, want.tool_calls, strict=True)):
        if got[:2] != expected[:2]:
            return f"tool call {k}: id/name {got[:2]} instead of {expected[:2]}"
        if got[2] != expected[2]:
            return f"tool call {k}: arguments " + _first_difference(got[2], expected[2])
    parsed = result.get("parsed")
    if parsed:
        for k, (_, _, arguments) in enumerate(want.tool_calls):
            if parsed.get(str(k)) != json.loads(arguments):
                return f"tool call {k}: parsed_so_far on the last fragment is not the arguments"
    library = result.get("library")
    if library is not None:
        problem = check_answer(library, want)
        if problem:
            return "get_final_completion(): " + problem
    return None


def check_run(scenario: str, plan: sc.Plan, replies: list[sc.Reply], report: dict[str, Any],
              stats: dict[str, Any]) -> str | None:
    """A whole client run: every answer, how many there were, and what the server saw."""
    if stats.get("problems"):
        return f"server: {stats['problems'][0]}"
    results = report.get("results") or []
    if scenario == "S5":
        return _check_agent(plan, replies, results)
    expected = plan.concurrent * plan.sequential
    if len(results) != expected:
        return f"{len(results)} answers instead of {expected}"
    if stats.get("measured") != expected:
        return f"the server answered {stats.get('measured')} measured requests, not {expected}"
    if plan.concurrent > 1:
        if stats.get("peak_concurrent", 0) < plan.concurrent:
            return (f"only {stats.get('peak_concurrent')} of {plan.concurrent} streams were "
                    "in flight at once")
        if stats.get("barrier_released_by") != "count":
            return "the server's barrier timed out: the streams were not all concurrent"
    for n, result in enumerate(results):
        problem = check_answer(result, replies[0].answer)
        if problem:
            return problem if len(results) == 1 else f"answer {n}: {problem}"
    return None


def _check_agent(plan: sc.Plan, replies: list[sc.Reply], results: list[dict[str, Any]]) -> str | None:
    if len(results) != 1:
        return f"{len(results)} agent results instead of 1"
    result = results[0]
    if result.get("content") != replies[1].answer.content:
        return "the agent's answer " + _first_difference(result.get("content"),
                                                          replies[1].answer.content)
    cities = sorted(plan.extra["cities"])
    if result.get("called") != cities:
        return f"tools called for {result.get('called')} instead of {cities}"
    if not result.get("parallel"):
        return "the tool calls did not run in parallel"
    return None
