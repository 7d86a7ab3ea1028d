"""Faults of an OpenAI-compatible endpoint: which are retried, and how they are named.

`retryable` lists the transport faults retried with backoff (429, 5xx, timeouts,
connection errors, broken response bodies), `fault_kind` names one as the run store
counts it, `cut_off` tells a reply stopped at the token limit, and `short_error`
turns a validation error into a line the teacher can fix its reply from. It makes no
calls itself (teacher.llm does).
"""

from __future__ import annotations

import json

from pydantic import ValidationError


class ChatError(Exception):
    """Raised inside a retried call for a fault worth another attempt."""


def fault_kind(exc: BaseException) -> str:
    """A short name for a transport fault, as counted in the run store."""
    import openai

    kinds: list[tuple[type[BaseException], str]] = [
        (openai.RateLimitError, "429"),
        (openai.InternalServerError, "5xx"),
        (openai.APITimeoutError, "timeout"),
        (openai.APIConnectionError, "connection"),
        (openai.APIResponseValidationError, "bad_response"),
        (json.JSONDecodeError, "bad_response"),
    ]
    for cls, name in kinds:
        if isinstance(exc, cls):
            return name
    return type(exc).__name__


def retryable() -> tuple[type[BaseException], ...]:
    """The faults retried with backoff."""
    import openai

    return (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APITimeoutError,
        openai.APIConnectionError,
        openai.APIResponseValidationError,
        json.JSONDecodeError,
    )


def cut_off(exc: Exception) -> bool:
    """The reply was cut off at the token limit (worth asking again, not retrying)."""
    import openai

    return isinstance(exc, openai.LengthFinishReasonError)


def short_error(exc: Exception) -> str:
    """One or two lines of a validation error, enough for the teacher to fix its reply."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "reply"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc).splitlines()[0][:300]
