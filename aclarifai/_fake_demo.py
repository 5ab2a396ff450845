"""What FakeClarifai answers: the scripted queue, request checks, error bodies, the demo model.

Without a scripted reply a deterministic demo model answers. It is just smart enough to drive a
chat loop and an agent offline: it echoes the user, calls a tool the user names, answers from
tool results, and fills a JSON schema. Same request, same reply. No I/O; the server renders the
returned plan.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import orjson

from ._fake_render import (
    CREATED,
    Make,
    MessagePlan,
    Reply,
    ToolCallPlan,
    Wire,
    render_json,
    split_words,
)

__all__ = [
    "ReplyOptions",
    "ReplyQueue",
    "apply_limits",
    "auth_error",
    "demo_plan",
    "encode_arguments",
    "model_error",
    "model_key",
    "model_list",
    "openai_error",
    "parse_body",
    "sample_from_schema",
    "tool_call_plans",
]

_LOCATION_NAMES = frozenset({"location", "city", "place", "town", "country", "region"})
# Capitalised words that start questions rather than name places.
_NOT_PLACES = frozenset(
    "i what where when why who whom which how is are am was do does did can could would should "
    "will shall may please tell give show find get the a an hello hi hey thanks".split()
)
_STRING_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 8
_MAX_CHOICES = 128  # OpenAI's bound on `n`
_MAX_STOPS = 4  # OpenAI's bound on the `stop` list
# What the endpoint reads from `model`: a Clarifai model URL or its short path form. The
# client's other spellings (LiteLLM's prefixes, `www.`, `?tab=`) never reach the wire.
_MODEL_URL = re.compile(
    r"^(?:https?://(?:www\.)?clarifai\.com/)?(?P<user>[^/\s?#]+)/(?P<app>[^/\s?#]+)"
    r"/models/(?P<model>[^/\s?#]+)(?:/versions/(?P<version>[^/\s?#]+))?/?$"
)


class ReplyOptions(TypedDict, total=False):
    """Keyword options every ``add_*`` method takes."""

    delay: float
    """Seconds to wait before sending the status line and headers."""
    chunk_delay: float
    """Seconds to wait between two pieces (events, or byte runs for raw bodies)."""
    disconnect_after: int
    """Close the connection after this many events (bytes, for bodies that are not generated
    event streams: ``add_sse``, ``add_response``, non-stream replies)."""
    stall_after: int
    """Send this many events (or bytes), then hang without closing until cancelled."""
    times: int
    """Use this reply for the next ``times`` requests (default 1)."""


@dataclass
class _Entry:
    reply: Reply
    remaining: int


class ReplyQueue:
    """Scripted replies in order; a reply pushed with ``times=k`` serves k requests."""

    def __init__(self) -> None:
        self._entries: deque[_Entry] = deque()

    def __len__(self) -> int:
        return sum(entry.remaining for entry in self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def push(self, make: Make, options: ReplyOptions, *, drop: bool = False) -> None:
        unknown = set(options) - set(ReplyOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown reply options: {sorted(unknown)}")
        disconnect, stall = options.get("disconnect_after"), options.get("stall_after")
        if disconnect is not None and stall is not None:
            raise ValueError("use disconnect_after or stall_after, not both")
        delay, chunk_delay = options.get("delay", 0.0), options.get("chunk_delay", 0.0)
        if min(delay, chunk_delay, disconnect or 0, stall or 0) < 0:
            raise ValueError("delays and counts must be >= 0")
        times = options.get("times", 1)
        if times < 1:
            raise ValueError("times must be >= 1")
        self._entries.append(_Entry(Reply(make, delay, chunk_delay, disconnect, stall, drop), times))

    def pop(self) -> Reply | None:
        if not self._entries:
            return None
        entry = self._entries[0]
        entry.remaining -= 1
        if entry.remaining == 0:
            self._entries.popleft()
        return entry.reply


def encode_arguments(arguments: Any) -> str:
    """Tool-call arguments as JSON text; a string is taken as already-encoded (maybe invalid)."""
    if isinstance(arguments, str):
        return arguments
    return orjson.dumps(arguments).decode()


def tool_call_plans(
    calls: Sequence[dict[str, Any]], fragments: int, extra: dict[str, Any] | None
) -> tuple[ToolCallPlan, ...]:
    """``FakeClarifai.add_tool_calls``'s call dicts as plans (a call's keys win over defaults)."""
    return tuple(
        ToolCallPlan(
            name=call["name"],
            arguments=encode_arguments(call.get("arguments", {})),
            id=call.get("id"),
            fragments=call.get("fragments", fragments),
            extra={**(extra or {}), **call.get("extra", {})} or None,
        )
        for call in calls
    )


def openai_error(status: int, message: str, request_id: str) -> Wire:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return render_json(status, body, request_id)


def auth_error(request_id: str) -> Wire:
    """Clarifai's native 401 body, which this endpoint sends for a bad or missing PAT."""
    status = _clarifai_status(
        11009, "API key not found",
        "The PAT in the Authorization header is missing or not valid.", request_id,
    )
    return render_json(401, {"status": status}, request_id)


def model_key(ref: str) -> tuple[str, str, str] | None:
    """``(user, app, model)`` of a model URL as the endpoint reads it, None if malformed."""
    match = _MODEL_URL.match(ref)
    return None if match is None else (match["user"], match["app"], match["model"])


def model_error(ref: str, known: Sequence[str], request_id: str) -> Wire | None:
    """The Clarifai error for a ``model`` the endpoint cannot serve, None when it can.

    A reference that is not a model URL gets HTTP 400 with status code 11102 (invalid
    request); a well-formed URL naming no model in ``known`` gets HTTP 404 with 21200 (model
    does not exist). Any version of a known model is served.
    """
    key = model_key(ref)
    if key is None:
        status = _clarifai_status(
            11102, "Invalid request",
            f"model {ref!r} is not a Clarifai model URL: "
            "use https://clarifai.com/{user}/{app}/models/{model}[/versions/{version}]",
            request_id,
        )
        return render_json(400, {"status": status}, request_id)
    if key in {model_key(url) for url in known}:
        return None
    user, app, model = key
    status = _clarifai_status(
        21200, "Model does not exist",
        f"Model {model!r} was not found in app {app!r} of user {user!r}.", request_id,
    )
    return render_json(404, {"status": status}, request_id)


def _clarifai_status(code: int, description: str, details: str, request_id: str) -> dict[str, Any]:
    return {"code": code, "description": description, "details": details, "req_id": request_id}


def model_list(urls: list[str], request_id: str) -> Wire:
    data = [{"id": url, "object": "model", "created": CREATED, "owned_by": _owner(url)} for url in urls]
    return render_json(200, {"object": "list", "data": data}, request_id)


def _owner(url: str) -> str:
    parts = url.split("/")  # https://clarifai.com/{user}/{app}/models/{model}
    return parts[3] if len(parts) > 3 else "clarifai"


def parse_body(raw: bytes) -> tuple[Any, str | None]:
    """The parsed JSON body (None if absent or not JSON), and the 400 message it deserves."""
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None, "Request body is not valid JSON"
    if not isinstance(parsed, dict):
        return parsed, "Request body must be a JSON object"
    if not isinstance(parsed.get("model"), str) or not parsed["model"]:
        return parsed, "'model' is required: the model's Clarifai URL"
    messages = parsed.get("messages")
    if not isinstance(messages, list) or not messages:
        return parsed, "'messages' is required and must be a non-empty list"
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return parsed, "each message must be an object with a 'role'"
    return parsed, _options_problem(parsed)


def _options_problem(body: dict[str, Any]) -> str | None:
    """The 400 message for an ``n``, ``max_tokens`` or ``stop`` the endpoint refuses."""
    for key in ("n", "max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (type(value) is not int or value < 1):
            return f"'{key}' must be a positive integer, got {value!r}"
    if (body.get("n") or 1) > _MAX_CHOICES:
        return f"'n' must be at most {_MAX_CHOICES}"
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stop is not None and not (
        isinstance(stops, list) and len(stops) <= _MAX_STOPS
        and all(isinstance(s, str) and s for s in stops)
    ):
        return f"'stop' must be a string or a list of up to {_MAX_STOPS} non-empty strings"
    return None


def apply_limits(plan: MessagePlan, body: dict[str, Any]) -> MessagePlan:
    """The demo reply as ``stop`` and ``max_tokens`` cut it (a word counts as a token).

    The content ends before the first stop string (``finish_reason`` stays ``"stop"``); then
    reasoning, content and tool-call arguments, in that order, share ``max_tokens``
    (or ``max_completion_tokens``), and a reply cut short ends with ``"length"``.
    """
    stop = body.get("stop")
    content = plan.content
    if content is not None and stop:
        for marker in [stop] if isinstance(stop, str) else stop:
            content = content.split(marker, 1)[0]
    budget = body.get("max_tokens") or body.get("max_completion_tokens")
    if budget is None:
        return replace(plan, content=content)
    reasoning, budget, cut = _take_words(plan.reasoning, budget)
    if cut:
        content = None  # the budget ran out while reasoning
    else:
        content, budget, cut = _take_words(content, budget)
    calls: list[ToolCallPlan] = []
    for call in plan.tool_calls:
        if cut or (budget == 0 and call.arguments):
            cut = True
            break
        arguments, budget, cut = _take_words(call.arguments, budget)
        calls.append(replace(call, arguments=arguments or ""))
    return replace(
        plan, reasoning=reasoning, content=content, tool_calls=tuple(calls),
        finish_reason="length" if cut else plan.finish_reason,
    )


def _take_words(text: str | None, budget: int) -> tuple[str | None, int, bool]:
    """The first ``budget`` words of ``text``, the budget left, and whether text was cut."""
    if not text:
        return text, budget, False
    words = split_words(text)
    if len(words) <= budget:
        return text, budget - len(words), False
    return "".join(words[:budget]), 0, True


def demo_plan(body: dict[str, Any]) -> MessagePlan:
    """The demo model's reply to a validated chat-completion request body."""
    messages: list[Any] = body["messages"]
    reasoning = None
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    if last.get("role") == "tool":
        return MessagePlan(content=_answer_from_tools(messages))
    text, images = _last_user_message(messages)
    if body.get("reasoning_effort"):
        reasoning = f"The user wrote {count_label(len(text.split()), 'word')}. I will answer."
    if last.get("role") == "user":
        calls = _tool_calls(body, text)
        if calls:
            return MessagePlan(reasoning=reasoning, tool_calls=calls, finish_reason="tool_calls")
    schema = _response_schema(body.get("response_format"))
    if schema is not None:
        content = orjson.dumps(sample_from_schema(schema, text)).decode()
        # JSON has no spaces to split on: stream it in ~8-character pieces instead.
        return MessagePlan(content=content, chunks=max(1, len(content) // 8), reasoning=reasoning)
    content = f'You said: "{text}". I am FakeClarifai\'s demo model.'
    if images:
        content += f" I saw {count_label(images, 'image')}."
    return MessagePlan(content=content, reasoning=reasoning)


def count_label(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _last_user_message(messages: list[Any]) -> tuple[str, int]:
    """Text and image count of the last user message (content may be a list of parts)."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content, 0
        if isinstance(content, list):
            parts = [p for p in content if isinstance(p, dict)]
            texts = [p["text"] for p in parts if isinstance(p.get("text"), str)]
            images = sum(1 for p in parts if p.get("type") == "image_url" or "image_url" in p)
            return " ".join(texts), images
        return "", 0
    return "", 0


def _answer_from_tools(messages: list[Any]) -> str:
    """Quote every trailing tool result verbatim, named after the call it answers."""
    names: dict[str, str] = {}
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    names[str(call.get("id"))] = str(function.get("name", "tool"))
    results: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        name = names.get(str(message.get("tool_call_id")), "tool")
        results.append(f"Using {name}: {_tool_content(message.get('content'))}.")
    results.reverse()
    return " ".join(results) + f" That is what {count_label(len(results), 'tool')} told me."


def _tool_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return orjson.dumps(content).decode()


def _tool_calls(body: dict[str, Any], text: str) -> tuple[ToolCallPlan, ...]:
    functions = [
        t["function"]
        for t in body.get("tools") or ()
        if isinstance(t, dict) and isinstance(t.get("function"), dict) and "name" in t["function"]
    ]
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return ()
    if isinstance(choice, dict):
        function = choice.get("function")
        wanted = function.get("name") if isinstance(function, dict) else None
        chosen = [f for f in functions if f["name"] == wanted]
    else:
        chosen = [f for f in functions if _mentions(text, str(f["name"]))]
        if not chosen and choice == "required":
            chosen = functions[:1]
    return tuple(
        ToolCallPlan(
            name=f["name"],
            arguments=orjson.dumps(sample_from_schema(f.get("parameters") or {}, text)).decode(),
        )
        for f in chosen
    )


def _mentions(text: str, name: str) -> bool:
    """Does ``text`` name the tool, or a ``_``-separated part of its name longer than 3?"""
    lowered = text.lower()
    words = [name] + [part for part in name.split("_") if len(part) > 3]
    return any(re.search(r"\b" + re.escape(w.lower()), lowered) for w in words)


def _response_schema(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return {"type": "object", "required": ["answer"], "properties": {"answer": {}}}
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else {"type": "object"}


def _place(text: str) -> str | None:
    """The last capitalised word that names something: "Paris" in "Weather in Paris?".

    Words opening a sentence are capitalised anyway, so they only count when nothing else is.
    """
    inside: list[str] = []
    opening: list[str] = []
    for match in re.finditer(r"[^\W\d_]+", text):
        word = match.group()
        if not word[0].isupper() or word.lower() in _NOT_PLACES:
            continue
        before = text[: match.start()].rstrip()
        (opening if not before or before[-1] in ".!?" else inside).append(word)
    places = inside or opening
    return places[-1] if places else None


def sample_from_schema(schema: dict[str, Any], text: str = "") -> Any:
    """A small value valid for ``schema``: required properties filled, first enum value, ...

    ``text`` is the user's message, mined for place names (``location``, ``city``...).
    """
    return _sample(schema, "", text, schema, 0)


def _sample(schema: Any, name: str, text: str, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None if depth > _MAX_DEPTH else "sample"
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key) or () if isinstance(s, dict) and s.get("type") != "null"]
        if options:
            return _sample(options[0], name, text, root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            key: _sample(properties.get(key, {}), key, text, root, depth + 1)
            for key in schema.get("required") or ()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [_sample(schema.get("items", {}), name, text, root, depth + 1)] * count
    return _scalar(kind, schema, name, text)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` such as ``#/$defs/City`` (pydantic's output uses them)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return target if isinstance(target, dict) else {}


def _scalar(kind: str, schema: dict[str, Any], name: str, text: str) -> Any:
    if kind in ("integer", "number"):
        value = 1 if kind == "integer" else 1.0
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, (int, float)) and value < low:
            value = low
        if isinstance(high, (int, float)) and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    value_str = _STRING_FORMATS.get(str(schema.get("format")), "sample")
    if name.lower() in _LOCATION_NAMES:
        value_str = _place(text) or "Paris"
    min_length = int(schema.get("minLength", 0))
    value_str = value_str.ljust(min_length, "x")
    if "maxLength" in schema:
        value_str = value_str[: int(schema["maxLength"])]
    return value_str
