"""The OpenTelemetry traces behind ``aclarifai.otel``: one ``chat`` span per model call, one
``invoke_agent`` span per agent run, one ``execute_tool`` span per tool call, and the metrics.

Each trace object implements a protocol of ``aclarifai._telemetry``; its methods are called
inline by the client, the stream and the agent, so they never raise and never block. A trace
ends exactly once: later reports are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._otel_attrs import (
    PROVIDER,
    error_type,
    input_messages,
    output_messages,
    request_attributes,
    response_attributes,
    server_attributes,
    to_json,
)
from .models import wire_model

if TYPE_CHECKING:
    from .hooks import ErrorInfo, RequestInfo, ResponseInfo
    from .otel import Telemetry
    from .sse import ServerSentEvent
    from .types import ToolCall

__all__ = ["AgentRunTrace", "ChatTrace", "ToolCallTrace"]

RETRY_EVENT = "aclarifai.retry"


def _base(telemetry: Telemetry, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.provider.name": PROVIDER}
    if telemetry.legacy_names:
        attributes["gen_ai.system"] = PROVIDER  # the provider's name up to semconv v1.36
    return attributes


def _fail(span: trace.Span, telemetry: Telemetry, error: BaseException) -> str:
    """Mark ``span`` as failed by ``error``; the message is recorded only with content capture
    (a server's message may quote the prompt)."""
    kind = error_type(error)
    span.set_attribute("error.type", kind)
    description = str(error) if telemetry.capture_content else type(error).__name__
    span.set_status(Status(StatusCode.ERROR, description))
    return kind


class ChatTrace:
    """The ``chat {model}`` CLIENT span of one call, across its attempts, and its metrics."""

    __slots__ = ("_attempt_started", "_clock", "_ended", "_first", "_last", "_metric",
                 "_span", "_started", "_telemetry")

    def __init__(self, telemetry: Telemetry, request: RequestInfo, parent: Context | None) -> None:
        self._telemetry = telemetry
        self._clock = time.perf_counter
        self._started = self._attempt_started = self._clock()
        self._first: float | None = None
        self._last = 0.0
        self._ended = False
        body = request.body or {}
        model = request.model or ""
        metric = _base(telemetry, "chat")
        if model:
            metric["gen_ai.request.model"] = model
        metric.update(server_attributes(request.url))
        self._metric = metric
        attributes = {**metric, **request_attributes(body)}
        if telemetry.capture_content:
            attributes["gen_ai.input.messages"] = to_json(input_messages(body.get("messages")))
        self._span = telemetry.tracer.start_span(
            f"chat {model}".rstrip(), context=parent, kind=SpanKind.CLIENT, attributes=attributes
        )

    def attempt(self, info: RequestInfo) -> None:
        self._attempt_started = self._clock()
        self._first = None

    def chunks(self, events: Sequence[ServerSentEvent]) -> None:
        if self._ended or (self._first is not None and not self._telemetry.chunk_metrics):
            return  # without chunk metrics, only the first chunk's time is wanted
        count = 0
        for event in events:
            if event.data != "[DONE]":
                count += 1
        if not count:
            return
        now = self._clock()
        if not self._telemetry.chunk_metrics:
            self._first = now
            return
        record = self._telemetry.time_per_output_chunk.record
        if self._first is None:
            self._first = now
            count -= 1  # the first chunk has a time to first chunk, not a time since the last
        else:
            record(now - self._last, self._metric)
            count -= 1
        for _ in range(count):
            record(0.0, self._metric)  # arrived in the same read as the one before
        self._last = now

    def response(self, info: ResponseInfo, answer: Any) -> None:
        if self._ended:
            return
        data = _answer_dict(answer)
        attributes = response_attributes(data)
        if "gen_ai.response.model" not in attributes and info.model:
            attributes["gen_ai.response.model"] = info.model
        usage = info.usage
        if usage is not None and "gen_ai.usage.input_tokens" not in attributes:
            attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
        if self._telemetry.capture_content:
            attributes["gen_ai.output.messages"] = to_json(output_messages(data))
        self._end(attributes, None)

    def error(self, info: ErrorInfo) -> None:
        if self._ended:
            return
        error = info.error
        if info.will_retry:
            event: dict[str, Any] = {
                "aclarifai.retry.attempt": info.request.attempt,
                "aclarifai.retry.delay": float(info.delay or 0.0),
                "error.type": error_type(error),
            }
            if isinstance(error.status_code, int):
                event["http.response.status_code"] = error.status_code
            self._span.add_event(RETRY_EVENT, event)
            return
        partial = getattr(error.partial, "to_dict", None)
        attributes = response_attributes(partial()) if callable(partial) else {}
        self._end(attributes, error)

    def abandon(self, exc: BaseException | None) -> None:
        if self._ended:
            return
        if exc is None:
            self._span.set_attribute("aclarifai.closed_early", True)
        self._end({}, exc, metrics=exc is not None)

    def _end(self, attributes: dict[str, Any], error: BaseException | None, *, metrics: bool = True) -> None:
        self._ended = True
        telemetry, span = self._telemetry, self._span
        try:
            first = self._first
            if first is not None:
                ttfc = first - self._attempt_started
                attributes["gen_ai.response.time_to_first_chunk"] = ttfc
            metric = dict(self._metric)
            model = attributes.get("gen_ai.response.model")
            if model:
                metric["gen_ai.response.model"] = model
            if error is not None:
                metric["error.type"] = _fail(span, telemetry, error)
            span.set_attributes(attributes)
            if metrics:
                telemetry.operation_duration.record(self._clock() - self._started, metric)
                if first is not None:
                    telemetry.time_to_first_chunk.record(first - self._attempt_started, metric)
                _record_tokens(telemetry, attributes, metric)
        finally:
            span.end()

    def __del__(self) -> None:
        # A stream dropped without being closed: end its span rather than lose it.
        if not getattr(self, "_ended", True):
            try:
                self.abandon(None)
            except Exception:  # noqa: S110 - interpreter shutdown; nothing to report to
                pass


def _answer_dict(answer: Any) -> Mapping[str, Any]:
    if isinstance(answer, Mapping):
        return answer
    completion = getattr(answer, "completion", None)  # a stream's ChunkAccumulator
    if callable(completion):
        try:
            data = completion().to_dict()
        except Exception:
            return {}
        return data if isinstance(data, Mapping) else {}
    return {}


def _record_tokens(telemetry: Telemetry, attributes: Mapping[str, Any], metric: dict[str, Any]) -> None:
    for key, kind in (("gen_ai.usage.input_tokens", "input"), ("gen_ai.usage.output_tokens", "output")):
        value = attributes.get(key)
        if isinstance(value, int):
            telemetry.token_usage.record(value, {**metric, "gen_ai.token.type": kind})


class AgentRunTrace:
    """The ``invoke_agent {name}`` INTERNAL span of one run; parent of its chats and tools."""

    __slots__ = ("_ended", "_span", "_telemetry", "context")

    def __init__(self, telemetry: Telemetry, agent: Any) -> None:
        self._telemetry = telemetry
        self._ended = False
        name = getattr(agent, "name", None)
        attributes = _base(telemetry, "invoke_agent")
        if isinstance(name, str) and name:
            attributes["gen_ai.agent.name"] = name
        attributes["gen_ai.request.model"] = wire_model(agent.model, clarifai_api=False)
        params = getattr(agent, "params", None)
        if isinstance(params, Mapping):
            attributes.update(request_attributes(params))
        self._span = telemetry.tracer.start_span(
            f"invoke_agent {name}" if isinstance(name, str) and name else "invoke_agent",
            kind=SpanKind.INTERNAL, attributes=attributes,
        )
        self.context = trace.set_span_in_context(self._span)
        """The context whose current span is this run's: the parent of its chats and tools."""

    def tool(self, call: ToolCall, arguments: Any) -> ToolCallTrace:
        return ToolCallTrace(self._telemetry, self.context, call, arguments)

    def rejected(self, call: ToolCall, arguments: Any, *, unknown: bool) -> None:
        span = self._telemetry.tracer.start_span(
            f"execute_tool {call.function.name or ''}".rstrip(), context=self.context,
            kind=SpanKind.INTERNAL, attributes=_tool_attributes(self._telemetry, call, arguments),
        )
        kind = "unknown_tool" if unknown else "invalid_arguments"
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, kind))
        span.end()

    def end(self, result: Any, exc: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        span = self._span
        try:
            usage = getattr(result, "usage", None)
            turns: int = getattr(result, "turns", 0)
            if usage is not None and turns:
                span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
            if isinstance(exc, GeneratorExit):
                span.set_attribute("aclarifai.closed_early", True)
            elif exc is not None:
                _fail(span, self._telemetry, exc)
        finally:
            span.end()


def _tool_attributes(telemetry: Telemetry, call: ToolCall, arguments: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.function.name or "",
        "gen_ai.tool.type": "function",
    }
    if call.id:
        attributes["gen_ai.tool.call.id"] = call.id
    if telemetry.capture_content:
        attributes["gen_ai.tool.call.arguments"] = (
            arguments if isinstance(arguments, str) else to_json(arguments)
        )
    return attributes


class ToolCallTrace:
    """The ``execute_tool {tool}`` INTERNAL span of one call, current while the tool runs.

    Its parent is the run's span, given explicitly: the task running the tool was created
    from whatever context the agent's caller had, which is not where the span belongs.
    """

    __slots__ = ("_arguments", "_call", "_failed", "_parent", "_span", "_telemetry", "_token")

    def __init__(self, telemetry: Telemetry, parent: Context, call: ToolCall, arguments: Any) -> None:
        self._telemetry = telemetry
        self._parent = parent
        self._call = call
        self._arguments = arguments
        self._span: trace.Span | None = None
        self._token: object = None
        self._failed = False

    async def __aenter__(self) -> ToolCallTrace:
        telemetry, call = self._telemetry, self._call
        self._span = span = telemetry.tracer.start_span(
            f"execute_tool {call.function.name or ''}".rstrip(), context=self._parent,
            kind=SpanKind.INTERNAL, attributes=_tool_attributes(telemetry, call, self._arguments),
        )
        # Same task from here to __aexit__: what the tool traces nests under this span.
        self._token = otel_context.attach(trace.set_span_in_context(span))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]
        span = self._span
        if span is None:
            return
        if exc is not None and not self._failed:
            self.failed(exc)
        span.end()

    def succeeded(self, content: str | None) -> None:
        if self._span is not None and self._telemetry.capture_content and content is not None:
            self._span.set_attribute("gen_ai.tool.call.result", content)

    def failed(self, exc: BaseException) -> None:
        if self._span is not None and not self._failed:
            self._failed = True
            _fail(self._span, self._telemetry, exc)
