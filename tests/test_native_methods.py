"""Model methods over the native API: signatures, predict/generate arguments and results, retries."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from aclarifai import AsyncClarifai, _native_retry, _retry
from aclarifai.errors import (
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from aclarifai.native import Image, NativeRetry, Text
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/acme/tools/models/kitchen-sink"
KEY = "acme/tools/models/kitchen-sink"


def field(name: str, type: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type, **extra}


SIGNATURES = [
    {
        "name": "predict",
        "method_type": "UNARY_UNARY",
        "description": "Every argument type.",
        "input_fields": [
            field("prompt", "STR", required=True),
            field("count", "INT", default="3", is_param=True),
            field("temperature", "FLOAT", default="0.7", is_param=True),
            field("verbose", "BOOL", default="false"),
            field("blob", "BYTES"),
            field("config", "JSON_DATA"),
            field("items", "JSON_DATA"),
            field("note", "TEXT"),
            field("photo", "IMAGE"),
            field("photos", "LIST", type_args=[field("", "IMAGE")]),
            field("scores", "LIST", type_args=[field("", "FLOAT")]),
            field("pair", "TUPLE", type_args=[field("", "STR"), field("", "INT")]),
            field("box", "NAMED_FIELDS", type_args=[field("label", "STR"), field("size", "INT")]),
            field("tags", "LIST", type_args=[field("", "CONCEPT")]),
            field("clip", "AUDIO"),
        ],
        "output_fields": [field("return", "STR")],
    },
    {
        "name": "generate",
        "method_type": 2,
        "input_fields": [
            field("prompt", 1, required=True),
            field("max_tokens", 3, default="512", is_param=True),
        ],
        "output_fields": [field("return", 1, iterator=True)],
    },
    {"name": "chat", "method_type": "STREAMING_STREAMING",
     "input_fields": [field("messages", "STR", iterator=True)],
     "output_fields": [field("return", "STR", iterator=True)]},
]


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits take no time but move the native deadline's clock: returns the waits."""
    now = [1000.0]
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        now[0] += delay

    monkeypatch.setattr(_retry, "sleep", sleep)
    monkeypatch.setattr(_native_retry, "clock", lambda: now[0])
    return waits


@pytest.fixture
def model(fake: FakeClarifai) -> str:
    fake.native.add_model(KEY, SIGNATURES)
    return MODEL


def posts(fake: FakeClarifai) -> list[str]:
    return [r.path for r in fake.requests if r.method == "POST"]


async def test_models_get_reads_the_signatures(fake: FakeClarifai, client: AsyncClarifai,
                                               model: str) -> None:
    methods = await client.models.get(model)
    assert methods.available_methods() == ["predict", "generate", "chat"]
    assert methods.source == "model_version"
    assert methods.method_signature("generate") == (
        "def generate(prompt: str, max_tokens: int = 512) -> Iterator[str]:"
    )
    predict = methods["predict"]
    assert predict.kind == "unary" and predict.description == "Every argument type."
    assert str(predict).startswith(
        "def predict(prompt: str, count: int = 3, temperature: float = 0.7, verbose: bool = False,"
        " blob: bytes, config: JSON, items: JSON, note: Text, photo: Image, photos: List[Image],"
        " scores: List[float], pair: Tuple[str, int], box: NamedFields[label: str, size: int],"
    )
    count = predict.field("count")
    assert count is not None and count.is_param and count.default == 3 and not count.required
    assert methods["generate"].kind == "streaming" and methods["chat"].kind == "bidi"
    assert fake.last_request.path == "/v2/users/acme/apps/tools/models/kitchen-sink"
    assert fake.last_request.headers["Authorization"] == "Key ***"
    requests = fake.request_count
    assert await client.models.get(model) is methods  # cached
    assert fake.request_count == requests
    await client.models.get(model + "/versions/v7", refresh=True)
    assert fake.last_request.path == "/v2/users/acme/apps/tools/models/kitchen-sink/versions/v7"
    with pytest.raises(KeyError, match="has no method 'nope'"):
        methods["nope"]
    print(methods)  # printable like Clarifai's method_signature(), one per line
    assert str(methods).count("\n") == 2


async def test_signatures_from_the_model_itself(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.native.add_model(KEY, SIGNATURES, in_version=False)
    methods = await client.models.get(MODEL)
    assert methods.source == "_GET_SIGNATURES"
    assert methods.method_signature("generate") == (
        "def generate(prompt: str, max_tokens: int = 512) -> Iterator[str]:"
    )
    assert fake.native.calls[-1].method == "_GET_SIGNATURES"


async def test_a_model_without_signatures_is_not_found(client: AsyncClarifai) -> None:
    with pytest.raises(NotFoundError):
        await client.models.get("https://clarifai.com/acme/tools/models/unknown")


async def test_predict_encodes_every_argument_type(fake: FakeClarifai, client: AsyncClarifai,
                                                   model: str) -> None:
    fake.native.add_output({"string_value": "done"})
    result = await client.predict(
        model,
        prompt="Hi",
        count=7,
        temperature=1,
        verbose=True,
        blob=b"\x00\xff",
        config={"a": [1, 2]},
        items=[1, "two"],
        note=Text(url="https://example.com/t.txt"),
        photo=Image(bytes=b"PNG"),
        photos=[Image(url="https://example.com/1.jpg"), b"JPG"],
        scores=[0.5, 2],
        pair=("x", 9),
        box={"label": "cat", "size": 3},
        tags=[{"id": "cat", "value": 0.9}],
        clip={"url": "https://example.com/a.wav"},
        deployment="dep-1",
    )
    assert result == "done"
    call = fake.native.calls[-1]
    assert call.method == "predict" and call.path.endswith("/kitchen-sink/outputs")
    assert call.runner_selector == {"deployment": {"id": "dep-1", "user_id": "acme"}}
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    assert call.arguments == {
        "prompt": {"string_value": "Hi"},
        "count": {"int_value": "7"},
        "temperature": {"float_value": 1.0},
        "verbose": {"bool_value": True},
        "blob": {"bytes_value": b64(b"\x00\xff")},
        "config": {"struct_value": {"a": [1, 2]}},
        "items": {"struct_value": {"_list": [1, "two"]}},
        "note": {"text": {"url": "https://example.com/t.txt"}},
        "photo": {"image": {"base64": b64(b"PNG")}},
        "photos": {"parts": [{"data": {"image": {"url": "https://example.com/1.jpg"}}},
                             {"data": {"image": {"base64": b64(b"JPG")}}}]},
        "scores": {"parts": [{"data": {"float_value": 0.5}}, {"data": {"float_value": 2.0}}]},
        "pair": {"parts": [{"id": "0", "data": {"string_value": "x"}},
                           {"id": "1", "data": {"int_value": "9"}}]},
        "box": {"parts": [{"id": "label", "data": {"string_value": "cat"}},
                          {"id": "size", "data": {"int_value": "3"}}]},
        "tags": {"concepts": [{"id": "cat", "value": 0.9}]},
        "clip": {"audio": {"url": "https://example.com/a.wav"}},
    }
    # the order of the signature, omitted optionals not sent
    assert [p["id"] for p in call.parts][:3] == ["prompt", "count", "temperature"]
    await client.predict(model, prompt="only")
    assert fake.native.calls[-1].arguments == {"prompt": {"string_value": "only"}}
    assert fake.native.calls[-1].runner_selector is None


@pytest.mark.parametrize(
    ("output", "data", "expected"),
    [
        ("STR", {"string_value": "hé"}, "hé"),
        ("STR", {}, ""),  # proto3 JSON omits the zero value
        ("INT", {"int_value": "9007199254740993"}, 9007199254740993),
        ("INT", {}, 0),
        ("FLOAT", {"float_value": 0.25}, 0.25),
        ("BOOL", {"bool_value": True}, True),
        ("BOOL", {}, False),
        ("BYTES", {"bytes_value": base64.b64encode(b"\x01\x02").decode()}, b"\x01\x02"),
        ("JSON_DATA", {"struct_value": {"k": [1]}}, {"k": [1]}),
        ("JSON_DATA", {"struct_value": {"_list": [1, 2]}}, [1, 2]),
        ("JSON_DATA", {"string_value": '{"old": true}'}, {"old": True}),
        ("TEXT", {"text": {"raw": "words"}}, Text(raw="words")),
        ("IMAGE", {"image": {"url": "https://x/y.png"}}, Image(url="https://x/y.png")),
        ("IMAGE", {"image": {"base64": base64.b64encode(b"PNG").decode()}}, Image(bytes=b"PNG")),
        ("CONCEPT", {"concepts": [{"id": "cat"}]}, {"id": "cat"}),
    ],
)
async def test_predict_decodes_the_return_part(
    fake: FakeClarifai, client: AsyncClarifai, output: str, data: dict[str, Any], expected: Any
) -> None:
    signature = {"name": "predict", "method_type": 1, "input_fields": [],
                 "output_fields": [field("return", output)]}
    fake.native.add_model(KEY, [signature])
    fake.native.add_output(data)
    assert await client.predict(MODEL) == expected


async def test_predict_decodes_containers(fake: FakeClarifai, client: AsyncClarifai) -> None:
    outputs = [
        field("return", "LIST", type_args=[field("", "INT")]),
        field("return", "TUPLE", type_args=[field("", "STR"), field("", "BOOL")]),
        field("return", "NAMED_FIELDS", type_args=[field("text", "STR"), field("n", "INT")]),
    ]
    datas = [
        {"parts": [{"data": {"int_value": "1"}}, {"data": {}}]},
        {"parts": [{"id": "0", "data": {"string_value": "a"}}, {"id": "1", "data": {}}]},
        {"parts": [{"id": "n", "data": {"int_value": "2"}}, {"id": "text", "data": {}}]},
    ]
    expected: list[Any] = [[1, 0], ("a", False), {"text": "", "n": 2}]
    for output, data, value in zip(outputs, datas, expected, strict=True):
        fake.native.add_model(KEY, [{"name": "predict", "method_type": 1, "input_fields": [],
                                     "output_fields": [output]}])
        await client.models.get(MODEL, refresh=True)
        fake.native.add_output(data)
        assert await client.predict(MODEL) == value


async def test_unknown_missing_and_mistyped_arguments_are_refused_before_sending(
    fake: FakeClarifai, client: AsyncClarifai, model: str
) -> None:
    await client.models.get(model)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"prompt": "x", "colour": "red"}, "unexpected argument"),
        ({"count": 3}, "missing required argument"),
        ({"prompt": 3}, "prompt: expected a str, got int"),
        ({"prompt": "x", "count": True}, "count: expected an int"),
        ({"prompt": "x", "count": "3"}, "count: expected an int"),
        ({"prompt": "x", "photos": [Image(url="u"), 3]}, r"photos\[1\]: expected an Image"),
        ({"prompt": "x", "pair": ("only",)}, "expected a tuple of 2"),
        ({"prompt": "x", "box": {"label": "a"}}, "missing"),
        ({"prompt": "x", "config": {"bad": object()}}, "not JSON"),
        ({"prompt": "x", "blob": "text"}, "blob: expected bytes"),
    ]
    for arguments, message in cases:
        with pytest.raises(TypeError, match=message):
            await client.predict(model, **arguments)
    with pytest.raises(TypeError, match="generate-style|streaming method"):
        await client.predict(model, "generate", prompt="x")
    with pytest.raises(TypeError, match="cannot be called over HTTP"):
        await client.predict(model, "chat")
    with pytest.raises(TypeError, match="has no method 'nope'"):
        await client.predict(model, "nope")
    with pytest.raises(TypeError, match="unary method"):
        async for _ in client.generate(model, "predict", prompt="x"):
            pass
    with pytest.raises(TypeError, match="given twice"):
        await client.predict(model, arguments={"prompt": "a"}, prompt="b")
    with pytest.raises(ConfigurationError):
        await client.predict(model, prompt="x", deployment="d", nodepool=("c", "n"))
    assert posts(fake) == []


async def test_an_argument_named_like_a_keyword_goes_in_arguments(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    signature = {"name": "predict", "method_type": 1,
                 "input_fields": [field("model", "STR", required=True),
                                  field("method", "STR", required=True)],
                 "output_fields": [field("return", "STR")]}
    fake.native.add_model(KEY, [signature])
    fake.native.add_output({"string_value": "ok"})
    assert await client.predict(MODEL, arguments={"model": "m", "method": "x"}) == "ok"
    assert fake.native.calls[-1].arguments == {"model": {"string_value": "m"},
                                               "method": {"string_value": "x"}}


async def test_generate_streams_decoded_values(fake: FakeClarifai, client: AsyncClarifai,
                                               model: str) -> None:
    fake.native.add_stream([{"string_value": w} for w in ("one", " two", " three")])
    stream = client.generate(model, prompt="count", max_tokens=3, nodepool=("c1", "p1"))
    values = [v async for v in stream]
    assert values == ["one", " two", " three"]
    assert stream.framing == "ndjson"
    call = fake.native.calls[-1]
    assert call.path.endswith("/kitchen-sink/outputs/generate") and call.method == "generate"
    assert call.arguments == {"prompt": {"string_value": "count"},
                              "max_tokens": {"int_value": "3"}}
    assert call.runner_selector == {
        "nodepool": {"id": "p1", "compute_cluster": {"id": "c1", "user_id": "acme"}}}

    fake.native.add_stream([{"string_value": str(i)} for i in range(5)])
    async with client.generate(model, prompt="stop early") as early:
        async for value in early:
            assert value == "0"
            break
    await fake.wait_idle()


async def test_readiness_codes_are_retried_until_the_deadline(
    fake: FakeClarifai, client: AsyncClarifai, model: str, fake_clock: list[float]
) -> None:
    await client.models.get(model)
    fake.native.add_status(21351)
    fake.native.add_status(21355)
    fake.native.add_status(21354)
    fake.native.add_output({"string_value": "warm"})
    # max_retries=0 on the client: readiness waits follow the deadline, not max_retries
    assert await client.predict(model, prompt="x") == "warm"
    assert fake_clock == [1.0, 2.0, 4.0]
    assert len(posts(fake)) == 4

    fake_clock.clear()
    fake.native.add_status(21351, times=100)
    with pytest.raises(InternalServerError, match="deploying") as info:
        await client.predict(model, prompt="x", native_retry=NativeRetry(deadline=30))
    assert info.value.code == 21351
    # 1 + 2 + 4 + 8 + 10 = 25, then the last wait is cut to the 5 s left: never past 30 s
    assert fake_clock == [1.0, 2.0, 4.0, 8.0, 10.0, 5.0]
    assert sum(fake_clock) == 30.0

    fake_clock.clear()
    fake.native.reset()
    fake.native.add_status(21351, times=100)
    with pytest.raises(InternalServerError):
        await client.predict(model, prompt="x", native_retry=NativeRetry(deadline=0))
    assert fake_clock == []


async def test_default_deadline_is_bounded(fake: FakeClarifai, client: AsyncClarifai, model: str,
                                           fake_clock: list[float]) -> None:
    fake.native.add_status(21355, times=1000)
    with pytest.raises(InternalServerError):
        await client.predict(model, prompt="x")
    assert sum(fake_clock) == 120.0 and max(fake_clock) == 10.0
    with pytest.raises(ConfigurationError, match="at most 900"):
        NativeRetry(deadline=3600)


@pytest.mark.parametrize("code", [21352, 21353])
async def test_queued_and_not_deployed_are_never_retried(
    fake: FakeClarifai, model: str, fake_clock: list[float], code: int
) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=5) as client:
        fake.native.add_status(code, times=10)
        with pytest.raises(Exception) as info:  # noqa: PT011 - the class is checked below
            await client.predict(model, prompt="x")
        assert getattr(info.value, "code", None) == code
        if code == 21353:
            assert isinstance(info.value, NotFoundError)
            assert "retrying will not help" in str(info.value)
        with pytest.raises(Exception):  # noqa: B017, PT011
            async for _ in client.generate(model, prompt="x"):
                pass
    assert len(posts(fake)) == 2 and fake_clock == []


@pytest.mark.parametrize("code", [11005, 11003])
async def test_throttling_follows_max_retries(
    fake: FakeClarifai, model: str, fake_clock: list[float], code: int
) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=2) as client:
        fake.native.add_status(code, times=2)
        fake.native.add_output({"string_value": "through"})
        assert await client.predict(model, prompt="x") == "through"
        fake.native.add_status(code, times=3)
        with pytest.raises(RateLimitError if code == 11005 else InternalServerError):
            await client.predict(model, prompt="x")
    assert len(posts(fake)) == 6 and len(fake_clock) == 4


async def test_generate_is_retried_only_before_its_first_value(
    fake: FakeClarifai, client: AsyncClarifai, model: str, fake_clock: list[float]
) -> None:
    fake.native.add_status(21355)
    fake.native.add_stream([{"string_value": "a"}, {"string_value": "b"}])
    assert [v async for v in client.generate(model, prompt="x")] == ["a", "b"]
    assert fake_clock == [1.0]
    failed = {"result": {"status": {"code": 21354, "description": "Model is busy"}}}
    fake.native.add_stream([{"string_value": "first"}, failed])
    received = []
    with pytest.raises(InternalServerError) as info:
        async for value in client.generate(model, prompt="x"):
            received.append(value)
    assert received == ["first"] and info.value.code == 21354
    assert fake_clock == [1.0]


async def test_chat_on_a_deployment_honours_the_deadline(
    fake: FakeClarifai, client: AsyncClarifai, fake_clock: list[float]
) -> None:
    fake.native.add_status(21351, times=50)
    with pytest.raises(InternalServerError):
        await client.acompletion(MODEL, [{"role": "user", "content": "hi"}], deployment="d",
                                 native_retry=NativeRetry(deadline=12))
    assert sum(fake_clock) == 12.0
    fake_clock.clear()
    with pytest.raises(InternalServerError):
        async for _ in client.acompletion(MODEL, [{"role": "user", "content": "hi"}],
                                          deployment="d", native_retry=NativeRetry(deadline=3)):
            pass
    assert fake_clock == [1.0, 2.0]
    with pytest.raises(ConfigurationError, match="native_retry"):
        client.acompletion(MODEL, [{"role": "user", "content": "hi"}],
                           native_retry=NativeRetry())
