"""aclarifai: the asyncio-native client for LLMs hosted on Clarifai.

>>> import aclarifai
>>> async for chunk in aclarifai.acompletion(model=MODEL, messages=[{"role": "user", "content": "Hi"}]):
...     print(chunk.choices[0].delta.content or "", end="")
"""

from ._config import Timeout
from ._default import aclose_default_clients, acompletion
from ._request import CompletionRequest
from ._version import __version__
from .accumulate import ChunkAccumulator, stream_chunk_builder
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
    ConfigurationError,
    ConflictError,
    InternalServerError,
    MaxTurnsExceeded,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    ToolArgumentsError,
    ToolError,
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
from .models import resolve_model
from .sse import ServerSentEvent, SSEDecoder
from .streaming import CompletionStream
from .tools import RunContext, Tool, tool
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    Function,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

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
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkAccumulator",
    "ChunkChoice",
    "ClarifaiError",
    "CompletionRequest",
    "CompletionStream",
    "ConfigurationError",
    "ConflictError",
    "ContentDelta",
    "ContentDone",
    "Delta",
    "Finished",
    "Function",
    "InternalServerError",
    "MaxTurnsExceeded",
    "Message",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "RefusalDelta",
    "RunContext",
    "RunFinished",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "StreamEvent",
    "Timeout",
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
    "TurnFinished",
    "UnprocessableEntityError",
    "Usage",
    "UsageUpdated",
    "__version__",
    "aclose_default_clients",
    "acompletion",
    "resolve_model",
    "stream_chunk_builder",
    "tool",
]
