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
    """A string that never shows itself in a repr, a log record or a traceback's locals.

    Wrap a credential on the first line that touches it (``_Secret.wrap(api_key)``, then
    ``del api_key``): ``TracebackException(capture_locals=True)``, what error trackers record,
    renders every local of every frame with ``repr``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def wrap(cls, value: str | _Secret | None) -> _Secret | None:
        """``value`` as a secret (None stays None; a secret is returned as is)."""
        if value is None or isinstance(value, _Secret):
            return value
        return cls(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

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


_CONTROL_NAMES = {"\r": "a carriage return (\\r)", "\n": "a line feed (\\n)",
                  "\x00": "a NUL byte (\\x00)", "\t": "a tab (\\t)"}


def _control_character(text: str) -> str | None:
    """The name of the first character that cannot be in a header's token, if any (never raises).

    Control characters (CR, LF, NUL...) would break the header; anything beyond ASCII (a
    byte-order mark left by an editor) is no part of a PAT and would only earn a 401.
    """
    for char in text:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
        if ord(char) > 0x7F:
            return f"the non-ASCII character U+{ord(char):04X}"
    return None


def _trimmed(secret: _Secret) -> tuple[_Secret, str | None]:
    """The secret without surrounding whitespace, and the control character left inside, if any.

    Returns instead of raising: the frame that raises must hold no bare copy of the secret.
    """
    text = secret.reveal().strip()
    return _Secret(text), _control_character(text)


def resolve_api_key(api_key: str | _Secret | None) -> _Secret:
    """The PAT from the argument or the environment, trimmed and checked, before any request.

    Surrounding whitespace (a PAT read from a file ends in a newline) is dropped; a control
    character left inside (CR, LF, NUL...) raises ``ConfigurationError``, which never shows the key.
    """
    given = _Secret.wrap(api_key)
    del api_key  # from here on this frame holds the PAT only wrapped
    sources: list[tuple[str, _Secret | None]] = [("api_key", given)]
    sources += [(f"the {name} environment variable", _Secret.wrap(os.environ.get(name)))
                for name in PAT_ENV_VARS]
    for where, candidate in sources:
        if candidate is None:
            continue
        key, problem = _trimmed(candidate)
        if problem is not None:
            raise ConfigurationError(
                f"{where} contains {problem}: a Personal Access Token is one line of letters and "
                "digits (the key itself is not shown); check how it was read or pasted"
            )
        if key:
            return key
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


def resolve_base_url(base_url: str | _Secret | None, *, allow_insecure_http: bool = False) -> str:
    """The base URL requests go to: ``{base_url}/chat/completions``, ``{base_url}/models``.

    Like the OpenAI SDK, a URL with a path (``http://gateway:4000/v1``) is used as given; a bare
    API root (``https://api.clarifai.com``, also from ``CLARIFAI_API_BASE``) gets Clarifai's
    OpenAI-compatible path ``/v2/ext/openai/v1``. A trailing ``/chat/completions`` is dropped.
    Plain ``http://`` is refused for anything but loopback unless ``allow_insecure_http``; a URL
    that carries credentials (``user:password@host``) is refused without being shown.
    """
    given = _Secret.wrap(base_url)
    del base_url  # a refused URL may carry a credential: this frame holds it only wrapped
    url, problem = _checked_base_url(given, allow_insecure_http)
    if problem is not None:
        raise ConfigurationError(problem)
    return url


def _checked_base_url(given: _Secret | None, allow_insecure_http: bool) -> tuple[str, str | None]:
    """``(url, None)``, or ``("", why it is refused)``: returns instead of raising (see above)."""
    what = "base_url"
    raw = given.reveal() if given else ""
    if not raw.strip():
        what, raw = "CLARIFAI_API_BASE", os.environ.get("CLARIFAI_API_BASE") or ""
        if not raw.strip():
            what, raw = "base_url", DEFAULT_API_BASE
    url = raw.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "", f"{what} is not a valid URL: {_shown(raw)}"
    if "@" in parts.netloc:
        # Not echoed: whatever sits before the "@" is a credential.
        return "", (
            f"{what} must not carry credentials (user:password@host); pass the PAT as api_key"
        )
    if parts.scheme not in ("http", "https") or not hostname:
        return "", f"{what} must be an http(s) URL, got {_shown(raw)}"
    if parts.query or parts.fragment:
        # Not echoed either: a query string may carry a token.
        return "", f"{what} must not carry a query or fragment ({parts.scheme}://{parts.netloc})"
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(hostname):
        return "", (
            f"refusing plain http for {hostname!r}: the PAT would travel unencrypted; "
            "use https, or pass allow_insecure_http=True if you really mean it"
        )
    path = parts.path.rstrip("/")
    path = path.removesuffix("/chat/completions")
    return f"{parts.scheme}://{parts.netloc}{path or OPENAI_PATH}", None


def _shown(raw: str) -> str:
    """A refused URL as an error message may show it: not at all if it may carry a credential."""
    if any(mark in raw for mark in "@?#"):
        return "(not shown: it may carry a credential)"
    return repr(raw)


def is_clarifai_api(base_url: str) -> bool:
    """Whether a resolved base URL is Clarifai's API rather than a gateway or another host.

    True for a ``clarifai.com`` host, and for any URL ending in Clarifai's OpenAI path
    (``/v2/ext/openai/v1``: a private Clarifai install, FakeClarifai, or a bare root given).
    There, model references are checked; anywhere else an unknown model name is sent verbatim.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    return (
        host == "clarifai.com"
        or host.endswith(".clarifai.com")
        or parts.path.rstrip("/").endswith(OPENAI_PATH)
    )
