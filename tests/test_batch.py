"""Batches: the rate limiter on a fake clock, abatch_completion() and the ``batch`` CLI command,
against FakeClarifai over loopback HTTP."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from aclarifai import AsyncClarifai, BadRequestError, ChatCompletion, InternalServerError, Usage
from aclarifai.batch import ROW_COLUMNS, BatchResult, RateLimiter, abatch_completion, total_usage
from aclarifai.cli import _parser, main, run_batch, run_demo
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

OTHER_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"


def batch_workers() -> list[asyncio.Task[Any]]:
    """The batch's worker tasks still alive (the fake's server tasks share the loop)."""
    return [t for t in asyncio.all_tasks() if "_Pump.work" in t.get_coro().__qualname__]


def questions(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"question {i}"}] for i in range(n)]


class FakeTime:
    """A clock and a sleep for RateLimiter: sleeping only records the delay (no real wait)."""

    def __init__(self, *, advance: bool = False) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._advance = advance

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if self._advance:
            self.now += delay
        await asyncio.sleep(0)


# -- RateLimiter ------------------------------------------------------------------------------


async def test_limiter_spaces_sequential_starts() -> None:
    time = FakeTime(advance=True)
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    starts = []
    for _ in range(4):
        await limiter.acquire()
        starts.append(time.now)
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3])


async def test_limiter_serves_concurrent_callers_in_order() -> None:
    time = FakeTime()
    limiter = RateLimiter(4, clock=time.clock, sleep=time.sleep)
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    assert time.sleeps == pytest.approx([0.25, 0.5, 0.75, 1.0])  # the first one goes at once


async def test_limiter_burst_and_refill_cap() -> None:
    time = FakeTime()
    limiter = RateLimiter(2, burst=3, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert time.sleeps == []  # a fresh limiter lets a burst through
    await limiter.acquire()
    assert time.sleeps == pytest.approx([0.5])
    time.now += 3600  # a long idle period refills at most `burst` tokens
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.5])


def test_limiter_ignores_a_clock_that_steps_back() -> None:
    time = FakeTime()
    limiter = RateLimiter(1, clock=time.clock, sleep=time.sleep)
    assert limiter.reserve() == 0.0
    time.now = -100.0
    assert limiter.reserve() == pytest.approx(1.0)  # no tokens minted by going back in time


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "positive number"),
        ({"rate": -1.5}, "positive number"),
        ({"rate": float("inf")}, "finite"),
        ({"rate": float("nan")}, "positive number"),
        ({"rate": True}, "positive number"),
        ({"rate": 5, "burst": 0}, "burst"),
    ],
)
def test_limiter_validates(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(**kwargs)


# -- abatch_completion ------------------------------------------------------------------------


async def test_results_keep_input_order_when_answers_finish_out_of_order(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    for delay in (0.09, 0.06, 0.03, 0.0):  # by arrival: the first request answers last
        fake.add_text("answer", delay=delay)
    finished: list[int] = []
    items = questions(4)
    results = await abatch_completion(
        MODEL, items, client=client, max_concurrency=4,
        on_progress=lambda done, total: finished.append(done),
    )
    assert isinstance(results, BatchResult) and isinstance(results, list) and len(results) == 4
    arrival = [r.json["messages"] for r in fake.requests]
    for item, result in zip(items, results, strict=True):
        assert isinstance(result, ChatCompletion)
        # The fake numbers completions by arrival: result i answers the request carrying item i.
        assert result.id == f"chatcmpl-fake-{arrival.index(item) + 1:06d}"
    assert finished == [0, 1, 2, 3, 4]


async def test_demo_model_answers_each_item_with_its_own_question(client: AsyncClarifai) -> None:
    results = await abatch_completion(MODEL, questions(10), client=client, max_concurrency=3)
    assert results.ok and results.errors == []
    for i, completion in enumerate(results.completions):
        assert f'"question {i}"' in (completion.choices[0].message.content or "")


async def test_max_concurrency_bounds_requests_in_flight(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("ok", delay=0.05, times=9)
    results = await abatch_completion(MODEL, questions(9), client=client, max_concurrency=3)
    assert results.ok and fake.request_count == 9
    assert fake.max_concurrency == 3  # reached (the replies overlap) and never exceeded

    fake.reset()
    fake.add_text("ok", delay=0.01, times=4)
    await abatch_completion(MODEL, questions(4), client=client, max_concurrency=1)
    assert fake.max_concurrency == 1


async def test_one_failure_does_not_sink_the_others(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("first", usage={"prompt_tokens": 3, "completion_tokens": 1})
    fake.add_error(400)
    fake.add_text("third", usage={"prompt_tokens": 5, "completion_tokens": 2})
    results = await abatch_completion(MODEL, questions(3), client=client, max_concurrency=1)
    assert isinstance(results[1], BadRequestError) and results[1].status_code == 400
    assert [index for index, _ in results.errors] == [1] and not results.ok
    assert [c.choices[0].message.content for c in results.completions] == ["first", "third"]
    assert results.usage.prompt_tokens == 8 and results.usage.completion_tokens == 3
    assert total_usage(results) == results.usage
    assert total_usage(results[:1] + [None, Usage(prompt_tokens=1)]).prompt_tokens == 4


async def test_without_return_exceptions_the_first_error_cancels_the_rest(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_error(400)
    fake.add_text("never seen", delay=30, times=5)  # in flight when the error comes back
    with pytest.raises(BadRequestError):
        await abatch_completion(
            MODEL, questions(6), client=client, max_concurrency=2, return_exceptions=False
        )
    assert batch_workers() == []  # no worker outlives the call
    await fake.wait_idle(5)  # the slow request was abandoned, not waited for
    assert fake.request_count == 2  # nothing new started after the failure


async def test_cancelling_the_batch_cancels_its_requests(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("slow", delay=30, times=4)
    task = asyncio.ensure_future(
        abatch_completion(MODEL, questions(4), client=client, max_concurrency=2)
    )
    await fake.wait_until(lambda: fake.active_requests == 2)
    assert len(batch_workers()) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert batch_workers() == []
    await fake.wait_idle(5)
    assert fake.request_count == 2


async def test_the_clients_retries_apply_to_each_item(fake: FakeClarifai) -> None:
    fake.add_error(503, headers={"Retry-After": "0"}, times=2)
    fake.add_text("made it")
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=2) as client:
        [result] = await abatch_completion(MODEL, questions(1), client=client)
    assert isinstance(result, ChatCompletion) and fake.request_count == 3

    fake.add_error(503, headers={"Retry-After": "0"})
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0) as client:
        [failed] = await abatch_completion(MODEL, questions(1), client=client)
    assert isinstance(failed, InternalServerError)


async def test_progress_may_be_async_and_may_even_raise(
    client: AsyncClarifai, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        await asyncio.sleep(0)
        seen.append((done, total))
        if done == 2:
            raise RuntimeError("progress bar bug")

    with caplog.at_level(logging.ERROR, logger="aclarifai"):
        results = await abatch_completion(MODEL, questions(3), client=client, on_progress=on_progress)
    assert results.ok and len(results) == 3
    assert sorted(seen) == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert "progress bar bug" in caplog.text


async def test_rate_limit_spaces_request_starts(fake: FakeClarifai, client: AsyncClarifai) -> None:
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    results = await abatch_completion(
        MODEL, questions(4), client=client, max_concurrency=4, rate_limit=limiter
    )
    assert results.ok and fake.request_count == 4
    assert time.sleeps == pytest.approx([0.1, 0.2, 0.3])  # one start per 1/10 s, the first at once
    # A plain number works too (500/s: a few milliseconds of real waiting).
    assert (await abatch_completion(MODEL, questions(3), client=client, rate_limit=500.0)).ok


async def test_params_reach_every_body_and_defaults_need_no_client(fake: FakeClarifai) -> None:
    results = await abatch_completion(
        "openai/chat-completion/models/gpt-oss-20b", questions(3),
        api_key=fake.api_key, base_url=fake.base_url, temperature=0.2, max_tokens=50,
    )
    assert results.ok
    bodies = [r.json for r in fake.requests]
    assert all(b["temperature"] == 0.2 and b["max_tokens"] == 50 for b in bodies)
    assert all(b["model"] == MODEL and b["stream"] is False for b in bodies)
    assert await abatch_completion(MODEL, [], api_key=fake.api_key, base_url=fake.base_url) == []


@pytest.mark.parametrize(
    ("model", "items", "kwargs", "error"),
    [
        ("not a model", questions(2), {}, ValueError),
        (MODEL, [[{"role": "user", "content": "ok"}], "not a list"], {}, TypeError),
        (MODEL, [[{"content": "no role"}]], {}, ValueError),
        (MODEL, questions(2), {"stream": True}, ValueError),
        (MODEL, questions(2), {"max_concurrency": 0}, ValueError),
        (MODEL, questions(2), {"rate_limit": 0}, ValueError),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    fake: FakeClarifai, client: AsyncClarifai, model: str, items: list[Any],
    kwargs: dict[str, Any], error: type[Exception],
) -> None:
    with pytest.raises(error):
        await abatch_completion(model, items, client=client, **kwargs)
    assert fake.request_count == 0


# -- the batch command ------------------------------------------------------------------------


def write_jsonl(path: Path, lines: list[Any]) -> None:
    encoded = (line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
    path.write_bytes(b"".join(line + b"\n" for line in encoded))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture
def env(fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch) -> FakeClarifai:
    monkeypatch.setenv("CLARIFAI_PAT", fake.api_key)
    return fake


async def run_cli(fake: FakeClarifai, *args: str) -> int:
    # main() calls asyncio.run(): it gets a thread (and an event loop) of its own.
    return await asyncio.to_thread(main, ["batch", *args, "--base-url", fake.base_url])


async def test_cli_runs_every_kind_of_line(
    env: FakeClarifai, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [
        [{"role": "user", "content": "bare list"}],
        {"id": "with-params", "messages": [{"role": "user", "content": "hot"}], "temperature": 0.9},
        b"",
        {"id": 7, "model": OTHER_MODEL, "messages": [{"role": "user", "content": "other model"}]},
        b"{not json",
        {"messages": [{"role": "user", "content": "streaming"}], "stream": True},
        {"messages": [{"role": "user", "content": "bad model"}], "model": "nope"},
    ])
    code = await run_cli(env, str(source), str(out), "--model", MODEL, "--concurrency", "2")
    assert code == 1  # some lines failed
    records = {r["index"]: r for r in read_jsonl(out)}
    assert sorted(records) == [0, 1, 3, 4, 5, 6]  # the blank line 2 is skipped
    assert all(list(r) == list(ROW_COLUMNS) for r in records.values())  # flat rows, one shape
    assert records[0]["key"] is None and records[0]["error_type"] is None
    assert "bare list" in records[0]["content"] and records[0]["finish_reason"] == "stop"
    assert records[0]["model"] == MODEL and records[0]["prompt_tokens"] > 0
    assert records[1]["key"] == "with-params" and records[1]["error_type"] is None
    assert records[3]["key"] == 7 and records[3]["model"] == OTHER_MODEL
    for index in (4, 5):
        assert records[index]["error_type"] == "InvalidLine"
        assert records[index]["status_code"] is None and records[index]["content"] is None
    assert "stream" in records[5]["error_message"]
    assert records[6]["error_type"] == "InvalidModelError"  # a ValueError too
    bodies = {r.json["messages"][0]["content"]: r.json for r in env.requests}
    assert set(bodies) == {"bare list", "hot", "other model"}
    assert bodies["hot"]["temperature"] == 0.9 and bodies["other model"]["model"] == OTHER_MODEL
    err = capsys.readouterr().err
    assert "3 answered, 3 failed, 0 already done (6 lines)" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


async def test_cli_resumes_and_retries_only_the_failed_lines(
    env: FakeClarifai, tmp_path: Path
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, questions(4))
    env.add_text("a")
    env.add_error(400)  # with --concurrency 1 the second line gets it
    env.add_text("c")
    env.add_text("d")
    code = await run_cli(env, str(source), str(out), "--model", MODEL, "--concurrency", "1")
    assert code == 1
    assert [(r["error_type"] is None, r["index"]) for r in read_jsonl(out)] == [
        (True, 0), (False, 1), (True, 2), (True, 3)
    ]
    failed = read_jsonl(out)[1]
    assert (failed["error_type"], failed["error_message"], failed["status_code"]) == (
        "BadRequestError", "fake error 400", 400
    )
    assert failed["request_id"] == "fake-req-000002"  # the server's x-request-id

    env.reset()
    code = await run_cli(env, str(source), str(out), "--model", MODEL)
    assert code == 0
    assert [r.json["messages"][0]["content"] for r in env.requests] == ["question 1"]
    records = read_jsonl(out)
    assert sorted(r["index"] for r in records) == [0, 1, 2, 3]  # the stale error is gone
    assert all(r["error_type"] is None for r in records)

    env.reset()
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 0
    assert env.request_count == 0  # all done: nothing to send


async def test_cli_matches_lines_by_id_when_they_have_one(env: FakeClarifai, tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [{"id": f"q{i}", "messages": m} for i, m in enumerate(questions(3))]
    write_jsonl(source, lines)
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 0
    write_jsonl(source, [*reversed(lines), {"id": "new", "messages": questions(1)[0]}])
    env.reset()
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 0
    assert env.request_count == 1  # only the new line, though every index moved
    assert [r["key"] for r in read_jsonl(out)] == ["q0", "q1", "q2", "new"]
    write_jsonl(source, [lines[0], {"id": "q0", "messages": questions(1)[0]}])
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 1
    assert "duplicate id 'q0'" in read_jsonl(out)[-1]["error_message"]


async def test_cli_resumes_an_output_file_of_the_earlier_format(
    env: FakeClarifai, tmp_path: Path
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [{"id": "a", "messages": questions(1)[0]}, *questions(2)])
    write_jsonl(out, [
        {"id": "a", "index": 0, "response": {"object": "chat.completion", "choices": []}},
        {"id": None, "index": 1, "error": {"type": "BadRequestError", "message": "x"}},
        {"id": None, "index": 2, "response": {"object": "chat.completion", "choices": []}},
    ])
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 0
    assert [r.json["messages"][0]["content"] for r in env.requests] == ["question 0"]  # line 1
    records = read_jsonl(out)
    assert [r["index"] for r in records] == [0, 2, 1]  # the stale error row was replaced
    assert records[-1]["error_type"] is None and records[-1]["key"] is None


async def test_cli_repairs_a_truncated_last_record_but_not_a_foreign_file(
    env: FakeClarifai, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, questions(2))
    done = {"id": None, "index": 0, "response": {"object": "chat.completion", "choices": []}}
    out.write_bytes(orjson.dumps(done) + b'\n{"id": null, "index": 1, "resp')  # killed mid-write
    assert await run_cli(env, str(source), str(out), "--model", MODEL) == 0
    assert [r["index"] for r in read_jsonl(out)] == [0, 1] and env.request_count == 1

    foreign = tmp_path / "notes.jsonl"
    foreign.write_bytes(b'{"note": 1}\n{"note": 2}\n')
    assert await run_cli(env, str(source), str(foreign), "--model", MODEL) == 2
    assert foreign.read_bytes() == b'{"note": 1}\n{"note": 2}\n'
    assert "not a batch record" in capsys.readouterr().err


async def test_cli_refuses_to_start_without_what_it_needs(
    fake: FakeClarifai, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, questions(1))
    assert await run_cli(fake, str(source), str(out), "--model", MODEL) == 2
    assert "CLARIFAI_PAT" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("CLARIFAI_PAT", fake.api_key)
    monkeypatch.delenv("ACLARIFAI_MODEL", raising=False)
    assert await run_cli(fake, str(source), str(out)) == 2
    assert "no model" in capsys.readouterr().err
    assert await run_cli(fake, str(tmp_path / "missing.jsonl"), str(out), "--model", MODEL) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    assert await run_cli(fake, str(source), str(out), "--model", MODEL, "--rate-limit", "0") == 2
    assert fake.request_count == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_cli_draws_a_progress_bar_on_a_terminal(env: FakeClarifai, tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, questions(4))
    write_jsonl(out, [{"id": None, "index": 0, "response": {"choices": []}}])
    terminal = Terminal()
    args = _parser().parse_args(
        ["batch", str(source), str(out), "--model", MODEL, "--base-url", env.base_url,
         "--concurrency", "3", "--rate-limit", "1000"]
    )
    assert await asyncio.to_thread(run_batch, args, terminal) == 0
    screen = terminal.getvalue()
    frames = screen.split("\r")[1:]
    assert frames[0] == "[" + "#" * 7 + "-" * 23 + "] 1/4, 0 failed"  # one was already done
    assert frames[-1].startswith("[" + "#" * 30 + "] 4/4, 0 failed, ")
    assert ", ETA 0s" in frames[-1]  # rate and time left (tests/test_cli.py pins the format)
    assert "3 answered, 0 failed, 1 already done (4 lines)" in screen
    assert env.max_concurrency <= 3


async def test_the_other_commands_still_work(env: FakeClarifai) -> None:
    assert await asyncio.to_thread(main, ["demo"]) == 0
    screen = io.StringIO()
    await run_demo(screen)
    assert "[tool result]" in screen.getvalue()
    chat = ["chat", "Hi there", "--model", MODEL, "--base-url", env.base_url, "--temperature", "0.5"]
    assert await asyncio.to_thread(main, chat) == 0
    assert env.last_request.json["messages"] == [{"role": "user", "content": "Hi there"}]
    assert env.last_request.json["temperature"] == 0.5


async def test_cli_rate_limit_holds_every_attempt_retries_included(
    env: FakeClarifai, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aclarifai import RateLimiter, _cli_batch

    class Counting(RateLimiter):
        acquired = 0

        async def acquire(self, cost: float = 1.0) -> None:
            Counting.acquired += 1
            await super().acquire(cost)

    monkeypatch.setattr(_cli_batch, "_as_limiter", lambda rate: None if rate is None else Counting(rate))
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, questions(2))
    env.add_error(503)  # one attempt fails and is retried: three attempts for two lines
    code = await run_cli(
        env, str(source), str(out), "--model", MODEL, "--concurrency", "1", "--rate-limit", "1000",
        "--max-retries", "1",
    )
    assert code == 0
    assert len(env.requests) == 3
    assert Counting.acquired == 3
