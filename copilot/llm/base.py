"""The generation interface. The engine picks evidence and opportunities; a generator writes.

A generator receives the case (as data) and numbered evidence chunks, and returns drafts that
cite evidence by chunk id. It never decides what is entitled, held or allowed: the engine does,
and the grounding check drops any draft citing a chunk that was not in the evidence.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from copilot.domain import SuggestionType


class EvidenceChunk(BaseModel):
    """A retrieved passage the drafts may cite."""

    chunk_id: str
    article_id: str
    title: str
    url: str | None = None
    kind: str
    audience: str = "customer"
    section: list[str] = []
    text: str


class Opportunity(BaseModel):
    """A value-suggestion opportunity the engine found, with the facts that justify it."""

    type: SuggestionType
    evidence: list[EvidenceChunk] = Field(min_length=1)
    facts: dict[str, str] = {}  # stage, objective, purchase intent, feature, workaround, ...
    objective_id: str | None = None


class CaseText(BaseModel):
    """The parts of the case a generator sees: customer text is data, never instructions."""

    subject: str = ""
    description: str = ""
    messages: list[str] = []
    customer_name: str | None = None
    product: str | None = None


class GenerationRequest(BaseModel):
    case: CaseText
    resolution_evidence: list[EvidenceChunk] = []
    opportunities: list[Opportunity] = []


class StepDraft(BaseModel):
    text: str
    chunk_ids: list[str] = Field(min_length=1)


class ResolutionDraft(BaseModel):
    summary: str
    steps: list[StepDraft] = []
    chunk_ids: list[str] = []


class ValueDraft(BaseModel):
    type: SuggestionType
    headline: str
    message: str
    rationale: str
    chunk_ids: list[str] = Field(min_length=1)


class GenerationOutput(BaseModel):
    """What a generator returns (the structured output a model must produce)."""

    resolution: ResolutionDraft | None = None
    values: list[ValueDraft] = []


class GenerationResult(BaseModel):
    output: GenerationOutput
    mode: str
    model: str | None = None
    prompt_id: str
    prompt_version: str
    notes: list[str] = []


class Generator(Protocol):
    """Writes the resolution and value drafts from evidence."""

    @property
    def mode(self) -> str: ...

    def warm_up(self) -> None:
        """Load whatever the first request would otherwise wait for (a model, a client)."""
        ...

    def generate(self, request: GenerationRequest) -> GenerationResult: ...
