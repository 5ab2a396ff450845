"""A Griffe extension for the API reference: docstrings written for ``help()`` render as
Markdown.

- A ``>>>`` example (with its ``...`` continuation and output lines) that is not already in an
  ``Examples:`` section or a fence becomes a ``pycon`` code block; Markdown would otherwise
  read each ``>`` as a blockquote and nest three of them.
- Sphinx roles (``:class:`~aclarifai.errors.StreamError```, ``:attr:`last_result```) become
  code spans (``StreamError``, ``last_result``).

mkdocs.yml loads this file by path (``extensions:`` of the python handler); nothing in the
package imports it.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Module, Object

_EXAMPLES = re.compile(r"^(?P<indent>\s*)Examples?:\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ROLE = re.compile(r":(?:class|data|attr|func|meth|exc|mod|obj|const):`(?P<tilde>~?)(?P<target>[^`]+)`")


def doctest_blocks(text: str) -> str:
    """``text`` with every bare ``>>>`` example fenced as ``pycon``."""
    lines = text.splitlines()
    out: list[str] = []
    fenced = False
    examples_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if examples_indent is not None and stripped and indent <= examples_indent:
            examples_indent = None  # the Examples: section ended
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and examples_indent is None and (match := _EXAMPLES.match(line)):
            examples_indent = len(match["indent"])
        elif not fenced and examples_indent is None and stripped.startswith(">>>"):
            block = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) >= indent:
                block.append(lines[i])
                i += 1
            pad = " " * indent
            if out and out[-1].strip():
                out.append("")
            out += [pad + "```pycon", *block, pad + "```"]
            if i < len(lines) and lines[i].strip():
                out.append("")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def sphinx_roles(text: str) -> str:
    """``:class:`~a.b.C``` as ```C```, ``:attr:`x``` as ```x```."""

    def code(match: re.Match[str]) -> str:
        target = match["target"]
        return f"`{target.rsplit('.', 1)[-1] if match['tilde'] else target}`"

    return _ROLE.sub(code, text)


class MarkdownDocstrings(Extension):
    """Rewrites each object's docstring once the tree is loaded, before mkdocstrings parses it."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        _rewrite(obj)

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        _rewrite(pkg)  # the root package is not among the objects on_object sees


def _rewrite(obj: Object) -> None:
    docstring = obj.docstring
    if docstring is not None:
        docstring.value = sphinx_roles(doctest_blocks(docstring.value))
