"""Domain exceptions. The API layer maps them to HTTP answers; the CLI to exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field


class CopilotError(Exception):
    """Base class of every error the project raises on purpose."""


@dataclass
class Problem:
    """One thing wrong with one input: where it is and how to fix it."""

    source: str
    message: str
    field: str | None = None
    line: int | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        text = f"{where}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def as_dict(self) -> dict[str, object]:
        """Plain-data form for JSON reports and API bodies."""
        return {
            "source": self.source,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class ValidationError(CopilotError):
    """Input that does not follow a data contract; carries one problem per bad field."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


class NotFound(CopilotError):
    """A requested article, plan or suggestion does not exist."""


class NotEntitled(CopilotError):
    """A feature the account's plan does not include."""


class UpstreamUnavailable(CopilotError):
    """A backing service (vector index, database, LLM endpoint) cannot be reached."""


class ConfigError(CopilotError):
    """Settings that are missing, inconsistent or unsafe."""
