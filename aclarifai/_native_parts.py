"""Arguments as ``data.parts`` and the ``return`` part back, in Clarifai's JSON form. No I/O.

A pythonic model method receives each argument as one part ``{"id": name, "data": Data}`` and
answers with ``outputs[i].data.parts[{"id": "return", "data": Data}]``. The method name goes in
``data.metadata["_method_name"]``. Field names are proto JSON snake_case (``string_value``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RETURN", "method_input", "return_data", "return_string"]

RETURN = "return"


def method_input(method: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``Input`` calling ``method`` with these parts."""
    return {"data": {"metadata": {"_method_name": method}, "parts": parts}}


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
