"""Typed views over the wire format, shaped like the OpenAI SDK's objects.

Each class holds the parsed JSON dict and reads fields on demand: building one costs a single
allocation, so a chunk costs next to nothing on the per-chunk path, and vendor fields the class
does not know about (Gemini's ``thought_signature``, ``x_groq``, ...) survive ``to_dict()`` and
stay readable as attributes (``chunk.x_groq``). ``from_dict()`` wraps a dict without copying;
``to_dict()`` returns a deep copy of the JSON shape.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "Delta",
    "Function",
    "Message",
    "ModelInfo",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

_V = TypeVar("_V", bound="_View")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class _View:
    __slots__ = ("_data",)
    _data: dict[str, Any]

    def __init__(self, data: dict[str, Any] | None = None, /, **fields: Any) -> None:
        if data is None:
            data = fields
        elif fields:
            data = {**data, **fields}
        self._data = data

    @classmethod
    def from_dict(cls: type[_V], data: dict[str, Any]) -> _V:
        """Wrap a wire-format dict (not copied)."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict() takes a dict, not {type(data).__name__}")
        return cls(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape, vendor fields included (a deep copy)."""
        result: dict[str, Any] = _copy(self._data)
        return result

    def to_json(self) -> str:
        return orjson.dumps(self._data).decode()

    def get(self, key: str, default: Any = None) -> Any:
        """A raw field, known or not."""
        return self._data.get(key, default)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names without a property: vendor extras read as attributes.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!s} has no attribute or field {name!r}"
            ) from None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._data == other._data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Usage(_View):
    """Token counts. ``a + b`` sums two usages (details dicts summed key by key)."""

    __slots__ = ()

    @property
    def prompt_tokens(self) -> int:
        return int(self._data.get("prompt_tokens") or 0)

    @property
    def completion_tokens(self) -> int:
        return int(self._data.get("completion_tokens") or 0)

    @property
    def total_tokens(self) -> int:
        total = self._data.get("total_tokens")
        return int(total) if total is not None else self.prompt_tokens + self.completion_tokens

    @property
    def completion_tokens_details(self) -> dict[str, Any] | None:
        return self._data.get("completion_tokens_details")

    @property
    def prompt_tokens_details(self) -> dict[str, Any] | None:
        return self._data.get("prompt_tokens_details")

    def __add__(self, other: Usage | None) -> Usage:
        if other is None:
            return Usage(_copy(self._data))
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(_sum_counts(self._data, other._data))

    __radd__ = __add__


def _sum_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _copy(a)
    for key, value in b.items():
        mine = out.get(key)
        if isinstance(value, bool) or value is None:
            out.setdefault(key, value)
        elif isinstance(value, (int, float)) and isinstance(mine, (int, float)):
            out[key] = mine + value
        elif isinstance(value, dict) and isinstance(mine, dict):
            out[key] = _sum_counts(mine, value)
        elif mine is None:
            out[key] = _copy(value)
    return out


class Function(_View):
    """The function of a tool call: ``name`` and its JSON ``arguments`` string."""

    __slots__ = ()

    @property
    def name(self) -> str | None:
        return self._data.get("name")

    @property
    def arguments(self) -> str | None:
        return self._data.get("arguments")

    def parse_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; empty or null arguments are ``{}``.

        Raises ``ValueError`` when they are not a JSON object (see ``arguments_error``).
        """
        raw = self._data.get("arguments")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return {}
        if isinstance(raw, dict):  # some servers send an object instead of a string
            return raw
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"arguments are not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"arguments are JSON but not an object: {type(value).__name__}")
        return value

    @property
    def arguments_error(self) -> str | None:
        """Why ``arguments`` cannot be parsed as a JSON object, or None when they can."""
        try:
            self.parse_arguments()
        except ValueError as exc:
            return str(exc)
        return None


class _ToolCallFields(_View):
    __slots__ = ()

    @property
    def id(self) -> str | None:
        return self._data.get("id")

    @property
    def index(self) -> int | None:
        return self._data.get("index")

    @property
    def function(self) -> Function:
        return Function(self._data.get("function") or {})


class ToolCall(_ToolCallFields):
    """A complete tool call of an assistant message."""

    __slots__ = ()

    @property
    def type(self) -> str:
        return self._data.get("type") or "function"


class ToolCallDelta(_ToolCallFields):
    """A fragment of a tool call inside a streamed delta (fields may be missing)."""

    __slots__ = ()

    @property
    def type(self) -> str | None:
        return self._data.get("type")


def _text_of(content: Any, kind: str) -> str | None:
    """Text of a content given as a string or as a list of typed parts."""
    if content is None or isinstance(content, str):
        return content if kind == "text" else None
    if not isinstance(content, list):
        return None
    pieces: list[str] = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != kind:
            continue
        value = part.get(kind)
        if isinstance(value, str):
            pieces.append(value)
        elif isinstance(value, list):  # Mistral: {"type": "thinking", "thinking": [{"type": "text"...
            pieces.extend(p.get("text") or "" for p in value if isinstance(p, dict))
    return "".join(pieces) if pieces else None


class _MessageFields(_View):
    """What a message and a delta share: text, reasoning and refusal."""

    __slots__ = ()

    @property
    def content(self) -> str | None:
        content = self._data.get("content")
        if content is None or type(content) is str:
            return content
        return _text_of(content, "text")

    @property
    def reasoning_content(self) -> str | None:
        """Reasoning text, whichever field the server uses (``reasoning_content``, ``reasoning``,
        or thinking parts of a list content)."""
        value = self._data.get("reasoning_content")
        if value is None:
            value = self._data.get("reasoning")
            if value is None and type(self._data.get("content")) is list:
                value = _text_of(self._data["content"], "thinking")
        return value if isinstance(value, str) else None

    @property
    def refusal(self) -> str | None:
        return self._data.get("refusal")


class Delta(_MessageFields):
    """What one chunk adds to a choice: content, reasoning, refusal, tool-call fragments."""

    __slots__ = ()

    @property
    def role(self) -> str | None:
        return self._data.get("role")

    @property
    def tool_calls(self) -> list[ToolCallDelta] | None:
        calls = self._data.get("tool_calls")
        return [ToolCallDelta(c) for c in calls] if calls else None


class Message(_MessageFields):
    """An assistant message (also usable for any role when sending messages back)."""

    __slots__ = ()

    @property
    def role(self) -> str:
        return self._data.get("role") or "assistant"

    @property
    def tool_calls(self) -> list[ToolCall] | None:
        calls = self._data.get("tool_calls")
        return [ToolCall(c) for c in calls] if calls else None


class _ChoiceFields(_View):
    __slots__ = ()

    @property
    def index(self) -> int:
        return self._data.get("index") or 0

    @property
    def finish_reason(self) -> str | None:
        return self._data.get("finish_reason")

    @property
    def logprobs(self) -> dict[str, Any] | None:
        return self._data.get("logprobs")


class ChunkChoice(_ChoiceFields):
    """One choice of a streamed chunk."""

    # The delta view is cached: user code reads ``choice.delta`` several times per chunk.
    __slots__ = ("_delta",)

    def __init__(self, data: dict[str, Any] | None = None, /, **fields: Any) -> None:
        super().__init__(data, **fields)
        self._delta: Delta | None = None

    @property
    def delta(self) -> Delta:
        delta = self._delta
        if delta is None:
            delta = self._delta = _new(Delta)
            delta._data = self._data.get("delta") or {}
        return delta


class Choice(_ChoiceFields):
    """One choice of a complete response."""

    __slots__ = ()

    @property
    def message(self) -> Message:
        return Message(self._data.get("message") or {})


class _ResponseFields(_View):
    __slots__ = ()

    @property
    def id(self) -> str | None:
        return self._data.get("id")

    @property
    def created(self) -> int | None:
        return self._data.get("created")

    @property
    def model(self) -> str | None:
        return self._data.get("model")

    @property
    def system_fingerprint(self) -> str | None:
        return self._data.get("system_fingerprint")

    @property
    def usage(self) -> Usage | None:
        usage = self._data.get("usage")
        return Usage(usage) if usage else None


class ChatCompletionChunk(_ResponseFields):
    """One streamed ``chat.completion.chunk``."""

    # The choices list is built on first read and cached: ``chunk.choices[0]...`` is typically
    # read several times per chunk, and this object is made for every chunk of a stream.
    __slots__ = ("_choices",)

    def __init__(self, data: dict[str, Any] | None = None, /, **fields: Any) -> None:
        super().__init__(data, **fields)
        self._choices: list[ChunkChoice] | None = None

    @property
    def object(self) -> str:
        return self._data.get("object") or "chat.completion.chunk"

    @property
    def choices(self) -> list[ChunkChoice]:
        choices = self._choices
        if choices is None:
            raw = self._data.get("choices")
            if raw and len(raw) == 1:  # the common case, without a comprehension's frame
                choice = _new(ChunkChoice)
                choice._data = raw[0]
                choice._delta = None
                choices = [choice]
            else:
                choices = [_chunk_choice(c) for c in raw or ()]
            self._choices = choices
        return choices


def _chunk_choice(data: dict[str, Any]) -> ChunkChoice:
    view = _new(ChunkChoice)
    view._data = data
    view._delta = None
    return view


def chunk_view(data: dict[str, Any]) -> ChatCompletionChunk:
    """The ``ChatCompletionChunk`` of a parsed chunk dict: what a stream yields per chunk."""
    view = _new(ChatCompletionChunk)
    view._data = data
    view._choices = None
    return view


_new = object.__new__


class ChatCompletion(_ResponseFields):
    """A complete ``chat.completion`` response (non-stream, or assembled from a stream)."""

    __slots__ = ()

    @property
    def object(self) -> str:
        return self._data.get("object") or "chat.completion"

    @property
    def choices(self) -> list[Choice]:
        return [Choice(c) for c in self._data.get("choices") or ()]


class ModelInfo(_View):
    """One entry of ``client.models.list()``; ``id`` is the model's Clarifai URL."""

    __slots__ = ()

    @property
    def id(self) -> str:
        return str(self._data.get("id") or "")

    @property
    def object(self) -> str:
        return self._data.get("object") or "model"

    @property
    def created(self) -> int | None:
        return self._data.get("created")

    @property
    def owned_by(self) -> str | None:
        return self._data.get("owned_by")
