"""What both chat servers share: the page, the agent's tools and instructions, the command line.

``app.py`` next to this file imports it directly; ``../fastapi_chat/app.py`` puts this folder on
``sys.path`` first.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from aclarifai.tools import tool

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
INSTRUCTIONS = "You are a concise assistant. Use the tools for weather and time questions."
PAGE = Path(__file__).resolve().parent / "static" / "index.html"


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
        units: Temperature units.
    """
    temperature = 21 if units == "celsius" else 70
    return {"location": location, "temperature": temperature, "units": units, "conditions": "sunny"}


@tool
async def get_time(city: str) -> dict[str, str]:
    """Get the local time in a city.

    Args:
        city: The city, e.g. "Tokyo".
    """
    return {"city": city, "time": "14:05"}


def parse_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """``--offline`` (the default) or ``--online``, ``--model``, ``--host``, ``--port``.

    ``description`` is the app's docstring (its first line is shown by ``--help``). Exits with
    status 2 on a bad argument, or on ``--online`` without a token in ``CLARIFAI_PAT``.
    """
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="use an in-process FakeClarifai (default)")
    mode.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        parser.exit(2, "--online needs a Personal Access Token in CLARIFAI_PAT\n")
    return args
