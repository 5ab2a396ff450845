"""Chat on a pinned deployment: the OpenAI request through Clarifai's native API.

``acompletion(..., deployment=...)`` (or ``nodepool=``) sends the very same OpenAI chat body as
the ``msg`` argument of the model's ``openai_transport`` method (``POST .../outputs``) or, when
streaming, of ``openai_stream_transport`` (``POST .../outputs/generate``), with a
``runner_selector`` naming the deployment. The ``return`` part holds the ``ChatCompletion``
JSON, or one ``ChatCompletionChunk`` JSON per streamed message; those chunks go through the
same ``CompletionStream`` (accumulator, events, agent) as the OpenAI lane, only the framing
differs (``_native_stream``). Native routes authenticate with ``Authorization: Key <PAT>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from ._error_body import error_in_body, excerpt
from ._native_parts import method_input, return_string
from ._native_status import message_error, outputs_of, response_error
from ._native_stream import JSONStreamParser
from ._native_target import ModelRef, Target
from ._request_id import request_id_of
from .errors import APIResponseValidationError, APIStatusError
from .native import native_request
from .sse import ServerSentEvent
from .streaming import CompletionStream
from .types import ChatCompletion

if TYPE_CHECKING:
    from ._http import _Request
    from .client import AsyncClarifai

__all__ = ["NativeCompletionStream", "native_body", "native_complete", "prepare_native"]

UNARY_METHOD = "openai_transport"
STREAM_METHOD = "openai_stream_transport"


def native_body(
    chat: Mapping[str, Any], target: Target | None, model: ModelRef, method: str
) -> dict[str, Any]:
    """The ``PostModelOutputsRequest`` JSON carrying ``chat`` to ``method`` on ``target``."""
    text = orjson.dumps(chat).decode()
    body: dict[str, Any] = {
        "inputs": [method_input(method, [{"id": "msg", "data": {"string_value": text}}])],
    }
    if target is not None:
        body = {"runner_selector": target.runner_selector(model), **body}
    return body


def prepare_native(
    client: AsyncClarifai, chat: dict[str, Any], target: Target | None, *, stream: bool,
    **options: Any,
) -> _Request:
    """The native request of one chat call; ``options`` are those of ``client._prepare``.

    Hooks and telemetry see ``chat`` (the OpenAI request the caller made) as the body; the
    wire carries it wrapped in the native request.
    """
    model = ModelRef.parse(chat["model"])
    method, suffix = (STREAM_METHOD, "/outputs/generate") if stream else (UNARY_METHOD, "/outputs")
    return native_request(
        client, "POST", model.path + suffix, native_body(chat, target, model, method),
        stream=stream, retry=None if target is None else target.retry, observed=chat, **options,
    )


def chat_text(body: Any, headers: Mapping[str, str], status: int = 200) -> str:
    """The string ``openai_transport`` returned, or the typed error the answer carries."""
    request_id = request_id_of(headers)
    error = response_error(body, status, request_id, headers)
    if error is not None:
        raise error
    outputs = outputs_of(body)
    text = return_string(outputs[0]) if outputs else None
    if text is None:
        raise APIResponseValidationError(
            f"the native answer has no returned string: {excerpt(orjson.dumps(body))}",
            status_code=status, request_id=request_id, body=body, headers=headers,
        )
    return text


async def native_complete(client: AsyncClarifai, request: _Request) -> ChatCompletion:
    """Send a non-stream native chat (with the client's retries) and return its completion."""
    body, headers = await client._request_json(request)
    text = chat_text(body, headers)
    request_id = request_id_of(headers)
    try:
        completion = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise APIResponseValidationError(
            f"openai_transport did not return JSON: {excerpt(text)}",
            status_code=200, request_id=request_id, body=body, headers=headers,
        ) from None
    error = error_in_body(completion, 200, request_id, headers)  # {"code": 21313, ...}
    if error is not None:
        raise error
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        raise APIResponseValidationError(
            f"openai_transport did not return a chat completion: {excerpt(text)}",
            status_code=200, request_id=request_id, body=completion, headers=headers,
        )
    return ChatCompletion(completion)


class ChunkDecoder:
    """Native stream bytes in, one ``message`` event per returned chunk string out.

    It stands in for ``SSEDecoder`` inside ``CompletionStream``: the chunk strings are exactly
    the ``data:`` payloads the OpenAI lane receives. A failed message raises its typed error;
    chunks decoded before it in the same read are handed over first.
    """

    replaced_bytes = 0  # the JSON parser refuses invalid UTF-8 instead of replacing it

    def __init__(self, max_size: int) -> None:
        self._parser = JSONStreamParser(max_size)
        self._pending: APIStatusError | None = None
        self.request_id: str | None = None
        self.headers: Mapping[str, str] = {}

    @property
    def framing(self) -> str | None:
        return self._parser.framing

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        return self._events(self._parser.feed(data))

    def flush(self) -> list[ServerSentEvent]:
        return self._events(self._parser.flush())

    def _events(self, messages: list[Any]) -> list[ServerSentEvent]:
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        events: list[ServerSentEvent] = []
        for message in messages:
            error = message_error(message, self.request_id, self.headers)
            if error is None:
                for output in outputs_of(message):
                    text = return_string(output)
                    if text:
                        events.append(ServerSentEvent(text))
                continue
            if not events:
                raise error
            self._pending = error
            break
        return events


class NativeCompletionStream(CompletionStream):
    """A ``CompletionStream`` whose body is a native ``/outputs/generate`` stream."""

    def _reset(self) -> None:
        super()._reset()
        self._decoder = ChunkDecoder(self._max_line_size)  # type: ignore[assignment]

    async def _open(self) -> None:
        response: aiohttp.ClientResponse = await self._opener()
        self._response = response
        observer = self._observer()
        self._on_read = observer.read_hook() if observer is not None else None
        self._status = response.status
        self.response_headers = response.headers
        self.request_id = request_id_of(response.headers)
        decoder = self._decoder
        if isinstance(decoder, ChunkDecoder):
            decoder.request_id, decoder.headers = self.request_id, response.headers
        # Any content type: grpc-gateway streams say application/json; the parser decides.

    @property
    def framing(self) -> str | None:
        """How the body was framed (``"ndjson"``, ``"json-array"``, ``"sse"``), once known."""
        decoder = self._decoder
        return decoder.framing if isinstance(decoder, ChunkDecoder) else None
