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
    line = ""
    listing = False  # the previous line was a lone item, e.g. one accepted model form
    for part in (part.strip() for part in str(exc).splitlines()):
        if not part:
            continue
        item = " " not in part and not part.endswith(":")
        line += part if not line else (" | " if item and listing else " ") + part
        listing = item
    return "error: " + (line or type(exc).__name__)


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
