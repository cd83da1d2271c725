"""Turn pydantic validation errors into problems that name the file, line, field and the fix."""

from __future__ import annotations

import difflib
import re
from typing import Any

import pydantic

from copilot.errors import Problem

_FIXES: dict[str, str] = {
    "missing": "add it",
    "extra_forbidden": "remove it or correct its spelling",
    "string_pattern_mismatch": "use lowercase letters, digits, '-' or '_' (for example 'ledgerly')",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
    "date_type": "write the date as YYYY-MM-DD",
    "datetime_parsing": "write an ISO 8601 time such as 2026-11-02T09:30:00Z",
    "list_type": "write a list, for example [a, b]",
    "too_short": "give at least one value",
    "string_too_short": "give a non-empty value",
    "int_parsing": "write a whole number",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def find_line(raw: str | None, field: str | None, offset: int = 0) -> int | None:
    """1-based line of `field:` at the start of a line in raw YAML text, if found."""
    if not raw or not field:
        return None
    top = re.split(r"[.\[]", field, maxsplit=1)[0]
    match = re.search(rf"^\s*{re.escape(top)}\s*:", raw, flags=re.MULTILINE)
    return raw.count("\n", 0, match.start()) + 1 + offset if match else None


def problems_from(
    exc: pydantic.ValidationError,
    source: str,
    *,
    raw: str | None = None,
    line: int | None = None,
    line_offset: int = 0,
    prefix: str = "",
) -> list[Problem]:
    """One problem per pydantic error, with a fix that says what to write instead."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = prefix + _field_path(loc) if loc else (prefix.rstrip(".") or None)
        message = str(err["msg"]).removeprefix("Value error, ")
        fix = _fix_for(err)
        if err["type"] == "extra_forbidden" and loc:
            message = f"unknown field '{loc[-1]}'"
            fix = _spelling_fix(str(loc[-1]), exc.title)
        where = line if line is not None else find_line(raw, _field_path(loc), line_offset)
        problems.append(Problem(source, message, field or None, where, fix))
    return problems


def _spelling_fix(name: str, model_name: str) -> str:
    """'did you mean ...' for a misspelt field of a contract model."""
    from copilot import domain

    model = getattr(domain, model_name, None)
    fields = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(name, fields, n=1)
    if close:
        return f"did you mean '{close[0]}'? (or remove it)"
    return f"remove it; allowed fields: {', '.join(f for f in fields if f != 'source')}"


def _fix_for(err: Any) -> str | None:
    kind = err["type"]
    if kind == "enum":
        expected = (err.get("ctx") or {}).get("expected")
        return f"use one of {expected}" if expected else "use one of the allowed values"
    if kind == "literal_error":
        return f"use {(err.get('ctx') or {}).get('expected')}"
    if kind == "value_error":
        return None  # our own messages already say what to do
    return _FIXES.get(kind)
