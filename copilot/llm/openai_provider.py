"""The `openai` generation mode: any OpenAI-compatible chat endpoint through LangChain's ChatOpenAI.

The model gets the case and the evidence as delimited, redacted, escaped data blocks and answers
with structured output (a JSON schema of GenerationOutput). Whatever it answers, a draft that
cites a chunk it was not given is dropped here. Every failure (timeout, HTTP error after the
retries, unparseable output) is an UpstreamUnavailable, so a FallbackGenerator can step in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import openai
import pydantic
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from copilot.config import Settings
from copilot.domain import SuggestionType
from copilot.errors import ConfigError, UpstreamUnavailable
from copilot.llm.base import (
    EvidenceChunk,
    GenerationOutput,
    GenerationRequest,
    GenerationResult,
    Opportunity,
    ResolutionDraft,
    ValueDraft,
)
from copilot.llm.prompts import PromptTemplate, checked_templates, load_prompt
from copilot.llm.wire import (
    api_message,
    attempts,
    cause,
    data_block,
    ident,
    retried,
    short,
    validation_summary,
)

PROMPT_ID = "suggest_llm"

# The data-block formats a template's `blocks` mapping must define, with the fields each may use.
BLOCK_FIELDS: dict[str, set[str]] = {
    "case": {"product", "customer_name", "subject", "description", "messages"},
    "message": {"n", "text"},
    "evidence": {"chunk_id", "article_id", "kind", "audience", "title", "section", "text"},
    "opportunity": {"n", "type", "objective_id", "facts", "evidence"},
    "fact": {"name", "value"},
    "empty": set(),
}
USER_FIELDS = {"case", "resolution_evidence", "opportunities"}

# Status codes the OpenAI client retries before giving up.


class LLMTimeout(UpstreamUnavailable):
    """The model endpoint did not answer within the timeout, on every attempt."""


class LLMHTTPError(UpstreamUnavailable):
    """The model endpoint answered with an HTTP error (after the retries, when retryable)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class LLMInvalidOutput(UpstreamUnavailable):
    """The model answered, but not with JSON that fits the output schema."""


class OpenAIGenerator:
    """Generator (mode "openai") backed by ChatOpenAI with structured output."""

    def __init__(self, settings: Settings, prompt: PromptTemplate | None = None) -> None:
        self._prompt = prompt or load_prompt(PROMPT_ID)
        self._blocks = _checked_blocks(self._prompt)
        self._timeout_s = settings.llm_timeout_s
        self._attempts = settings.llm_max_retries + 1
        self._model_name = settings.llm_model
        self._base_url = settings.llm_base_url or "https://api.openai.com/v1"
        # An endpoint without auth (vLLM, Ollama) still needs a key string; never let the client
        # fall back to an OPENAI_API_KEY from the environment and send it to a third-party URL.
        api_key = settings.llm_api_key or pydantic.SecretStr("no-key")
        chat = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=api_key,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            use_responses_api=False,
        )
        self._chain = chat.with_structured_output(
            GenerationOutput, method="json_schema", include_raw=True
        )

    @property
    def mode(self) -> str:
        return "openai"

    @property
    def prompt(self) -> PromptTemplate:
        return self._prompt

    def warm_up(self) -> None:
        """Nothing to load: the endpoint is reached on the first request (and then retried)."""

    def messages(self, request: GenerationRequest) -> list[BaseMessage]:
        """The chat messages sent for a request: the template's system text, then the data."""
        return [
            SystemMessage(content=self._prompt.system),
            HumanMessage(content=self.render_user(request)),
        ]

    def render_user(self, request: GenerationRequest) -> str:
        """The user message: the template filled with redacted, escaped data blocks."""
        blocks = self._blocks
        case = request.case
        messages = "\n".join(
            blocks["message"].format(n=i, text=data_block(text))
            for i, text in enumerate(case.messages, start=1)
        )
        case_block = blocks["case"].format(
            product=data_block(case.product or ""),
            customer_name=data_block(case.customer_name or ""),
            subject=data_block(case.subject),
            description=data_block(case.description),
            messages=messages or blocks["empty"],
        )
        opportunities = "\n".join(
            blocks["opportunity"].format(
                n=i,
                type=opp.type.value,
                objective_id=ident(opp.objective_id or ""),
                facts="\n".join(
                    blocks["fact"].format(name=data_block(name), value=data_block(value))
                    for name, value in opp.facts.items()
                )
                or blocks["empty"],
                evidence=self._evidence(opp.evidence),
            )
            for i, opp in enumerate(request.opportunities, start=1)
        )
        return self._prompt.render_user(
            case=case_block,
            resolution_evidence=self._evidence(request.resolution_evidence),
            opportunities=opportunities or blocks["empty"],
        )

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Ask the model, parse its structured answer, and drop drafts citing unknown chunks."""
        messages = self.messages(request)
        try:
            answer: Mapping[str, Any] = self._chain.invoke(messages)
        except openai.APITimeoutError as exc:
            raise LLMTimeout(
                f"timeout after {self._timeout_s} s, {attempts(self._attempts)}"
            ) from exc
        except openai.APIConnectionError as exc:
            raise UpstreamUnavailable(
                f"cannot connect to {self._base_url} ({cause(exc)}), {attempts(self._attempts)}"
            ) from exc
        except openai.APIStatusError as exc:
            tries = self._attempts if retried(exc.status_code) else 1
            raise LLMHTTPError(
                f"HTTP {exc.status_code} after {attempts(tries)}: {api_message(exc)}",
                exc.status_code,
            ) from exc
        except pydantic.ValidationError as exc:
            raise LLMInvalidOutput(f"invalid output: {validation_summary(exc)}") from exc
        except (json.JSONDecodeError, openai.OpenAIError) as exc:
            raise LLMInvalidOutput(f"invalid output: {short(exc)}") from exc
        except ValueError as exc:  # the structured-output parser's "no parsed field"
            raise LLMInvalidOutput(f"invalid output: {short(exc)}") from exc

        if answer.get("parsing_error") is not None:
            raise LLMInvalidOutput(f"invalid output: {short(answer['parsing_error'])}")
        parsed = answer.get("parsed")
        if not isinstance(parsed, GenerationOutput):
            raise LLMInvalidOutput("invalid output: the answer holds no structured output")
        output, notes = ground(parsed, request)
        raw = answer.get("raw")
        metadata = getattr(raw, "response_metadata", None) or {}
        return GenerationResult(
            output=output,
            mode=self.mode,
            model=str(metadata.get("model_name") or self._model_name),
            prompt_id=self._prompt.id,
            prompt_version=self._prompt.version,
            notes=notes,
        )

    def _evidence(self, chunks: Iterable[EvidenceChunk]) -> str:
        rendered = [
            self._blocks["evidence"].format(
                chunk_id=ident(c.chunk_id),
                article_id=ident(c.article_id),
                kind=ident(c.kind),
                audience=ident(c.audience),
                title=data_block(c.title),
                section=data_block(" > ".join(c.section)),
                text=data_block(c.text),
            )
            for c in chunks
        ]
        return "\n".join(rendered) or self._blocks["empty"]


def ground(
    output: GenerationOutput, request: GenerationRequest
) -> tuple[GenerationOutput, list[str]]:
    """Drop every draft citing a chunk the request did not give it; say what was dropped."""
    notes: list[str] = []
    resolution_ids = {c.chunk_id for c in request.resolution_evidence}
    resolution = output.resolution
    if resolution is not None:
        resolution, resolution_notes = _ground_resolution(resolution, resolution_ids)
        notes += resolution_notes

    offered = _offered(request.opportunities)
    values: list[ValueDraft] = []
    dropped: dict[str, list[str]] = {}
    for draft in output.values:
        reason, detail = _reject(draft, offered.get(draft.type), values)
        if reason:
            dropped.setdefault(reason, []).append(detail)
        else:
            values.append(draft)
    for reason, details in dropped.items():
        count = f"{len(details)} value draft" + ("s" if len(details) > 1 else "")
        notes.append(f"dropped {count} {reason}: {_ids(details)}")
    return GenerationOutput(resolution=resolution, values=values), notes


def _reject(
    draft: ValueDraft, evidence: dict[str, EvidenceChunk] | None, kept: list[ValueDraft]
) -> tuple[str | None, str]:
    """Why a value draft may not be shown (reason, detail), or (None, "") when it may."""
    if evidence is None:
        return "of a type no opportunity offered", draft.type.value
    unknown = [cid for cid in draft.chunk_ids if cid not in evidence]
    if unknown:
        return "citing chunk ids not in the evidence", ", ".join(unknown)
    internal = [cid for cid in draft.chunk_ids if evidence[cid].audience != "customer"]
    if internal:
        return "quoting internal articles", ", ".join(internal)
    if any(v.type is draft.type for v in kept):
        return "repeating a type already drafted", draft.type.value
    return None, ""


def _ground_resolution(
    resolution: ResolutionDraft, allowed: set[str]
) -> tuple[ResolutionDraft | None, list[str]]:
    unknown = [cid for cid in resolution.chunk_ids if cid not in allowed]
    if unknown:
        return None, [
            f"dropped the resolution: it cites chunk ids not in the evidence: {_ids(unknown)}"
        ]
    steps = [s for s in resolution.steps if all(cid in allowed for cid in s.chunk_ids)]
    if len(steps) == len(resolution.steps):
        return resolution, []
    bad = [cid for s in resolution.steps for cid in s.chunk_ids if cid not in allowed]
    note = (
        f"dropped {len(resolution.steps) - len(steps)} of {len(resolution.steps)} resolution "
        f"steps citing chunk ids not in the evidence: {_ids(bad)}"
    )
    return resolution.model_copy(update={"steps": steps}), [note]


def _offered(
    opportunities: Iterable[Opportunity],
) -> dict[SuggestionType, dict[str, EvidenceChunk]]:
    offered: dict[SuggestionType, dict[str, EvidenceChunk]] = {}
    for opp in opportunities:
        chunks = offered.setdefault(opp.type, {})
        for chunk in opp.evidence:
            chunks[chunk.chunk_id] = chunk
    return offered


def _checked_blocks(prompt: PromptTemplate) -> dict[str, str]:
    blocks = checked_templates(prompt, "blocks", BLOCK_FIELDS)
    if prompt.placeholders - USER_FIELDS:
        raise ConfigError(
            f"prompt {prompt.id} {prompt.version} ({prompt.path}): the user template uses "
            f"unknown fields {sorted(prompt.placeholders - USER_FIELDS)}; it may use "
            f"{sorted(USER_FIELDS)}"
        )
    return blocks


def _ids(ids: list[str]) -> str:
    return ", ".join(dict.fromkeys(ids))
