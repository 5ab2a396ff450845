"""aclarifai through its public API, the way users write it.

Variants (``--client``):

``aclarifai``
    Iterate ``ChatCompletionChunk`` objects and accumulate ``chunk.choices[0].delta`` by hand
    (content and tool-call fragments), then ``await stream.get_final_completion()``, whose answer
    is checked too.
``aclarifai-events``
    ``stream.events()``: ``ContentDelta`` text, ``ToolCallArgumentsDelta.delta`` per fragment (as
    a UI would print it), ``ToolCallDone`` for the final calls. The library parses every call's
    arguments incrementally whatever the consumer reads; this variant reads ``parsed_so_far``
    once per call, on its last fragment, at the end of the stream.
``aclarifai-parsed``
    Like ``aclarifai-events`` but reads ``event.parsed_so_far`` on every fragment, as a UI that
    shows partial arguments live would: the price of materialising each snapshot.
``aclarifai-limited``
    ``aclarifai`` with ``AsyncClarifai(limiter=RateLimiter(...))`` at a rate that never makes a
    request wait: S4 then measures what the limiter protocol costs per request.
``aclarifai-otel``
    ``aclarifai`` with ``telemetry=`` an ``aclarifai.otel.Telemetry`` on the OpenTelemetry SDK:
    every span goes through a ``SimpleSpanProcessor`` to an exporter that drops it, every metric
    is aggregated by an ``InMemoryMetricReader`` that is never read. What the library and the
    SDK cost per call and per chunk, without any export I/O.
``aclarifai-otel-nochunk``
    The same with ``Telemetry(chunk_metrics=False)``: no ``time_per_output_chunk`` values.
"""

from __future__ import annotations

from typing import Any

import aclarifai
from aclarifai import ContentDelta, Finished, ToolCallArgumentsDelta, ToolCallDone

from . import scenarios as sc
from .byhand import ByHand


def _completion_result(completion: aclarifai.ChatCompletion) -> dict[str, Any]:
    choice = completion.choices[0]
    message = choice.message
    calls = [[c.id, c.function.name, c.function.arguments] for c in message.tool_calls or ()]
    return {"content": message.content, "tool_calls": calls, "finish_reason": choice.finish_reason}


class AclarifaiClient:
    def __init__(self, port: int, variant: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.variant = variant
        self.client: aclarifai.AsyncClarifai | None = None

    async def open(self) -> None:
        # Only the keywords a variant needs: compare --base may measure a library without them.
        options: dict[str, Any] = {}
        if self.variant == "aclarifai-limited":
            options["limiter"] = aclarifai.RateLimiter(1e9)
        if self.variant.startswith("aclarifai-otel"):
            options["telemetry"] = sdk_telemetry(
                chunk_metrics=self.variant != "aclarifai-otel-nochunk"
            )
        self.client = aclarifai.AsyncClarifai(api_key=sc.API_KEY, base_url=self.base_url, **options)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def stream(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.client is not None
        request = self.client.acompletion(
            model=sc.MODEL, messages=plan.messages, tools=plan.tools, stream=True
        )
        async with request as stream:
            if self.variant == "aclarifai":
                result = await _consume_chunks(stream)
            else:
                result = await _consume_events(stream, live=self.variant == "aclarifai-parsed")
            result["library"] = _completion_result(await stream.get_final_completion())
        return result

    async def complete(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.client is not None
        completion = await self.client.acompletion(
            model=sc.MODEL, messages=plan.messages, tools=plan.tools
        )
        assert isinstance(completion, aclarifai.ChatCompletion)
        return _completion_result(completion)


def sdk_telemetry(*, chunk_metrics: bool = True) -> Any:
    """An ``aclarifai.otel.Telemetry`` on the OpenTelemetry SDK, exporting nowhere."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from aclarifai.otel import Telemetry

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    if chunk_metrics:  # the default; and a library from before the option (compare --base)
        return Telemetry(tracer_provider, meter_provider)
    return Telemetry(tracer_provider, meter_provider, chunk_metrics=False)


async def _consume_chunks(stream: aclarifai.CompletionStream) -> dict[str, Any]:
    by_hand = ByHand()
    async for chunk in stream:
        if chunk.choices:  # not the usage chunk
            by_hand.take(chunk.choices[0])
    return by_hand.result()


async def _consume_events(stream: aclarifai.CompletionStream, *, live: bool) -> dict[str, Any]:
    content: list[str] = []
    shown: dict[int, list[str]] = {}  # what a UI printed of each call's arguments
    last_delta: dict[int, ToolCallArgumentsDelta] = {}
    done: dict[int, Any] = {}
    finish_reason = None
    async for event in stream.events():
        if isinstance(event, ContentDelta):
            content.append(event.text)
        elif isinstance(event, ToolCallArgumentsDelta):
            shown.setdefault(event.index, []).append(event.delta)
            last_delta[event.index] = event
            if live:
                event.parsed_so_far  # noqa: B018 -- reading it is the point
        elif isinstance(event, ToolCallDone):
            done[event.index] = event.tool_call
        elif isinstance(event, Finished):
            finish_reason = event.finish_reason
    calls = []
    for index, call in sorted(done.items()):
        arguments = call.function.arguments
        if "".join(shown.get(index, ())) != arguments:
            arguments = "(argument deltas do not add up to ToolCallDone's arguments)"
        calls.append([call.id, call.function.name, arguments])
    return {
        "content": "".join(content) or None,
        "tool_calls": calls,
        "finish_reason": finish_reason,
        "parsed": {str(i): e.parsed_so_far for i, e in sorted(last_delta.items())},
    }


def make(port: int, variant: str) -> AclarifaiClient:
    return AclarifaiClient(port, variant)
