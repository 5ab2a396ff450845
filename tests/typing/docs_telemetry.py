"""docs/telemetry.md: tracing one client or the whole process, as a user's type checker sees it.

(Needs the ``otel`` extra and the OpenTelemetry SDK, which the wheel check of ``.ci/run``
installs.)
"""

import asyncio
from typing import assert_type

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aclarifai
from aclarifai import AsyncClarifai, ChatCompletion, ErrorInfo, Hooks
from aclarifai.otel import SEMCONV_VERSION, Telemetry, instrument, uninstrument
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
MESSAGES = [{"role": "user", "content": "Hi"}]


def on_error(info: ErrorInfo) -> None:
    assert_type(info.will_retry, bool)
    assert_type(info.delay, float | None)  # the wait before the retry, as the span event says


async def main() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    telemetry = Telemetry(tracer_provider, meter_provider, capture_content=False,
                          chunk_metrics=False)
    assert_type(telemetry.capture_content, bool)
    assert_type(telemetry.chunk_metrics, bool)
    assert_type(SEMCONV_VERSION, str)
    async with FakeClarifai() as fake:
        fake.add_error(503, headers={"retry-after-ms": "1"})
        async with AsyncClarifai(
            api_key=fake.api_key, base_url=fake.base_url, telemetry=telemetry,
            hooks=Hooks(on_error=on_error),
        ) as client:
            answer = await client.acompletion(MODEL, MESSAGES)
            assert_type(answer, ChatCompletion)
            async for chunk in client.acompletion(MODEL, MESSAGES):
                assert_type(chunk, aclarifai.ChatCompletionChunk)
        everywhere = instrument(tracer_provider, meter_provider, chunk_metrics=True)
        assert_type(everywhere, Telemetry)
        try:
            async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
                await client.acompletion(MODEL, MESSAGES)
        finally:
            uninstrument()
    assert len(exporter.get_finished_spans()) == 3
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
