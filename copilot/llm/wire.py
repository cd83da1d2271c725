"""Talking to an OpenAI-compatible endpoint: data blocks that stay data, and errors that say
what went wrong in one short line. Shared by the `openai` generator and the evals' judge."""

from __future__ import annotations

import html

import openai
import pydantic

from copilot.llm.redact import redact

RETRIED_STATUSES = {408, 409, 429}
"""Statuses the OpenAI client retries (with every 5xx)."""


def data_block(text: str) -> str:
    """Customer or article text for a data block: redacted, and escaped so that it cannot close
    its own block ("</case>") and pose as instructions."""
    return html.escape(redact(text), quote=True)


def ident(value: str) -> str:
    """An identifier for a data block: escaped but not redacted (the model must cite it exactly
    as given, and nothing in it is personal)."""
    return html.escape(value, quote=True)


def retried(status: int) -> bool:
    """Whether the client retries an HTTP status."""
    return status in RETRIED_STATUSES or status >= 500


def attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


def api_message(exc: openai.APIStatusError) -> str:
    """The endpoint's own error message, shortened."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return short(error["message"])
    return short(exc.message)


def validation_summary(exc: pydantic.ValidationError, shown: int = 3) -> str:
    """The first few validation errors of a model's output, with short offending values."""
    parts = []
    for error in exc.errors()[:shown]:
        where = ".".join(str(p) for p in error["loc"])
        got = error.get("input")
        shown_input = isinstance(got, int | float) or (isinstance(got, str) and 0 < len(got) <= 40)
        seen = f" (got {got!r})" if shown_input else ""
        parts.append(f"{where}: {error['msg']}{seen}" if where else f"{error['msg']}{seen}")
    more = exc.error_count() - shown
    return short("; ".join(parts) + (f"; and {more} more" if more > 0 else ""), 400)


def cause(exc: BaseException) -> str:
    """The innermost reason (the socket error under the client's "Connection error.")."""
    seen: set[int] = set()
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(exc))
        exc = inner
    return short(exc) or type(exc).__name__


def short(value: object, limit: int = 200) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
