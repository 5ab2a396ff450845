"""FakeClarifai's native routes: ``/v2/users/...`` predict, generate and model versions.

Served as Clarifai's published API definition describes them (JSON, snake_case field names):

- ``POST /v2/users/{u}/apps/{a}/models/{m}[/versions/{v}]/outputs`` (unary methods)
- ``POST /v2/users/{u}/deployments/{d}/outputs`` (the deployment-path route)
- ``POST /v2/users/{u}/apps/{a}/models/{m}[/versions/{v}]/outputs/generate``, streamed as
  newline-delimited ``{"result": MultiOutputResponse}`` objects
- ``GET /v2/users/{u}/apps/{a}/models/{m}[/versions/{v}]`` with ``method_signatures``

``openai_transport`` / ``openai_stream_transport`` calls answer with FakeClarifai's ordinary
scripted replies (``add_text``, ``add_tool_calls``, ``add_chunks``...), each chunk wrapped in a
native message; other methods answer from ``fake.native.add_output`` / ``add_stream`` or echo
their arguments. ``add_status`` scripts a status code (deploying, busy, not deployed...) for the
next native calls. Every call is recorded in ``fake.native.calls`` with its ``runner_selector``.
Native routes accept only ``Authorization: Key <PAT>``: whether Clarifai's ``/v2`` routes take
``Bearer`` is not known, so the fake makes sure the client sends ``Key``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from . import _fake_demo as _demo
from . import _fake_render as _wire

if TYPE_CHECKING:
    from .testing import FakeClarifai

__all__ = ["NativeCall", "NativeRoutes"]

_ID = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_MODEL = re.compile(
    rf"^/v2/users/(?P<user>{_ID})/apps/(?P<app>{_ID})/models/(?P<model>{_ID})"
    rf"(?:/versions/(?P<version>{_ID}))?(?P<tail>/outputs(?:/generate)?)?$"
)
_DEPLOYMENT = re.compile(rf"^/v2/users/(?P<user>{_ID})/deployments/(?P<deployment>{_ID})/outputs$")
_DESCRIPTIONS = {
    10000: "Ok",
    11003: "Exceeded hourly request limit",
    11005: "Making too many requests",
    21313: "Model prediction failed",
    21351: "Model is deploying",
    21352: "Model is queued for deployment",
    21353: "Model is not deployed",
    21354: "Model is busy, please retry",
    21355: "Model is loading",
    25900: "Deployment does not exist",
}
CHAT_METHODS = ("openai_transport", "openai_stream_transport")


@dataclass(frozen=True)
class NativeCall:
    """One native call as FakeClarifai received it."""

    path: str
    user: str
    app: str | None
    model: str | None
    version: str | None
    method: str | None
    """``data.metadata._method_name`` of the first input (None when absent)."""
    runner_selector: dict[str, Any] | None
    """The body's ``runner_selector``, or the one the deployment-path route implies."""
    parts: list[dict[str, Any]]
    """The first input's ``data.parts`` as sent."""
    stream: bool
    authorization_scheme: str
    body: Any = None

    @property
    def arguments(self) -> dict[str, Any]:
        """The parts by id: ``{name: Data}``."""
        return {str(p.get("id")): p.get("data") for p in self.parts if isinstance(p, dict)}


@dataclass
class _Scripted:
    status: int
    http_status: int
    description: str | None
    remaining: int


@dataclass
class NativeRoutes:
    """The native side of one FakeClarifai: scripting, recorded calls, the model registry."""

    fake: FakeClarifai
    calls: list[NativeCall] = field(default_factory=list)
    signatures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Method signatures by model path ``user/app/model``, served by ``GET`` of the model."""
    _statuses: deque[_Scripted] = field(default_factory=deque)
    _outputs: deque[tuple[bool, list[Any]]] = field(default_factory=deque)
    _hidden: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self.calls = []
        self._statuses.clear()
        self._outputs.clear()

    # -- scripting ---------------------------------------------------------------------------

    def add_status(
        self, code: int, *, description: str | None = None, http_status: int = 200, times: int = 1
    ) -> None:
        """Answer the next ``times`` native calls with this status (e.g. 21351, deploying)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._statuses.append(_Scripted(code, http_status, description, times))

    def add_model_error(self, description: str = "Model prediction failed",
                        details: str = "fake failure", code: int = 21313) -> None:
        """The next chat-transport call returns the model's error object as its string."""
        error = {"code": code, "description": description, "details": details}
        self._outputs.append((False, [{"string_value": orjson.dumps(error).decode()}]))

    def add_output(self, data: dict[str, Any]) -> None:
        """The next unary call returns this ``Data`` as its ``return`` part."""
        self._outputs.append((False, [data]))

    def add_stream(self, items: Sequence[dict[str, Any]]) -> None:
        """The next generate call streams one message per ``Data`` in ``items`` (an item with
        a ``result`` or ``error`` key is sent as the whole message: a failure mid-stream)."""
        self._outputs.append((True, list(items)))

    def add_model(
        self, model: str, signatures: Sequence[dict[str, Any]], *, in_version: bool = True
    ) -> None:
        """Register a model (``user/app/models/model``) and its method signatures.

        ``GET`` of the model (or a version) returns them in ``model_version.method_signatures``;
        with ``in_version=False`` it returns none, and only the model itself answers them
        (``_method_name: _GET_SIGNATURES``, camelCase JSON in ``text.raw``) as older runners do.
        """
        key = model.strip("/")
        self.signatures[key] = [dict(s) for s in signatures]
        if not in_version:
            self._hidden.add(key)

    # -- serving -----------------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith("/v2/users/")

    def answer(
        self, request: web.BaseRequest, parsed: Any, request_id: str, seq: int
    ) -> tuple[_wire.Wire, _wire.Reply | None]:
        path = request.path.rstrip("/")
        model_match, deployment_match = _MODEL.match(path), _DEPLOYMENT.match(path)
        if model_match is None and deployment_match is None:
            return _native_json(404, _status(21200, request_id, f"No route {path}")), None
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Key" or token.strip() != self.fake.api_key:
            return _demo.auth_error(request_id), None
        if model_match is not None and model_match["tail"] is None:
            if request.method != "GET":
                return _native_json(405, _status(11102, request_id, "Method not allowed")), None
            return self._model_version(model_match, request_id), None
        if request.method != "POST":
            return _native_json(405, _status(11102, request_id, "Method not allowed")), None
        call = self._record(path, model_match, deployment_match, parsed, scheme)
        if not isinstance(parsed, dict) or not isinstance(parsed.get("inputs"), list):
            return _native_json(400, _status(11102, request_id, "'inputs' is required")), None
        scripted = self._pop_status()
        if scripted is not None:
            body = _response(scripted.status, request_id, [], scripted.description)
            if call.stream and scripted.http_status == 200:
                return _lines([{"result": body}], request_id), None
            return _native_json(scripted.http_status, body), None
        if call.method in CHAT_METHODS:
            return self._chat(call, request_id, seq)
        if call.method == "_GET_SIGNATURES" and model_match is not None:
            return self._signatures_from_model(call, request_id), None
        return self._method(call, request_id), None

    def _record(self, path: str, model_match: Any, deployment_match: Any, parsed: Any,
                scheme: str) -> NativeCall:
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        inputs = body.get("inputs")
        first = inputs[0] if isinstance(inputs, list) and inputs else None
        data = first.get("data") if isinstance(first, dict) else None
        data = data if isinstance(data, dict) else {}
        metadata = data.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        parts = data.get("parts")
        parts = parts if isinstance(parts, list) else []
        selector = body.get("runner_selector")
        if deployment_match is not None:
            user, app, model, version = deployment_match["user"], None, None, None
            selector = {"deployment": {"id": deployment_match["deployment"], "user_id": user}}
        else:
            user, app = model_match["user"], model_match["app"]
            model, version = model_match["model"], model_match["version"]
        stream = model_match is not None and model_match["tail"] == "/outputs/generate"
        call = NativeCall(path, user, app, model, version, metadata.get("_method_name"),
                          selector if isinstance(selector, dict) else None, parts, stream,
                          scheme, parsed)
        self.calls.append(call)
        return call

    def _pop_status(self) -> _Scripted | None:
        if not self._statuses:
            return None
        scripted = self._statuses[0]
        scripted.remaining -= 1
        if scripted.remaining == 0:
            self._statuses.popleft()
        return scripted

    def _chat(self, call: NativeCall, request_id: str, seq: int) -> tuple[_wire.Wire, _wire.Reply | None]:
        """``openai_transport`` and ``openai_stream_transport``: the OpenAI request in ``msg``."""
        msg = call.arguments.get("msg")
        text = msg.get("string_value") if isinstance(msg, dict) else None
        chat, problem = _demo.parse_body(text.encode() if isinstance(text, str) else b"")
        streaming = call.method == "openai_stream_transport"
        if problem is None and (chat.get("stream") is True) != streaming:
            problem = f"{call.method} needs \"stream\": {str(streaming).lower()} in msg"
        if problem is not None:
            error = {"code": 21313, "description": "Model prediction failed", "details": problem}
            return self._strings(call, [orjson.dumps(error).decode()], request_id), None
        if self._outputs:
            _, items = self._outputs.popleft()
            return self._data(call, items, request_id), None
        ctx = _wire.Context(seq, chat["model"], streaming, chat)
        reply = self.fake._queue.pop()
        wire = (_wire.render_message(_demo.demo_plan(chat), ctx, request_id) if reply is None
                else reply.make(ctx, request_id))
        return _wrap(wire, streaming, request_id, call.runner_selector), reply

    def _method(self, call: NativeCall, request_id: str) -> _wire.Wire:
        """Any other method: a scripted output, or the arguments echoed as JSON."""
        if self._outputs:
            return self._data(call, self._outputs.popleft()[1], request_id)
        echo = {"method": call.method, "arguments": call.arguments}
        item = {"struct_value": echo}
        return self._data(call, [item], request_id)

    def _signatures_from_model(self, call: NativeCall, request_id: str) -> _wire.Wire:
        key = f"{call.user}/{call.app}/models/{call.model}"
        signatures = self.signatures.get(key, [])
        text = orjson.dumps({s["name"]: _camel(s) for s in signatures}).decode()
        body = _response(10000, request_id, [])
        body["outputs"] = [{"id": "out-0", "status": {"code": 10000, "description": "Ok"},
                            "data": {"text": {"raw": text}}}]
        return _native_json(200, body)

    def _strings(self, call: NativeCall, texts: list[str], request_id: str) -> _wire.Wire:
        return self._data(call, [{"string_value": t} for t in texts], request_id)

    def _data(self, call: NativeCall, items: list[Any], request_id: str) -> _wire.Wire:
        if call.stream:  # an item that is a whole message ({"result"}, {"error"}) goes as is
            messages = [item if isinstance(item, dict) and {"result", "error"} & set(item)
                        else {"result": _response(10000, request_id, [item],
                                                  selector=call.runner_selector)}
                        for item in items]
            return _lines(messages, request_id)
        return _native_json(200, _response(10000, request_id, items[:1],
                                           selector=call.runner_selector))

    def _model_version(self, match: Any, request_id: str) -> _wire.Wire:
        key = f"{match['user']}/{match['app']}/models/{match['model']}"
        signatures = self.signatures.get(key)
        if signatures is None:
            return _native_json(404, _status(21200, request_id, f"Model {key} not found"))
        version: dict[str, Any] = {"id": match["version"] or "fake-version-1"}
        if key not in self._hidden:
            version["method_signatures"] = signatures
        body: dict[str, Any] = {"status": {"code": 10000, "description": "Ok", "req_id": request_id}}
        if match["version"]:
            body["model_version"] = version
        else:
            body["model"] = {"id": match["model"], "user_id": match["user"],
                             "app_id": match["app"], "model_version": version}
        return _native_json(200, body)


def _camel(value: Any) -> Any:
    """Keys in camelCase, as protobuf's MessageToDict writes them."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        head, *rest = key.split("_")
        out[head + "".join(word.title() for word in rest)] = _camel(item)
    return out


def _status(code: int, request_id: str, details: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"code": code, "description": _DESCRIPTIONS.get(code, "Failure"),
                              "req_id": request_id}
    if details:
        status["details"] = details
    return {"status": status}


def _response(code: int, request_id: str, items: list[Any], description: str | None = None,
              selector: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``MultiOutputResponse`` whose outputs return ``items`` (``Data`` dicts); it echoes the
    ``runner_selector`` the request named, as Clarifai's ``MultiOutputResponse`` does."""
    text = description or _DESCRIPTIONS.get(code, "Failure")
    status = {"code": code, "description": text}
    outputs = [
        {"id": f"out-{i}", "status": status,
         "data": {"parts": [{"id": "return", "data": item}]}}
        for i, item in enumerate(items)
    ]
    if not items and code != 10000:
        outputs = [{"id": "out-0", "status": status}]
    body: dict[str, Any] = {"status": {**status, "req_id": request_id}, "outputs": outputs}
    if selector is not None:
        body["runner_selector"] = selector
    return body


def _native_json(status: int, body: Any) -> _wire.Wire:
    request_id = body.get("status", {}).get("req_id", "") if isinstance(body, dict) else ""
    return _wire.render_json(status, body, request_id)


def _lines(messages: list[Any], request_id: str) -> _wire.Wire:
    """A generate stream: one JSON object and a newline per message, one write each."""
    pieces = [orjson.dumps(m) + b"\n" for m in messages]
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    return _wire.Wire(200, pieces, events=True, headers=headers)


def _wrap(wire: _wire.Wire, streaming: bool, request_id: str,
          selector: dict[str, Any] | None) -> _wire.Wire:
    """A reply rendered for the OpenAI lane, as the native chat transports would return it."""
    if wire.status != 200 or not wire.pieces:
        return wire
    if not streaming:
        if wire.is_stream:
            return wire
        text = b"".join(wire.pieces).decode()
        return _native_json(200, _response(10000, request_id, [{"string_value": text}],
                                           selector=selector))
    if not wire.is_stream:
        return wire
    pieces: list[bytes] = []
    for piece in wire.pieces:
        for line in piece.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]" or not data:
                continue
            item = {"string_value": data.decode()}
            message = {"result": _response(10000, request_id, [item], selector=selector)}
            pieces.append(orjson.dumps(message) + b"\n")
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    return _wire.Wire(200, pieces, events=True, headers=headers)
