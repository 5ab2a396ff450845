"""``python -m aclarifai``: the command line (``chat``, ``batch``, ``demo``, ``probe``).

Every mistake in a command (an unknown option, a model reference that is not one, no PAT, a
file that cannot be read, a request the server refuses as written) ends with one ``error:``
line on stderr and exit status 2; a call that fails for another reason (timeouts, server
errors) exits with 1. The commands themselves live in ``_cli_chat`` and ``_cli_batch``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from ._cli_batch import BATCH_HELP, run_batch
from ._cli_chat import DEMO_MODEL, ChatFailed, run_chat, run_demo
from ._cli_errors import error_line, is_user_mistake
from ._cli_probe import add_probe_parser, run_probe
from ._config import is_clarifai_api, resolve_base_url
from ._version import __version__
from .errors import ClarifaiError
from .models import wire_model

__all__ = ["DEFAULT_MODEL", "DEMO_MODEL", "main", "run_batch", "run_chat", "run_demo"]

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
DEFAULT_TIMEOUT = 60.0
_DESCRIPTION = """\
Chat with a model hosted on Clarifai from the terminal, run a JSONL file of requests, or run
the offline demo. Needs a Clarifai Personal Access Token in CLARIFAI_PAT (except the demo).
Exit status: 0 done, 1 the call failed, 2 a mistake in the command."""
_PAT_HELP = "a Clarifai PAT (default: CLARIFAI_PAT; prefer the variable, command lines are visible)"
BASE_URL_HELP = (
    "API root, or a gateway's URL with its path "
    "(default: CLARIFAI_API_BASE, else https://api.clarifai.com)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, ending a mistake with one ``error:`` line (usage above it) and status 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


class _Formatter(argparse.HelpFormatter):
    """Wraps help text without breaking a URL at its hyphens (it must stay copyable)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False,
                             break_long_words=False)


def _number(
    kind: type[int] | type[float], low: float, inclusive: bool = True
) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (not inclusive and value == low):
            bound = f">= {low:g}" if inclusive else f"> {low:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


_COUNT = _number(int, 0)
_POSITIVE_INT = _number(int, 1)
_POSITIVE = _number(float, 0, inclusive=False)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m aclarifai", description=_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"aclarifai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)
    _chat_parser(commands)
    commands.add_parser("demo", help="run offline against the bundled FakeClarifai server",
                        description="Stream an answer and a tool-call round trip against the "
                        "bundled FakeClarifai server: no network, no PAT.")
    _batch_parser(commands)
    add_probe_parser(commands)
    return parser


def _chat_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    default_model = os.environ.get("ACLARIFAI_MODEL", DEFAULT_MODEL)
    chat = commands.add_parser(
        "chat", help="stream a reply from a model (needs CLARIFAI_PAT)", formatter_class=_Formatter,
        description="Stream one reply to stdout. On a terminal, stderr says when the model is "
        "slow to answer; the total time goes to stderr at the end.",
    )
    chat.add_argument("prompt", help="the user message")
    chat.add_argument(
        "--model", default=default_model,
        help="a Clarifai model URL, or {user}/{app}/models/{model}, or "
        f"clarifai/{{user}}.{{app}}.{{model}} (default: ACLARIFAI_MODEL, else {default_model})",
    )
    chat.add_argument("--system", default=None, help="a system message")
    chat.add_argument("--temperature", type=float, default=None,
                      help="sampling temperature, e.g. 0.2 (default: the model's)")
    chat.add_argument("--max-tokens", type=_POSITIVE_INT, default=None,
                      help="stop after this many generated tokens (default: the model's limit)")
    chat.add_argument("--reasoning-effort", choices=["low", "medium", "high"], default=None,
                      help="how hard a reasoning model thinks (default: the model's)")
    chat.add_argument("--show-reasoning", action="store_true",
                      help="print the model's reasoning under [reasoning], before the [answer]")
    chat.add_argument("--timeout", type=_POSITIVE, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                      help="give up on an attempt after this many seconds without data "
                      f"(default {DEFAULT_TIMEOUT:g})")
    chat.add_argument("--max-retries", type=_COUNT, default=2,
                      help="retries after a timeout or a server error (default 2)")
    chat.add_argument("--api-key", default=None, metavar="PAT", help=_PAT_HELP)
    chat.add_argument("--base-url", default=None, help=BASE_URL_HELP)


def _batch_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    batch = commands.add_parser(
        "batch", help="run every request of a JSONL file, resumably (needs CLARIFAI_PAT)",
        description=BATCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("input", type=Path, help="JSONL: one request per line")
    batch.add_argument("output", type=Path, help="JSONL: one record per line, appended to")
    batch.add_argument(
        "--model", default=os.environ.get("ACLARIFAI_MODEL"),
        help="model for lines that name none (default: ACLARIFAI_MODEL)",
    )
    batch.add_argument("--concurrency", type=_POSITIVE_INT, default=8,
                       help="requests in flight (default 8)")
    batch.add_argument(
        "--rate-limit", type=float, default=None, metavar="PER_SECOND",
        help="request starts per second (default: no limit; Clarifai's account default is 15)",
    )
    batch.add_argument("--max-retries", type=_COUNT, default=2, help="retries per request (default 2)")
    batch.add_argument("--api-key", default=None, metavar="PAT", help=_PAT_HELP)
    batch.add_argument("--base-url", default=None, help=BASE_URL_HELP)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 done, 1 failed, 2 a mistake, 130 Ctrl-C)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or argparse's one error: line
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "batch":
        return run_batch(args)
    if args.command == "probe":
        return run_probe(args, sys.stdout)
    try:
        if args.command == "demo":
            asyncio.run(run_demo())
        else:
            # A bad model reference is a mistake: say so before connecting (behind a gateway
            # any name goes, it is the gateway's to understand).
            base_url = resolve_base_url(args.base_url)
            wire_model(args.model, clarifai_api=is_clarifai_api(base_url))
            asyncio.run(run_chat(args))
    except ChatFailed as failed:
        tries = f"{failed.attempts} attempt{'s' if failed.attempts != 1 else ''}"
        print(f"{error_line(failed.error)} ({tries}, {failed.elapsed:.1f}s)", file=sys.stderr)
        return 2 if is_user_mistake(failed.error) else 1
    except (ValueError, ClarifaiError) as exc:  # the model reference, the PAT, the base URL
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
