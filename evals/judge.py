"""The LLM judge of eval runs: grades a reply on the value-enhancement rubric, or compares two.

It calls an OpenAI-compatible endpoint (the one of the `openai` generation mode, with its own
model when COPILOT_JUDGE_MODEL is set) through LangChain's ChatOpenAI with structured output.
The case and the reply go in as delimited, redacted, escaped data blocks, never as instructions.
A verdict that does not parse or validate is an error, never a score: a judge that guesses
would make a regression look like noise. Pairwise comparison asks in both orders and counts only
a win in both, so a preference for the first (or second) position cancels out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Annotated, Any, Literal, Protocol, TypeVar

import openai
import pydantic
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from copilot.config import Settings
from copilot.domain import Case, Citation, Role, Suggestion
from copilot.errors import ConfigError, UpstreamUnavailable
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
from evals.records import JudgeScore

RUBRIC_PROMPT_ID = "judge_value"
PAIRWISE_PROMPT_ID = "judge_pairwise"

CRITERIA = ("can_do_more", "purchase_confidence", "accurate", "well_timed")
"""The value-enhancement rubric, in the order of JudgeScore.scores."""

# The data-block formats a judge template's `blocks` mapping must define, with the fields each
# may use; a block may leave fields out (a template without headlines, say).
BLOCK_FIELDS: dict[str, set[str]] = {
    "case": {"product", "priority", "subject", "description", "messages"},
    "message": {"n", "text"},
    "reply": {"label", "hold", "summary", "steps", "evidence", "values"},
    "step": {"n", "text"},
    "value": {"n", "type", "headline", "message", "rationale", "evidence"},
    "quote": {"chunk_id", "article_id", "title", "quote"},
    "empty": set(),
}
RUBRIC_FIELDS = {"case", "reply"}
PAIRWISE_FIELDS = {"case", "reply_a", "reply_b"}

# Status codes the OpenAI client retries before giving up.
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)


class JudgeError(UpstreamUnavailable):
    """The judge gave no usable verdict: the endpoint failed, or its answer did not validate."""

    def __init__(self, message: str, *, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw  # the model's whole answer, when there was one


def _reason(text: str) -> str:
    if not text.strip():
        raise ValueError("the reason is empty")
    return text.strip()


Reason = Annotated[str, AfterValidator(_reason)]
Score = Annotated[int, Field(ge=1, le=5)]


class _Verdict(BaseModel):
    # extra="forbid" puts additionalProperties: false in the schema, which strict structured
    # output requires, and refuses a verdict with criteria the rubric does not have.
    model_config = ConfigDict(extra="forbid")


class CriterionVerdict(_Verdict):
    """One criterion's grade."""

    # The reason comes first so the model argues before it commits to a number.
    reason: Reason
    score: Score


class RubricVerdict(_Verdict):
    """The structured output of a rubric call: one grade per criterion."""

    can_do_more: CriterionVerdict
    purchase_confidence: CriterionVerdict
    accurate: CriterionVerdict
    well_timed: CriterionVerdict


class PairVerdict(_Verdict):
    """The structured output of a pairwise call: which reply, as labelled in that call."""

    reason: Reason
    winner: Literal["A", "B", "tie"]


Preference = Literal["a", "b", "tie"]

# A pairwise verdict's label, back to the reply it stood for in each order.
_AS_SHOWN: dict[str, Preference] = {"A": "a", "B": "b", "tie": "tie"}
_SWAPPED: dict[str, Preference] = {"A": "b", "B": "a", "tie": "tie"}


class PairwiseResult(BaseModel):
    """Both orders of a pairwise comparison; `winner` counts only a win in both."""

    winner: Literal["a", "b", "tie", "inconsistent"]
    first: Preference  # the preference when a was shown as A
    second: Preference  # the preference when b was shown as A
    reasons: list[str]  # one per call, each prefixed with which reply carried which label


class ReplyJudge(Protocol):
    """What the harness needs of a judge."""

    @property
    def prompt_versions(self) -> dict[str, str]: ...

    def score(self, case: Case, suggestion: Suggestion) -> JudgeScore: ...

    def prefer(self, case: Case, a: Suggestion, b: Suggestion) -> PairwiseResult: ...


V = TypeVar("V", bound=_Verdict)


class Judge:
    """The LLM judge, on the OpenAI-compatible endpoint configured for generation."""

    def __init__(
        self,
        settings: Settings,
        *,
        rubric_prompt: PromptTemplate | None = None,
        pairwise_prompt: PromptTemplate | None = None,
    ) -> None:
        key = settings.llm_api_key
        if not settings.llm_base_url and (key is None or not key.get_secret_value()):
            raise ConfigError(
                "the LLM judge needs a model endpoint: set COPILOT_LLM_BASE_URL (any "
                "OpenAI-compatible server, e.g. http://localhost:11434/v1) or COPILOT_LLM_API_KEY "
                "(OpenAI); COPILOT_JUDGE_MODEL picks its model (default: COPILOT_LLM_MODEL)"
            )
        self._rubric_prompt = rubric_prompt or load_prompt(RUBRIC_PROMPT_ID)
        self._pairwise_prompt = pairwise_prompt or load_prompt(PAIRWISE_PROMPT_ID)
        self._rubric_blocks = _checked_blocks(self._rubric_prompt, RUBRIC_FIELDS)
        self._pairwise_blocks = _checked_blocks(self._pairwise_prompt, PAIRWISE_FIELDS)
        self._model = settings.judge_model or settings.llm_model
        self._settings = settings
        self._attempts = settings.llm_max_retries + 1
        self._base_url = settings.llm_base_url or "https://api.openai.com/v1"
        self._rubric_chain = self._chain(RubricVerdict, self._rubric_prompt)
        self._pairwise_chain = self._chain(PairVerdict, self._pairwise_prompt)

    @property
    def model(self) -> str:
        """The model name the judge asks for."""
        return self._model

    @property
    def prompt_versions(self) -> dict[str, str]:
        """Prompt id -> version of both judge templates, for the run's fingerprint."""
        return {p.id: p.version for p in (self._rubric_prompt, self._pairwise_prompt)}

    def rubric_messages(self, case: Case, suggestion: Suggestion) -> list[BaseMessage]:
        """The chat messages of a rubric call: the template's system text, then the data."""
        blocks = self._rubric_blocks
        user = self._rubric_prompt.render_user(
            case=_render_case(blocks, case), reply=_render_reply(blocks, suggestion)
        )
        return [SystemMessage(content=self._rubric_prompt.system), HumanMessage(content=user)]

    def pairwise_messages(
        self, case: Case, first: Suggestion, second: Suggestion
    ) -> list[BaseMessage]:
        """The chat messages of one pairwise call, `first` labelled A and `second` B."""
        blocks = self._pairwise_blocks
        user = self._pairwise_prompt.render_user(
            case=_render_case(blocks, case),
            reply_a=_render_reply(blocks, first, label="A"),
            reply_b=_render_reply(blocks, second, label="B"),
        )
        return [SystemMessage(content=self._pairwise_prompt.system), HumanMessage(content=user)]

    def score(self, case: Case, suggestion: Suggestion) -> JudgeScore:
        """Grade one reply on the rubric; JudgeError when no valid verdict comes back."""
        verdict = self._ask(
            self._rubric_chain, self.rubric_messages(case, suggestion), RubricVerdict
        )
        grades = {name: getattr(verdict, name) for name in CRITERIA}
        scores: dict[str, int] = {name: grade.score for name, grade in grades.items()}
        return JudgeScore(
            scores=scores,
            reasons={name: grade.reason for name, grade in grades.items()},
            overall=fmean(scores.values()),
        )

    def prefer(self, case: Case, a: Suggestion, b: Suggestion) -> PairwiseResult:
        """Compare a and b in both orders; only a win in both counts, else tie or inconsistent."""
        one = self._ask(self._pairwise_chain, self.pairwise_messages(case, a, b), PairVerdict)
        two = self._ask(self._pairwise_chain, self.pairwise_messages(case, b, a), PairVerdict)
        first, second = _AS_SHOWN[one.winner], _SWAPPED[two.winner]
        return PairwiseResult(
            winner=first if first == second else "inconsistent",
            first=first,
            second=second,
            reasons=[f"(A is a, B is b) {one.reason}", f"(A is b, B is a) {two.reason}"],
        )

    def _chain(
        self, schema: type[_Verdict], prompt: PromptTemplate
    ) -> Runnable[LanguageModelInput, Any]:
        settings = self._settings
        # An endpoint without auth (vLLM, Ollama) still needs a key string; never let the client
        # fall back to an OPENAI_API_KEY from the environment and send it to a third-party URL.
        api_key = settings.llm_api_key or pydantic.SecretStr("no-key")
        chat = ChatOpenAI(
            model=self._model,
            base_url=settings.llm_base_url,
            api_key=api_key,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=_temperature(prompt),
            use_responses_api=False,
        )
        # The schema goes as a plain JSON schema, not the pydantic class: with the class the
        # client parses inside the call and a bad verdict raises without the model's text, which
        # the error must show. The verdict is validated here, strictly, from the raw answer.
        return chat.with_structured_output(
            schema.model_json_schema(), method="json_schema", include_raw=True, strict=True
        )

    def _ask(
        self, chain: Runnable[LanguageModelInput, Any], messages: list[BaseMessage], schema: type[V]
    ) -> V:
        what = f"{schema.__name__} from {self._model}"
        try:
            answer: Mapping[str, Any] = chain.invoke(messages)
        except openai.APITimeoutError as exc:
            raise JudgeError(
                f"judge: timeout after {self._settings.llm_timeout_s} s, {attempts(self._attempts)}"
            ) from exc
        except openai.APIConnectionError as exc:
            raise JudgeError(
                f"judge: cannot connect to {self._base_url} ({cause(exc)}), "
                f"{attempts(self._attempts)}"
            ) from exc
        except openai.APIStatusError as exc:
            tries = self._attempts if retried(exc.status_code) else 1
            raise JudgeError(
                f"judge: HTTP {exc.status_code} after {attempts(tries)}: {api_message(exc)}"
            ) from exc
        except openai.LengthFinishReasonError as exc:
            text = _completion_text(exc.completion)
            raise JudgeError(
                f"judge: unusable {what}: cut off at the token limit; the model said: "
                f"{short(text, 300)!r}",
                raw=text,
            ) from exc
        except openai.OpenAIError as exc:
            raise JudgeError(f"judge: unusable {what}: {short(exc)}") from exc

        text = _text(answer.get("raw"))
        if not text.strip():
            # A refusal or an empty answer: the parser's complaint says which.
            problem = answer.get("parsing_error")
            why = f" ({short(problem)})" if problem is not None else ""
            raise JudgeError(f"judge: unusable {what}: the model answered no text{why}")
        try:
            return schema.model_validate_json(_unfenced(text))
        except pydantic.ValidationError as exc:
            raise JudgeError(
                f"judge: unusable {what}: {validation_summary(exc)}; the model said: "
                f"{short(text, 300)!r}",
                raw=text,
            ) from exc


def summarise(scores: list[JudgeScore]) -> dict[str, float | int | None]:
    """Mean of each criterion and of overall over the judged cases, with judged/error counts."""
    judged = [s for s in scores if s.error is None and s.overall is not None]
    summary: dict[str, float | int | None] = {}
    for name in CRITERIA:
        values = [s.scores[name] for s in judged if name in s.scores]
        summary[name] = fmean(values) if values else None
    overall = [s.overall for s in judged if s.overall is not None]
    summary["overall"] = fmean(overall) if overall else None
    summary["judged"] = len(judged)
    summary["errors"] = sum(1 for s in scores if s.error is not None)
    return summary


# ---------------------------------------------------------------------------- rendering
def _render_case(blocks: Mapping[str, str], case: Case) -> str:
    customer = [m for m in case.messages if m.role is Role.customer]
    messages = "\n".join(
        blocks["message"].format(n=i, text=data_block(m.text))
        for i, m in enumerate(customer, start=1)
    )
    return blocks["case"].format(
        product=ident(case.product or ""),
        priority=ident(case.priority.value),
        subject=data_block(case.subject),
        description=data_block(case.description),
        messages=messages or blocks["empty"],
    )


def _render_reply(blocks: Mapping[str, str], suggestion: Suggestion, label: str = "") -> str:
    resolution = suggestion.resolution
    steps = "\n".join(
        blocks["step"].format(n=i, text=data_block(step.text))
        for i, step in enumerate(resolution.steps, start=1)
    )
    cited = [*resolution.citations, *(c for step in resolution.steps for c in step.citations)]
    values = "\n".join(
        blocks["value"].format(
            n=i,
            type=ident(value.type.value),
            headline=data_block(value.headline),
            message=data_block(value.message),
            rationale=data_block(value.rationale),
            evidence=_quotes(blocks, value.citations),
        )
        for i, value in enumerate(suggestion.value_suggestions, start=1)
    )
    return blocks["reply"].format(
        label=ident(label),
        hold=data_block(suggestion.hold.reason) if suggestion.hold else blocks["empty"],
        summary=data_block(resolution.summary),
        steps=steps or blocks["empty"],
        evidence=_quotes(blocks, cited),
        values=values or blocks["empty"],
    )


def _quotes(blocks: Mapping[str, str], citations: Iterable[Citation]) -> str:
    # Steps often cite the chunk the summary cites: show each quote once.
    unique = {(c.chunk_id, c.quote): c for c in citations}
    rendered = [
        blocks["quote"].format(
            chunk_id=ident(c.chunk_id),
            article_id=ident(c.article_id),
            title=data_block(c.title),
            quote=data_block(c.quote),
        )
        for c in unique.values()
    ]
    return "\n".join(rendered) or blocks["empty"]


# ---------------------------------------------------------------------------- checks
def _checked_blocks(prompt: PromptTemplate, user_fields: set[str]) -> dict[str, str]:
    blocks = checked_templates(prompt, "blocks", BLOCK_FIELDS)
    # A user template that leaves out the reply would still be answered, with a meaningless grade.
    if prompt.placeholders != user_fields:
        raise ConfigError(
            f"prompt {prompt.id} {prompt.version} ({prompt.path}): the user template must use "
            f"exactly the fields {sorted(user_fields)}; it uses {sorted(prompt.placeholders)}"
        )
    _temperature(prompt)
    return blocks


def _temperature(prompt: PromptTemplate) -> float | None:
    value = prompt.extra.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise ConfigError(
            f"prompt {prompt.id} {prompt.version} ({prompt.path}): temperature must be a "
            f"number from 0 to 2, not {value!r}"
        )
    return float(value)


# ---------------------------------------------------------------------------- answers
def _text(message: object) -> str:
    text = getattr(message, "text", None)
    return text if isinstance(text, str) else ""


def _completion_text(completion: Any) -> str:
    try:
        content = completion.choices[0].message.content
    except (AttributeError, IndexError):
        return ""
    return content if isinstance(content, str) else ""


def _unfenced(text: str) -> str:
    # Servers without constrained decoding sometimes wrap the JSON in a Markdown code fence.
    text = text.strip()
    match = _FENCE.match(text)
    return match.group(1) if match else text
