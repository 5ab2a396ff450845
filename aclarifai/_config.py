"""Settings from arguments and the environment, in one place: PAT, base URL, timeouts."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from urllib.parse import urlsplit

from .errors import ConfigurationError, MissingAPIKeyError

DEFAULT_API_BASE = "https://api.clarifai.com"
OPENAI_PATH = "/v2/ext/openai/v1"
PAT_ENV_VARS = ("CLARIFAI_PAT", "CLARIFAI_API_KEY")


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

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Build a Timeout from seconds (used for every phase), a Timeout, or None (defaults)."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {raw!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got {raw!r}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http for {parts.hostname!r}: the PAT would travel unencrypted; "
            "use https, or pass allow_insecure_http=True if you really mean it"
        )
    path = parts.path
    for suffix in ("/chat/completions", OPENAI_PATH):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{parts.netloc}{path}{OPENAI_PATH}"
