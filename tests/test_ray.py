"""aclarifai.ray: ``ClarifaiChat`` over each batch format against FakeClarifai (real loopback HTTP),
its per-row errors and its configuration errors; then Ray Data itself: a local Ray
(``ray.init(num_cpus=2)``) maps 500 rows through 2 actors that share one Redis rate limiter,
and runs docs/batches.md's Ray examples.

Ray runs in a driver process of its own (``tests/ray_driver.py``), started once for the module
(30 to 60 s here, Ray's start included) and shut down at its end: Ray Data leaves a process that
ran a dataset changed for good, and later tests here count allocations. FakeClarifai serves the
actors (other processes) from a thread of this one, on 127.0.0.1, and timestamps each arrival.
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
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from redis import Redis as SyncRedis

from aclarifai import ConfigurationError, RateLimiter
from aclarifai.batch import ROW_COLUMNS
from aclarifai.ray import ClarifaiChat, Secret
from aclarifai.testing import FakeClarifai, RecordedRequest

from .arrivals import max_in_window
from .conftest import MODEL
from .redis_server import RedisProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
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


@dataclass
class RayRun:
    """What one run of ``tests/ray_driver.py`` produced, and what the server saw meanwhile."""

    result: dict[str, Any]
    requests: list[RecordedRequest]
    actor_pids: int
    leaked: list[Path]


@pytest.fixture(scope="module")
def ray_run() -> Iterator[RayRun]:
    """One local Ray, in a driver process of its own, for the whole module (30-60 s here).

    The driver's environment names the fake as a user's shell would name Clarifai
    (``CLARIFAI_PAT``, ``CLARIFAI_API_BASE``); Ray's usage statistics are off (loopback only).
    """
    redis = RedisProcess()
    redis.start()
    temp_dir = tempfile.mkdtemp(prefix="acray-")
    try:
        with ThreadedFake(PAT) as served:
            fake = served.fake
            for n in range(ROWS):  # the first job's replies, by arrival; the docs' get the demo's
                if n in FAILING:
                    fake.add_error(400, {"error": {"message": f"scripted failure {n}",
                                                   "type": "invalid_request_error"}})
                else:
                    fake.add_text(f"answer {n}", usage={"prompt_tokens": 3, "completion_tokens": 2,
                                                        "total_tokens": 5})
            out = Path(temp_dir) / "result.json"
            env = {**os.environ, "CLARIFAI_PAT": PAT, "CLARIFAI_API_BASE": fake.base_url,
                   "RAY_USAGE_STATS_ENABLED": "0"}
            done = subprocess.run(
                [sys.executable, "-m", "tests.ray_driver", "--base-url", fake.base_url,
                 "--redis-url", redis.url, "--temp-dir", temp_dir, "--out", str(out),
                 "--rows", str(ROWS), "--rate", str(RATE)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
            )
            assert done.returncode == 0, done.stderr[-5000:]
            requests = list(fake.requests)
        with SyncRedis.from_url(redis.url) as registry:
            pids = int(registry.scard("actor-pids"))
        leaked = [path for path in Path(temp_dir).rglob("*")
                  if path.is_file() and path != out and PAT.encode() in _read(path)]
        yield RayRun(orjson.loads(out.read_bytes()), requests, pids, leaked)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        redis.cleanup()


@pytest.mark.realtime
def test_ray_data_maps_500_rows_through_2_actors_under_one_redis_rate(ray_run: RayRun) -> None:
    rows = ray_run.result["rows"]
    job = ray_run.requests[:ROWS]  # the docs' blocks ran after this job had finished
    received = sorted(request.received for request in job)
    sent = [request.json["messages"][0]["content"] for request in job]

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
    assert ray_run.actor_pids == 2
    # A start may come up to 10 ms after its slot (late_tolerance) and take a few ms to arrive:
    # 5% of slack. Two unshared limiters would let through twice the rate.
    assert max_in_window(received) <= RATE * 1.05 + 1
    assert received[-1] - received[0] >= (ROWS - 1) / RATE * 0.99
    # The PAT is in no log, no session file of Ray's.
    assert ray_run.leaked == []


@pytest.mark.realtime
def test_the_docs_ray_examples_run_on_this_local_ray(ray_run: RayRun) -> None:
    """docs/batches.md's Ray blocks (skipped by tests/test_docs.py, which starts no Ray) run in
    the driver, as written: their actors find the PAT and the fake in the driver's environment."""
    result = ray_run.result
    assert result["blocks"] == 2
    rows = result["laptop_rows"]
    assert sorted(row["id"] for row in rows) == list(range(60)) and result["laptop_failed"] == []
    assert all(row["content"] == said(f"What is {row['id']} squared?") for row in rows)
    docs = ray_run.requests[ROWS:]
    system = [r.json["messages"][0] for r in docs if r.json["messages"][0]["role"] == "system"]
    assert system == [{"role": "system", "content": "Answer with a number only."}] * 60
    prefix = "Give one word for the topic of: "
    asked = [r.json["messages"][-1]["content"] for r in docs]
    topics = sorted(text for text in asked if text.startswith(prefix))
    assert topics == sorted(f"{prefix}Document {i} is about rivers." for i in range(30))
    assert len(docs) == 60 + 30 and result["labelled"]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a socket, or a file Ray removed meanwhile
        return b""
