"""The command line the top-level examples share; not an example itself.

Each example hands ``run_example`` the coroutine that is its real content,
``body(client, model, args, out)``. By default the client talks to a FakeClarifai server started
in this process (no network, no token); with ``--online`` it is a real ``AsyncClarifai`` whose
Personal Access Token comes from ``CLARIFAI_PAT``. ``--model`` picks the model.

Examples import it as ``from _example_cli import run_example``, which works because Python puts
a script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TextIO

from aclarifai import AsyncClarifai
from aclarifai.errors import ClarifaiError
from aclarifai.testing import FakeClarifai

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"

Body = Callable[[AsyncClarifai, str, argparse.Namespace, TextIO], Awaitable[object]]


@contextlib.asynccontextmanager
async def open_client(online: bool) -> AsyncIterator[AsyncClarifai]:
    """The real client, or one talking to a FakeClarifai that runs as long as the client."""
    if online:
        async with AsyncClarifai() as client:  # the PAT comes from CLARIFAI_PAT
            yield client
        return
    # Offline the demo model plays whichever model --model names.
    async with FakeClarifai(accept_any_model=True) as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        yield client


def run_example(
    description: str,
    body: Body,
    argv: Sequence[str] | None,
    out: TextIO,
    *,
    extra_args: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Parse the command line, run ``body`` with a client, and return the exit status.

    ``description``: the example's docstring; its first line is the ``--help`` description.
    ``extra_args``: more arguments, as ``{name: add_argument keywords}``.
    The status is 0, 1 after a ``ClarifaiError`` (printed), 2 for ``--online`` without a PAT.
    """
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    for name, options in (extra_args or {}).items():
        parser.add_argument(name, **options)
    parser.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        print("--online needs a Personal Access Token in CLARIFAI_PAT", file=sys.stderr)
        return 2

    async def run() -> None:
        async with open_client(args.online) as client:
            await body(client, args.model, args, out)

    try:
        asyncio.run(run())
    except ClarifaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
