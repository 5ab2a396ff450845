"""Arguments as ``data.parts`` and the ``return`` part back, in Clarifai's JSON form. No I/O.

A pythonic model method receives each argument as one part ``{"id": name, "data": Data}`` and
answers with ``outputs[i].data.parts[{"id": "return", "data": Data}]``; the method name goes in
``data.metadata["_method_name"]``. Field names are proto JSON snake_case. The mapping follows
Clarifai's SDK serializers (``clarifai/runners/utils/method_signatures.py``):

========================  =============================================================
STR / BYTES / BOOL        ``string_value`` / ``bytes_value`` (base64) / ``bool_value``
INT / FLOAT               ``int_value`` (int64: a JSON string) / ``float_value``
JSON_DATA                 ``struct_value`` (a list is wrapped as ``{"_list": [...]}``)
TEXT / IMAGE              ``text {raw, url}`` / ``image {url | base64}``
AUDIO / VIDEO             ``audio`` / ``video`` (given as Clarifai's JSON dict)
CONCEPT / REGION / FRAME  ``concepts[]`` / ``regions[]`` / ``frames[]`` (JSON dicts)
LIST                      nested ``parts[]`` without ids (or the repeated field itself)
TUPLE / NAMED_FIELDS      nested ``parts[]`` with ids ``"0"``, ``"1"``... / the field names
========================  =============================================================

Encoding refuses a value of the wrong type with a ``TypeError`` that names the argument, before
anything is sent; decoding treats an absent scalar as its zero value (proto3 JSON omits them).
NDARRAY needs numpy and is not encoded (decoded, it is the raw ``ndarray`` dict).
"""

from __future__ import annotations

import base64
import builtins
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ._native_signatures import MethodSignature, ModelField

__all__ = [
    "RETURN",
    "Image",
    "Text",
    "decode",
    "decode_return",
    "encode",
    "encode_arguments",
    "method_input",
    "return_data",
    "return_string",
]

RETURN = "return"
_REPEATED = {"CONCEPT": "concepts", "REGION": "regions", "FRAME": "frames"}
_MEDIA = {"AUDIO": "audio", "VIDEO": "video", "NDARRAY": "ndarray"}


@dataclass(frozen=True)
class Text:
    """A ``Text`` argument or result: its ``raw`` text, or a ``url`` to fetch it from."""

    raw: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Image:
    """An ``Image`` argument or result: by ``url``, or its encoded ``bytes`` (PNG, JPEG...)."""

    url: str | None = None
    bytes: builtins.bytes | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.bytes is None):
            raise ValueError("an Image needs url= or bytes=, exactly one of them")

    def __repr__(self) -> str:  # never dump megabytes of pixels into a log line
        if self.bytes is not None:
            return f"Image(bytes=<{len(self.bytes)} bytes>)"
        return f"Image(url={self.url!r})"


def method_input(method: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``Input`` calling ``method`` with these parts."""
    return {"data": {"metadata": {"_method_name": method}, "parts": parts}}


# -- encoding ---------------------------------------------------------------------------------


def encode_arguments(
    signature: MethodSignature, arguments: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The parts for calling ``signature`` with ``arguments``; raises ``TypeError`` first.

    Unknown names and missing required arguments are refused, as Clarifai's SDK does; an
    optional argument left out (or passed as None) is not sent and the model's default applies.
    """
    known = {f.name for f in signature.inputs}
    unknown = [name for name in arguments if name not in known]
    if unknown:
        accepted = ", ".join(str(f) for f in signature.inputs) or "no arguments"
        raise TypeError(
            f"{signature.name}() got unexpected argument(s) {', '.join(map(repr, unknown))}; "
            f"it takes: {accepted}"
        )
    missing = [f.name for f in signature.inputs if f.required and arguments.get(f.name) is None]
    if missing:
        raise TypeError(
            f"{signature.name}() is missing required argument(s) "
            f"{', '.join(map(repr, missing))}: {signature}"
        )
    parts = []
    for field in signature.inputs:
        value = arguments.get(field.name)
        if value is None:
            continue
        if field.iterator:
            raise TypeError(
                f"{signature.name}() takes a stream as {field.name!r}: streaming inputs need "
                "gRPC (bidirectional streams) and cannot be sent over HTTP"
            )
        parts.append({"id": field.name, "data": encode(value, field, field.name)})
    return parts


def encode(value: Any, field: ModelField, where: str = "value") -> dict[str, Any]:
    """The ``Data`` JSON of one value of ``field``'s type."""
    kind = field.type
    if kind == "NOT_SET":
        return _encode_untyped(value, where)
    if kind == "STR":
        return {"string_value": _check(value, str, "a str", where)}
    if kind == "BYTES":
        return {"bytes_value": _b64(_check(value, (bytes, bytearray, memoryview), "bytes", where))}
    if kind == "INT":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(value, "an int", where)
        return {"int_value": str(value)}
    if kind == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(value, "a float", where)
        return {"float_value": _float(float(value))}
    if kind == "BOOL":
        return {"bool_value": _check(value, bool, "a bool", where)}
    if kind == "JSON_DATA":
        return {"struct_value": _struct(value, where)}
    if kind == "TEXT":
        return {"text": _text(value, where)}
    if kind == "IMAGE":
        return {"image": _image(value, where)}
    if kind in _MEDIA:
        if kind == "NDARRAY":
            raise TypeError(f"{where}: NDARRAY arguments need numpy, which aclarifai does not use")
        return {_MEDIA[kind]: _dict(value, f"a {kind.lower()} JSON dict", where)}
    if kind in _REPEATED:
        return {_REPEATED[kind]: [_dict(value, f"a {kind.lower()} JSON dict", where)]}
    if kind == "LIST":
        return _encode_list(value, field, where)
    if kind == "TUPLE":
        return _encode_tuple(value, field, where)
    if kind == "NAMED_FIELDS":
        return _encode_named(value, field, where)
    raise TypeError(f"{where}: Clarifai type {kind} is not supported")


def _encode_list(value: Any, field: ModelField, where: str) -> dict[str, Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise _wrong(value, "a list", where)
    inner = field.type_args[0] if field.type_args else ModelField("", "NOT_SET")
    items = list(value)
    if inner.type in _REPEATED:  # a repeated field of Data holds the list itself
        kind = inner.type.lower()
        return {_REPEATED[inner.type]: [
            _dict(item, f"a {kind} JSON dict", f"{where}[{i}]") for i, item in enumerate(items)]}
    return {"parts": [{"data": encode(item, inner, f"{where}[{i}]")}
                      for i, item in enumerate(items)]}


def _encode_tuple(value: Any, field: ModelField, where: str) -> dict[str, Any]:
    if not isinstance(value, (tuple, list)):
        raise _wrong(value, "a tuple", where)
    if len(value) != len(field.type_args):
        raise TypeError(f"{where}: expected a tuple of {len(field.type_args)}, got {len(value)}")
    return {"parts": [{"id": str(i), "data": encode(item, arg, f"{where}[{i}]")}
                      for i, (item, arg) in enumerate(zip(value, field.type_args, strict=True))]}


def _encode_named(value: Any, field: ModelField, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong(value, "a mapping of named fields", where)
    names = [arg.name for arg in field.type_args]
    unknown = [k for k in value if k not in names]
    missing = [n for n in names if n not in value]
    if unknown or missing:
        raise TypeError(
            f"{where}: named fields must be exactly {names}"
            + (f"; unknown {unknown}" if unknown else "") + (f"; missing {missing}" if missing else "")
        )
    return {"parts": [{"id": arg.name, "data": encode(value[arg.name], arg, f"{where}.{arg.name}")}
                      for arg in field.type_args]}


def _encode_untyped(value: Any, where: str) -> dict[str, Any]:
    """A value for a field without a declared type: its Python type decides (as the SDK's
    compatibility serializer does)."""
    for kind, types in (("BOOL", bool), ("STR", str), ("BYTES", (bytes, bytearray)),
                        ("INT", int), ("FLOAT", float), ("TEXT", Text), ("IMAGE", Image),
                        ("JSON_DATA", (dict, list))):
        if isinstance(value, types):
            return encode(value, ModelField("", kind), where)
    raise _wrong(value, "a str, bytes, int, float, bool, dict, list, Text or Image", where)


def _check(value: Any, types: type | tuple[type, ...], what: str, where: str) -> Any:
    if not isinstance(value, types):
        raise _wrong(value, what, where)
    return value


def _wrong(value: Any, what: str, where: str) -> TypeError:
    return TypeError(f"{where}: expected {what}, got {type(value).__name__}")


def _b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _struct(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, (list, tuple)):
        value = {"_list": list(value)}
    if not isinstance(value, dict):
        raise _wrong(value, "a dict or a list (JSON)", where)
    try:
        orjson.dumps(value)
    except TypeError as exc:
        raise TypeError(f"{where}: not JSON: {exc}") from None
    return value


def _dict(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong(value, what, where)
    return dict(value)


def _text(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"raw": value}
    if isinstance(value, Text):
        return {k: v for k, v in (("raw", value.raw), ("url", value.url)) if v is not None}
    raise _wrong(value, "a Text or a str", where)


def _image(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": _b64(value)}
    if isinstance(value, Image):
        if value.bytes is not None:
            return {"base64": _b64(value.bytes)}
        return {"url": value.url}
    raise _wrong(value, "an Image (url= or bytes=) or bytes", where)


# -- decoding ---------------------------------------------------------------------------------


def return_data(output: dict[str, Any]) -> dict[str, Any] | None:
    """The ``Data`` of an output's ``return`` part (the first unnamed part will do), or None."""
    data = output.get("data")
    if not isinstance(data, dict):
        return None
    parts = data.get("parts")
    if isinstance(parts, list):
        named = [p for p in parts if isinstance(p, dict) and p.get("id") == RETURN]
        unnamed = [p for p in parts if isinstance(p, dict) and not p.get("id")]
        for part in named or unnamed:
            inner = part.get("data")
            return inner if isinstance(inner, dict) else {}
    return None


def return_string(output: dict[str, Any]) -> str | None:
    """The string an output returns: ``return`` part's ``string_value`` (or legacy text).

    A part without ``string_value`` is the empty string: proto3 JSON omits zero values.
    """
    data = return_data(output)
    if data is not None:
        value = data.get("string_value", "")
        return value if isinstance(value, str) else None
    legacy = output.get("data")
    text = legacy.get("text") if isinstance(legacy, dict) else None
    raw = text.get("raw") if isinstance(text, dict) else None
    return raw if isinstance(raw, str) else None


def decode_return(output: dict[str, Any], field: ModelField | None) -> Any:
    """The Python value an output returns, per the method's output field."""
    data = return_data(output)
    if data is None:  # an inlined value, or every field at its zero value
        whole = output.get("data")
        data = whole if isinstance(whole, dict) else {}
    return decode(data, field or ModelField(RETURN, "NOT_SET"))


def decode(data: dict[str, Any], field: ModelField) -> Any:
    """The Python value of one ``Data`` JSON of ``field``'s type."""
    kind = field.type
    if kind == "STR":
        return str(data.get("string_value", ""))
    if kind == "BYTES":
        return base64.b64decode(data.get("bytes_value", "") or "")
    if kind == "INT":
        return int(data.get("int_value", 0) or 0)
    if kind == "FLOAT":
        return float(data.get("float_value", 0.0) or 0.0)
    if kind == "BOOL":
        return bool(data.get("bool_value", False))
    if kind == "JSON_DATA":
        return _json_value(data)
    if kind == "TEXT":
        text = data.get("text")
        return Text(text.get("raw"), text.get("url")) if isinstance(text, dict) else None
    if kind == "IMAGE":
        return _decode_image(data.get("image"))
    if kind in _MEDIA:
        return data.get(_MEDIA[kind])
    if kind in _REPEATED:
        items = data.get(_REPEATED[kind]) or []
        return items[0] if len(items) == 1 else (items or None)
    parts = [p for p in data.get("parts") or () if isinstance(p, dict)]
    if kind == "LIST":
        inner = field.type_args[0] if field.type_args else ModelField("", "NOT_SET")
        if inner.type in _REPEATED:
            return list(data.get(_REPEATED[inner.type]) or [])
        return [decode(_data(p), inner) for p in parts]
    if kind == "TUPLE":
        return tuple(decode(_data(p), arg) for p, arg in zip(parts, field.type_args, strict=False))
    if kind == "NAMED_FIELDS":
        by_id = {p.get("id"): _data(p) for p in parts}
        return {arg.name: decode(by_id.get(arg.name, {}), arg) for arg in field.type_args}
    return _decode_untyped(data)


def _data(part: dict[str, Any]) -> dict[str, Any]:
    inner = part.get("data")
    return inner if isinstance(inner, dict) else {}


def _json_value(data: dict[str, Any]) -> Any:
    struct = data.get("struct_value")
    if isinstance(struct, dict):
        return struct["_list"] if set(struct) == {"_list"} else struct
    text = data.get("string_value")  # older SDKs sent JSON as a string
    if isinstance(text, str) and text:
        return orjson.loads(text)
    return None


def _decode_image(image: Any) -> Image | None:
    if not isinstance(image, dict):
        return None
    if image.get("base64"):
        return Image(bytes=base64.b64decode(image["base64"]))
    return Image(url=image["url"]) if image.get("url") else None


def _decode_untyped(data: dict[str, Any]) -> Any:
    """No declared type: the one field that is set decides."""
    for key, kind in (("string_value", "STR"), ("int_value", "INT"), ("float_value", "FLOAT"),
                      ("bool_value", "BOOL"), ("bytes_value", "BYTES"), ("struct_value", "JSON_DATA"),
                      ("text", "TEXT"), ("image", "IMAGE")):
        if key in data:
            return decode(data, ModelField("", kind))
    return data
