"""GenAI semantic-convention attributes from what the client sends and receives (no I/O, no
OpenTelemetry import): request parameters, server address, response fields, error types, and
the opt-in message content in the conventions' JSON shapes.

Names follow the OpenTelemetry GenAI semantic conventions v1.41.0 (see docs/telemetry.md).
Content helpers are only called when content capture is on; nothing here ever sees the PAT
(it travels only in the ``Authorization`` header, which no info object carries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from .errors import APIError, APIStatusError, APITimeoutError, LimiterWaitError

__all__ = [
    "PROVIDER",
    "error_type",
    "input_messages",
    "output_messages",
    "request_attributes",
    "response_attributes",
    "server_attributes",
    "to_json",
]

PROVIDER = "clarifai"

# body key -> attribute; values are recorded only when of the attribute's type
_NUMERIC = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}
_INTEGER = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
}


def request_attributes(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``gen_ai.request.*`` parameters that were sent (the prompt is not one of them)."""
    attributes: dict[str, Any] = {}
    for key, name in _NUMERIC.items():
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[name] = float(value)
    for key, name in _INTEGER.items():
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            attributes[name] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = list(stop)
    count = body.get("n")
    if isinstance(count, int) and not isinstance(count, bool) and count != 1:
        attributes["gen_ai.request.choice.count"] = count
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if isinstance(kind, str):
        attributes["gen_ai.output.type"] = "json" if kind.startswith("json") else "text"
    return attributes


def server_attributes(url: str) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of the URL the call was sent to."""
    parts = urlsplit(url)
    if not parts.hostname:
        return {}
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return {"server.address": parts.hostname, "server.port": port}


def response_attributes(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``gen_ai.response.*`` and ``gen_ai.usage.*`` from a chat completion's JSON."""
    attributes: dict[str, Any] = {}
    response_id = answer.get("id")
    if isinstance(response_id, str) and response_id:
        attributes["gen_ai.response.id"] = response_id
    model = answer.get("model")
    if isinstance(model, str) and model:
        attributes["gen_ai.response.model"] = model
    choices = answer.get("choices")
    if isinstance(choices, list):
        reasons = [
            c.get("finish_reason") for c in choices
            if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = reasons
    usage = answer.get("usage")
    if isinstance(usage, dict):
        for key, name in (("prompt_tokens", "gen_ai.usage.input_tokens"),
                          ("completion_tokens", "gen_ai.usage.output_tokens")):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                attributes[name] = value
    return attributes


def error_type(error: BaseException) -> str:
    """The low-cardinality ``error.type``: the HTTP status of a status error ("429", "500"),
    ``timeout``, ``cancelled``, else the exception's class name. Our own limiter's refusal is
    ``LimiterWaitError``, not "429": no request was sent and no server throttled it."""
    if isinstance(error, LimiterWaitError):
        return "LimiterWaitError"
    if isinstance(error, APIStatusError) or (
        isinstance(error, APIError) and isinstance(error.status_code, int)
        and error.status_code >= 400
    ):
        return str(error.status_code)
    if isinstance(error, APITimeoutError):
        return "timeout"
    if isinstance(error, (asyncio.CancelledError, GeneratorExit)):
        return "cancelled"
    cls = type(error)
    if cls.__module__.startswith("aclarifai") or cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def to_json(value: Any) -> str:
    """JSON text for an attribute (anything orjson cannot encode becomes its ``str``)."""
    return orjson.dumps(value, default=str).decode()


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append({"type": "text", "content": part.get("text", "")})
            elif isinstance(part, dict):
                parts.append({"type": str(part.get("type", "unknown"))})  # images: kind only
    return parts


def _call_parts(calls: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        arguments: Any = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                pass
        parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                      "arguments": arguments})
    return parts


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """The chat history in the conventions' input-messages shape (roles and parts)."""
    out: list[dict[str, Any]] = []
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "tool":
            parts: list[dict[str, Any]] = [{"type": "tool_call_response",
                                            "id": message.get("tool_call_id"),
                                            "result": message.get("content")}]
        else:
            parts = _text_parts(message.get("content")) + _call_parts(message.get("tool_calls"))
        out.append({"role": role, "parts": parts})
    return out


def output_messages(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each choice's message in the conventions' output-messages shape."""
    out: list[dict[str, Any]] = []
    choices = answer.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        parts = _text_parts(message.get("content")) + _call_parts(message.get("tool_calls"))
        out.append({"role": message.get("role") or "assistant", "parts": parts,
                    "finish_reason": choice.get("finish_reason")})
    return out
