"""What the MCP integration decides without talking to a server: names, URLs and tool outputs.

No I/O and no import of the ``mcp`` package, so all of it is tested directly. The transport
side (sessions, subprocesses, reconnects) is in :mod:`aclarifai.mcp`.

- :func:`clarifai_mcp_url`: the Streamable HTTP URL of a Clarifai-hosted MCP server,
  ``{api_base}/v2/ext/mcp/v1/users/{user}/apps/{app}/models/{model}``.
- :func:`exposed_name`: the tool name the model sees (an optional prefix, then the server's
  name made to fit OpenAI's ``[a-zA-Z0-9_-]{1,64}``).
- :func:`tool_output`: a ``tools/call`` result as the value a tool returns
  (:class:`MCPToolOutput`, a ``str`` of the text content that keeps the structured content),
  or :class:`MCPToolError` for an ``isError`` result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from ._config import OPENAI_PATH, _Secret, resolve_base_url
from .errors import ConfigurationError, ToolError, ToolServerError
from .models import resolve_model

__all__ = [
    "MCPServerError",
    "MCPToolError",
    "MCPToolOutput",
    "clarifai_mcp_url",
    "exposed_name",
    "select_tools",
    "tool_output",
]

MCP_PATH = "/v2/ext/mcp/v1"
_MODEL_PATH = re.compile(r"^/(?P<user>[^/]+)/(?P<app>[^/]+)/models/(?P<model>[^/]+)(?:/versions/[^/]+)?$")
_NAME_OK = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


class MCPServerError(ToolServerError):
    """An MCP server did not start, did not answer in time, or failed mid-run; ends the run."""


class MCPToolError(ToolError):
    """An MCP server answered a tool call with ``isError``; the model is told its text."""


class MCPToolOutput(str):
    """What an MCP tool returns: the text content (joined by newlines), a ``str``.

    The model is sent this text. The rest of the result is kept for the program:
    :attr:`structured_content` (the result's ``structuredContent``, or ``None``) and
    :attr:`content` (every content block as the server sent it, images included).
    """

    structured_content: dict[str, Any] | None
    content: tuple[dict[str, Any], ...]

    def __new__(
        cls,
        text: str,
        structured_content: dict[str, Any] | None = None,
        content: Sequence[dict[str, Any]] = (),
    ) -> MCPToolOutput:
        self = super().__new__(cls, text)
        self.structured_content = structured_content
        self.content = tuple(content)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.structured_content, self.content))


def api_root(base_url: str | _Secret | None) -> str:
    """The API root the MCP URL is built on: ``base_url``, ``CLARIFAI_API_BASE`` or the default.

    An OpenAI-compatible base (``.../v2/ext/openai/v1``) is accepted and cut back to its root,
    so the same ``base_url`` serves the chat client and the MCP servers.
    """
    given = _Secret.wrap(base_url)
    del base_url  # a refused URL may carry a credential: this frame holds it only wrapped
    url = resolve_base_url(given)  # the chat client's checks: credentials, scheme, http
    return url.removesuffix(OPENAI_PATH)


def clarifai_mcp_url(model: str, base_url: str | _Secret | None = None) -> str:
    """The MCP endpoint of a Clarifai model, for any model reference ``resolve_model`` takes.

    >>> clarifai_mcp_url("clarifai/acme.tools.search-mcp")
    'https://api.clarifai.com/v2/ext/mcp/v1/users/acme/apps/tools/models/search-mcp'

    A pinned ``/versions/...`` is dropped: the MCP endpoint is addressed by model.
    """
    base = _Secret.wrap(base_url)
    del base_url  # see api_root
    try:
        canonical = resolve_model(model)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    match = _MODEL_PATH.match(urlsplit(canonical).path)
    if match is None:  # resolve_model only returns this shape; kept as a guard
        raise ConfigurationError(f"not a Clarifai model reference: {model!r}")
    ids = (quote(match[name], safe="") for name in ("user", "app", "model"))
    user, app, model_id = ids
    return f"{api_root(base)}{MCP_PATH}/users/{user}/apps/{app}/models/{model_id}"


def exposed_name(name: str, prefix: str | None = None) -> str:
    """The tool name the model sees: ``prefix`` + the server's name, fitted to OpenAI's rule.

    Characters outside ``[a-zA-Z0-9_-]`` become ``_``; a name longer than 64 characters is cut
    and given a short hash of the original, so two long names stay apart.
    """
    full = f"{prefix or ''}{name}"
    if _NAME_OK.fullmatch(full):
        return full
    fitted = _NAME_BAD_CHARS.sub("_", full) or "tool"
    if len(fitted) > 64:
        digest = hashlib.sha256(full.encode()).hexdigest()[:8]
        fitted = f"{fitted[:55]}_{digest}"
    return fitted


def select_tools(
    names: Sequence[str], include: Iterable[str] | None, exclude: Iterable[str] | None
) -> list[str]:
    """The server's tool names kept by ``include`` / ``exclude`` (server names, before a prefix).

    A name in ``include`` or ``exclude`` that the server does not offer is a mistake in the
    setup and raises, naming the tools it does offer.
    """
    offered = list(names)
    wanted = None if include is None else _names_set("include", include)
    unwanted = set() if exclude is None else _names_set("exclude", exclude)
    unknown = ((wanted or set()) | unwanted) - set(offered)
    if unknown:
        raise ConfigurationError(
            f"the MCP server offers no tool named {', '.join(sorted(map(repr, unknown)))}; "
            f"it offers: {', '.join(offered) or 'none'}"
        )
    return [n for n in offered if (wanted is None or n in wanted) and n not in unwanted]


def _names_set(what: str, names: Iterable[str]) -> set[str]:
    if isinstance(names, str):
        raise TypeError(f"{what} takes a list of tool names, not a single str")
    return set(names)


def _describe_block(block: Mapping[str, Any]) -> str:
    """A non-text content block, said in words so the model knows something came back."""
    kind = block.get("type", "content")
    if kind == "resource":
        resource = block.get("resource") or {}
        if isinstance(resource, Mapping) and isinstance(resource.get("text"), str):
            return str(resource["text"])
        uri = resource.get("uri", "") if isinstance(resource, Mapping) else ""
        return f"[resource {uri}]".replace(" ]", "]")
    if kind == "resource_link":
        return f"[resource link {block.get('uri', '')}]"
    mime = block.get("mimeType")
    return f"[{kind}{' ' + str(mime) if mime else ''}]"


def tool_output(
    content: Sequence[Mapping[str, Any]],
    structured_content: dict[str, Any] | None,
    is_error: bool,
    tool_name: str,
) -> MCPToolOutput:
    """The value an MCP tool returns for a ``tools/call`` result (content blocks as dicts).

    Text blocks are joined with newlines; other blocks are named in brackets. A result with no
    content but structured content is sent as that JSON. ``isError`` raises
    :class:`MCPToolError` with the text, which the agent gives the model as the tool's error.
    """
    parts = [
        str(block.get("text", "")) if block.get("type") == "text" else _describe_block(block)
        for block in content
    ]
    text = "\n".join(parts)
    if is_error:
        raise MCPToolError(f"the MCP tool {tool_name!r} reported an error: {text or 'no details'}")
    if not parts and structured_content is not None:
        import orjson

        text = orjson.dumps(structured_content).decode()
    return MCPToolOutput(text, structured_content, [dict(block) for block in content])
