"""OpenTelemetry traces and metrics for aclarifai, in the GenAI semantic conventions (v1.41.0).

>>> import aclarifai
>>> aclarifai.instrument()                          # every client and agent, global providers
>>> client = AsyncClarifai(telemetry=True)          # or one client
>>> client = AsyncClarifai(telemetry=Telemetry(tracer_provider=tp, meter_provider=mp))

Needs the ``otel`` extra (``pip install 'aclarifai[otel]'``: ``opentelemetry-api`` only; bring
your own SDK and exporters). ``import aclarifai`` never imports this module.

What is recorded (docs/telemetry.md has the span tree and every attribute): a ``chat {model}``
CLIENT span per model call, covering its retries (one ``aclarifai.retry`` event each, with the
delay); an ``invoke_agent`` span per agent run, parent of its turns' ``chat`` spans and of one
``execute_tool {tool}`` span per tool call; and the histograms ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage``, ``gen_ai.client.operation.time_to_first_chunk`` and
``gen_ai.client.operation.time_per_output_chunk``. Prompts, answers and tool arguments and results
are recorded only with ``capture_content=True`` (or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``); the PAT never.

Layer: transport, beside ``hooks`` (it imports nothing above it), so that
``AsyncClarifai(telemetry=True)`` may load it.
"""

from __future__ import annotations

import os
from typing import Any

try:
    from opentelemetry import metrics, trace
except ImportError as exc:  # pragma: no cover - exercised in a venv without the extra
    raise ImportError(
        "aclarifai.otel needs OpenTelemetry: pip install 'aclarifai[otel]'"
    ) from exc

from . import _telemetry
from ._otel_spans import AgentRunTrace, ChatTrace
from ._version import __version__
from .hooks import RequestInfo

__all__ = ["SEMCONV_VERSION", "Telemetry", "instrument", "uninstrument"]

SEMCONV_VERSION = "1.41.0"
"""The version of the OpenTelemetry semantic conventions whose GenAI names are emitted."""
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
STABILITY_VARIABLE = "OTEL_SEMCONV_STABILITY_OPT_IN"
_CONTENT_ON = frozenset(("true", "1", "yes", "on", "span_only", "span_and_event"))

# The conventions' advised bucket boundaries.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
CHUNK_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)


def capture_content_from_env() -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for content on spans
    (``true``, ``SPAN_ONLY`` or ``SPAN_AND_EVENT``, any case)."""
    return os.environ.get(CONTENT_VARIABLE, "").strip().lower() in _CONTENT_ON


def latest_only_from_env() -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental``."""
    values = os.environ.get(STABILITY_VARIABLE, "")
    return "gen_ai_latest_experimental" in {v.strip() for v in values.split(",")}


class Telemetry:
    """Where aclarifai reports its spans and metrics.

    ``tracer_provider`` / ``meter_provider``: the providers to use (the global ones, as set by
    ``opentelemetry.trace.set_tracer_provider``, when omitted). ``capture_content``: record
    prompts, answers and tool arguments and results (None: from the environment, off by
    default). The environment is read once, here. ``chunk_metrics``: record
    ``gen_ai.client.operation.time_per_output_chunk``, one value per streamed chunk as the
    conventions define it; that is most of what telemetry costs a fast stream (each value is one
    SDK ``Histogram.record``: docs/performance.md "Telemetry on"), so a service relaying many
    streams may turn it off. Time to first chunk, duration and token usage stay per call.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        capture_content: bool | None = None,
        chunk_metrics: bool = True,
    ) -> None:
        self.capture_content = capture_content_from_env() if capture_content is None else capture_content
        self.chunk_metrics = chunk_metrics
        """Whether ``time_per_output_chunk`` is recorded (one value per streamed chunk)."""
        self.legacy_names = not latest_only_from_env()
        """Also emit ``gen_ai.system`` (the pre-1.37 provider attribute) beside the new names."""
        self.tracer = trace.get_tracer(
            "aclarifai", __version__, tracer_provider=tracer_provider, schema_url=SCHEMA_URL
        )
        meter = metrics.get_meter(
            "aclarifai", __version__, meter_provider=meter_provider, schema_url=SCHEMA_URL
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.time_per_output_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk", unit="s",
            description="Time between two chunks of a streamed response.",
            explicit_bucket_boundaries_advisory=CHUNK_BUCKETS,
        )

    def __repr__(self) -> str:
        return f"Telemetry(capture_content={self.capture_content}, chunk_metrics={self.chunk_metrics})"

    def call(self, request: RequestInfo) -> ChatTrace | None:
        """A ``chat`` span for a chat completion (other calls, such as listing models: None)."""
        if request.model is None or request.method != "POST":
            return None
        parent = _telemetry.PARENT.get()
        context = parent.context if isinstance(parent, AgentRunTrace) else None
        return ChatTrace(self, request, context)

    def agent(self, agent: Any) -> AgentRunTrace:
        """An ``invoke_agent`` span for one run of ``agent``, child of the current span."""
        return AgentRunTrace(self, agent)


def instrument(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    *,
    capture_content: bool | None = None,
    chunk_metrics: bool = True,
) -> Telemetry:
    """Trace every client and agent of the process (those without their own ``telemetry=``).

    >>> aclarifai.instrument()        # the global providers; call after setting them up

    The keywords are ``Telemetry``'s.
    """
    telemetry = Telemetry(
        tracer_provider, meter_provider, capture_content=capture_content,
        chunk_metrics=chunk_metrics,
    )
    _telemetry.install(telemetry)
    return telemetry


def uninstrument() -> None:
    """Stop tracing the clients that follow ``instrument()``."""
    _telemetry.install(None)
