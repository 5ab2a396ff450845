"""aclarifai.otel: GenAI spans and metrics, read back from the OpenTelemetry SDK's in-memory
span exporter and metric reader, for real calls against FakeClarifai over loopback.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import aclarifai
from aclarifai import APIConnectionError, AsyncClarifai, InternalServerError, LimiterWaitError
from aclarifai.agent import Agent
from aclarifai.batch import abatch_completion
from aclarifai.otel import Telemetry, instrument, uninstrument
from aclarifai.testing import FakeClarifai
from aclarifai.tools import tool

from .conftest import MODEL

PAT = "pat-otel-sekret-7f3a9c"
QUESTION = "What is the secret word?"
ANSWER = "The answer is swordfish"
BOUND = 5.0


class Recorder:
    """An SDK tracer and meter provider writing to memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("tests")

    def telemetry(self, **kwargs: Any) -> Telemetry:
        return Telemetry(self.tracer_provider, self.meter_provider, **kwargs)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]

    def points(self, metric: str) -> list[HistogramDataPoint]:
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found.extend(p for p in item.data.data_points if isinstance(p, HistogramDataPoint))
        return found

    def units(self) -> dict[str, str]:
        data = self.reader.get_metrics_data()
        return {
            item.name: item.unit
            for resource in (data.resource_metrics if data is not None else ())
            for scope in resource.scope_metrics for item in scope.metrics
        }


@pytest.fixture
def rec() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.tracer_provider.shutdown()
    recorder.meter_provider.shutdown()


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai(api_key=PAT) as server:
        yield server


def traced_client(fake: FakeClarifai, telemetry: Telemetry | bool | None, **kwargs: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=PAT, base_url=fake.base_url, telemetry=telemetry, **kwargs)


def question() -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]


def values(span: ReadableSpan) -> list[str]:
    """Every string in a span: name, attribute values, status, events and their attributes."""
    out = [span.name, span.status.description or ""]
    items = list((span.attributes or {}).items())
    for event in span.events:
        out.append(event.name)
        items += list((event.attributes or {}).items())
    for key, value in items:
        out.append(key)
        out.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    return out


# -- one call ---------------------------------------------------------------------------------


async def test_non_stream_call_is_a_client_span_under_the_current_span(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_text(ANSWER, usage={"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15})
    async with traced_client(fake, rec.telemetry(), max_retries=0) as client:
        with rec.tracer.start_as_current_span("handler") as handler:
            completion = await client.acompletion(
                MODEL, question(), temperature=0.2, top_p=0.9, max_tokens=64, stop=["END"], seed=7,
            )
    (span,) = rec.named("chat")
    assert span.name == f"chat {MODEL}" and span.kind is SpanKind.CLIENT
    assert span.parent is not None and span.parent.span_id == handler.get_span_context().span_id
    attributes = dict(span.attributes or {})
    port = int(fake.base_url.split(":")[2].split("/")[0])
    assert attributes == {
        **attributes,
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "clarifai",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.response.id": completion.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 4,
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    assert attributes["gen_ai.response.model"] == completion.model
    assert "gen_ai.response.time_to_first_chunk" not in attributes  # not a stream
    assert "error.type" not in attributes and span.status.status_code is StatusCode.UNSET
    # metrics
    (duration,) = rec.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == MODEL
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in rec.points("gen_ai.client.token.usage")}
    assert tokens == {"input": 11, "output": 4}
    assert rec.points("gen_ai.client.operation.time_to_first_chunk") == []
    assert rec.units()["gen_ai.client.operation.duration"] == "s"
    assert rec.units()["gen_ai.client.token.usage"] == "{token}"


async def test_stream_records_time_to_first_chunk_and_time_per_chunk(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_text(ANSWER, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
                  chunk_delay=0.002)
    async with traced_client(fake, rec.telemetry(), max_retries=0) as client:
        chunks = [chunk async for chunk in client.acompletion(MODEL, question())]
    (span,) = rec.named("chat")
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 9
    assert attributes["gen_ai.response.id"] == chunks[0].id
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    (first,) = rec.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1 and rec.units()["gen_ai.client.operation.time_to_first_chunk"] == "s"
    per_chunk = rec.points("gen_ai.client.operation.time_per_output_chunk")
    # every chunk after the first, the usage chunk included; not the [DONE] sentinel
    assert sum(p.count for p in per_chunk) == len(chunks) - 1 > 0


async def test_chunk_metrics_off_keeps_time_to_first_chunk_and_drops_time_per_chunk(
    rec: Recorder, fake: FakeClarifai
) -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    fake.add_text(ANSWER, usage=usage, chunk_delay=0.002, times=2)
    for telemetry in (rec.telemetry(chunk_metrics=False),
                      instrument(rec.tracer_provider, rec.meter_provider, chunk_metrics=False)):
        assert telemetry.chunk_metrics is False and "chunk_metrics=False" in repr(telemetry)
        try:
            async with traced_client(fake, telemetry, max_retries=0) as client:
                chunks = [chunk async for chunk in client.acompletion(MODEL, question())]
        finally:
            uninstrument()
        assert len(chunks) > 2
    spans = rec.named("chat")
    assert len(spans) == 2
    for span in spans:
        assert span.attributes is not None and span.attributes["gen_ai.response.time_to_first_chunk"] > 0
        assert span.attributes["gen_ai.usage.output_tokens"] == 4
    assert sum(p.count for p in rec.points("gen_ai.client.operation.time_to_first_chunk")) == 2
    assert sum(p.count for p in rec.points("gen_ai.client.operation.duration")) == 2
    assert rec.points("gen_ai.client.operation.time_per_output_chunk") == []
    assert rec.telemetry().chunk_metrics is True  # the conventions' per-chunk metric by default


async def test_stream_that_fails_midway_ends_its_span_with_the_error(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_text("one two three four five six", disconnect_after=3)
    async with traced_client(fake, rec.telemetry(), max_retries=2) as client:
        received = []
        with pytest.raises(APIConnectionError):
            async for chunk in client.acompletion(MODEL, question()):
                received.append(chunk)
    assert received  # it failed after handing out chunks: no retry
    (span,) = rec.named("chat")
    attributes = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attributes["error.type"] == "StreamConnectionError"  # also an APIConnectionError
    assert attributes["gen_ai.response.id"] == received[0].id  # from the partial completion
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert [e.name for e in span.events] == []
    (duration,) = rec.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "StreamConnectionError"


async def test_retries_are_events_with_their_delay_on_one_span(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_error(500, headers={"retry-after-ms": "10"})
    fake.add_error(429, headers={"retry-after-ms": "20"})
    fake.add_text(ANSWER)
    async with traced_client(fake, rec.telemetry(), max_retries=2) as client:
        await client.acompletion(MODEL, question())
    (span,) = rec.named("chat")
    retries = [dict(e.attributes or {}) for e in span.events]
    assert [e.name for e in span.events] == ["aclarifai.retry", "aclarifai.retry"]
    assert retries == [
        {"aclarifai.retry.attempt": 0, "aclarifai.retry.delay": 0.01, "error.type": "500",
         "http.response.status_code": 500},
        {"aclarifai.retry.attempt": 1, "aclarifai.retry.delay": 0.02, "error.type": "429",
         "http.response.status_code": 429},
    ]
    assert span.status.status_code is StatusCode.UNSET and fake.request_count == 3


async def test_a_call_that_fails_for_good_has_error_type_and_status(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_error(500, times=2, headers={"retry-after-ms": "1"})
    async with traced_client(fake, rec.telemetry(), max_retries=1) as client:
        with pytest.raises(InternalServerError):
            await client.acompletion(MODEL, question(), stream=False)
    (span,) = rec.named("chat")
    assert span.attributes is not None and span.attributes["error.type"] == "500"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "InternalServerError"  # no server message by default
    assert len(span.events) == 1


async def test_stream_closed_early_and_cancelled_calls_end_their_spans(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_text("one two three four five six", chunk_delay=0.001)
    fake.add_text("never", delay=30)
    async with traced_client(fake, rec.telemetry(), max_retries=0) as client:
        async with client.acompletion(MODEL, question(), stream=True) as stream:
            async for _ in stream:
                break
        task = asyncio.create_task(_complete(client))
        await fake.wait_until(lambda: fake.pending > 0, BOUND)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    closed, cancelled = rec.named("chat")
    assert closed.attributes is not None and closed.attributes["aclarifai.closed_early"] is True
    assert closed.status.status_code is StatusCode.UNSET
    assert cancelled.attributes is not None and cancelled.attributes["error.type"] == "cancelled"


async def _complete(client: AsyncClarifai) -> None:
    await client.acompletion(MODEL, question(), stream=False)


class _HeldLimiter:
    """A limiter whose next slot is far away: ``acquire`` refuses, or waits until released."""

    def __init__(self, *, refuse: bool) -> None:
        self.refuse = refuse
        self.waiting = asyncio.Event()

    async def acquire(self, cost: float = 1.0) -> None:
        if self.refuse:
            raise LimiterWaitError("the next slot is 9s away, more than max_wait=1s", status_code=429)
        self.waiting.set()
        await asyncio.Event().wait()  # until cancelled

    async def penalize(self, seconds: float) -> None:
        pass


@pytest.mark.parametrize("hooked", [False, True])
async def test_a_limiter_that_refuses_or_is_cancelled_before_sending_ends_the_span(
    rec: Recorder, fake: FakeClarifai, hooked: bool
) -> None:
    errors: list[aclarifai.ErrorInfo] = []
    hooks = aclarifai.Hooks(on_error=errors.append) if hooked else None
    refusing, holding = _HeldLimiter(refuse=True), _HeldLimiter(refuse=False)
    async with traced_client(fake, rec.telemetry(), limiter=refusing, hooks=hooks) as client:
        for stream in (False, True):
            with pytest.raises(LimiterWaitError):
                await client.acompletion(MODEL, question(), stream=stream)
        client.limiter = holding
        task = asyncio.create_task(_complete(client))
        await asyncio.wait_for(holding.waiting.wait(), BOUND)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert fake.request_count == 0
    refused_plain, refused_stream, cancelled = rec.named("chat")  # all ended: none left open
    for span in (refused_plain, refused_stream):
        assert span.attributes is not None and span.attributes["error.type"] == "LimiterWaitError"
        assert span.status.status_code is StatusCode.ERROR and span.events == ()
    assert cancelled.attributes is not None and cancelled.attributes["error.type"] == "cancelled"
    durations = rec.points("gen_ai.client.operation.duration")
    assert sorted(str(p.attributes["error.type"]) for p in durations) == [
        "LimiterWaitError", "cancelled"]
    assert sum(p.count for p in durations) == 3
    if hooked:  # the hooks hear the refusal as the final error of the call, both ways
        assert [(type(e.error), e.will_retry) for e in errors] == [(LimiterWaitError, False)] * 2


# -- agents -----------------------------------------------------------------------------------


async def test_agent_run_tree_with_two_parallel_tools_one_failing(
    rec: Recorder, fake: FakeClarifai
) -> None:
    both_started = asyncio.Event()
    started: list[str] = []

    @tool
    async def lookup(city: str) -> str:
        """Look a city up."""
        started.append(city)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), BOUND)  # both run at the same time
        if city == "Atlantis":
            raise LookupError("no such city")
        with rec.tracer.start_as_current_span("inside the tool"):
            pass
        return f"{city}: 21C"

    fake.add_tool_calls([
        {"name": "lookup", "arguments": {"city": "Paris"}, "id": "call_a"},
        {"name": "lookup", "arguments": {"city": "Atlantis"}, "id": "call_b"},
        {"name": "lookup", "arguments": {"town": "Oslo"}, "id": "call_c"},  # invalid arguments
    ], chunk_delay=0.002)
    fake.add_text("Paris is warm.")
    async with traced_client(fake, rec.telemetry(), max_retries=0) as client:
        with rec.tracer.start_as_current_span("handler") as handler:
            result = await Agent(MODEL, [lookup], client=client).run("Weather?")
    assert result.output == "Paris is warm."

    (run,) = rec.named("invoke_agent")
    chats = rec.named("chat")
    tools = {s.attributes["gen_ai.tool.call.id"]: s for s in rec.named("execute_tool") if s.attributes}
    (inner,) = rec.named("inside the tool")
    assert run.kind is SpanKind.INTERNAL
    assert run.parent is not None and run.parent.span_id == handler.get_span_context().span_id
    run_id = run.context.span_id
    assert len(chats) == 2 and all(c.parent is not None and c.parent.span_id == run_id for c in chats)
    assert set(tools) == {"call_a", "call_b", "call_c"}
    for span in tools.values():  # siblings of the chat span that asked for them
        assert span.parent is not None and span.parent.span_id == run_id
        assert span.kind is SpanKind.INTERNAL and span.name == "execute_tool lookup"
        assert span.attributes is not None and span.attributes["gen_ai.tool.name"] == "lookup"
    assert tools["call_a"].status.status_code is StatusCode.UNSET
    assert tools["call_b"].status.status_code is StatusCode.ERROR
    assert tools["call_b"].attributes["error.type"] == "LookupError"  # type: ignore[index]
    assert tools["call_c"].status.status_code is StatusCode.ERROR
    assert tools["call_c"].attributes["error.type"] == "invalid_arguments"  # type: ignore[index]
    # the tools ran while the first turn streamed, and what a tool traces nests under its span
    assert inner.parent is not None and inner.parent.span_id == tools["call_a"].context.span_id
    first_chat = min(chats, key=lambda s: s.start_time or 0)
    assert tools["call_a"].start_time is not None and first_chat.end_time is not None
    assert tools["call_a"].start_time < first_chat.end_time
    assert run.attributes is not None
    assert run.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens


async def test_agent_runs_follow_instrument_and_a_tool_call_nests_its_own_calls(
    rec: Recorder, fake: FakeClarifai
) -> None:
    @tool
    async def ask(q: str) -> str:
        """Ask another model."""
        completion = await aclarifai.acompletion(MODEL, [{"role": "user", "content": q}],
                                                 api_key=PAT, base_url=fake.base_url)
        return completion.choices[0].message.content or ""

    fake.add_tool_calls([{"name": "ask", "arguments": {"q": "sub"}, "id": "call_1"}])
    fake.add_text("sub answer")
    fake.add_text("done")
    instrument(rec.tracer_provider, rec.meter_provider)
    try:
        await Agent(MODEL, [ask], api_key=PAT, base_url=fake.base_url).run("go")
    finally:
        uninstrument()
        await aclarifai.aclose_default_clients()
    (run,) = rec.named("invoke_agent")
    (tool_span,) = rec.named("execute_tool")
    chats = rec.named("chat")
    assert len(chats) == 3
    nested = [c for c in chats if c.parent is not None and c.parent.span_id == tool_span.context.span_id]
    assert len(nested) == 1
    assert tool_span.parent is not None and tool_span.parent.span_id == run.context.span_id


# -- batches ----------------------------------------------------------------------------------


async def test_batch_items_are_sibling_spans_under_the_caller(rec: Recorder, fake: FakeClarifai) -> None:
    fake.add_text("a")
    fake.add_text("b")
    fake.add_error(400)
    async with traced_client(fake, rec.telemetry(), max_retries=0) as client:
        with rec.tracer.start_as_current_span("batch") as batch:
            result = await abatch_completion(
                MODEL, [[{"role": "user", "content": f"q{i}"}] for i in range(3)],
                client=client, max_concurrency=3,
            )
    assert len(result.errors) == 1
    chats = rec.named("chat")
    assert len(chats) == 3
    assert all(c.parent is not None and c.parent.span_id == batch.get_span_context().span_id for c in chats)
    assert sorted(str((c.attributes or {}).get("error.type")) for c in chats) == ["400", "None", "None"]


# -- content and secrets ----------------------------------------------------------------------


async def _agent_and_calls(rec: Recorder, fake: FakeClarifai, telemetry: Telemetry) -> None:
    @tool
    def echo(text: str) -> str:
        """Echo."""
        return f"echo {text}"

    fake.add_tool_calls([{"name": "echo", "arguments": {"text": "tool-argument-word"}}])
    fake.add_text(ANSWER)
    fake.add_text(ANSWER)
    fake.add_error(401)
    async with traced_client(fake, telemetry, max_retries=0) as client:
        await Agent(MODEL, [echo], client=client, instructions="Be brief.").run(QUESTION)
        async for _ in client.acompletion(MODEL, question()):
            pass
        with pytest.raises(aclarifai.AuthenticationError):
            await client.acompletion(MODEL, question(), stream=False)


async def test_content_is_absent_by_default(rec: Recorder, fake: FakeClarifai) -> None:
    await _agent_and_calls(rec, fake, rec.telemetry())
    everything = " ".join(v for s in rec.spans() for v in values(s))
    for secret in (QUESTION, "swordfish", "tool-argument-word", "echo tool", "Be brief", PAT):
        assert secret not in everything
    keys = {k for s in rec.spans() for k in (s.attributes or {})}
    assert not keys & {"gen_ai.input.messages", "gen_ai.output.messages",
                       "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}


@pytest.mark.parametrize("how", ["argument", "environment"])
async def test_content_is_recorded_when_opted_in(
    rec: Recorder, fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        telemetry = rec.telemetry()
    else:
        telemetry = rec.telemetry(capture_content=True)
    await _agent_and_calls(rec, fake, telemetry)
    chat = rec.named("chat")[0]
    assert chat.attributes is not None
    inputs = str(chat.attributes["gen_ai.input.messages"])
    assert QUESTION in inputs and '"role":"system"' in inputs
    assert "tool_call" in str(chat.attributes["gen_ai.output.messages"])
    (tool_span,) = rec.named("execute_tool")
    assert tool_span.attributes is not None
    assert "tool-argument-word" in str(tool_span.attributes["gen_ai.tool.call.arguments"])
    assert tool_span.attributes["gen_ai.tool.call.result"] == "echo tool-argument-word"
    assert "swordfish" in str(rec.named("chat")[1].attributes)
    # the PAT never, even with content on
    for span in rec.spans():
        for value in values(span):
            assert PAT not in value


async def test_the_pat_is_in_no_attribute_or_event_even_when_echoed(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_error(500, body={"error": {"message": f"bad key {PAT[:6]}"}}, headers={"retry-after-ms": "1"})
    fake.add_text(ANSWER)
    async with traced_client(fake, rec.telemetry(capture_content=True), max_retries=1) as client:
        await client.acompletion(
            MODEL, question(), extra_body={"mcp_servers": [{"url": "x", "api_key": PAT}]},
        )
    (span,) = rec.named("chat")
    assert span.events  # the retry
    for value in values(span):
        assert PAT not in value


# -- switches ---------------------------------------------------------------------------------


async def test_telemetry_off_records_nothing_even_when_instrumented(
    rec: Recorder, fake: FakeClarifai
) -> None:
    fake.add_text(ANSWER, times=2)
    instrument(rec.tracer_provider, rec.meter_provider)
    try:
        async with traced_client(fake, False) as client:
            await client.acompletion(MODEL, question())
            assert client.telemetry is None
        async with traced_client(fake, None) as client:
            assert client.telemetry is not None
            await client.acompletion(MODEL, question())
    finally:
        uninstrument()
    assert len(rec.named("chat")) == 1


async def test_listing_models_is_not_a_chat_span(rec: Recorder, fake: FakeClarifai) -> None:
    async with traced_client(fake, rec.telemetry()) as client:
        await client.models.list()
    assert rec.spans() == []


@pytest.mark.parametrize("opt_in", ["", "http,gen_ai_latest_experimental"])
async def test_stability_opt_in_drops_the_old_provider_attribute(
    rec: Recorder, fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch, opt_in: str
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in)
    fake.add_text(ANSWER)
    async with traced_client(fake, rec.telemetry()) as client:
        await client.acompletion(MODEL, question())
    (span,) = rec.named("chat")
    assert span.attributes is not None and span.attributes["gen_ai.provider.name"] == "clarifai"
    assert ("gen_ai.system" in span.attributes) is (not opt_in)


def test_telemetry_true_uses_the_global_providers() -> None:
    client = AsyncClarifai(api_key=PAT, telemetry=True)
    assert isinstance(client.telemetry, Telemetry) and PAT not in repr(client.telemetry)


def test_import_aclarifai_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, aclarifai\n"
        "c = aclarifai.AsyncClarifai(api_key='x')\n"
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_the_extra_the_import_error_names_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    import aclarifai.otel\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'aclarifai[otel]'" in out.stdout
