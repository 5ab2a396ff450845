"""Model references: every form users write, normalised to Clarifai's canonical model URL.

Accepted forms (IDs are case-sensitive and kept as written):

- ``https://clarifai.com/{user}/{app}/models/{model}`` (canonical), also with ``www.``, without
  the scheme, with ``http://``, a trailing ``/`` or a query string such as ``?tab=versions``
- the same with ``/versions/{version}`` to pin a version
- ``{user}/{app}/models/{model}[/versions/{version}]`` (short form)
- ``openai/<any form above>`` (LiteLLM's ``openai/`` provider prefix)
- ``clarifai/{user}.{app}.{model}`` (LiteLLM's ``clarifai/`` provider form)
"""

from __future__ import annotations

import functools
import os
import re

from .errors import InvalidModelError

__all__ = ["resolve_model", "wire_model"]

_ID = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_PATH = re.compile(
    rf"^(?P<user>{_ID})/(?P<app>{_ID})/models/(?P<model>{_ID})"
    rf"(?:/versions/(?P<version>{_ID}))?/?$"
)
_DOTTED = re.compile(r"^(?P<user>[A-Za-z0-9_\-]+)\.(?P<app>[A-Za-z0-9_\-]+)\.(?P<model>[A-Za-z0-9_.\-]+)$")
_HOST = re.compile(r"^(?:https?://)?(?:www\.)?(?P<host>[A-Za-z0-9.\-]+(?::\d+)?)/(?P<path>.*)$")

_ACCEPTED = """accepted model forms:
  https://clarifai.com/{user}/{app}/models/{model}[/versions/{version}]
  {user}/{app}/models/{model}[/versions/{version}]
  openai/https://clarifai.com/{user}/{app}/models/{model}
  clarifai/{user}.{app}.{model}
(behind a gateway, a base_url with a path such as http://gateway:4000/v1, any other name
is sent as given)"""


def _ui_host() -> str:
    ui = os.environ.get("CLARIFAI_UI", "https://clarifai.com").rstrip("/")
    if "://" not in ui:
        ui = "https://" + ui
    return ui


def resolve_model(ref: str) -> str:
    """Return the canonical Clarifai model URL for any accepted model reference.

    >>> resolve_model("clarifai/openai.chat-completion.gpt-oss-20b")
    'https://clarifai.com/openai/chat-completion/models/gpt-oss-20b'

    Raises ``InvalidModelError`` (a ``ValueError``) listing the accepted forms for anything else.
    """
    if not isinstance(ref, str):
        raise InvalidModelError(f"model must be a string, got {type(ref).__name__}.\n{_ACCEPTED}")
    return _resolve(ref, _ui_host())


def wire_model(ref: str, *, clarifai_api: bool) -> str:
    """The ``model`` field sent: canonical for a Clarifai reference, else checked or kept as is.

    On Clarifai's API (``clarifai_api=True``) anything but a Clarifai reference raises
    ``InvalidModelError`` before any request; behind a gateway or on another OpenAI-compatible
    host the name is the host's to understand (a LiteLLM alias such as ``clarifai-gpt``), so it
    is sent verbatim.
    """
    if clarifai_api:
        return resolve_model(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidModelError(f"model must be a non-empty string, got {ref!r}")
    try:
        return resolve_model(ref)
    except InvalidModelError:
        return ref


@functools.lru_cache(maxsize=512)
def _resolve(ref: str, ui: str) -> str:
    text = ref.strip()
    for prefix in ("openai/", "clarifai/"):
        if text.startswith(prefix) and not _PATH.match(text):
            rest = text[len(prefix) :]
            if prefix == "clarifai/" and (m := _DOTTED.match(rest)):
                return f"{ui}/{m['user']}/{m['app']}/models/{m['model']}"
            text = rest
            break
    text = text.split("?", 1)[0].split("#", 1)[0]
    path = text
    if (m := _HOST.match(text)) and "." in m["host"]:
        host = m["host"].lower()
        ui_host = ui.split("://", 1)[1].lower()
        if host.removeprefix("www.") not in ("clarifai.com", ui_host.removeprefix("www.")):
            raise InvalidModelError(
                f"not a Clarifai model URL: {ref!r} (unknown host {host!r}).\n{_ACCEPTED}"
            )
        path = m["path"]
    elif text.startswith(("http://", "https://")):
        raise InvalidModelError(f"not a Clarifai model URL: {ref!r}.\n{_ACCEPTED}")
    m = _PATH.match(path)
    if m is None:
        raise InvalidModelError(f"unrecognised model reference {ref!r}.\n{_ACCEPTED}")
    url = f"{ui}/{m['user']}/{m['app']}/models/{m['model']}"
    if m["version"]:
        url += f"/versions/{m['version']}"
    return url
