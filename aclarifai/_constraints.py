"""Constraints written in ``Annotated[...]`` metadata, as JSON Schema keywords and checks.

Understood, without importing either package (objects are recognised by their module and class
names, so ``import aclarifai`` never pays for them):

* ``annotated_types``: ``Gt``, ``Ge``, ``Lt``, ``Le``, ``MultipleOf``, ``MinLen``, ``MaxLen`` and
  the groups ``Interval`` and ``Len``;
* pydantic's ``Field(...)`` (a ``FieldInfo``, whose ``metadata`` is made of the objects above, plus
  ``pattern``), its ``description``, ``title`` and ``examples``, and ``StringConstraints``.

Each constraint becomes a keyword of the parameter's schema *and* a check of the same meaning
(following ``jsonschema``'s implementation of the keyword), so the model is told the bound and a
value outside it never reaches the function. Anything else those packages can express (a
``Predicate``, a timezone, pydantic's ``strict``, ``alias``, ``default``...) cannot be described to
the model, so it is refused with ``ValueError`` rather than silently ignored; metadata from other
libraries is ignored, as ``Annotated`` intends.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

__all__ = ["Metadata", "read_metadata"]

Check = Callable[[Any], bool]

# annotated_types class -> (its attribute, the keyword per JSON type it applies to)
_NUMERIC = {"Gt": ("gt", "exclusiveMinimum"), "Ge": ("ge", "minimum"), "Lt": ("lt", "exclusiveMaximum"),
            "Le": ("le", "maximum"), "MultipleOf": ("multiple_of", "multipleOf")}
_LENGTH = {"MinLen": ("min_length", "min"), "MaxLen": ("max_length", "max")}
_LENGTH_KEYWORDS = {
    "string": {"min": "minLength", "max": "maxLength"},
    "array": {"min": "minItems", "max": "maxItems"},
    "object": {"min": "minProperties", "max": "maxProperties"},
}
_FIELD_INFO_TEXT = ("description", "title", "examples")


class Metadata:
    """What the metadata of one ``Annotated`` hint says: a description, keywords, checks."""

    def __init__(self) -> None:
        self.description: str | None = None
        self.annotations: dict[str, Any] = {}  # title, examples: shown to the model only
        self.constraints: list[tuple[str, Any]] = []  # (annotated_types class name, bound)

    def apply(self, schema: dict[str, Any], accepts: Check) -> tuple[dict[str, Any], Check]:
        """``schema`` with the constraints' keywords, and ``accepts`` with their checks."""
        if not self.constraints:
            return schema, accepts
        kind = schema.get("type")
        schema = dict(schema)
        checks: list[Check] = []
        for name, bound in self.constraints:
            keyword, check = _keyword(name, bound, kind)
            schema[keyword] = bound
            checks.append(check)

        def constrained(value: Any) -> bool:
            return accepts(value) and all(check(value) for check in checks)

        return schema, constrained


def read_metadata(items: list[Any]) -> Metadata:
    """Read ``Annotated`` metadata; raises ``ValueError`` for a constraint that cannot be described."""
    found = Metadata()
    for item in items:
        _read(item, found)
    return found


def _read(item: Any, found: Metadata) -> None:
    if isinstance(item, str):
        if found.description is None:
            found.description = item
        return
    module = type(item).__module__ or ""
    name = type(item).__name__
    if module.startswith("annotated_types"):
        _read_annotated_types(item, name, found)
    elif module.startswith("pydantic"):
        _read_pydantic(item, name, found)
    # Metadata of other libraries is none of ours: Annotated says to ignore what one does not know.


def _read_annotated_types(item: Any, name: str, found: Metadata) -> None:
    if name in _NUMERIC:
        found.constraints.append((name, getattr(item, _NUMERIC[name][0])))
    elif name in _LENGTH:
        found.constraints.append((name, getattr(item, _LENGTH[name][0])))
    elif name in ("Interval", "Len"):  # groups: iterating yields the constraints they hold
        for part in item:
            _read(part, found)
    else:
        raise ValueError(
            f"annotated_types.{name} cannot be described to the model in a JSON schema; "
            "check the value in the function instead"
        )


def _read_pydantic(item: Any, name: str, found: Metadata) -> None:
    if name == "FieldInfo":
        unsupported = sorted(set(getattr(item, "_attributes_set", {})) - set(_FIELD_INFO_TEXT))
        if unsupported:
            raise ValueError(
                f"pydantic Field({', '.join(f'{k}=...' for k in unsupported)}) is not supported in a "
                "tool's type hints: only description, title, examples and the constraints "
                "gt, ge, lt, le, multiple_of, min_length, max_length and pattern are"
            )
        if item.description is not None and found.description is None:
            found.description = item.description
        for key in ("title", "examples"):
            if getattr(item, key, None) is not None:
                found.annotations[key] = getattr(item, key)
        for part in item.metadata:
            _read(part, found)
    elif name == "_PydanticGeneralMetadata":
        options = {k: v for k, v in vars(item).items() if v is not None}
        pattern = options.pop("pattern", None)
        if options:
            raise ValueError(f"pydantic option(s) {sorted(options)} are not supported in a tool's type hints")
        if pattern is not None:
            found.constraints.append(("pattern", pattern))
    elif name == "StringConstraints":
        parts = list(item)
        extra = [p for p in parts if type(p).__name__ not in ("MinLen", "MaxLen", "_PydanticGeneralMetadata")]
        if extra:
            raise ValueError(
                "StringConstraints(strip_whitespace/to_upper/to_lower/strict) change or restrict "
                "values in ways a JSON schema cannot say; only min_length, max_length and pattern "
                "are supported"
            )
        for part in parts:
            _read(part, found)
    else:
        raise ValueError(f"pydantic {name} cannot be described to the model in a JSON schema")


def _keyword(name: str, bound: Any, kind: Any) -> tuple[str, Check]:
    if name == "pattern":
        return "pattern", _pattern_check(bound, kind)
    if name in _NUMERIC:
        if kind not in ("integer", "number"):
            raise ValueError(f"{name}({bound!r}) needs an int or float type, not a schema of type {kind!r}")
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ValueError(f"{name}({bound!r}): the bound must be a finite int or float")
        keyword = _NUMERIC[name][1]
        if keyword == "multipleOf":
            if bound <= 0:
                raise ValueError(f"MultipleOf({bound!r}): the bound must be positive")
            return keyword, _multiple_of(bound)
        return keyword, _comparison(keyword, bound)
    side = _LENGTH[name][1]
    if kind not in _LENGTH_KEYWORDS:
        raise ValueError(
            f"{name}({bound!r}) needs a str, list, tuple, set or dict type, not a schema of type {kind!r}"
        )
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
        raise ValueError(f"{name}({bound!r}): the length must be a non-negative int")
    keyword = _LENGTH_KEYWORDS[kind][side]
    if side == "min":
        return keyword, lambda value: len(value) >= bound
    return keyword, lambda value: len(value) <= bound


def _comparison(keyword: str, bound: Any) -> Check:
    if keyword == "minimum":
        return lambda value: bool(value >= bound)
    if keyword == "maximum":
        return lambda value: bool(value <= bound)
    if keyword == "exclusiveMinimum":
        return lambda value: bool(value > bound)
    return lambda value: bool(value < bound)


def _multiple_of(bound: int | float) -> Check:
    def check(value: Any) -> bool:
        # As jsonschema's multipleOf, which is what validates the same arguments.
        if isinstance(bound, float):
            try:
                quotient = value / bound
            except OverflowError:  # jsonschema fails on it too; the value is refused
                return False
            try:
                return bool(int(quotient) == quotient)
            except (OverflowError, ValueError):
                return (Fraction(value) / Fraction(bound)).denominator == 1
        return not value % bound

    return check


def _pattern_check(pattern: Any, kind: Any) -> Check:
    if kind != "string":
        raise ValueError(f"pattern={pattern!r} needs a str type, not a schema of type {kind!r}")
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise ValueError(f"pattern={pattern!r} is not a valid regular expression: {exc}") from None
    return lambda value: compiled.search(value) is not None
