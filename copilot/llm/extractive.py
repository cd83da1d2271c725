"""The default generator: deterministic, offline, composed from retrieved text and templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from copilot.llm.base import (
    EvidenceChunk,
    GenerationOutput,
    GenerationRequest,
    GenerationResult,
    Opportunity,
    ResolutionDraft,
    StepDraft,
    ValueDraft,
)
from copilot.llm.prompts import PromptTemplate, load_prompt

PROMPT_ID = "suggest_extractive"
_STEP = re.compile(r"^\s*\d+\.\s+(.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_MARKUP = re.compile(r"\*\*|__|`|^#+\s*|^\s*[-*]\s+", re.MULTILINE)


def plain(text: str) -> str:
    """Markdown emphasis and list markers removed, whitespace collapsed."""
    return " ".join(_MARKUP.sub("", text).split())


def key_point(chunk: EvidenceChunk) -> str:
    """The first informative sentence of a chunk, verbatim apart from Markdown markers."""
    for line in chunk.text.splitlines():
        text = plain(line)
        if len(text) < 40 or _STEP.match(line):
            continue
        sentence = _SENTENCE.split(text)[0].strip()
        if len(sentence) >= 40:
            return sentence if sentence.endswith((".", "!", "?")) else sentence + "."
    return plain(chunk.text)[:200].rstrip(".") + "."


class Facts(dict[str, str]):
    """Template fields; a field an opportunity does not have reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def opportunity_facts(opportunity: Opportunity) -> Facts:
    """The template fields of a value draft: the opportunity's facts and its lead evidence."""
    lead = opportunity.evidence[0]
    facts = Facts(opportunity.facts)
    facts.update(
        title=lead.title,
        title_lower=lead.title[:1].lower() + lead.title[1:],
        key_point=key_point(lead),
        url_suffix=f" ({lead.url})" if lead.url else "",
        purchase_intent_lower=_lower_first(facts["purchase_intent"]),
        workaround_gerund=_lower_first(facts["workaround"]),
        milestone_clause=(
            f' and prepares the next milestone, "{facts["milestone"]}"'
            if facts["milestone"]
            else ""
        ),
    )
    return facts


class ExtractiveGenerator:
    """Fills versioned templates with evidence sentences; no network, no randomness."""

    mode = "extractive"

    def __init__(self, prompt: PromptTemplate | None = None) -> None:
        self.prompt = prompt or load_prompt(PROMPT_ID)
        self._types: Mapping[str, Mapping[str, str]] = self.prompt.extra["types"]
        self._resolution: Mapping[str, Any] = self.prompt.extra["resolution"]

    def warm_up(self) -> None:
        """Nothing to load: the templates are read at construction."""

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Resolution steps and one draft per opportunity, each citing its evidence."""
        output = GenerationOutput(
            resolution=self._resolve(request.resolution_evidence),
            values=[self._value(o) for o in request.opportunities],
        )
        return GenerationResult(
            output=output,
            mode=self.mode,
            model=None,
            prompt_id=self.prompt.id,
            prompt_version=self.prompt.version,
        )

    def _resolve(self, evidence: list[EvidenceChunk]) -> ResolutionDraft | None:
        if not evidence:
            return None
        top = evidence[0]
        steps: list[StepDraft] = []
        for chunk in evidence:
            for line in chunk.text.splitlines():
                match = _STEP.match(line)
                if match and len(steps) < int(self._resolution["max_steps"]):
                    steps.append(StepDraft(text=plain(match.group(1)), chunk_ids=[chunk.chunk_id]))
        if not steps:
            sentences = [s for s in _SENTENCE.split(plain(top.text)) if len(s) > 30][:3]
            steps = [StepDraft(text=s, chunk_ids=[top.chunk_id]) for s in sentences]
        summary = self._resolution["summary"].format_map(
            Facts(title=top.title, key_point=key_point(top))
        )
        return ResolutionDraft(
            summary=summary,
            steps=steps,
            chunk_ids=list(dict.fromkeys(c.chunk_id for c in evidence)),
        )

    def _value(self, opportunity: Opportunity) -> ValueDraft:
        lead = opportunity.evidence[0]
        facts = opportunity_facts(opportunity)
        template = self._types[opportunity.type.value]
        return ValueDraft(
            type=opportunity.type,
            headline=template["headline"].format_map(facts),
            message=" ".join(template["message"].format_map(facts).split()),
            rationale=" ".join(template["rationale"].format_map(facts).split()),
            chunk_ids=[lead.chunk_id],
        )


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text
