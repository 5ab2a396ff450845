"""aclarifai: the asyncio-native client for LLMs hosted on Clarifai.

>>> import aclarifai
>>> async for chunk in aclarifai.acompletion(model=MODEL, messages=[{"role": "user", "content": "Hi"}]):
...     print(chunk.choices[0].delta.content or "", end="")
"""

import importlib
from typing import TYPE_CHECKING

from ._config import Timeout
from ._default import aclose_default_clients, acompletion
from ._fallback import Cooldowns, CooldownStore
from ._options import CompletionOptions
from ._ratelimit import Limiter, RateLimiter, TokenBudget, TokenLimiter
from ._request import CompletionRequest
from ._version import __version__
from .accumulate import ChunkAccumulator, stream_chunk_builder
from .client import AsyncClarifai
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClarifaiError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidModelError,
    LimiterUnavailableError,
    LimiterWaitError,
    MaxTurnsExceeded,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamConnectionError,
    StreamError,
    StreamStatusError,
    StreamTimeoutError,
    StreamValidationError,
    ToolArgumentsError,
    ToolError,
    ToolServerError,
    UnprocessableEntityError,
)
from .events import (
    ContentDelta,
    ContentDone,
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageUpdated,
)
from .hooks import ErrorInfo, Hooks, RequestInfo, ResponseInfo, UsageTracker
from .models import resolve_model
from .sse import ServerSentEvent, SSEDecoder
from .streaming import CompletionStream
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    Function,
    Message,
    ModelInfo,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from . import testing as testing
    from . import web as web
    from ._toolservers import ToolServer
    from .agent import (
        Agent,
        AgentEvent,
        AgentResult,
        AgentStream,
        RunFinished,
        ToolCallReady,
        ToolCallRecord,
        ToolResult,
        TurnFinished,
    )
    from .batch import BatchItem, BatchResult, abatch_completion, abatch_stream
    from .media import image, text
    from .otel import instrument
    from .tools import RunContext, Tool, tool

# Tools, agents, batches and images are imported on first use: they cost about a third of the
# package's import time and a streaming-only application never needs them.
_LAZY = {
    **dict.fromkeys(
        ("Agent", "AgentEvent", "AgentResult", "AgentStream", "RunFinished", "ToolCallReady",
         "ToolCallRecord", "ToolResult", "TurnFinished"),
        "agent",
    ),
    **dict.fromkeys(("BatchItem", "BatchResult", "abatch_completion", "abatch_stream"), "batch"),
    **dict.fromkeys(("image", "text"), "media"),
    "instrument": "otel",  # needs the otel extra; never imported by `import aclarifai`
    **dict.fromkeys(("RunContext", "Tool", "tool"), "tools"),
    "ToolServer": "_toolservers",
}


# Submodules reachable as attributes after a plain `import aclarifai` (`aclarifai.web.X` in a
# snippet), imported on first use: neither needs an optional dependency to import.
_SUBMODULES = ("testing", "web")


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)  # the import binds it here too
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aclarifai' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentEvent",
    "AgentResult",
    "AgentStream",
    "AsyncClarifai",
    "AuthenticationError",
    "BadRequestError",
    "BatchItem",
    "BatchResult",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkAccumulator",
    "ChunkChoice",
    "ClarifaiError",
    "ClientClosedError",
    "CompletionOptions",
    "CompletionRequest",
    "CompletionStream",
    "ConfigurationError",
    "ConflictError",
    "ContentDelta",
    "ContentDone",
    "CooldownStore",
    "Cooldowns",
    "Delta",
    "ErrorInfo",
    "Finished",
    "Function",
    "Hooks",
    "InternalServerError",
    "InvalidModelError",
    "Limiter",
    "LimiterUnavailableError",
    "LimiterWaitError",
    "MaxTurnsExceeded",
    "Message",
    "MissingAPIKeyError",
    "ModelInfo",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "ReasoningDelta",
    "RefusalDelta",
    "RequestInfo",
    "ResponseInfo",
    "RunContext",
    "RunFinished",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamConnectionError",
    "StreamError",
    "StreamEvent",
    "StreamStatusError",
    "StreamTimeoutError",
    "StreamValidationError",
    "Timeout",
    "TokenBudget",
    "TokenLimiter",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolCallReady",
    "ToolCallRecord",
    "ToolCallStarted",
    "ToolError",
    "ToolResult",
    "ToolServer",
    "ToolServerError",
    "TurnFinished",
    "UnprocessableEntityError",
    "Usage",
    "UsageTracker",
    "UsageUpdated",
    "__version__",
    "abatch_completion",
    "abatch_stream",
    "aclose_default_clients",
    "acompletion",
    "image",
    "instrument",
    "resolve_model",
    "stream_chunk_builder",
    "text",
    "tool",
]
