"""cnai's exceptions: one class per cnai::ErrorCode, named as openai-python
names the same failure, so `except openai.RateLimitError` code ports by
changing the module. Every class derives from cnai.Error, which carries
`code` (the ErrorCode's name), `status_code` (the HTTP status cnai's server
answers it with), `upstream_status` / `upstream_message` (what a remote API
said, when it came from one) and `retryable`."""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Error", "APIError", "APIStatusError", "APIConnectionError", "APITimeoutError",
    "BadRequestError", "AuthenticationError", "NotFoundError", "RateLimitError",
    "InternalServerError", "ModelFormatError", "UnsupportedError", "ContextLengthExceededError",
    "OutOfMemoryError", "OverloadedError", "BudgetExceededError", "UpstreamError",
    "RequestCancelledError", "ERROR_CLASSES",
]


class Error(Exception):
    """Base of every cnai exception (a cnai::Error from the C++ library)."""

    code: str
    message: str
    status_code: int
    upstream_status: Optional[int]
    upstream_message: str
    retryable: bool

    def __init__(self, message: str, *, code: str = "internal", status_code: int = 500,
                 upstream_status: Optional[int] = None, upstream_message: str = "",
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.upstream_status = upstream_status
        self.upstream_message = upstream_message
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class APIError(Error):
    """openai.APIError: the base of the failures an API call can have."""


class APIStatusError(APIError):
    """openai.APIStatusError: a failure with an HTTP status (status_code)."""


class APIConnectionError(APIError):
    """The service could not be reached (cnai: unavailable)."""


class APITimeoutError(APIConnectionError):
    """The call ran past its timeout or deadline (cnai: timeout)."""


class BadRequestError(APIStatusError):
    """400: the request is wrong (cnai: invalid_argument)."""


class AuthenticationError(APIStatusError):
    """401: no or a wrong API key (cnai: unauthorized)."""


class NotFoundError(APIStatusError):
    """404: no such model, file or deployment (cnai: not_found)."""


class RateLimitError(APIStatusError):
    """429: too many requests (cnai: rate_limited)."""


class InternalServerError(APIStatusError):
    """5xx: the library or service failed (cnai: internal)."""


class ModelFormatError(BadRequestError):
    """A model file is corrupt or not what it claims (cnai: model_format)."""


class UnsupportedError(BadRequestError):
    """Valid, but not something this backend serves (cnai: unsupported)."""


class ContextLengthExceededError(BadRequestError):
    """The prompt does not fit the model's context (cnai: context_overflow;
    OpenAI's error code context_length_exceeded)."""


class OutOfMemoryError(InternalServerError):
    """Memory ran out (cnai: out_of_memory)."""


class OverloadedError(InternalServerError):
    """503: the backend's queue is full (cnai: overloaded)."""


class BudgetExceededError(RateLimitError):
    """429: a spending budget is used up (cnai: budget_exceeded)."""


class UpstreamError(InternalServerError):
    """502: a remote API answered something wrong (cnai: upstream)."""


class RequestCancelledError(Error):
    """The call was cancelled: a stream closed or broken out of, an asyncio
    task cancelled, Call.cancel() (cnai: cancelled)."""


ERROR_CLASSES: dict[str, type[Error]] = {
    "invalid_argument": BadRequestError,
    "model_format": ModelFormatError,
    "unsupported": UnsupportedError,
    "context_overflow": ContextLengthExceededError,
    "out_of_memory": OutOfMemoryError,
    "not_found": NotFoundError,
    "unauthorized": AuthenticationError,
    "rate_limited": RateLimitError,
    "timeout": APITimeoutError,
    "unavailable": APIConnectionError,
    "overloaded": OverloadedError,
    "budget_exceeded": BudgetExceededError,
    "upstream": UpstreamError,
    "cancelled": RequestCancelledError,
    "internal": InternalServerError,
}


def _from_native(code: str, message: str, status_code: int, upstream_status: Optional[int],
                 upstream_message: str, retryable: bool) -> Error:
    """Called by the native module for each cnai::Error it translates."""
    cls = ERROR_CLASSES.get(code, Error)
    return cls(message, code=code, status_code=status_code, upstream_status=upstream_status,
               upstream_message=upstream_message, retryable=retryable)
