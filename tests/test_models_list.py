"""client.models.list(): GET {base}/models, and a clear NotFoundError where it is not offered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from aclarifai import AsyncClarifai, ModelInfo, NotFoundError
from aclarifai.hooks import Hooks, RequestInfo
from aclarifai.testing import DEFAULT_MODELS, FakeClarifai


async def test_models_list_returns_the_endpoints_models(fake: FakeClarifai, client: AsyncClarifai) -> None:
    models = await client.models.list()
    assert all(isinstance(m, ModelInfo) for m in models)
    assert [m.id for m in models] == list(DEFAULT_MODELS)
    assert models[0].owned_by == "openai" and models[0].object == "model"
    request = fake.last_request
    assert (request.method, request.path) == ("GET", "/v2/ext/openai/v1/models")
    assert request.body == b""


async def test_models_list_404_says_listing_is_not_offered(fake: FakeClarifai) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url + "/elsewhere") as client:
        with pytest.raises(NotFoundError, match="model listing is not offered") as info:
            await client.models.list()
    assert info.value.status_code == 404 and info.value.request_id is not None


@pytest.fixture
async def no_listing() -> AsyncIterator[str]:
    """A server whose models route answers 405, as an endpoint without listing might."""

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "Method Not Allowed"}}, status=405)

    app = web.Application()
    app.router.add_route("*", "/v2/ext/openai/v1/models", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_models_list_405_is_a_not_found_error_too(no_listing: str) -> None:
    async with AsyncClarifai(api_key="pat", base_url=no_listing, max_retries=0) as client:
        with pytest.raises(NotFoundError, match=r"not offered .*HTTP 405"):
            await client.models.list()


async def test_models_list_goes_through_the_hooks(fake: FakeClarifai) -> None:
    seen: list[RequestInfo] = []
    hooks = Hooks(on_request=seen.append)
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, hooks=hooks) as client:
        await client.models.list()
    [info] = seen
    assert info.method == "GET" and info.model is None and info.body is None
