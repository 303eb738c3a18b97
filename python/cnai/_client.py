"""cnai.Client and cnai.AsyncClient: the openai SDK's surface
(client.chat.completions.create, client.embeddings.create, client.models.list)
over a cnai Backend in this process: a local GGUF model, a cloud client, or a
router made from a config file."""

from __future__ import annotations

import base64
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _cnai
from ._exceptions import NotFoundError
from ._streaming import AsyncStream, Stream, _await_call
from ._types import (ChatCompletion, CreateEmbeddingResponse, Embedding, EmbeddingUsage, Model, ModelList)

__all__ = ["Client", "AsyncClient"]

# Keyword arguments of chat.completions.create that go into the request body
# as they are (the Chat Completions schema); cnai's sampling extras too.
_BODY_FIELDS = (
    "frequency_penalty", "presence_penalty", "logit_bias", "max_tokens", "max_completion_tokens", "n", "seed",
    "stop", "temperature", "top_p", "response_format", "tools", "tool_choice", "user", "metadata", "logprobs",
    "top_logprobs", "parallel_tool_calls", "top_k", "min_p", "repetition_penalty",
)


def _make_backend(model: Optional[str], config: Optional[str], backend: Optional[_cnai.Backend],
                  base_url: Optional[str], api_key: Optional[str], provider: Optional[str],
                  options: Dict[str, Any]) -> _cnai.Backend:
    chosen = [name for name, v in (("model", model), ("config", config), ("backend", backend), ("base_url", base_url))
              if v is not None]
    if len(chosen) > 1:
        raise TypeError(f"cnai.Client takes one of model=, config=, backend=, base_url= (got {', '.join(chosen)})")
    if backend is not None:
        if not isinstance(backend, _cnai.Backend):
            raise TypeError("backend= must be a cnai Backend (cnai.LocalEngine, cnai.OpenAiClient, ...)")
        return backend
    if config is not None:
        router = getattr(_cnai, "Router", None)
        if router is None:
            raise NotImplementedError("config= needs cnai's router, which this build does not have")
        return router.from_config_file(os.fspath(config))
    if provider == "anthropic":
        return _cnai.AnthropicClient(base_url=base_url, api_key=api_key, **options)
    if base_url is not None or provider in ("openai", "azure"):
        return _cnai.OpenAiClient(base_url=base_url, api_key=api_key, **options)
    if provider is not None:
        raise TypeError(f"unknown provider {provider!r} (openai, azure, anthropic)")
    return _cnai.LocalEngine.load(os.fspath(model) if model is not None else _cnai.default_model_path(), **options)


def _chat_body(model: Optional[str], messages: Iterable[Mapping[str, Any]], stream: bool,
               kwargs: Dict[str, Any]) -> Dict[str, Any]:
    # A local engine answers any model name: the request may leave it out.
    body: Dict[str, Any] = {"model": model if model is not None else "", "messages": list(messages)}
    if stream:
        body["stream"] = True
    extra_body = kwargs.pop("extra_body", None)
    stream_options = kwargs.pop("stream_options", None)
    for key in _BODY_FIELDS:
        value = kwargs.pop(key, None)
        if value is not None:
            body[key] = value
    if kwargs:
        raise TypeError(f"create() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
    if stream_options:
        body["stream_options"] = dict(stream_options)
    if extra_body:
        body.update(extra_body)
    return body


def _chat_request(body: Dict[str, Any], priority: Optional[int]) -> _cnai.ChatRequest:
    request = _cnai.ChatRequest.from_dict(body)
    if priority is not None:
        request.priority = priority
    return request


def _embedding_request(input: Union[str, Sequence[str]], model: Optional[str], dimensions: Optional[int],
                       user: Optional[str], truncate: bool) -> _cnai.EmbeddingRequest:
    body: Dict[str, Any] = {"model": model if model is not None else "", "input": input}
    if dimensions is not None:
        body["dimensions"] = dimensions
    if user is not None:
        body["user"] = user
    request = _cnai.EmbeddingRequest.from_dict(body)
    request.truncate = truncate
    return request


def _embedding_response(r: _cnai.EmbeddingResponse, encoding_format: str, as_numpy: bool) -> CreateEmbeddingResponse:
    if encoding_format not in ("float", "base64"):
        raise ValueError("encoding_format must be 'float' or 'base64'")
    if as_numpy or encoding_format == "base64":
        matrix = r.numpy()
        if encoding_format == "base64":
            rows: List[Any] = [base64.b64encode(row.astype("<f4").tobytes()).decode("ascii") for row in matrix]
        else:
            rows = list(matrix)  # each a view of one row of the matrix
    else:
        rows = r.vectors()
    data = [Embedding(v, i) for i, v in enumerate(rows)]
    return CreateEmbeddingResponse(data, r.model, EmbeddingUsage(r.usage.prompt_tokens, r.usage.total_tokens),
                                   r.backend, r)


def _model_list(backend: _cnai.Backend) -> ModelList:
    return ModelList([Model(name, owned_by=backend.name) for name in backend.list_models()])


def _retrieve(backend: _cnai.Backend, model: str) -> Model:
    for m in _model_list(backend):
        if m.id == model:
            return m
    raise NotFoundError(f"no model named '{model}'", code="not_found", status_code=404)


class _Resource:
    def __init__(self, client: "_ClientBase") -> None:
        self._client = client

    @property
    def _backend(self) -> _cnai.Backend:
        return self._client.backend


class Completions(_Resource):
    """client.chat.completions"""

    def create(self, *, messages: Iterable[Mapping[str, Any]], model: Optional[str] = None, stream: bool = False,
               timeout: Optional[float] = None, priority: Optional[int] = None,
               **kwargs: Any) -> Union[ChatCompletion, Stream]:
        """One chat completion, as openai's client.chat.completions.create:
        messages (dicts with role and content), model (optional for a local
        model; a router's deployment or alias), temperature, top_p, max_tokens,
        stop, seed, tools, response_format, ...; stream=True returns a Stream of
        ChatCompletionChunk. cnai's extras: top_k, min_p, repetition_penalty,
        priority (routing) and timeout (seconds, a deadline for the whole call).
        Errors: the cnai.Error subclasses (BadRequestError naming the field ...)."""
        body = _chat_body(model, messages, stream, kwargs)
        request = _chat_request(body, priority)
        timeout = self._client._timeout(timeout)
        if stream:
            include_usage = bool(body.get("stream_options", {}).get("include_usage"))
            return Stream(self._backend.start_chat(request, True, timeout), include_usage)
        return ChatCompletion._from_native(self._backend.chat(request, timeout))


class Chat(_Resource):
    """client.chat"""

    def __init__(self, client: "_ClientBase") -> None:
        super().__init__(client)
        self.completions = Completions(client)


class Embeddings(_Resource):
    """client.embeddings"""

    def create(self, *, input: Union[str, Sequence[str]], model: Optional[str] = None,
               encoding_format: str = "float", dimensions: Optional[int] = None, user: Optional[str] = None,
               as_numpy: bool = False, truncate: bool = False, timeout: Optional[float] = None) -> CreateEmbeddingResponse:
        """Embeddings of one text or many, as openai's client.embeddings.create.
        as_numpy=True makes each data[i].embedding a NumPy float32 row (of one
        matrix, also response.numpy()); truncate=True cuts inputs longer than
        a local model's context instead of failing."""
        request = _embedding_request(input, model, dimensions, user, truncate)
        native = self._backend.embeddings(request, self._client._timeout(timeout))
        return _embedding_response(native, encoding_format, as_numpy)


class Models(_Resource):
    """client.models"""

    def list(self) -> ModelList:
        """The models this client answers to (a local model's name, a server's
        /models, a router's deployments and aliases)."""
        return _model_list(self._backend)

    def retrieve(self, model: str) -> Model:
        return _retrieve(self._backend, model)


class _ClientBase:
    backend: _cnai.Backend

    def __init__(self, model: Optional[str] = None, *, config: Optional[str] = None,
                 backend: Optional[_cnai.Backend] = None, base_url: Optional[str] = None,
                 api_key: Optional[str] = None, provider: Optional[str] = None, timeout: Optional[float] = None,
                 **options: Any) -> None:
        self.backend = _make_backend(model, config, backend, base_url, api_key, provider, options)
        self.timeout = timeout

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return timeout if timeout is not None else self.timeout

    def close(self) -> None:
        """Drops this client's reference to its backend."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend.name!r})"


class Client(_ClientBase):
    """An OpenAI-SDK-shaped client running in this process.

        client = cnai.Client()                               # the default local model
        client = cnai.Client(model="path/to/model.gguf")     # a local GGUF model
        client = cnai.Client(model="chat.gguf", embedding_model="minilm.gguf")
        client = cnai.Client(config="router.yaml")           # a router (deployments, policies)
        client = cnai.Client(base_url="http://host/v1", api_key="...")  # an OpenAI-compatible API
        client = cnai.Client(provider="anthropic")           # Anthropic (ANTHROPIC_API_KEY)
        client = cnai.Client(backend=engine)                 # any cnai Backend

    Then as with openai.OpenAI:

        r = client.chat.completions.create(model="...", messages=[{"role": "user", "content": "Hi"}])
        r.choices[0].message.content, r.usage.prompt_tokens, r.backend, r.timings
        for chunk in client.chat.completions.create(messages=..., stream=True):
            print(chunk.choices[0].delta.content or "", end="")
        client.embeddings.create(input=["a", "b"], as_numpy=True).numpy()
        client.models.list()

    Local options (keywords): n_ctx, threads, embedding_model, chat_template,
    chatml_fallback, default_max_tokens, backend_name, reuse_prefix. Cloud
    options: organization, project, azure_deployment, api_version, max_retries,
    ca_file, verify_peer, extra_headers. timeout= (seconds) is the default
    deadline of each call. Every call releases the GIL while it computes or
    waits, so threads sharing one Client run concurrently."""

    def __init__(self, model: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        self.models = Models(self)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncCompletions(_Resource):
    """client.chat.completions of an AsyncClient."""

    async def create(self, *, messages: Iterable[Mapping[str, Any]], model: Optional[str] = None,
                     stream: bool = False, timeout: Optional[float] = None, priority: Optional[int] = None,
                     **kwargs: Any) -> Union[ChatCompletion, AsyncStream]:
        """As Client.chat.completions.create; stream=True returns an AsyncStream
        (`async for chunk in stream`). Cancelling the awaiting task, or leaving
        the `async for` early, cancels the generation."""
        body = _chat_body(model, messages, stream, kwargs)
        request = _chat_request(body, priority)
        call = self._backend.start_chat(request, stream, self._client._timeout(timeout))
        if stream:
            return AsyncStream(call, bool(body.get("stream_options", {}).get("include_usage")))
        await _await_call(call)
        return ChatCompletion._from_native(call.response())


class AsyncChat(_Resource):
    def __init__(self, client: "_ClientBase") -> None:
        super().__init__(client)
        self.completions = AsyncCompletions(client)


class AsyncEmbeddings(_Resource):
    async def create(self, *, input: Union[str, Sequence[str]], model: Optional[str] = None,
                     encoding_format: str = "float", dimensions: Optional[int] = None, user: Optional[str] = None,
                     as_numpy: bool = False, truncate: bool = False,
                     timeout: Optional[float] = None) -> CreateEmbeddingResponse:
        """As Client.embeddings.create, awaited."""
        request = _embedding_request(input, model, dimensions, user, truncate)
        call = self._backend.start_embeddings(request, self._client._timeout(timeout))
        await _await_call(call)
        return _embedding_response(call.embedding_response(), encoding_format, as_numpy)


class AsyncModels(_Resource):
    async def list(self) -> ModelList:
        return _model_list(self._backend)

    async def retrieve(self, model: str) -> Model:
        return _retrieve(self._backend, model)


class AsyncClient(_ClientBase):
    """cnai.Client for asyncio (openai.AsyncOpenAI's surface): the same
    constructor; `await client.chat.completions.create(...)`, `async for` over
    streams. Calls run on engine threads and wake the event loop when they
    complete (an eventfd watched by the loop), so many tasks share one engine
    concurrently without blocking the loop."""

    def __init__(self, model: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)
        self.models = AsyncModels(self)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
