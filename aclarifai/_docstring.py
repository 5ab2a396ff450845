"""Read a summary and per-parameter descriptions out of a docstring.

Three common styles are understood, and may even be mixed in one docstring:

* Google: an ``Args:`` (or ``Arguments:``, ``Parameters:``, ``Attributes:``...) section with
  ``name: text`` or ``name (type): text`` entries;
* NumPy: a ``Parameters`` header underlined with dashes, ``name : type`` entries followed by
  indented text;
* Sphinx / reST: ``:param name: text`` or ``:param type name: text`` fields.

Descriptions that span several lines are joined with single spaces. This is a best-effort
reader for text meant for a model, not a validator: anything it does not recognise is skipped.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

_GOOGLE_HEADER = re.compile(
    r"(args|arguments|parameters|params|keyword args|keyword arguments|other parameters"
    r"|attributes)\s*:",
    re.IGNORECASE,
)
# Any Google-style section header ("Returns:", "Raises:", ...): it ends the summary.
_ANY_GOOGLE_HEADER = re.compile(r"[A-Z][A-Za-z ]*:")
# The type in parentheses may hold parentheses itself, "x (dict(str, int)): ...", three deep.
_PARENS = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"
_GOOGLE_ENTRY = re.compile(rf"\*{{0,2}}(?P<name>\w+)\s*(?:{_PARENS})?\s*:(?:\s+(?P<text>.*))?$")
_NUMPY_PARAM_HEADERS = {"parameters", "other parameters", "attributes", "keyword arguments"}
_NUMPY_UNDERLINE = re.compile(r"\s*-{3,}\s*")
_NUMPY_ENTRY = re.compile(r"(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?")
_SPHINX_FIELD = re.compile(
    r":(?:param|parameter|arg|argument|key|keyword|ivar|var)\s+(?P<spec>[^:]+?)\s*:(?P<text>.*)"
)


@dataclass(frozen=True)
class Docstring:
    """What a docstring says: its first paragraph and a description per parameter."""

    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> Docstring:
    """Parse ``doc`` (raw or already cleaned); ``None`` or blank gives an empty result."""
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    # The first style that documents a name wins; mixing styles is rare but harmless.
    for parser in (_google_params, _numpy_params, _sphinx_params):
        for name, text in parser(lines).items():
            params.setdefault(name, text)
    return Docstring(summary=_summary(lines), params=params)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: list[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())


def _is_numpy_header(lines: list[str], i: int) -> bool:
    return (
        bool(lines[i].strip())
        and i + 1 < len(lines)
        and _NUMPY_UNDERLINE.fullmatch(lines[i + 1]) is not None
    )


def _summary(lines: list[str]) -> str:
    """The first paragraph, stopping early at a section header or a reST field."""
    parts: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            if parts:
                break
            continue
        if (
            stripped.startswith(":")
            or _ANY_GOOGLE_HEADER.fullmatch(stripped)
            or _is_numpy_header(lines, i)
        ):
            break
        parts.append(stripped)
    return _join(parts)


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        if _GOOGLE_HEADER.fullmatch(lines[i].strip()):
            i = _google_section(lines, i, params)
        else:
            i += 1
    return params


def _google_section(lines: list[str], header: int, params: dict[str, str]) -> int:
    """Read the entries below ``lines[header]``; return the index where the section ends."""
    base = _indent(lines[header])
    entry_indent: int | None = None
    name: str | None = None
    text: list[str] = []
    i = header + 1
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= base:
            return i - 1
        if entry_indent is None:
            entry_indent = indent
        # Deeper lines are continuations even when they look like "word: text".
        match = _GOOGLE_ENTRY.match(line.strip()) if indent == entry_indent else None
        if match:
            name, text = match.group("name"), [match.group("text") or ""]
        elif name is not None:
            text.append(line)
        if name is not None:
            params[name] = _join(text)
    return i


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        if _is_numpy_header(lines, i) and lines[i].strip().lower() in _NUMPY_PARAM_HEADERS:
            i = _numpy_section(lines, i, params)
        else:
            i += 1
    return params


def _numpy_section(lines: list[str], header: int, params: dict[str, str]) -> int:
    base = _indent(lines[header])
    names: list[str] = []
    text: list[str] = []
    i = header + 2
    while i < len(lines) and not _is_numpy_header(lines, i):
        line = lines[i]
        match = _NUMPY_ENTRY.fullmatch(line.strip()) if line.strip() else None
        if line.strip() and _indent(line) <= base:
            if match is None:
                break
            names = [name.strip().lstrip("*") for name in match.group("names").split(",")]
            text = []
        elif names:
            text.append(line)
        for name in names:
            params[name] = _join(text)
        i += 1
    return i


def _sphinx_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    name: str | None = None
    field_indent = 0
    text: list[str] = []
    for line in lines:
        match = _SPHINX_FIELD.match(line.strip())
        if match:
            # ":param int x:" and ":param Optional[int] x:" name the parameter last.
            name = match.group("spec").split()[-1].lstrip("*")
            field_indent = _indent(line)
            text = [match.group("text")]
        elif name is not None and line.strip() and _indent(line) > field_indent:
            text.append(line)
        else:
            name = None
            continue
        params[name] = _join(text)
    return params
