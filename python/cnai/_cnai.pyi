"""Type stubs of cnai._cnai, the native module (python/src/*.cpp)."""

from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

def default_cache_dir(env: Optional[Mapping[str, str]] = None) -> str: ...
def default_model_path(cache_dir: Optional[str] = None) -> str: ...
def default_embedding_model_path(cache_dir: Optional[str] = None) -> str: ...
def error_codes() -> List[str]: ...
def http_status_for(code: str) -> int: ...
def _raise(code: str, message: str, upstream_status: int = 0) -> None: ...

class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    cost_usd: float

class Timings:
    time_to_first_token_ms: float
    total_ms: float
    queue_ms: float
    prompt_tokens_per_s: float
    completion_tokens_per_s: float

class ToolCall:
    id: str
    type: str
    name: str
    arguments: str

class Message:
    role: str
    content: str
    name: Optional[str]
    tool_calls: List[ToolCall]
    tool_call_id: Optional[str]

class Choice:
    index: int
    message: Message
    finish_reason: Optional[str]
    token_ids: List[int]

class RouteAttempt:
    deployment: str
    error_code: str
    error: str
    upstream_status: int
    duration_ms: float

class RouteInfo:
    alias: str
    deployment: str
    attempts: List[RouteAttempt]
    skipped: List[str]
    router_overhead_us: float
    estimated_cost_usd: float
    cache_hit: bool

class ChatResponse:
    id: str
    model: str
    created: int
    choices: List[Choice]
    usage: Usage
    timings: Timings
    backend: str
    route: Optional[RouteInfo]
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class ToolCallDelta:
    index: int
    id: str
    name: str
    arguments: str

class ChatChunk:
    id: str
    model: str
    index: int
    delta_content: str
    delta_role: Optional[str]
    tool_calls: List[ToolCallDelta]
    finish_reason: Optional[str]
    usage: Optional[Usage]
    token_ids: List[int]
    def to_dict(self, created: int = 0) -> Dict[str, Any]: ...

class ChatRequest:
    model: str
    max_tokens: Optional[int]
    stop: List[str]
    stream: bool
    priority: int
    metadata: Dict[str, str]
    message_count: int
    def __init__(self) -> None: ...
    @staticmethod
    def from_dict(body: Dict[str, Any]) -> "ChatRequest": ...
    @staticmethod
    def from_json(text: str) -> "ChatRequest": ...
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class EmbeddingRequest:
    model: str
    input: List[str]
    dimensions: Optional[int]
    truncate: bool
    priority: int
    def __init__(self) -> None: ...
    @staticmethod
    def from_dict(body: Dict[str, Any]) -> "EmbeddingRequest": ...
    def to_dict(self) -> Dict[str, Any]: ...

class EmbeddingResponse:
    model: str
    usage: Usage
    backend: str
    dimensions: int
    def __len__(self) -> int: ...
    def numpy(self) -> npt.NDArray[np.float32]: ...
    def vectors(self) -> List[List[float]]: ...
    def to_dict(self, encoding_format: str = "float") -> Dict[str, Any]: ...

class Call:
    cancelled: bool
    finished: bool
    def cancel(self) -> None: ...
    def next(self) -> Optional[ChatChunk]: ...
    def wait(self) -> None: ...
    def drain(self) -> Tuple[List[ChatChunk], bool]: ...
    def fileno(self) -> int: ...
    def response(self) -> ChatResponse: ...
    def embedding_response(self) -> EmbeddingResponse: ...

class Backend:
    name: str
    def capabilities(self) -> Dict[str, Any]: ...
    def health(self) -> Dict[str, Any]: ...
    def list_models(self) -> List[str]: ...
    def chat(self, request: ChatRequest, timeout: Optional[float] = None) -> ChatResponse: ...
    def start_chat(self, request: ChatRequest, stream: bool = False, timeout: Optional[float] = None) -> Call: ...
    def embeddings(self, request: EmbeddingRequest, timeout: Optional[float] = None) -> EmbeddingResponse: ...
    def start_embeddings(self, request: EmbeddingRequest, timeout: Optional[float] = None) -> Call: ...

class LocalEngine(Backend):
    model_name: str
    n_ctx: int
    is_embedding_model: bool
    @staticmethod
    def load(path: str, *, n_ctx: int = 0, threads: int = 0, embedding_model: str = "", chat_template: str = "",
             chatml_fallback: bool = False, default_max_tokens: int = 1024, backend_name: str = "local",
             reuse_prefix: bool = True, max_sequences: int = 0, precise_embeddings: bool = True) -> "LocalEngine": ...
    def stats(self) -> Dict[str, Any]: ...
    def render_prompt(self, request: ChatRequest) -> str: ...
    def tokenize_prompt(self, prompt: str) -> List[int]: ...

class OpenAiClient(Backend):
    base_url: str
    def __init__(self, *, base_url: Optional[str] = None, api_key: Optional[str] = None,
                 organization: Optional[str] = None, project: Optional[str] = None,
                 azure_deployment: Optional[str] = None, api_version: Optional[str] = None,
                 timeout: Optional[float] = None, max_retries: Optional[int] = None, ca_file: Optional[str] = None,
                 verify_peer: Optional[bool] = None, backend_name: Optional[str] = None,
                 extra_headers: Dict[str, str] = ...) -> None: ...

class AnthropicClient(Backend):
    def __init__(self, *, base_url: Optional[str] = None, api_key: Optional[str] = None,
                 timeout: Optional[float] = None, max_retries: Optional[int] = None, ca_file: Optional[str] = None,
                 verify_peer: Optional[bool] = None, default_max_tokens: Optional[int] = None) -> None: ...

class Router(Backend):
    def __init__(self, deployments: Dict[str, Any], aliases: Dict[str, List[str]], *, policy: str = "ordered",
                 name: str = "router", default_alias: str = "") -> None: ...
    @staticmethod
    def from_config_file(path: str, *, env: Optional[Mapping[str, str]] = None) -> "Router": ...
    def aliases(self) -> List[str]: ...
    def deployments(self) -> List[Dict[str, Any]]: ...
    def metrics_text(self) -> str: ...
