"""How FakeClarifai's replies become bytes on the wire.

A reply becomes a ``Wire``: status, headers and a list of byte pieces. For generated streams
each piece is one SSE event (``data: {chunk}\\n\\n``), so "after N events" faults can count
pieces; for everything else the pieces are plain byte runs and faults count bytes. Building a
Wire is pure, hence deterministic: same plan and context, same bytes. One coroutine,
``send_wire``, does the I/O: it writes a Wire piece by piece with the reply's pacing and faults.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

CREATED = 1_700_000_000
"""The fixed ``created`` timestamp of every generated chunk and completion (determinism)."""

SSE_CONTENT_TYPE = "text/event-stream"
_DONE = b"data: [DONE]\n\n"
_WORDISH = re.compile(r"\s*\S+|\s+$")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Context:
    """What a reply may depend on: the request, and its sequence number for ids."""

    seq: int
    model: str
    stream: bool
    body: dict[str, Any]

    @property
    def completion_id(self) -> str:
        return f"chatcmpl-fake-{self.seq:06d}"


@dataclass(frozen=True)
class ToolCallPlan:
    """One tool call: ``arguments`` is the exact JSON text to send, in ``fragments`` pieces."""

    name: str
    arguments: str
    id: str | None = None
    fragments: int = 3
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class MessagePlan:
    """An assistant message to send as a stream or as one ``chat.completion``."""

    content: str | None = None
    chunks: int | None = None  # content in word-ish pieces (None) or N even pieces
    reasoning: str | None = None
    reasoning_field: str = "reasoning_content"
    tool_calls: tuple[ToolCallPlan, ...] = ()
    interleave: bool = False
    finish_reason: str | None = "stop"
    usage: dict[str, Any] | None = None


@dataclass
class Wire:
    """A response ready to write. ``events`` says whether pieces are SSE events or byte runs."""

    status: int
    pieces: list[bytes]
    events: bool
    headers: dict[str, str] = field(default_factory=dict)
    content_length: int | None = None

    @property
    def is_stream(self) -> bool:
        return self.headers.get("Content-Type", "").startswith(SSE_CONTENT_TYPE)


def split_words(text: str) -> list[str]:
    """Word-ish pieces, each word with its leading whitespace; they join back to ``text``."""
    return _WORDISH.findall(text)


def split_even(text: str, n: int) -> list[str]:
    """``text`` in ``n`` pieces of near-equal length (fewer if ``text`` is shorter than ``n``)."""
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    pieces, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def count_words(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


def prompt_text(body: dict[str, Any]) -> str:
    """All the text of the request's messages, for deterministic prompt token counts."""
    texts: list[str] = []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return " ".join(texts)


def make_chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    index: int = 0,
    usage: dict[str, Any] | None = None,
    id: str = "chatcmpl-fake",
    model: str = "fake-model",
) -> dict[str, Any]:
    """An OpenAI-shaped ``chat.completion.chunk`` dict, for ``FakeClarifai.add_chunks``.

    ``delta=None`` with ``usage`` gives the usage-only chunk (``choices: []``).
    """
    chunk: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [],
    }
    if delta is not None or finish_reason is not None:
        chunk["choices"] = [
            {"index": index, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
        ]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _usage(plan: MessagePlan, ctx: Context, n: int = 1) -> dict[str, Any]:
    if plan.usage is not None:
        return plan.usage
    reasoning = n * count_words(plan.reasoning)
    answer = n * (count_words(plan.content) + sum(count_words(c.arguments) for c in plan.tool_calls))
    prompt = max(1, count_words(prompt_text(ctx.body)))
    completion = max(1, answer + reasoning)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def _text_pieces(text: str | None, chunks: int | None) -> list[str]:
    if not text:
        return []
    return split_words(text) if chunks is None else split_even(text, chunks)


def _tool_call_deltas(plan: MessagePlan, ctx: Context) -> list[dict[str, Any]]:
    # Each call is a head delta (id, type, name, empty arguments) then its argument fragments;
    # interleaving takes one delta of each call in turn, as parallel-call servers do.
    sequences: list[list[dict[str, Any]]] = []
    for index, call in enumerate(plan.tool_calls):
        head: dict[str, Any] = {
            "index": index,
            "id": call.id or f"call_fake_{ctx.seq:06d}_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
            **(call.extra or {}),
        }
        frags = split_even(call.arguments, call.fragments) if call.arguments else []
        sequence = [head] + [{"index": index, "function": {"arguments": f}} for f in frags]
        sequences.append(sequence)
    if not plan.interleave:
        return [{"tool_calls": [d]} for seq in sequences for d in seq]
    longest = max((len(s) for s in sequences), default=0)
    return [{"tool_calls": [s[i]]} for i in range(longest) for s in sequences if i < len(s)]


def _deltas(plan: MessagePlan, ctx: Context) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{plan.reasoning_field: p} for p in _text_pieces(plan.reasoning, None)]
    deltas += [{"content": p} for p in _text_pieces(plan.content, plan.chunks)]
    deltas += _tool_call_deltas(plan, ctx)
    if not deltas:
        deltas = [{"content": ""}]
    deltas[0] = {"role": "assistant", **deltas[0]}
    return deltas


def _event(chunk: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def _sse_headers(request_id: str) -> dict[str, str]:
    return {
        "Content-Type": SSE_CONTENT_TYPE,
        "Cache-Control": "no-cache",
        "X-Request-Id": request_id,
    }


def render_json(status: int, body: Any, request_id: str) -> Wire:
    data = orjson.dumps(body)
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    return Wire(status, [data], events=False, headers=headers, content_length=len(data))


def render_message(plan: MessagePlan, ctx: Context, request_id: str, n: int = 1) -> Wire:
    """The plan as an SSE stream (when the request asked for one) or a ``chat.completion``,
    with ``n`` identical choices."""
    if not ctx.stream:
        return render_json(200, _completion(plan, ctx, n), request_id)
    chunk_base = {
        "id": ctx.completion_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": ctx.model,
    }
    choices = range(n)
    events = [
        _event({**chunk_base, "choices": [_choice(delta, None, i)]})
        for delta in _deltas(plan, ctx) for i in choices
    ]
    events += [_event({**chunk_base, "choices": [_choice({}, plan.finish_reason, i)]}) for i in choices]
    # Clarifai forces usage reporting on, whatever `stream_options` says: the last chunk
    # before [DONE] carries it.
    events.append(_event({**chunk_base, "choices": [], "usage": _usage(plan, ctx, n)}))
    events.append(_DONE)
    return Wire(200, events, events=True, headers=_sse_headers(request_id))


def _choice(delta: dict[str, Any], finish_reason: str | None, index: int = 0) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _completion(plan: MessagePlan, ctx: Context, n: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": plan.content}
    if plan.content is None and not plan.tool_calls:
        message["content"] = ""
    if plan.reasoning:
        message[plan.reasoning_field] = plan.reasoning
    if plan.tool_calls:
        # Clarifai keeps `index` on tool calls even outside a stream.
        message["tool_calls"] = [
            {
                "index": i,
                "id": call.id or f"call_fake_{ctx.seq:06d}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
                **(call.extra or {}),
            }
            for i, call in enumerate(plan.tool_calls)
        ]
    choices = [
        {"index": i, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}
        for i in range(n)
    ]
    return {
        "id": ctx.completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": ctx.model,
        "choices": choices,
        "usage": _usage(plan, ctx, n),
    }


def render_chunks(
    chunks: list[dict[str, Any] | bytes],
    usage: dict[str, Any] | None,
    done: bool,
    ctx: Context,
    request_id: str,
) -> Wire:
    """Raw chunks as SSE events; ``bytes`` items go out verbatim (comments, bad JSON...)."""
    events = [c if isinstance(c, bytes) else _event(c) for c in chunks]
    if usage is not None:
        usage_chunk = make_chunk(usage=usage, id=ctx.completion_id, model=ctx.model)
        events.append(_event(usage_chunk))
    if done:
        events.append(_DONE)
    return Wire(200, events, events=True, headers=_sse_headers(request_id))


def sse_split_points(
    size: int, splits: list[int] | None, split_seed: int | None, chunk_size: int | None
) -> list[int]:
    """Offsets where a replayed body is cut into separately written pieces."""
    if splits is not None:
        points = set(splits)
    elif split_seed is not None:
        rng = random.Random(split_seed)
        points, at = set(), 0
        while True:
            at += rng.randint(1, 64)
            if at >= size:
                break
            points.add(at)
    elif chunk_size is not None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        points = set(range(chunk_size, size, chunk_size))
    else:
        points = set()
    return sorted(p for p in points if 0 < p < size)


def render_sse(data: bytes, points: list[int], request_id: str) -> Wire:
    """A recorded SSE body replayed byte for byte, cut at ``points``."""
    bounds = [0, *points, len(data)]
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return Wire(200, pieces, events=False, headers=_sse_headers(request_id))


def render_raw(
    status: int,
    body: dict[str, Any] | list[Any] | str | bytes | None,
    headers: dict[str, str] | None,
    content_type: str | None,
    request_id: str,
) -> Wire:
    """An arbitrary response: dict/list as JSON, str as text, bytes verbatim, None empty."""
    if isinstance(body, (dict, list)):
        data, default_type = orjson.dumps(body), "application/json"
    elif isinstance(body, str):
        data, default_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, default_type = body or b"", "application/json"
    all_headers = {"Content-Type": content_type or default_type, "X-Request-Id": request_id}
    all_headers.update(headers or {})
    return Wire(status, [data], events=False, headers=all_headers, content_length=len(data))


def truncate(wire: Wire, limit: int) -> list[bytes]:
    """The pieces sent before a fault: ``limit`` events, or ``limit`` bytes."""
    if wire.events:
        return wire.pieces[:limit]
    out: list[bytes] = []
    for piece in wire.pieces:
        if limit <= 0:
            break
        out.append(piece[:limit])
        limit -= len(piece)
    return [p for p in out if p]


Make = Callable[[Context, str], Wire]
"""Builds a reply's wire from the request context and the request id."""


@dataclass(frozen=True)
class Reply:
    """One scripted reply: how to build its wire, and how to pace or break it."""

    make: Make
    delay: float = 0.0
    chunk_delay: float = 0.0
    disconnect_after: int | None = None
    stall_after: int | None = None
    drop: bool = False  # close the connection before any response


async def send_wire(
    request: web.BaseRequest,
    wire: Wire,
    reply: Reply | None = None,
    on_stream_end: Callable[[bool], None] | None = None,
) -> web.StreamResponse:
    """Write ``wire`` one piece per write, with the reply's pacing and faults.

    For event streams, ``on_stream_end(True)`` reports the last byte written and
    ``on_stream_end(False)`` a stream cut short: scripted fault, client gone, server closing.
    """
    reply = reply or Reply(no_wire)
    resp = web.StreamResponse(status=wire.status, headers=wire.headers)
    if wire.content_length is not None:
        resp.content_length = wire.content_length
    limit = reply.disconnect_after if reply.stall_after is None else reply.stall_after
    pieces = wire.pieces if limit is None else truncate(wire, limit)

    def end(completed: bool) -> None:
        if on_stream_end is not None and wire.is_stream:
            on_stream_end(completed)

    try:
        await resp.prepare(request)
        for i, piece in enumerate(pieces):
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            # write() hands the piece to the transport at once (and drains when its buffer
            # is full), so each piece leaves in its own send.
            if piece:
                await resp.write(piece)
        if reply.stall_after is not None:
            # Hang without closing until the client gives up or the server closes: both
            # cancel this handler.
            await asyncio.get_running_loop().create_future()
        if reply.disconnect_after is not None:
            drop_connection(request)
            end(False)
            return resp
        await resp.write_eof()
    except (ConnectionError, asyncio.CancelledError) as exc:
        end(False)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return resp
    end(True)
    return resp


def no_wire(ctx: Context, request_id: str) -> Wire:
    """The wire of a reply that never answers (``add_disconnect``)."""
    return Wire(200, [], events=False)


def drop_connection(request: web.BaseRequest) -> None:
    # close(), not abort(): bytes already written still reach the client, then EOF lands
    # in the middle of the (chunked or Content-Length) body.
    transport = request.transport
    if transport is not None:
        transport.close()
