"""``python -m aclarifai probe``: one tiny call on each lane, and what came back.

The native lane's streaming framing (``/outputs/generate`` over HTTP) and whether ``/v2``
routes take ``Bearer`` have not been observed live. With a PAT this command answers both in a
minute: it prints, for each call, the HTTP status, content type, request id, Clarifai status,
the framing the stream used and whether the ``runner_selector`` came back as sent, so the report
can confirm (or correct) docs/native.md. The PAT is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TextIO

import orjson

from ._error_body import excerpt
from ._native_chat import STREAM_METHOD, UNARY_METHOD, ChunkDecoder, chat_text, prepare_native
from ._native_status import outputs_of
from ._native_stream import JSONStreamParser
from ._native_target import ModelRef, Target, target_of
from .client import AsyncClarifai
from .errors import APIStatusError, ClarifaiError
from .native import get_model, native_request

__all__ = ["add_probe_parser", "run_probe"]

_PROBE_HELP = """\
Make one tiny chat call on each lane (the OpenAI-compatible endpoint, the native unary route,
the native streaming route), read the model's method signatures, and try Bearer on a /v2
route; print what came back. Paste the report into an issue to confirm or correct what
docs/native.md marks as unverified. Costs a few tokens. The PAT is never printed."""
_MAX_READ = 1024 * 1024
_PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]


def add_probe_parser(commands: Any) -> None:
    """Add ``probe`` to the CLI's subcommands."""
    probe = commands.add_parser(
        "probe", help="check the native lane against the live API (needs CLARIFAI_PAT)",
        description=_PROBE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument("--model", required=True, help="the model's Clarifai URL")
    probe.add_argument("--deployment", default=None, help="a deployment ID to pin")
    probe.add_argument("--deployment-owner", default=None,
                       help="the deployment's owner (default: the model's user)")
    probe.add_argument("--nodepool", default=None, metavar="CLUSTER/NODEPOOL",
                       help="a compute cluster and nodepool to pin, instead of --deployment")
    probe.add_argument("--max-tokens", type=int, default=5, help="tokens per answer (default 5)")
    probe.add_argument("--timeout", type=float, default=60.0, help="seconds per call (default 60)")
    probe.add_argument("--api-key", default=None,
                       help="a Clarifai PAT (default: CLARIFAI_PAT; prefer the variable)")
    probe.add_argument("--base-url", default=None, help="API root (default: CLARIFAI_API_BASE)")


def run_probe(args: argparse.Namespace, out: TextIO) -> int:
    """Run the probe; 0 when every call answered, 1 when one failed, 2 for a bad command."""
    try:
        nodepool = None
        if args.nodepool is not None:
            cluster, _, pool = args.nodepool.partition("/")
            nodepool = (cluster, pool)
        target = target_of(args.deployment, args.deployment_owner, nodepool)
        ref = ModelRef.parse(args.model)
        client = AsyncClarifai(api_key=args.api_key, base_url=args.base_url, max_retries=0,
                               timeout=args.timeout)
    except (ValueError, ClarifaiError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return asyncio.run(_probe(client, ref, target, args.max_tokens, out))


async def _probe(
    client: AsyncClarifai, ref: ModelRef, target: Target | None, max_tokens: int, out: TextIO
) -> int:
    print(f"aclarifai probe: {ref.url}", file=out)
    if target is not None:
        print(f"  pinned to {target.describe()}, runner_selector "
              f"{_json(target.runner_selector(ref))}", file=out)
    print(f"  API root {client.base_url.removesuffix('/v2/ext/openai/v1')}", file=out)
    chat = {"model": ref.url, "messages": _PROMPT, "max_tokens": max_tokens}
    steps: list[tuple[str, Callable[[list[str]], Awaitable[None]]]] = [
        ("OpenAI-compatible lane", lambda lines: _openai_lane(client, chat, lines)),
        ("model signatures", lambda lines: _signatures(client, ref, lines)),
        ("native unary chat", lambda lines: _native_unary(client, chat, target, lines)),
        ("native streaming chat", lambda lines: _native_stream(client, chat, target, lines)),
        ("Bearer on a /v2 route", lambda lines: _bearer(client, ref, lines)),
    ]
    failed = 0
    async with client:
        for number, (title, step) in enumerate(steps, 1):
            print(f"[{number}] {title}", file=out)
            lines: list[str] = []  # what a step saw is printed even when it then fails
            try:
                await step(lines)
            except Exception as exc:  # a probe reports, it does not crash  # noqa: BLE001
                failed += 1
                lines.append(f"FAILED: {type(exc).__name__}: {exc}")
            for line in lines:
                print(f"    {line}", file=out)
    print(f"{len(steps) - failed} of {len(steps)} calls answered. Paste this report into an issue "
          "to confirm or correct docs/native.md (the PAT is not in it).", file=out)
    return 1 if failed else 0


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _head(response_headers: Mapping[str, str], status: int) -> str:
    kind = response_headers.get("Content-Type", "no content type")
    chunked = response_headers.get("Transfer-Encoding", "")
    request_id = response_headers.get("x-request-id") or response_headers.get(
        "x-clarifai-request-id") or "none"
    return (f"HTTP {status}, {kind}" + (f", Transfer-Encoding {chunked}" if chunked else "")
            + f", request id {request_id}")


async def _read(response: Any) -> bytes:
    pieces, size = [], 0
    try:
        while size < _MAX_READ and (piece := await response.content.readany()):
            pieces.append(piece)
            size += len(piece)
    finally:
        response.close()
    return b"".join(pieces)


async def _openai_lane(client: AsyncClarifai, chat: dict[str, Any], lines: list[str]) -> None:
    completion = await client.acompletion(chat["model"], chat["messages"],
                                          max_tokens=chat["max_tokens"])
    content = completion.choices[0].message.content if completion.choices else None
    lines.append(f"answer {content!r}, model {completion.model!r}")


async def _signatures(client: AsyncClarifai, ref: ModelRef, lines: list[str]) -> None:
    methods = await get_model(client, ref.url, refresh=True)
    names = methods.available_methods()
    lines.append(f"{len(names)} methods (from {methods.source}): {', '.join(names) or 'none'}")
    for name in (UNARY_METHOD, STREAM_METHOD):
        lines.append(f"{name}: {'present' if name in methods else 'MISSING'}")


def _selector_line(body: Any, target: Target | None, ref: ModelRef) -> str:
    if target is None:
        return "no runner_selector sent"
    sent = target.runner_selector(ref)
    echoed = body.get("runner_selector") if isinstance(body, dict) else None
    if echoed is None:
        return f"runner_selector sent {_json(sent)}; not echoed back (cannot tell if honoured)"
    verdict = "honoured" if _contains(echoed, sent) else "DIFFERENT from what was sent"
    return f"runner_selector echoed {_json(echoed)}: {verdict}"


def _contains(echoed: Any, sent: Any) -> bool:
    if isinstance(sent, dict):
        return isinstance(echoed, dict) and all(_contains(echoed.get(k), v) for k, v in sent.items())
    return bool(echoed == sent)


async def _native_unary(
    client: AsyncClarifai, chat: dict[str, Any], target: Target | None, lines: list[str]
) -> None:
    ref = ModelRef.parse(chat["model"])
    request = _request(client, dict(chat, stream=False), target, stream=False)
    response = await client._send(request)
    lines.append(_head(response.headers, response.status))
    raw = await _read(response)
    body = orjson.loads(raw)
    status = body.get("status", {}) if isinstance(body, dict) else {}
    lines.append(f"status {status.get('code')} {status.get('description')!r}")
    lines.append(_selector_line(body, target, ref))
    text = chat_text(body, response.headers)
    lines.append(f"returned {excerpt(text, 160)!r}")


async def _native_stream(
    client: AsyncClarifai, chat: dict[str, Any], target: Target | None, lines: list[str]
) -> None:
    ref = ModelRef.parse(chat["model"])
    body = dict(chat, stream=True, stream_options={"include_usage": True})
    request = _request(client, body, target, stream=True)
    response = await client._send(request)
    lines.append(_head(response.headers, response.status))
    raw = await _read(response)
    lines.append(f"first bytes: {excerpt(raw, 200)!r}")
    parser = JSONStreamParser()
    messages = parser.feed(raw) + parser.flush()
    lines.append(f"framing {parser.framing or 'none'}, {len(messages)} messages")
    decoder = ChunkDecoder(_MAX_READ)
    chunks = decoder.feed(raw) + decoder.flush()
    text = []
    for event in chunks:
        chunk = orjson.loads(event.data)
        for choice in chunk.get("choices") or ():
            text.append((choice.get("delta") or {}).get("content") or "")
    lines.append(f"{len(chunks)} chunks, text {''.join(text)!r}")
    first = messages[0] if messages else None
    result = first.get("result", first) if isinstance(first, dict) else None
    lines.append(_selector_line(result, target, ref))
    lines.append(f"outputs in the first message: {len(outputs_of(first))}")


def _request(client: AsyncClarifai, chat: dict[str, Any], target: Target | None, *,
             stream: bool) -> Any:
    # without a deployment: the same call with no runner_selector (Clarifai routes it)
    return prepare_native(client, chat, target, stream=stream)


async def _bearer(client: AsyncClarifai, ref: ModelRef, lines: list[str]) -> None:
    request = native_request(client, "GET", ref.path, None, stream=False)
    request.headers["Authorization"] = f"Bearer {client._api_key.reveal()}"
    try:
        response = await client._send(request)
    except APIStatusError as error:
        lines.append(f"HTTP {error.status_code}: refused ({error.code}); send Key on /v2 (as "
                     "aclarifai does)")
        return
    response.close()
    lines.append(f"HTTP {response.status}: accepted")
