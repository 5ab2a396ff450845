"""aclarifai.ray: ``ClarifaiChat`` over each batch format against FakeClarifai (real loopback HTTP),
its per-row errors and its configuration errors; then Ray Data itself: a local Ray
(``ray.init(num_cpus=2)``) maps 500 rows through 2 actors that share one Redis rate limiter.

The Ray test starts a local cluster once for the module (about 10 to 50 s here) and shuts it down
at the end. Ray's actors are separate processes, so there FakeClarifai runs on its own event loop
in a thread of this process, reachable on 127.0.0.1, and timestamps each arrival.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aclarifai import ConfigurationError, RateLimiter
from aclarifai.batch import ROW_COLUMNS
from aclarifai.ray import ClarifaiChat, Secret
from aclarifai.testing import FakeClarifai

from .arrivals import max_in_window
from .conftest import MODEL
from .test_docs import ROOT, extract_blocks

T = TypeVar("T")
PAT = "ray-test-pat-0123456789abcdef"


def chat(fake: FakeClarifai, **kwargs: Any) -> ClarifaiChat:
    return ClarifaiChat(MODEL, api_key=Secret(fake.api_key), base_url=fake.base_url, **kwargs)


def said(text: str) -> str:
    """FakeClarifai's demo answer to a user's ``text``."""
    return f'You said: "{text}". I am FakeClarifai\'s demo model.'


def numpy_batch(n: int) -> dict[str, np.ndarray]:
    """A batch as Ray's default format gives it: list cells are object arrays of dicts."""
    messages = np.empty(n, dtype=object)
    for i in range(n):
        messages[i] = np.array([{"role": "user", "content": f"question {i}", "name": None}])
    return {"id": np.arange(100, 100 + n), "messages": messages}


# -- batch formats -------------------------------------------------------------------------------


async def test_a_numpy_batch_becomes_rows_in_input_order(fake: FakeClarifai) -> None:
    async with chat(fake, max_tokens=50) as transform:
        out = await transform(numpy_batch(12))
    assert isinstance(out, pa.Table)
    assert out.column_names == ["id", "messages", *ROW_COLUMNS]
    rows = out.to_pylist()
    assert [row["id"] for row in rows] == list(range(100, 112))
    assert [row["index"] for row in rows] == [row["key"] for row in rows] == list(range(12))
    assert [row["content"] for row in rows] == [said(f"question {i}") for i in range(12)]
    assert all(row["error_type"] is None and row["finish_reason"] == "stop" for row in rows)
    assert all(row["model"] and row["request_id"] and row["latency"] > 0 for row in rows)
    sent = [request.json for request in fake.requests]
    assert all(body["max_tokens"] == 50 and body["stream"] is False for body in sent)
    # Arrow's null for a key a message lacks is not sent.
    assert all(body["messages"][0].keys() == {"role", "content"} for body in sent)


async def test_a_pandas_batch_with_a_prompt_column_a_system_message_and_keys(fake: FakeClarifai) -> None:
    frame = pd.DataFrame({"doc": ["d1", "d2", "d3"], "text": ["alpha", "beta", "gamma"]})
    async with chat(fake, prompt_column="text", system="Be brief.", key_column="doc") as transform:
        out = await transform(frame)
    rows = out.to_pylist()
    assert [row["key"] for row in rows] == ["d1", "d2", "d3"]
    assert [row["content"] for row in rows] == [said(t) for t in ("alpha", "beta", "gamma")]
    first = fake.requests[0].json["messages"]
    assert first[0] == {"role": "system", "content": "Be brief."}
    assert {m["content"] for r in fake.requests for m in r.json["messages"][1:]} == {"alpha", "beta", "gamma"}


async def test_an_arrow_batch_with_a_template_over_its_columns(fake: FakeClarifai) -> None:
    table = pa.table({"text": ["chat", "dog"], "lang": ["French", "Spanish"]})
    template = "Translate into {lang}: {prompt}"
    async with chat(fake, prompt_column="text", template=template, passthrough=["lang"]) as transform:
        out = await transform(table)
    assert out.column_names == ["lang", *ROW_COLUMNS]
    asked = sorted(r.json["messages"][-1]["content"] for r in fake.requests)
    assert asked == ["Translate into French: chat", "Translate into Spanish: dog"]
    assert out.column("content").to_pylist() == [said(f"Translate into {lang}: {text}")
                                                 for text, lang in (("chat", "French"), ("dog", "Spanish"))]


async def test_messages_as_json_text_and_an_empty_batch(fake: FakeClarifai) -> None:
    cells = ['[{"role": "user", "content": "from json"}]']
    async with chat(fake, passthrough=False) as transform:
        out = await transform({"messages": np.array(cells, dtype=object)})
        empty = await transform(pa.table({"messages": pa.array([], pa.string())}))
    assert out.column("content").to_pylist() == [said("from json")]
    assert empty.num_rows == 0 and empty.column_names == list(ROW_COLUMNS)
    assert empty.schema.field("prompt_tokens").type == pa.int64()


# -- per-row errors: columns, never an exception -----------------------------------------------


async def test_rows_that_fail_get_error_columns_and_the_others_answers(fake: FakeClarifai) -> None:
    fake.add_error(400, {"error": {"message": "bad prompt", "type": "invalid_request_error",
                                   "code": 11102}})
    messages = np.empty(5, dtype=object)
    messages[0] = [{"role": "user", "content": "goes first, gets the 400"}]
    messages[1] = None
    messages[2] = "not json ["
    messages[3] = 42
    messages[4] = [{"role": "user", "content": "fine"}]
    async with chat(fake, max_concurrency=1, max_retries=0, passthrough=False) as transform:
        rows = (await transform({"messages": messages})).to_pylist()
    async with chat(fake) as keeps_columns:
        with pytest.raises(ConfigurationError, match="'messages' cannot be passed through as Arrow"):
            await keeps_columns({"messages": messages})  # mixed cells: no Arrow type holds them
    assert [row["error_type"] for row in rows] == [
        "BadRequestError", "ValueError", "ValueError", "TypeError", None]
    assert rows[0]["status_code"] == 400 and rows[0]["error_code"] == "11102"
    assert rows[0]["error_message"] == "bad prompt" and rows[0]["request_id"] == "fake-req-000001"
    assert "null" in rows[1]["error_message"] and "JSON" in rows[2]["error_message"]
    assert rows[4]["content"] == said("fine")
    assert fake.request_count == 2 + 2  # the unsendable rows cost nothing


async def test_a_null_prompt_or_a_template_that_does_not_render_is_a_row_error(fake: FakeClarifai) -> None:
    table = pa.table({"text": ["ok", None, "x"], "n": [1, 2, None]})
    async with chat(fake, template="{text} #{n:03d}") as transform:
        rows = (await transform(table)).to_pylist()
    assert rows[0]["content"] == said("ok #001")
    assert rows[1]["error_type"] == "ValueError" and "'text' is null" in rows[1]["error_message"]
    assert rows[2]["error_type"] == "ValueError" and "'n' is null" in rows[2]["error_message"]


# -- concurrency and rate ----------------------------------------------------------------------


async def test_max_concurrency_holds_across_batches_run_at_once(fake: FakeClarifai) -> None:
    for _ in range(12):
        fake.add_text("slow", delay=0.1)
    async with chat(fake, max_concurrency=3, limiter=lambda: None) as transform:
        outs = await asyncio.gather(*(transform(numpy_batch(4)) for _ in range(3)))
    assert sum(out.num_rows for out in outs) == 12
    assert fake.max_concurrency == 3


async def test_without_a_limiter_each_actor_takes_its_share_of_the_rate(fake: FakeClarifai) -> None:
    async with chat(fake, rate_limit=30, actors=3) as transform:
        assert transform.limiter is None  # made in the actor, at its first batch
        await transform(numpy_batch(1))
        limiter = transform.limiter
        assert isinstance(limiter, RateLimiter) and limiter.rate == 10
    async with chat(fake, actors=5) as default:
        await default(numpy_batch(1))
        assert isinstance(default.limiter, RateLimiter) and default.limiter.rate == 3  # 15 / 5
    made: list[int] = []

    def no_limit() -> None:
        made.append(1)

    async with chat(fake, limiter=no_limit) as unlimited:
        await unlimited(numpy_batch(2))
        await unlimited(numpy_batch(2))
        assert unlimited.limiter is None and made == [1]  # one call per actor


# -- configuration errors fail loudly -----------------------------------------------------------


async def test_bad_configuration_raises_with_what_to_do(fake: FakeClarifai) -> None:
    with pytest.raises(ConfigurationError, match="Secret"):
        ClarifaiChat(MODEL, api_key=PAT, base_url=fake.base_url)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="one or the other"):
        chat(fake, messages_column="msgs", prompt_column="text")
    with pytest.raises(ConfigurationError, match="positions"):
        chat(fake, template="{} and {}")
    with pytest.raises(ConfigurationError, match="system= goes with"):
        chat(fake, system="Be brief.")
    with pytest.raises(ConfigurationError, match="zero-argument factory"):
        chat(fake, limiter=RateLimiter(5))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not both"):
        chat(fake, limiter=lambda: None, rate_limit=5)
    with pytest.raises(ConfigurationError, match="actors"):
        chat(fake, actors=0)
    with pytest.raises(ConfigurationError, match="stream=True"):
        chat(fake, stream=True)
    async with chat(fake) as transform:
        with pytest.raises(ConfigurationError, match="no column 'messages'.*'prompt'"):
            await transform(pa.table({"prompt": ["hi"]}))
        with pytest.raises(ConfigurationError, match="'content' would clash"):
            await transform(pa.table({"messages": ['[{"role": "user", "content": "x"}]'], "content": [1]}))
        with pytest.raises(ConfigurationError, match="dict of numpy arrays"):
            await transform([{"messages": []}])
    with pytest.raises(ConfigurationError, match="max_retries"):  # the block fails, not each row
        async with chat(fake, max_retries=-1) as bad:
            await bad(numpy_batch(1))
    assert fake.request_count == 0


def test_the_pat_is_neither_in_a_repr_nor_plain_in_a_pickle() -> None:
    secret = Secret(PAT)
    assert PAT not in repr(secret) and secret.reveal() == PAT
    kwargs = {"model": MODEL, "api_key": secret}
    pickled = pickle.dumps(kwargs)
    assert PAT.encode() not in pickled
    assert pickle.loads(pickled)["api_key"].reveal() == PAT
    transform = ClarifaiChat(MODEL, api_key=secret)
    assert PAT not in repr(transform) and PAT not in repr(vars(transform))
    with pytest.raises(TypeError, match="inside each actor"):
        pickle.dumps(transform)


def test_import_aclarifai_does_not_import_ray() -> None:
    code = ("import sys, aclarifai; aclarifai.AsyncClarifai; "
            "print('ray' in sys.modules, 'pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_aclarifai_ray_without_the_extra_names_it() -> None:
    code = "import sys; sys.modules['ray'] = None; import aclarifai.ray"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "pip install 'aclarifai[ray]'" in out.stderr


# -- Ray Data on a local Ray: 2 actors, one Redis limiter ----------------------------------------

ROWS, RATE = 500, 100.0
FAILING = {49, 149, 249, 349, 449}  # arrival numbers (0-based) answered with a 400: 1%


class ThreadedFake:
    """FakeClarifai on an event loop of its own, in a thread: Ray's actors are other processes."""

    def __init__(self, api_key: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-clarifai")
        self.fake = FakeClarifai(api_key=api_key)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def reset(self) -> FakeClarifai:
        """The fake with no reply queued and no request recorded (it is shared by the module)."""

        async def reset() -> None:
            self.fake.reset()

        self.run(reset())
        return self.fake

    def __enter__(self) -> ThreadedFake:
        self._thread.start()
        self.run(self.fake.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.run(self.fake.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()


class RayDeprecations:
    """Ignore Ray Data's own DeprecationWarnings about its DataContext (not ours to fix)."""

    def __enter__(self) -> None:
        self._caught = warnings.catch_warnings()
        self._caught.__enter__()
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data\.context")

    def __exit__(self, *exc_info: object) -> None:
        self._caught.__exit__(None, None, None)


@pytest.fixture(scope="module")
def served() -> Iterator[ThreadedFake]:
    with ThreadedFake(PAT) as server:
        yield server


@pytest.fixture(scope="module")
def local_ray(served: ThreadedFake) -> Iterator[Path]:
    """A local Ray of 2 CPUs for this module; its session directory, for the logs.

    Its workers inherit this process's environment as it is during ``ray.init``: there,
    ``CLARIFAI_PAT`` and ``CLARIFAI_API_BASE`` name the fake, as a user's shell would name
    Clarifai (the tests' own environment has neither). Ray's usage statistics are off.
    """
    import ray

    temp_dir = tempfile.mkdtemp(prefix="acray-")
    names = ("CLARIFAI_PAT", "CLARIFAI_API_BASE", "RAY_USAGE_STATS_ENABLED")
    saved = {name: os.environ.get(name) for name in names}
    # No usage report leaves the machine: tests talk to loopback only.
    os.environ.update(CLARIFAI_PAT=PAT, CLARIFAI_API_BASE=served.fake.base_url,
                      RAY_USAGE_STATS_ENABLED="0")
    try:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp_dir, log_to_driver=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield Path(temp_dir)
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.realtime
def test_ray_data_maps_500_rows_through_2_actors_under_one_redis_rate(
    local_ray: Path, served: ThreadedFake, redis_url: str
) -> None:
    import ray
    import redis as sync_redis

    fake = served.reset()
    for n in range(ROWS):
        if n in FAILING:
            fake.add_error(400, {"error": {"message": f"scripted failure {n}",
                                           "type": "invalid_request_error"}})
        else:
            fake.add_text(f"answer {n}", usage={"prompt_tokens": 3, "completion_tokens": 2,
                                                "total_tokens": 5})

    def shared_limiter() -> Any:  # called in each actor: a Redis client cannot be pickled
        from redis import Redis as SyncRedis
        from redis.asyncio import Redis

        from aclarifai.redis import RedisRateLimiter

        with SyncRedis.from_url(redis_url) as registry:
            registry.sadd("actor-pids", os.getpid())
        return RedisRateLimiter(Redis.from_url(redis_url), key="ray-test", rate=RATE)

    with RayDeprecations():
        items = [{"id": i, "messages": [{"role": "user", "content": f"question {i}"}]}
                 for i in range(ROWS)]
        out = ray.data.from_items(items).map_batches(
            ClarifaiChat,
            fn_constructor_kwargs={
                "model": MODEL, "api_key": Secret(PAT), "base_url": fake.base_url,
                "limiter": shared_limiter, "max_concurrency": 8, "max_retries": 0,
                "key_column": "id",
            },
            compute=ray.data.ActorPoolStrategy(size=2),
            batch_size=25,
            num_cpus=0.5,  # 2 actors and the read tasks fit in 2 CPUs
        )
        rows = out.take_all()
    received = sorted(request.received for request in fake.requests)
    sent = [request.json["messages"][0]["content"] for request in fake.requests]

    # Every row once, each with its own input's passthrough columns.
    assert len(rows) == ROWS
    assert sorted(row["id"] for row in rows) == list(range(ROWS))
    assert all(row["key"] == row["id"] for row in rows)
    assert sorted(sent) == sorted(f"question {i}" for i in range(ROWS))  # each sent exactly once
    # 1% scripted failures are error columns; no block failed.
    failed = [row for row in rows if row["error_type"] is not None]
    assert len(failed) == len(FAILING)
    assert {row["error_type"] for row in failed} == {"BadRequestError"}
    assert {row["status_code"] for row in failed} == {400}
    assert {row["request_id"] for row in failed} == {f"fake-req-{n + 1:06d}" for n in FAILING}
    assert all(row["error_message"].startswith("scripted failure") for row in failed)
    answered = [row for row in rows if row["error_type"] is None]
    assert all(row["content"].startswith("answer ") and row["prompt_tokens"] == 3 for row in answered)
    # Both actors made their limiter, and together they held the one rate.
    with sync_redis.Redis.from_url(redis_url) as registry:
        assert registry.scard("actor-pids") == 2
    assert len(received) == ROWS
    # A start may come up to 10 ms after its slot (late_tolerance) and take a few ms to arrive:
    # 5% of slack. Two unshared limiters would let through twice the rate.
    assert max_in_window(received) <= RATE * 1.05 + 1
    assert received[-1] - received[0] >= (ROWS - 1) / RATE * 0.99
    # The PAT is in no log, no session file of Ray's.
    leaked = [path for path in local_ray.rglob("*") if path.is_file() and PAT.encode() in _read(path)]
    assert leaked == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a socket, or a file Ray removed meanwhile
        return b""


@pytest.mark.realtime
def test_the_docs_ray_examples_run_on_this_local_ray(
    local_ray: Path, served: ThreadedFake, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/batches.md's Ray blocks (skipped by tests/test_docs.py, which has no Ray) run here,
    as written: their actors find the PAT and the fake in the environment Ray was started with."""
    page = ROOT / "docs" / "batches.md"
    blocks = [b for b in extract_blocks(page) if "tests/test_ray.py" in (b.skip or "")]
    assert len(blocks) == 2
    fake = served.reset()
    monkeypatch.setenv("REDIS_URL", redis_url)
    namespaces: list[dict[str, Any]] = []
    for block in blocks:
        namespace: dict[str, Any] = {"__name__": f"batches_md_{block.line}"}
        code = compile("\n" * block.line + block.source, str(page), "exec")
        with RayDeprecations():
            exec(code, namespace)
        namespaces.append(namespace)
    laptop, shared = namespaces
    assert sorted(row["id"] for row in laptop["rows"]) == list(range(60)) and laptop["failed"] == []
    assert all(row["content"] == said(f"What is {row['id']} squared?") for row in laptop["rows"])
    assert fake.requests[0].json["messages"][0] == {"role": "system", "content": "Answer with a number only."}
    asked = [r.json["messages"][-1]["content"] for r in fake.requests]
    prefix = "Give one word for the topic of: "
    topics = sorted(text for text in asked if text.startswith(prefix))
    assert topics == sorted(f"{prefix}Document {i} is about rivers." for i in range(30))
    assert len(asked) == 60 + 30
