"""``python -m aclarifai``: mistakes end with one ``error:`` line and status 2, ``chat`` says
what it is waiting for and how long it took, ``batch`` shows its progress. Against FakeClarifai
over loopback, through ``main()`` (captured output) and a real subprocess."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aclarifai import _cli_chat
from aclarifai._cli_batch import _Progress
from aclarifai._cli_errors import error_line
from aclarifai.cli import DEFAULT_MODEL, _parser, main, run_chat
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

ROOT = Path(__file__).resolve().parent.parent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai() as server:
        monkeypatch.setenv("CLARIFAI_PAT", server.api_key)
        monkeypatch.setenv("CLARIFAI_API_BASE", server.base_url)
        yield server


async def cli(*argv: str) -> int:
    # main() calls asyncio.run(): it gets a thread (and an event loop) of its own.
    return await asyncio.to_thread(main, list(argv))


def assert_one_error_line(err: str) -> str:
    """stderr ends with exactly one ``error:`` line, and no traceback; returns that line."""
    lines = err.rstrip("\n").splitlines()
    assert lines and lines[-1].startswith("error: "), err
    assert sum("error:" in line for line in lines) == 1, err
    assert "Traceback" not in err
    return lines[-1]


# -- mistakes ----------------------------------------------------------------------------------


def test_a_bad_model_reference_is_one_error_line_in_a_real_shell() -> None:
    env = {**os.environ, "CLARIFAI_PAT": "fake-pat-0123456789", "CLARIFAI_API_BASE": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-m", "aclarifai", "chat", "hi", "--model", "gpt-4o"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    line = assert_one_error_line(result.stderr)
    assert "unrecognised model reference 'gpt-4o'" in line
    assert "https://clarifai.com/{user}/{app}/models/{model}" in line  # the accepted forms


def test_a_multi_line_message_folds_into_one_line() -> None:
    message = "bad thing.\naccepted:\n  a/{b}\n  c/{d}\n(a note that\nwraps)\n"
    assert error_line(ValueError(message)) == "error: bad thing. accepted: a/{b} | c/{d} (a note that wraps)"
    assert error_line(ValueError()) == "error: ValueError"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["chat"], "prompt"),
        (["chat", "hi", "--temperature", "warm"], "--temperature"),
        (["chat", "hi", "--timeout", "0"], "must be > 0"),
        (["chat", "hi", "--max-retries", "-1"], "must be >= 0"),
        (["chat", "hi", "--max-tokens", "0"], "must be >= 1"),
        (["chat", "hi", "--reasoning-effort", "extreme"], "invalid choice"),
        (["talk"], "invalid choice"),
        ([], "required"),
        (["batch", "in.jsonl", "out.jsonl", "--concurrency", "0"], "must be >= 1"),
        (["chat", "hi", "--base-url", "ftp://example.com"], "http(s)"),
    ],
)
async def test_every_mistake_ends_with_one_error_line_and_status_2(
    fake: FakeClarifai, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert await cli(*argv) == 2
    assert says in assert_one_error_line(capsys.readouterr().err)
    assert fake.request_count == 0


async def test_no_pat_names_the_variable_and_the_option(
    fake: FakeClarifai, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("CLARIFAI_PAT")
    monkeypatch.delenv("CLARIFAI_API_KEY", raising=False)
    (tmp_path / "in.jsonl").write_text('[{"role": "user", "content": "hi"}]\n')
    for argv in (["chat", "hi"], ["batch", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"),
                                  "--model", MODEL]):
        assert await cli(*argv) == 2
        line = assert_one_error_line(capsys.readouterr().err)
        assert "CLARIFAI_PAT" in line and "--api-key" in line and "api_key=" not in line
    assert await cli("chat", "hi", "--api-key", fake.api_key, "--model", MODEL) == 0
    assert fake.last_request.headers["Authorization"] == "Bearer ***"


async def test_a_request_the_server_refuses_is_a_mistake_too(
    fake: FakeClarifai, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "https://clarifai.com/openai/chat-completion/models/gpt-4o"
    assert await cli("chat", "hi", "--model", unknown) == 2
    line = assert_one_error_line(capsys.readouterr().err)
    assert "HTTP 404" in line and "21200" in line and "(1 attempt, " in line
    assert await cli("chat", "hi", "--model", MODEL, "--api-key", "wrong-pat") == 2
    assert "11009" in assert_one_error_line(capsys.readouterr().err)


# -- help --------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["chat", "--help"], ["batch", "--help"], ["demo", "--help"]])
async def test_help_is_plain_text_and_explains_every_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("ACLARIFAI_MODEL", raising=False)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "``" not in out and "`" not in out
    if argv[0] == "chat":
        for option in ("--model", "--temperature", "--max-tokens", "--timeout", "--max-retries",
                       "--show-reasoning", "--api-key"):
            help_text = re.search(rf"^\s+{option}\b[^\n]*\n?(.*?)(?=^\s+-|\Z)", out, re.M | re.S)
            assert help_text is not None and help_text.group(0).strip() != option, option
        assert DEFAULT_MODEL in out  # whole, so it can be copied


# -- chat --------------------------------------------------------------------------------------


async def test_chat_reports_the_total_time(fake: FakeClarifai, capsys: pytest.CaptureFixture[str]) -> None:
    fake.add_text("Hello there.")
    assert await cli("chat", "hi", "--model", MODEL) == 0
    captured = capsys.readouterr()
    assert captured.out == "Hello there.\n"
    assert re.fullmatch(r"answered in \d+\.\ds\n", captured.err)
    assert "waiting" not in captured.err  # stderr is not a terminal


async def test_chat_timeout_and_retries_against_a_server_that_never_answers(
    fake: FakeClarifai, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_text("never", stall_after=0, times=2)  # headers, then silence
    assert await cli("chat", "hi", "--model", MODEL, "--timeout", "0.2", "--max-retries", "1") == 1
    line = assert_one_error_line(capsys.readouterr().err)
    assert re.search(r"\(2 attempts, \d+\.\ds\)$", line), line
    assert "timeout" in line.lower()
    assert fake.request_count == 2


async def test_chat_says_it_is_waiting_on_a_terminal(
    fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_chat, "NOTICE_AFTER", 0.0)  # at once, instead of after 3 s
    fake.add_text("never", stall_after=0)
    args = _parser().parse_args(["chat", "hi", "--model", MODEL, "--timeout", "0.3", "--max-retries", "0"])
    out, err = io.StringIO(), Terminal()
    with pytest.raises(_cli_chat.ChatFailed) as info:
        await run_chat(args, out, err)
    assert info.value.attempts == 1
    screen = err.getvalue()
    assert "\rwaiting for the model... 0s, attempt 1 of 1" in screen
    assert screen.endswith("\r")  # the notice is wiped before the error is printed

    fake.add_text("Hidden thoughts.", reasoning="Let me think for a while.", stall_after=3)
    out, err = io.StringIO(), Terminal()
    with pytest.raises(_cli_chat.ChatFailed):
        await run_chat(args, out, err)
    assert "\rthe model is reasoning... " in err.getvalue() and out.getvalue() == ""

    fake.add_text("Late but here.", delay=0.2)
    out, err = io.StringIO(), Terminal()
    await run_chat(_parser().parse_args(["chat", "hi", "--model", MODEL]), out, err)
    assert out.getvalue() == "Late but here.\n"
    assert "waiting for the model" in err.getvalue()
    assert re.search(r"\r +\ranswered in \d+\.\ds\n$", err.getvalue())


async def test_show_reasoning_separates_reasoning_from_the_answer(
    fake: FakeClarifai, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_text("The answer.", reasoning="Let me think.")
    assert await cli("chat", "hi", "--model", MODEL, "--show-reasoning") == 0
    assert capsys.readouterr().out == "[reasoning]\nLet me think.\n\n[answer]\nThe answer.\n"
    fake.add_text("The answer.", reasoning="Let me think.")
    assert await cli("chat", "hi", "--model", MODEL) == 0
    assert capsys.readouterr().out == "The answer.\n"  # reasoning hidden: no headings

    fake.add_text("The answer.", reasoning="Hmm.")
    out, err = Terminal(), io.StringIO()
    await run_chat(_parser().parse_args(["chat", "hi", "--model", MODEL, "--show-reasoning"]), out, err)
    assert out.getvalue() == "[reasoning]\n\x1b[2mHmm.\x1b[0m\n\n[answer]\nThe answer.\n"  # dimmed


# -- batch progress ----------------------------------------------------------------------------


def test_batch_progress_shows_failures_rate_and_eta() -> None:
    now = [100.0]
    screen = Terminal()
    progress = _Progress(screen, done=10, total=110, clock=lambda: now[0])
    assert progress.line() == "[" + "#" * 2 + "-" * 28 + "] 10/110, 0 failed"  # no rate yet
    now[0] += 10
    for i in range(20):
        progress.advance(failed=i < 3)
    assert progress.line() == "[" + "#" * 8 + "-" * 22 + "] 30/110, 3 failed, 2.0/s, ETA 40s"
    now[0] += 30
    for _ in range(80):
        progress.advance()
    assert progress.line().endswith("110/110, 3 failed, 2.5/s, ETA 0s")
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 100  # one redraw per line, each covering the one before
    assert all(len(b) >= len(a.rstrip()) for a, b in zip(frames, frames[1:], strict=False))
    assert _Progress(io.StringIO(), 0, 5).line()  # drawn only on a terminal, though
    long = _Progress(screen, 0, 10_000, clock=lambda: now[0])
    now[0] += 1
    long.advance()
    assert long.line().endswith("1.0/s, ETA 2h46m")
