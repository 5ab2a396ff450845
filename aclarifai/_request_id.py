"""Which response header carries the request id: Clarifai's, or a gateway's in front of it.

``x-request-id`` first (Clarifai, OpenAI, Envoy, nginx); when it is absent, the ids that common
gateways and proxies set, in this order:

- ``x-clarifai-request-id``: Clarifai's own name for it
- ``request-id``: OpenAI-compatible servers that drop the ``x-`` (Anthropic's convention)
- ``x-litellm-call-id``: LiteLLM's proxy
- ``x-kong-request-id``: Kong Gateway
- ``x-amzn-requestid``: AWS API Gateway and Lambda URLs
- ``apim-request-id``: Azure API Management
- ``x-correlation-id``: many corporate gateways
- ``cf-ray``: Cloudflare (the ray id support asks for)
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-clarifai-request-id",
    "request-id",
    "x-litellm-call-id",
    "x-kong-request-id",
    "x-amzn-requestid",
    "apim-request-id",
    "x-correlation-id",
    "cf-ray",
)


def request_id_of(headers: Mapping[str, str] | None) -> str | None:
    """The request id a response's headers carry (names case-insensitive), or None."""
    if not headers:
        return None
    if not isinstance(headers, (CIMultiDict, CIMultiDictProxy)):  # aiohttp's are case-blind
        headers = {key.lower(): value for key, value in headers.items()}
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
