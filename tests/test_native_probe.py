"""``python -m aclarifai probe`` against FakeClarifai: the report it prints, and its exit status."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest

from aclarifai.cli import main
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/acme/llms/models/my-llm"
SIGNATURES = [
    {"name": name, "method_type": kind,
     "input_fields": [{"name": "msg", "type": "STR", "required": True}],
     "output_fields": [{"name": "return", "type": "STR", "iterator": kind == 2}]}
    for name, kind in (("openai_transport", 1), ("openai_stream_transport", 2))
]


async def probe(fake: FakeClarifai, *args: str) -> tuple[int, str]:
    """Exit status, and stdout followed by stderr."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(["probe", "--model", MODEL, "--base-url", fake.base_url,
                         "--api-key", fake.api_key, *args])

    # main() calls asyncio.run(): it gets a thread (and an event loop) of its own.
    status = await asyncio.to_thread(run)
    return status, out.getvalue() + err.getvalue()


async def test_probe_reports_each_lane(fake: FakeClarifai) -> None:
    fake.models.append(MODEL)  # the OpenAI lane's fake serves only the models it lists
    fake.native.add_model("acme/llms/models/my-llm", SIGNATURES)
    for _ in range(3):
        fake.add_text("OK")
    status, report = await probe(fake, "--deployment", "dep-1")
    print(report)
    assert status == 0, report
    assert f"aclarifai probe: {MODEL}" in report
    assert "pinned to deployment 'dep-1'" in report
    assert "[1] OpenAI-compatible lane\n    answer 'OK'" in report
    assert "2 methods (from model_version): openai_transport, openai_stream_transport" in report
    assert "[3] native unary chat\n    HTTP 200, application/json" in report
    assert "status 10000 'Ok'" in report
    assert report.count('runner_selector echoed {"deployment":{"id":"dep-1","user_id":"acme"}}: '
                        "honoured") == 2
    assert "framing ndjson" in report and "text 'OK'" in report
    assert "Transfer-Encoding chunked" in report
    assert "[5] Bearer on a /v2 route\n    HTTP 401: refused (11009)" in report
    assert "5 of 5 calls answered" in report
    assert fake.api_key not in report
    methods = [c.method for c in fake.native.calls]
    assert methods == ["openai_transport", "openai_stream_transport"]
    assert all(c.runner_selector == {"deployment": {"id": "dep-1", "user_id": "acme"}}
               for c in fake.native.calls)


async def test_probe_without_a_deployment_and_a_failing_lane(fake: FakeClarifai) -> None:
    fake.models.append(MODEL)
    fake.add_text("OK")
    fake.native.add_status(21353, times=2)
    status, report = await probe(fake)
    assert status == 1
    assert "[2] model signatures\n    FAILED: NotFoundError" in report  # none registered
    assert "[3] native unary chat\n    HTTP 200" in report
    assert "status 21353 'Model is not deployed'\n    no runner_selector sent" in report
    assert report.count("not deployed: deploy it") == 2  # unary and stream, typed
    assert "[5] Bearer on a /v2 route\n    HTTP 401" in report
    assert all(c.runner_selector is None for c in fake.native.calls)
    assert "2 of 5 calls answered" in report


@pytest.mark.parametrize(
    "args", [["--deployment", "d", "--nodepool", "c/n"], ["--nodepool", "just-one"],
             ["--deployment-owner", "me"]],
)
async def test_probe_refuses_bad_targets(fake: FakeClarifai, args: list[str]) -> None:
    status, report = await probe(fake, *args)
    assert status == 2 and report.startswith("error: ")
    assert fake.request_count == 0
