"""A model's method signatures (``model_version.method_signatures``), parsed and printable.

Pure: no I/O. Clarifai's ``MethodSignature`` is ``{name, method_type, description,
input_fields[], output_fields[]}``; each field a ``ModelTypeField`` ``{name, type, type_args[],
iterator, default, is_param, required, description}``. Over HTTP the enums may come as names
(``"STR"``, ``"UNARY_STREAMING"``) or numbers, and the keys as snake_case (the REST gateway) or
camelCase (the JSON a model returns for ``_GET_SIGNATURES``): all are accepted. ``default`` is a
string, usually ``json.dumps(value)``. ``str(signature)`` renders it as Clarifai's SDK
``method_signature()`` does: ``def generate(prompt: str, max_tokens: int = 512) -> Iterator[str]:``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DATA_TYPES", "METHOD_KINDS", "MethodSignature", "ModelField", "parse_signatures"]

DATA_TYPES = {
    0: "NOT_SET", 1: "STR", 2: "BYTES", 3: "INT", 4: "FLOAT", 5: "BOOL", 6: "NDARRAY",
    7: "JSON_DATA", 8: "TEXT", 9: "IMAGE", 10: "CONCEPT", 11: "REGION", 12: "FRAME",
    13: "AUDIO", 14: "VIDEO", 15: "NAMED_FIELDS", 16: "TUPLE", 17: "LIST",
}
METHOD_KINDS: dict[int, Literal["unary", "streaming", "stream-in", "bidi"]] = {
    1: "unary", 2: "streaming", 3: "stream-in", 4: "bidi",
}
_KIND_NAMES = {"UNARY_UNARY": 1, "UNARY_STREAMING": 2, "STREAMING_UNARY": 3,
               "STREAMING_STREAMING": 4}
_PYTHON = {
    "STR": "str", "BYTES": "bytes", "INT": "int", "FLOAT": "float", "BOOL": "bool",
    "NDARRAY": "np.ndarray", "JSON_DATA": "JSON", "TEXT": "Text", "IMAGE": "Image",
    "CONCEPT": "Concept", "REGION": "Region", "FRAME": "Frame", "AUDIO": "Audio",
    "VIDEO": "Video",
}
_NO_DEFAULT: Any = object()


def _get(obj: dict[str, Any], snake: str, default: Any = None) -> Any:
    """A field by its snake_case name or its camelCase JSON name."""
    if snake in obj:
        return obj[snake]
    head, *rest = snake.split("_")
    camel = head + "".join(word.title() for word in rest)
    return obj.get(camel, default)


@dataclass(frozen=True)
class ModelField:
    """One argument (or the output) of a model method."""

    name: str
    type: str
    """Clarifai's ``DataType`` name: ``STR``, ``INT``, ``JSON_DATA``, ``IMAGE``, ``LIST``..."""
    type_args: tuple[ModelField, ...] = ()
    """The element type of a LIST, the items of a TUPLE, the fields of NAMED_FIELDS."""
    iterator: bool = False
    """A stream of values (``Iterator[T]``)."""
    default: Any = _NO_DEFAULT
    """The default value, decoded from its JSON text; ``has_default`` says whether there is one."""
    is_param: bool = False
    """An inference parameter (``max_tokens``...); sent as a part like any other argument."""
    required: bool = False
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def python_type(self) -> str:
        """The type as Clarifai's SDK prints it: ``str``, ``List[Image]``, ``Iterator[str]``."""
        base = self._base()
        return f"Iterator[{base}]" if self.iterator else base

    def _base(self) -> str:
        if self.type == "LIST":
            inner = self.type_args[0]._base() if self.type_args else "Any"
            return f"List[{inner}]"
        if self.type == "TUPLE":
            return f"Tuple[{', '.join(a._base() for a in self.type_args)}]"
        if self.type == "NAMED_FIELDS":
            return f"NamedFields[{', '.join(f'{a.name}: {a._base()}' for a in self.type_args)}]"
        return _PYTHON.get(self.type, "Any")

    def __str__(self) -> str:
        text = f"{self.name}: {self.python_type}"
        return text + (f" = {self.default!r}" if self.has_default else "")


@dataclass(frozen=True)
class MethodSignature:
    """One method of a model: its name, kind, arguments and output."""

    name: str
    kind: Literal["unary", "streaming", "stream-in", "bidi"]
    """``unary`` (predict-style), ``streaming`` (generate-style: one request, many answers),
    ``bidi`` (stream in and out; not callable over HTTP)."""
    inputs: tuple[ModelField, ...] = ()
    outputs: tuple[ModelField, ...] = ()
    description: str = ""

    @property
    def output(self) -> ModelField | None:
        return self.outputs[0] if self.outputs else None

    def field(self, name: str) -> ModelField | None:
        return next((f for f in self.inputs if f.name == name), None)

    def __str__(self) -> str:
        arguments = ", ".join(str(f) for f in self.inputs)
        output = self.output
        returns = output.python_type if output is not None else "None"
        return f"def {self.name}({arguments}) -> {returns}:"


def _kind(value: Any) -> Literal["unary", "streaming", "stream-in", "bidi"]:
    number = _KIND_NAMES.get(value, value) if isinstance(value, str) else value
    if isinstance(number, str) and number.isdigit():
        number = int(number)
    return METHOD_KINDS.get(number, "unary") if isinstance(number, int) else "unary"


def _type(value: Any) -> str:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int):
        return DATA_TYPES.get(value, "NOT_SET")
    if isinstance(value, str):
        return "JSON_DATA" if value == "JSON" else value
    return "NOT_SET"


def _default(text: Any) -> Any:
    if text is None or text == "":
        return _NO_DEFAULT
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare string default, as some models write it


def parse_field(obj: Any) -> ModelField:
    if not isinstance(obj, dict):
        raise ValueError(f"a method signature field is not an object: {obj!r}")
    return ModelField(
        name=str(_get(obj, "name", "")),
        type=_type(_get(obj, "type")),
        type_args=tuple(parse_field(a) for a in _get(obj, "type_args") or ()),
        iterator=bool(_get(obj, "iterator", False)),
        default=_default(_get(obj, "default")),
        is_param=bool(_get(obj, "is_param", False)),
        required=bool(_get(obj, "required", False)),
        description=str(_get(obj, "description", "") or ""),
    )


def parse_signature(obj: Any) -> MethodSignature:
    if not isinstance(obj, dict) or not isinstance(_get(obj, "name"), str):
        raise ValueError(f"not a method signature: {obj!r}")
    return MethodSignature(
        name=_get(obj, "name"),
        kind=_kind(_get(obj, "method_type")),
        inputs=tuple(parse_field(f) for f in _get(obj, "input_fields") or ()),
        outputs=tuple(parse_field(f) for f in _get(obj, "output_fields") or ()),
        description=str(_get(obj, "description", "") or ""),
    )


def parse_signatures(value: Any) -> dict[str, MethodSignature]:
    """Signatures by name from a list (``method_signatures``) or a ``{name: signature}`` dict."""
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ValueError(f"method signatures must be a list, not {type(value).__name__}")
    parsed = [parse_signature(item) for item in items]
    return {s.name: s for s in parsed}
