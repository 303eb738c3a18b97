"""cnai: local (GGUF, CPU) and cloud LLM inference in this process, with the
openai SDK's surface.

    import cnai
    client = cnai.Client()                     # the default local model (or model="x.gguf", config="router.yaml")
    r = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "Hi"}])
    print(r.choices[0].message.content, r.usage.completion_tokens, r.timings.completion_tokens_per_s)

See help(cnai.Client), help(cnai.AsyncClient); the engine and clients
themselves are cnai.LocalEngine, cnai.OpenAiClient, cnai.AnthropicClient
(each a cnai.Backend); errors are cnai.Error subclasses named as openai's."""

from . import _cnai
from ._client import AsyncClient, Client
from ._cnai import (AnthropicClient, Backend, Call, ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest,
                    EmbeddingResponse, LocalEngine, OpenAiClient, default_cache_dir, default_embedding_model_path,
                    default_model_path)
from ._exceptions import (APIConnectionError, APIError, APIStatusError, APITimeoutError, AuthenticationError,
                          BadRequestError, BudgetExceededError, ContextLengthExceededError, Error,
                          InternalServerError, ModelFormatError, NotFoundError, OutOfMemoryError, OverloadedError,
                          RateLimitError, RequestCancelledError, UnsupportedError, UpstreamError)
from ._streaming import AsyncStream, Stream
from . import _types as types

__version__: str = _cnai.__version__

__all__ = [
    "Client", "AsyncClient", "Stream", "AsyncStream", "types",
    "Backend", "LocalEngine", "OpenAiClient", "AnthropicClient", "Call",
    "ChatRequest", "ChatResponse", "ChatChunk", "EmbeddingRequest", "EmbeddingResponse",
    "default_cache_dir", "default_model_path", "default_embedding_model_path",
    "Error", "APIError", "APIStatusError", "APIConnectionError", "APITimeoutError", "BadRequestError",
    "AuthenticationError", "NotFoundError", "RateLimitError", "InternalServerError", "ModelFormatError",
    "UnsupportedError", "ContextLengthExceededError", "OutOfMemoryError", "OverloadedError",
    "BudgetExceededError", "UpstreamError", "RequestCancelledError", "__version__",
]
if hasattr(_cnai, "Router"):
    from ._cnai import Router  # noqa: F401
    __all__.append("Router")
