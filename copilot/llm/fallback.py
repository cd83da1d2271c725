"""A generator that tries a remote model first and falls back to a local one, saying why."""

from __future__ import annotations

import logging

import pydantic

from copilot.errors import UpstreamUnavailable, ValidationError
from copilot.llm.base import GenerationRequest, GenerationResult, Generator

log = logging.getLogger(__name__)


class FallbackGenerator:
    """The primary's result, or on an upstream or validation failure the fallback's, with a note."""

    def __init__(self, primary: Generator, fallback: Generator) -> None:
        self.primary = primary
        self.fallback = fallback

    @property
    def mode(self) -> str:
        return self.primary.mode

    def warm_up(self) -> None:
        """Warm both; a primary that cannot load is logged, and requests will fall back."""
        self.fallback.warm_up()
        try:
            self.primary.warm_up()
        except UpstreamUnavailable as exc:
            log.warning(
                "%s generator cannot start (%s); requests will use %s",
                self.primary.mode,
                _reason(exc),
                self.fallback.mode,
            )

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate with the primary; when it cannot answer usably, with the fallback."""
        try:
            return self.primary.generate(request)
        except (UpstreamUnavailable, ValidationError, pydantic.ValidationError) as exc:
            reason = _reason(exc)
        log.warning(
            "%s generator failed (%s); using %s", self.primary.mode, reason, self.fallback.mode
        )
        result = self.fallback.generate(request)
        note = f"{self.primary.mode} failed ({reason}); used {self.fallback.mode}"
        return result.model_copy(update={"notes": [note, *result.notes]})


def _reason(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        return f"invalid output: {exc.error_count()} validation errors"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
