"""How ``python -m aclarifai`` reports a failure: one ``error:`` line, in shell terms."""

from __future__ import annotations

from .errors import APIStatusError, MissingAPIKeyError

__all__ = ["NO_PAT", "error_line", "is_user_mistake"]

NO_PAT = (
    "no Clarifai Personal Access Token: set the CLARIFAI_PAT environment variable "
    "(or pass --api-key); create one at https://clarifai.com/settings/security"
)
_SERVER_SIDE = frozenset({408, 409, 429})  # 4xx statuses that are not the caller's mistake


def error_line(exc: BaseException) -> str:
    """``error: ...`` on one line: a multi-line message (e.g. the accepted model forms) is
    folded into it."""
    if isinstance(exc, MissingAPIKeyError):
        return f"error: {NO_PAT}"
    parts = [part.strip() for part in str(exc).splitlines() if part.strip()]
    return "error: " + ("; ".join(parts) or type(exc).__name__)


def is_user_mistake(exc: BaseException) -> bool:
    """Whether the server refused the request as written (bad PAT, unknown model, bad
    parameter): a 4xx other than timeouts, conflicts and throttling."""
    status = getattr(exc, "status_code", None)
    return (
        isinstance(exc, APIStatusError)
        and status is not None
        and 400 <= status < 500
        and status not in _SERVER_SIDE
    )
