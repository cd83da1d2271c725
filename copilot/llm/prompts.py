"""Versioned prompt templates: `prompts/<prompt_id>/v<N>.yaml`, the latest N unless pinned.

A template file holds `id`, `version`, `description`, `system` (sent verbatim), `user` (a
`str.format` template with {placeholders}) and any further keys, kept in `extra` for the
generator that uses them (block formats, model parameters, ...). Every response carries the
template's id and version, so a change of wording is a new file, never an edit in place.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from copilot.errors import ConfigError, Problem, ValidationError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
"""The top-level `prompts/` folder of the project."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VERSION = re.compile(r"^v?(\d+)$")
_FILE = re.compile(r"^v(\d+)\.yaml$")
_REQUIRED = ("id", "version", "description", "system", "user")


class PromptNotFound(ConfigError):
    """No template file for the requested prompt id or version."""


class PromptTemplate(BaseModel):
    """One version of one prompt, as loaded from its YAML file."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: str  # "v<N>", as in the file name
    description: str
    system: str
    user: str
    extra: dict[str, Any] = {}
    path: Path | None = None

    @property
    def placeholders(self) -> set[str]:
        """Names of the {placeholders} in the user template."""
        return format_fields(self.user)

    def render_user(self, **values: str) -> str:
        """The user message with its placeholders filled; values it does not use are ignored."""
        missing = self.placeholders - values.keys()
        if missing:
            raise ConfigError(
                f"prompt {self.id} {self.version} ({self.path}): no value for the user "
                f"template's placeholders {sorted(missing)}"
            )
        return self.user.format(**values)


def load_prompt(
    prompt_id: str, version: str | None = None, *, root: Path | None = None
) -> PromptTemplate:
    """Load `<root>/<prompt_id>/v<N>.yaml`: the given version, or the highest N when None."""
    if not _ID.match(prompt_id):
        raise PromptNotFound(
            f"invalid prompt id {prompt_id!r}: use lower-case letters, digits, '_' and '-'"
        )
    folder = (root or PROMPTS_DIR) / prompt_id
    available = available_versions(prompt_id, root=root)
    if version is None:
        if not available:
            raise PromptNotFound(
                f"no prompt templates for {prompt_id!r}: expected files like {folder / 'v1.yaml'}"
            )
        number = available[-1]
    else:
        match = _VERSION.match(version.strip())
        if not match:
            raise PromptNotFound(
                f"invalid version {version!r} for prompt {prompt_id!r}: use 'v<N>' or '<N>'"
            )
        number = int(match.group(1))
    path = folder / f"v{number}.yaml"
    if not path.is_file():
        have = ", ".join(f"v{n}" for n in available) or "none"
        raise PromptNotFound(f"prompt file {path} does not exist (available versions: {have})")
    return _parse(path, prompt_id, number)


def available_versions(prompt_id: str, *, root: Path | None = None) -> list[int]:
    """Version numbers present on disk for a prompt id, ascending."""
    folder = (root or PROMPTS_DIR) / prompt_id
    if not folder.is_dir():
        return []
    return sorted(
        int(m.group(1)) for p in folder.iterdir() if p.is_file() and (m := _FILE.match(p.name))
    )


def _parse(path: Path, prompt_id: str, number: int) -> PromptTemplate:
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem(source, f"cannot read the file: {exc}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ValidationError(
            [Problem(source, f"not valid YAML: {getattr(exc, 'problem', exc)}", line=line)]
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError([Problem(source, "expected a mapping with " + ", ".join(_REQUIRED))])

    problems: list[Problem] = []
    for key in _REQUIRED:
        if key not in data:
            problems.append(Problem(source, "required field is missing", field=key))
    for key in ("id", "description", "system", "user"):
        value = data.get(key)
        if key in data and (not isinstance(value, str) or not value.strip()):
            problems.append(Problem(source, "must be a non-empty string", field=key))
    if isinstance(data.get("id"), str) and data["id"] != prompt_id:
        problems.append(
            Problem(
                source,
                f"id {data['id']!r} does not match its folder {prompt_id!r}",
                field="id",
                fix=f"set id: {prompt_id}",
            )
        )
    if "version" in data:
        match = _VERSION.match(str(data["version"]).strip())
        if not match or int(match.group(1)) != number:
            problems.append(
                Problem(
                    source,
                    f"version {data['version']!r} does not match the file name v{number}.yaml",
                    field="version",
                    fix=f"set version: {number}",
                )
            )
    if isinstance(data.get("user"), str):
        try:
            format_fields(data["user"])
        except ValueError as exc:
            problems.append(
                Problem(
                    source,
                    f"not a valid template: {exc}",
                    field="user",
                    fix="write placeholders as {name}; double literal braces: {{ }}",
                )
            )
    if problems:
        raise ValidationError(problems)

    extra = {k: v for k, v in data.items() if k not in _REQUIRED}
    return PromptTemplate(
        id=data["id"],
        version=f"v{number}",
        description=data["description"].strip(),
        system=data["system"],
        user=data["user"],
        extra=extra,
        path=path,
    )


def format_fields(template: str) -> set[str]:
    """Names of the {placeholders} of a `str.format` template; ValueError if it is malformed."""
    names: set[str] = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"placeholder {{{name}}} is not a plain name")
        names.add(name)
    return names


def checked_templates(
    prompt: PromptTemplate, key: str, allowed: Mapping[str, set[str]]
) -> dict[str, str]:
    """The named templates under `key` of a prompt's extra keys, each checked to be a valid
    template using only its allowed fields (ConfigError naming the prompt, key and fix)."""
    where = f"prompt {prompt.id} {prompt.version} ({prompt.path})"
    raw = prompt.extra.get(key)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: needs a '{key}' mapping with {sorted(allowed)}")
    templates: dict[str, str] = {}
    for name, fields_allowed in allowed.items():
        text = raw.get(name)
        if not isinstance(text, str):
            raise ConfigError(f"{where}: {key}.{name} must be a string")
        try:
            fields = format_fields(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}.{name} is not a valid template: {exc}") from exc
        if fields - fields_allowed:
            raise ConfigError(
                f"{where}: {key}.{name} uses unknown fields {sorted(fields - fields_allowed)}; "
                f"it may use {sorted(fields_allowed)}"
            )
        templates[name] = text
    return templates
