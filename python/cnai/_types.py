"""Response types with the attribute shapes of openai-python's
(openai.types.chat.ChatCompletion, ChatCompletionChunk, CreateEmbeddingResponse,
Model ...), so code that reads `completion.choices[0].message.content` or
`chunk.choices[0].delta.content` runs unchanged, plus cnai's own fields:
`backend` (which backend or router deployment served), `cost_usd` and
`timings`. Plain slotted classes: cheap to build per streamed chunk;
`model_dump()` gives the dict the wire would carry."""

from __future__ import annotations

import json
from typing import Any, Iterator, List, Literal, Optional

from . import _cnai

__all__ = [
    "ChatCompletion", "Choice", "ChatCompletionMessage", "ChatCompletionMessageToolCall", "Function",
    "CompletionUsage", "PromptTokensDetails", "ChatCompletionChunk", "ChunkChoice", "ChoiceDelta",
    "ChoiceDeltaToolCall", "ChoiceDeltaToolCallFunction", "Timings", "CnaiInfo", "Embedding",
    "CreateEmbeddingResponse", "EmbeddingUsage", "Model", "ModelList",
]


def _dump(value: Any) -> Any:
    if isinstance(value, _Model):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy rows
        return value.tolist()
    return value


class _Model:
    """A record with openai-python's attribute names; model_dump() -> dict."""

    __slots__: tuple[str, ...] = ()

    def model_dump(self) -> dict[str, Any]:
        return {k: _dump(getattr(self, k)) for k in self.__slots__}

    to_dict = model_dump

    def model_dump_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(self.model_dump(), indent=indent)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.model_dump() == other.model_dump()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Function(_Model):
    __slots__ = ("arguments", "name")

    def __init__(self, arguments: str, name: str) -> None:
        self.arguments = arguments
        self.name = name


class ChatCompletionMessageToolCall(_Model):
    __slots__ = ("id", "function", "type")

    def __init__(self, id: str, function: Function, type: Literal["function"] = "function") -> None:
        self.id = id
        self.function = function
        self.type = type


class ChatCompletionMessage(_Model):
    __slots__ = ("content", "refusal", "role", "tool_calls")

    def __init__(self, content: Optional[str], role: Literal["assistant"] = "assistant",
                 tool_calls: Optional[List[ChatCompletionMessageToolCall]] = None, refusal: Optional[str] = None) -> None:
        self.content = content
        self.refusal = refusal
        self.role = role
        self.tool_calls = tool_calls


class PromptTokensDetails(_Model):
    __slots__ = ("cached_tokens",)

    def __init__(self, cached_tokens: int = 0) -> None:
        self.cached_tokens = cached_tokens


class CompletionUsage(_Model):
    """usage: prompt_tokens, completion_tokens, total_tokens; cnai adds cost_usd."""

    __slots__ = ("completion_tokens", "prompt_tokens", "total_tokens", "prompt_tokens_details", "cost_usd")

    def __init__(self, completion_tokens: int, prompt_tokens: int, total_tokens: int,
                 prompt_tokens_details: Optional[PromptTokensDetails] = None, cost_usd: float = 0.0) -> None:
        self.completion_tokens = completion_tokens
        self.prompt_tokens = prompt_tokens
        self.total_tokens = total_tokens
        self.prompt_tokens_details = prompt_tokens_details
        self.cost_usd = cost_usd

    @classmethod
    def _from_native(cls, u: _cnai.Usage) -> "CompletionUsage":
        return cls(u.completion_tokens, u.prompt_tokens, u.total_tokens,
                   PromptTokensDetails(u.cached_prompt_tokens), u.cost_usd)


class Timings(_Model):
    """Where the time went (milliseconds, tokens per second)."""

    __slots__ = ("time_to_first_token_ms", "total_ms", "queue_ms", "prompt_tokens_per_s", "completion_tokens_per_s")

    def __init__(self, time_to_first_token_ms: float = 0.0, total_ms: float = 0.0, queue_ms: float = 0.0,
                 prompt_tokens_per_s: float = 0.0, completion_tokens_per_s: float = 0.0) -> None:
        self.time_to_first_token_ms = time_to_first_token_ms
        self.total_ms = total_ms
        self.queue_ms = queue_ms
        self.prompt_tokens_per_s = prompt_tokens_per_s
        self.completion_tokens_per_s = completion_tokens_per_s

    @classmethod
    def _from_native(cls, t: _cnai.Timings) -> "Timings":
        return cls(t.time_to_first_token_ms, t.total_ms, t.queue_ms, t.prompt_tokens_per_s, t.completion_tokens_per_s)


class CnaiInfo(_Model):
    """cnai's own fields of a response (the "cnai" object of cnai serve's JSON)."""

    __slots__ = ("backend", "cost_usd", "timings")

    def __init__(self, backend: str, cost_usd: float, timings: Timings) -> None:
        self.backend = backend
        self.cost_usd = cost_usd
        self.timings = timings


class Choice(_Model):
    __slots__ = ("finish_reason", "index", "logprobs", "message")

    def __init__(self, finish_reason: Optional[str], index: int, message: ChatCompletionMessage, logprobs: None = None) -> None:
        self.finish_reason = finish_reason
        self.index = index
        self.logprobs = logprobs
        self.message = message


def _message(m: _cnai.Message) -> ChatCompletionMessage:
    calls = [ChatCompletionMessageToolCall(c.id, Function(c.arguments, c.name)) for c in m.tool_calls] or None
    return ChatCompletionMessage(m.content if (m.content or not calls) else None, "assistant", calls)


class ChatCompletion(_Model):
    """A chat completion (openai.types.chat.ChatCompletion) plus cnai's fields."""

    __slots__ = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage", "cnai")

    def __init__(self, id: str, choices: List[Choice], created: int, model: str, usage: Optional[CompletionUsage],
                 cnai: CnaiInfo, object: Literal["chat.completion"] = "chat.completion",
                 system_fingerprint: Optional[str] = None) -> None:
        self.id = id
        self.choices = choices
        self.created = created
        self.model = model
        self.object = object
        self.system_fingerprint = system_fingerprint
        self.usage = usage
        self.cnai = cnai

    @property
    def backend(self) -> str:
        """The backend that served it (a router's deployment name)."""
        return self.cnai.backend

    @property
    def cost_usd(self) -> float:
        return self.cnai.cost_usd

    @property
    def timings(self) -> Timings:
        return self.cnai.timings

    @classmethod
    def _from_native(cls, r: _cnai.ChatResponse) -> "ChatCompletion":
        choices = [Choice(c.finish_reason, c.index, _message(c.message)) for c in r.choices]
        usage = CompletionUsage._from_native(r.usage)
        return cls(r.id, choices, r.created, r.model, usage,
                   CnaiInfo(r.backend, r.usage.cost_usd, Timings._from_native(r.timings)))


class ChoiceDeltaToolCallFunction(_Model):
    __slots__ = ("arguments", "name")

    def __init__(self, arguments: Optional[str] = None, name: Optional[str] = None) -> None:
        self.arguments = arguments
        self.name = name


class ChoiceDeltaToolCall(_Model):
    __slots__ = ("index", "id", "function", "type")

    def __init__(self, index: int, id: Optional[str] = None, function: Optional[ChoiceDeltaToolCallFunction] = None,
                 type: Optional[Literal["function"]] = None) -> None:
        self.index = index
        self.id = id
        self.function = function
        self.type = type


class ChoiceDelta(_Model):
    __slots__ = ("content", "refusal", "role", "tool_calls")

    def __init__(self, content: Optional[str] = None, role: Optional[str] = None,
                 tool_calls: Optional[List[ChoiceDeltaToolCall]] = None, refusal: Optional[str] = None) -> None:
        self.content = content
        self.refusal = refusal
        self.role = role
        self.tool_calls = tool_calls


class ChunkChoice(_Model):
    """openai.types.chat.chat_completion_chunk.Choice."""

    __slots__ = ("delta", "finish_reason", "index", "logprobs")

    def __init__(self, delta: ChoiceDelta, finish_reason: Optional[str], index: int, logprobs: None = None) -> None:
        self.delta = delta
        self.finish_reason = finish_reason
        self.index = index
        self.logprobs = logprobs


class ChatCompletionChunk(_Model):
    """One streamed chunk (openai.types.chat.ChatCompletionChunk). `usage` is set
    on the last chunk of a stream made with stream_options={"include_usage": True}."""

    __slots__ = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage", "token_ids")

    def __init__(self, id: str, choices: List[ChunkChoice], created: int, model: str,
                 usage: Optional[CompletionUsage] = None, object: Literal["chat.completion.chunk"] = "chat.completion.chunk",
                 system_fingerprint: Optional[str] = None, token_ids: Optional[List[int]] = None) -> None:
        self.id = id
        self.choices = choices
        self.created = created
        self.model = model
        self.object = object
        self.system_fingerprint = system_fingerprint
        self.usage = usage
        self.token_ids = token_ids

    @classmethod
    def _from_native(cls, c: _cnai.ChatChunk, created: int) -> "ChatCompletionChunk":
        calls = None
        if c.tool_calls:
            calls = [ChoiceDeltaToolCall(t.index, t.id or None, ChoiceDeltaToolCallFunction(t.arguments, t.name or None),
                                         "function" if t.id else None) for t in c.tool_calls]
        delta = ChoiceDelta(c.delta_content or None, c.delta_role, calls)
        return cls(c.id, [ChunkChoice(delta, c.finish_reason, c.index)], created, c.model, token_ids=c.token_ids or None)


class EmbeddingUsage(_Model):
    __slots__ = ("prompt_tokens", "total_tokens")

    def __init__(self, prompt_tokens: int, total_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.total_tokens = total_tokens


class Embedding(_Model):
    """One vector: a list of floats, a NumPy row (as_numpy=True) or base64 text."""

    __slots__ = ("embedding", "index", "object")

    def __init__(self, embedding: Any, index: int, object: Literal["embedding"] = "embedding") -> None:
        self.embedding = embedding
        self.index = index
        self.object = object


class CreateEmbeddingResponse(_Model):
    """openai.types.CreateEmbeddingResponse; `.numpy()` gives the (inputs, dims) float32 matrix."""

    __slots__ = ("data", "model", "object", "usage", "backend", "_native")

    def __init__(self, data: List[Embedding], model: str, usage: EmbeddingUsage, backend: str = "",
                 native: Optional[_cnai.EmbeddingResponse] = None, object: Literal["list"] = "list") -> None:
        self.data = data
        self.model = model
        self.object = object
        self.usage = usage
        self.backend = backend
        self._native = native

    def model_dump(self) -> dict[str, Any]:
        d = super().model_dump()
        d.pop("_native")
        return d

    def numpy(self) -> Any:
        """All vectors as one (inputs, dimensions) numpy.float32 array."""
        if self._native is not None:
            return self._native.numpy()
        import numpy as np
        return np.asarray([e.embedding for e in self.data], dtype=np.float32)


class Model(_Model):
    __slots__ = ("id", "created", "object", "owned_by")

    def __init__(self, id: str, created: int = 0, owned_by: str = "cnai", object: Literal["model"] = "model") -> None:
        self.id = id
        self.created = created
        self.object = object
        self.owned_by = owned_by


class ModelList(_Model):
    """What models.list() returns: `.data`, and iterable like openai's SyncPage."""

    __slots__ = ("data", "object")

    def __init__(self, data: List[Model], object: Literal["list"] = "list") -> None:
        self.data = data
        self.object = object

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
