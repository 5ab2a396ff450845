"""Settings from arguments and the environment, in one place: PAT, base URL, timeouts."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from urllib.parse import urlsplit

from .errors import ConfigurationError, MissingAPIKeyError

DEFAULT_API_BASE = "https://api.clarifai.com"
OPENAI_PATH = "/v2/ext/openai/v1"
PAT_ENV_VARS = ("CLARIFAI_PAT", "CLARIFAI_API_KEY")


class _Secret:
    """A string that never shows itself in a repr, a log record or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


@dataclasses.dataclass(frozen=True)
class Timeout:
    """Timeouts in seconds; ``None`` disables one.

    ``connect``: establishing the connection. ``read``: the longest silence allowed between two
    reads of the response, so a long generation is fine but a stalled stream fails.
    ``total``: a whole non-stream request (streams are bounded by ``read`` instead).
    """

    connect: float | None = 5.0
    read: float | None = 120.0
    total: float | None = 600.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not value > 0
                or math.isinf(value)
            ):
                raise ConfigurationError(
                    f"Timeout.{field.name} must be a positive number of seconds or None, "
                    f"not {value!r}"
                )

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Build a Timeout from seconds (used for every phase), a Timeout, or None (defaults)."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigurationError(f"timeout must be a positive number or a Timeout, not {value!r}")
        seconds = float(value)
        return cls(connect=seconds, read=seconds, total=seconds)


DEFAULT_TIMEOUT = Timeout()


def resolve_api_key(api_key: str | None) -> str:
    """Return the PAT from the argument or the environment, or raise before any request."""
    if api_key:
        return api_key
    for name in PAT_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    raise MissingAPIKeyError(
        "no Clarifai Personal Access Token: pass api_key=... or set the CLARIFAI_PAT environment "
        "variable (create one at https://clarifai.com/settings/security)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None, *, allow_insecure_http: bool = False) -> str:
    """Return the OpenAI-compatible base (``.../v2/ext/openai/v1``) from an API root or full base.

    Plain ``http://`` is refused for anything but loopback unless ``allow_insecure_http``.
    """
    raw = base_url or os.environ.get("CLARIFAI_API_BASE") or DEFAULT_API_BASE
    url = raw.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        shown = "(not shown: it contains '@')" if "@" in raw else repr(raw)
        raise ConfigurationError(f"base_url is not a valid URL: {shown}") from None
    if "@" in parts.netloc:
        # Not echoed: whatever sits before the "@" is a credential.
        raise ConfigurationError(
            "base_url must not carry credentials (user:password@host); pass the PAT as api_key"
        )
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {raw!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got {raw!r}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(hostname):
        raise ConfigurationError(
            f"refusing plain http for {hostname!r}: the PAT would travel unencrypted; "
            "use https, or pass allow_insecure_http=True if you really mean it"
        )
    path = parts.path
    for suffix in ("/chat/completions", OPENAI_PATH):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{parts.netloc}{path}{OPENAI_PATH}"
