"""The scenarios: what each client sends, what the server answers, and the answer to expect.

Pure and deterministic (seeded), imported by the three kinds of process: the server renders the
replies to bytes once, the runner keeps their ``Answer`` to check every client, and a client only
needs the cheap ``Plan`` (messages, tools, how many requests), so it never holds the replies.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from typing import Any

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
API_KEY = "bench-pat-0123456789"
API_PATH = "/v2/ext/openai/v1"
CHAT_PATH = API_PATH + "/chat/completions"
CREATED = 1_700_000_000
SCENARIOS = ("S1", "S2", "S3", "S4", "S5")


@dataclass(frozen=True)
class Sizes:
    s1_chunks: int = 20_000
    s2_calls: int = 8
    s2_fragments: int = 2_000
    s3_streams: int = 500
    s3_chunks: int = 100
    s4_requests: int = 200
    s5_calls: int = 3
    s5_tool_seconds: float = 0.3
    s5_answer_chunks: int = 100


FULL = Sizes()
QUICK = Sizes(
    s1_chunks=300, s2_fragments=160, s3_streams=20, s3_chunks=20, s4_requests=10,
    s5_tool_seconds=0.05, s5_answer_chunks=20,
)


def sizes_for(quick: bool) -> Sizes:
    return QUICK if quick else FULL


def warm_sizes(sizes: Sizes) -> Sizes:
    """The sizes of the one un-timed warm-up request each client makes first."""
    return replace(QUICK, s5_tool_seconds=sizes.s5_tool_seconds)


@dataclass(frozen=True)
class Answer:
    """What a client must assemble: the message text, its tool calls and the finish reason."""

    content: str | None
    tool_calls: tuple[tuple[str, str, str], ...]  # (id, name, arguments) in index order
    finish_reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "tool_calls": [list(call) for call in self.tool_calls],
            "finish_reason": self.finish_reason,
        }


@dataclass(frozen=True)
class Reply:
    """One server reply: the chunks of its stream, and the answer they assemble to."""

    rid: str
    chunks: list[dict[str, Any]]
    answer: Answer
    usage: dict[str, int]


@dataclass(frozen=True)
class Plan:
    """What a client sends for one scenario, and how many times."""

    name: str
    stream: bool
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    concurrent: int = 1  # streams in flight at once (S3)
    sequential: int = 1  # requests one after another (S4)
    unit: str = "chunk"  # what CPU time is divided by: each chunk event, request or agent turn
    extra: dict[str, Any] = field(default_factory=dict)


# -- building replies -----------------------------------------------------------------------------

_WORDS = (
    " the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", ",", ".", " and",
    " a", " stream", " of", " tokens", " café", " naïve", " 日本語", " 🚀", "\n", " \"quoted\"",
    " back\\slash", " 42", " e=mc²", "\t", " München", " is", " not", " to", " be",
)


def _chunk(rid: str, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    ]
    return {
        "id": rid, "object": "chat.completion.chunk", "created": CREATED, "model": "gpt-oss-20b",
        "system_fingerprint": "fp_bench", "choices": choices,
    }


def _usage_chunk(rid: str, usage: dict[str, int]) -> dict[str, Any]:
    chunk = _chunk(rid, None)
    chunk["usage"] = usage
    return chunk


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def text_reply(rid: str, n_chunks: int, seed: int) -> Reply:
    """A plain answer streamed as ``n_chunks`` content chunks (plus role, finish and usage)."""
    rng = random.Random(seed)
    pieces = [rng.choice(_WORDS) for _ in range(n_chunks)]
    usage = _usage(12, n_chunks)
    chunks = [_chunk(rid, {"role": "assistant", "content": ""})]
    chunks += [_chunk(rid, {"content": piece}) for piece in pieces]
    chunks.append(_chunk(rid, {}, "stop"))
    chunks.append(_usage_chunk(rid, usage))
    return Reply(rid, chunks, Answer("".join(pieces), (), "stop"), usage)


def _arguments(rng: random.Random, k: int, target_len: int) -> str:
    words: list[str] = []
    while sum(map(len, words)) < target_len:
        words.append(rng.choice(_WORDS))
    value = {
        "query": "".join(words), "limit": 10 + k, "ratio": 0.25 * k, "strict": k % 2 == 0,
        "filters": {"lang": "en", "tags": ["news", "science", f"t{k}"], "range": [1, 2.5, -3e-2]},
        "note": None,
    }
    return json.dumps(value, ensure_ascii=False)


def _split(rng: random.Random, text: str, parts: int) -> list[str]:
    parts = max(1, min(parts, len(text)))
    cuts = sorted(rng.sample(range(1, len(text)), parts - 1))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def tools_reply(rid: str, n_calls: int, n_fragments: int, seed: int, *,
                name: str = "search", interleave: bool = True,
                arguments: list[str] | None = None) -> Reply:
    """``n_calls`` parallel tool calls whose arguments arrive in ``n_fragments`` fragments in all.

    Interleaved: fragment j of every call before fragment j+1 of any (round robin by index).
    """
    rng = random.Random(seed)
    per_call = max(1, n_fragments // n_calls)
    if arguments is None:
        arguments = [_arguments(rng, k, per_call * 5) for k in range(n_calls)]
    calls = [(f"call_{rid}_{k}", f"{name}_{k}" if interleave else name, arguments[k])
             for k in range(n_calls)]
    fragments = [_split(rng, args, per_call) for _, _, args in calls]
    order = (
        [(k, j) for j in range(max(map(len, fragments))) for k in range(n_calls)]
        if interleave else [(k, j) for k in range(n_calls) for j in range(len(fragments[k]))]
    )
    chunks = [_chunk(rid, {"role": "assistant", "content": None})]
    for k, j in order:
        if j >= len(fragments[k]):
            continue
        if j == 0:
            call_id, call_name, _ = calls[k]
            chunks.append(_chunk(rid, {"tool_calls": [{
                "index": k, "id": call_id, "type": "function",
                "function": {"name": call_name, "arguments": ""},
            }]}))
        chunks.append(_chunk(rid, {"tool_calls": [
            {"index": k, "function": {"arguments": fragments[k][j]}}
        ]}))
    chunks.append(_chunk(rid, {}, "tool_calls"))
    usage = _usage(40, n_fragments)
    chunks.append(_usage_chunk(rid, usage))
    return Reply(rid, chunks, Answer(None, tuple(calls), "tool_calls"), usage)


def tool_schema(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": properties, "required": list(properties)},
    }}


# -- S5: an agent turn ----------------------------------------------------------------------------

S5_CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Quito")
S5_TOOL = "lookup_city"


def s5_tool_result(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": len(city) * 3, "conditions": "clear"}


def s5_replies(sizes: Sizes) -> tuple[Reply, Reply]:
    """The model's two turns: ``s5_calls`` parallel tool calls, then a streamed answer."""
    cities = S5_CITIES[: sizes.s5_calls]
    arguments = [json.dumps({"city": city}) for city in cities]
    calls = tools_reply("s5a", len(cities), 4 * len(cities), seed=5, name=S5_TOOL,
                        interleave=False, arguments=arguments)
    answer = text_reply("s5b", sizes.s5_answer_chunks, seed=55)
    return calls, answer


# -- per scenario ---------------------------------------------------------------------------------

def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You are a benchmark."}, {"role": "user", "content": text}]


def plan(name: str, sizes: Sizes) -> Plan:
    """What a client sends for scenario ``name`` (cheap: no reply is built)."""
    if name == "S1":
        return Plan(name, True, _user("Write a long story."))
    if name == "S2":
        tools = [tool_schema(f"search_{k}", {"query": {"type": "string"}})
                 for k in range(sizes.s2_calls)]
        return Plan(name, True, _user("Search everything in parallel."), tools=tools)
    if name == "S3":
        return Plan(name, True, _user("Say something short."), concurrent=sizes.s3_streams)
    if name == "S4":
        return Plan(name, False, _user("Answer briefly."), sequential=sizes.s4_requests,
                    unit="request")
    if name == "S5":
        cities = ", ".join(S5_CITIES[: sizes.s5_calls])
        return Plan(name, True, _user(f"What is the weather in {cities}?"), unit="turn",
                    extra={"cities": S5_CITIES[: sizes.s5_calls],
                           "tool_seconds": sizes.s5_tool_seconds})
    raise ValueError(f"unknown scenario {name!r}")


def replies(name: str, sizes: Sizes) -> list[Reply]:
    """The server's replies for scenario ``name`` (S5 has two: tool calls, then the answer)."""
    if name == "S1":
        return [text_reply("s1", sizes.s1_chunks, seed=1)]
    if name == "S2":
        return [tools_reply("s2", sizes.s2_calls, sizes.s2_fragments, seed=2)]
    if name == "S3":
        return [text_reply("s3", sizes.s3_chunks, seed=3)]
    if name == "S4":
        return [text_reply("s4", 60, seed=4)]
    if name == "S5":
        return list(s5_replies(sizes))
    raise ValueError(f"unknown scenario {name!r}")


# -- rendering ------------------------------------------------------------------------------------

def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def sse_events(reply: Reply) -> list[bytes]:
    """The reply's event stream, one ``data: ...\\n\\n`` event per item, ``[DONE]`` last."""
    return [b"data: " + _dumps(chunk) + b"\n\n" for chunk in reply.chunks] + [b"data: [DONE]\n\n"]


def completion_body(reply: Reply) -> bytes:
    """The reply as one non-stream ``chat.completion``."""
    answer = reply.answer
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in answer.tool_calls
        ]
    return _dumps({
        "id": reply.rid, "object": "chat.completion", "created": CREATED, "model": "gpt-oss-20b",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": answer.finish_reason}],
        "usage": reply.usage,
    })
