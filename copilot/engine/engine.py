"""The engine: a live case in, a grounded resolution and value suggestions out."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from copilot.catalog import Catalog
from copilot.domain import (
    Alternative,
    Article,
    ArticleKind,
    Audience,
    Case,
    Citation,
    ExpansionSignal,
    Hold,
    MilestoneStatus,
    Objective,
    ObjectiveStatus,
    Resolution,
    ResolutionStep,
    Stage,
    SuccessPlan,
    Suggestion,
    SuggestionMeta,
    SuggestionType,
    ValueSuggestion,
)
from copilot.embeddings import Embedder, Vectors
from copilot.engine.analysis import Analysis, Phrases, analyse
from copilot.engine.entitlement import (
    CANDIDATES,
    ExpansionCandidate,
    expansion_candidates,
    expansion_probability,
)
from copilot.llm.base import (
    CaseText,
    EvidenceChunk,
    GenerationOutput,
    GenerationRequest,
    GenerationResult,
    Generator,
    Opportunity,
)
from copilot.llm.extractive import plain
from copilot.llm.redact import redact
from copilot.retrieval.filters import SearchFilters
from copilot.retrieval.search import ArticleHit, Retriever
from copilot.store.sql import SqlStore

NO_ANSWER = "No grounded answer: nothing in the knowledge base matches this case closely enough."
_NUMBERED = re.compile(r"^\s*\d+\.\s+", re.MULTILINE)
# Which moves fit which stage of the value exchange best (DESIGN.md): a multiplier on relevance.
STAGE_WEIGHTS: dict[Stage, dict[SuggestionType, float]] = {
    Stage.onboarding: {
        SuggestionType.anticipate_needs: 1.2,
        SuggestionType.achieve_goal: 1.1,
        SuggestionType.validate_purchase: 1.1,
    },
    Stage.learning: {SuggestionType.achieve_goal: 1.15, SuggestionType.educate_better_use: 1.1},
    Stage.understanding: {
        SuggestionType.educate_better_use: 1.15,
        SuggestionType.achieve_goal: 1.1,
    },
    Stage.action: {SuggestionType.achieve_goal: 1.15, SuggestionType.anticipate_needs: 1.1},
    Stage.proficiency: {
        SuggestionType.advise_new_use: 1.15,
        SuggestionType.educate_better_use: 1.1,
    },
    Stage.adoption: {SuggestionType.advise_new_use: 1.2, SuggestionType.validate_purchase: 1.05},
}


@dataclass(frozen=True)
class EngineConfig:
    """Thresholds of the engine (cosine similarities of all-MiniLM-L6-v2 unless noted)."""

    resolution_kinds: tuple[ArticleKind, ...] = (
        ArticleKind.troubleshooting,
        ArticleKind.how_to,
        ArticleKind.faq,
    )
    min_resolution_similarity: float = 0.35
    workaround_similarity: float = 0.7
    habit_similarity: float = 0.34  # for a sentence in habitual terms (analysis.HABIT)
    goal_similarity: float = 0.45
    topic_similarity: float = 0.45
    intent_similarity: float = 0.52  # a value proof's fit to the purchase intent, with bonus
    capability_margin: float = 0.1  # how much closer a release/practice/proof must be
    intent_feature_bonus: float = 0.1  # per objective feature a value proof covers
    release_margin: float = 0.15  # how far below the best answer's similarity a release may be
    release_window_days: int = 270
    renewal_window_days: int = 60
    max_suggestions: int = 3
    # logistic weights (bias, similarity, margin) of the resolution's confidence, fitted with
    # `copilot eval calibrate` on the dev splits of the sample suite and StackFAQ
    confidence_weights: tuple[float, float, float] = (-3.315, 7.18, 12.649)
    # per type, logistic weights (bias, score) of a value suggestion's confidence: the chance
    # that a move of that type with that match score is one a reviewer would make (fitted with
    # `copilot eval calibrate`); moves are ranked by it. A type not listed keeps its score.
    value_weights: tuple[tuple[str, float, float], ...] = (
        ("achieve_goal", -0.723, 3.587),
        ("advise_new_use", 0.92, 0.857),
        ("anticipate_needs", 1.066, 0.77),
        ("educate_better_use", 0.259, 2.249),
        ("validate_purchase", 2.33, 1.862),
    )
    resolution_candidates: int = 5  # articles retrieved for the resolution (the best is used)
    # the hold model: logistic weights (bias, then one per analysis.HOLD_FEATURES) of the chance
    # that a reviewer would hold value talk on this case; held at 0.5 or more. Fitted with
    # `copilot eval calibrate` on the dev splits of the three sample companies.
    # the expansion model: logistic weights (bias, then one per entitlement.EXPANSION_FEATURES)
    # of the chance that a reviewer would tell the success manager of a capability beyond the
    # plan, and the chance above which it is signalled; fitted with `copilot eval calibrate` on
    # the dev splits of the three sample companies.
    expansion_weights: tuple[float, ...] = (
        -5.576,
        1.11,
        3.584,
        1.325,
        2.185,
        2.891,
        1.41,
        -0.871,
        0.469,
        0.687,
        -0.326,
        -0.966,
        0.932,
    )
    expansion_threshold: float = 0.8
    hold_weights: tuple[float, ...] = (
        -3.818,
        2.205,
        3.591,
        0.0,
        0.08,
        0.865,
        0.0,
        1.605,
        4.609,
        6.534,
    )
    today: dt.date | None = None  # None: the real date (evaluation suites pin it)


@dataclass
class Candidate:
    """A value opportunity before drafting: its type, evidence and why it fits."""

    type: SuggestionType
    article: Article
    score: float
    facts: dict[str, str]
    objective_id: str | None = None
    confidence: float = 0.0  # the calibrated chance that the move is right (set by _rank)


@dataclass
class Evidence:
    """Every chunk the drafts may cite, by id."""

    chunks: dict[str, EvidenceChunk] = field(default_factory=dict)

    def add(self, chunks: Iterable[EvidenceChunk]) -> list[EvidenceChunk]:
        out = []
        for chunk in chunks:
            self.chunks.setdefault(chunk.chunk_id, chunk)
            out.append(chunk)
        return out


@dataclass
class Trace:
    """What the engine looked at for one case: for evaluation and debugging, not the contract."""

    analysis: Analysis | None = None
    resolution_hits: list[ArticleHit] = field(default_factory=list)
    grounded: bool = False
    evidence: dict[str, EvidenceChunk] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)  # every value opportunity found
    chosen: list[Candidate] = field(default_factory=list)  # the ones drafted, best first
    expansion_candidates: list[ExpansionCandidate] = field(default_factory=list)


class Engine:
    """Builds a Suggestion for a case from the knowledge base and the success plan."""

    def __init__(
        self,
        retriever: Retriever,
        store: SqlStore,
        embedder: Embedder,
        generator: Generator,
        catalog: Catalog | None = None,
        config: EngineConfig | None = None,
        phrases: Phrases | None = None,
    ) -> None:
        self.retriever = retriever
        self.store = store
        self.embedder = embedder
        self.generator = generator
        self.catalog = catalog
        self.config = config or EngineConfig()
        self.phrases = phrases
        self._workarounds: tuple[str | None, list[Article], Vectors | None] = (None, [], None)
        self._text_cache: dict[str, Vectors] = {}

    # ------------------------------------------------------------------ entry point
    def suggest(self, case: Case, trace: Trace | None = None) -> Suggestion:
        """The resolution, up to three value suggestions, expansion signals and any hold."""
        final: Suggestion | None = None
        for event in self.stream(case, trace):
            if isinstance(event, Suggestion):
                final = event
        assert final is not None  # stream() always ends with the Suggestion
        return final

    def stream(
        self, case: Case, trace: Trace | None = None
    ) -> Iterator[Resolution | Hold | ValueSuggestion | Suggestion]:
        """The grounded resolution as soon as it is drafted, the hold when value talk must wait,
        then each value suggestion (marked held when it must), then the whole Suggestion. A
        `trace` is filled with what was retrieved and considered."""
        trace = trace if trace is not None else Trace()
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round(timings.get(stage, 0.0) + (now - clock) * 1000, 2)
            clock = now

        plan = self.store.get_plan(case.account_id) if case.account_id else None
        analysis = analyse(case, plan, self.phrases)
        objectives = [
            o for o in (plan.objectives if plan else []) if o.status is not ObjectiveStatus.achieved
        ]
        intent = plan.purchase_intent if plan and plan.purchase_intent else None
        vectors = self.embedder.embed([analysis.query, *analysis.sentences])
        query_vec = vectors[0]
        sentence_vecs = vectors[1:]
        plan_vecs = self._plan_vectors(
            [*(o.statement for o in objectives), *([intent] if intent else [])]
        )
        objective_vecs = plan_vecs[: len(objectives)]
        intent_vec = plan_vecs[-1] if intent else None
        lap("analyse")

        evidence = Evidence(trace.evidence)
        hits, grounded = self._resolve(analysis, query_vec, plan)
        trace.analysis, trace.resolution_hits, trace.grounded = analysis, hits, grounded
        resolution_evidence = evidence.add(self._hit_evidence(hits[:1])) if grounded else []
        lap("resolve")

        case_text = CaseText(
            subject=redact(case.subject),
            description=redact(case.description),
            messages=[redact(m.text) for m in case.messages][-3:],
            customer_name=plan.name if plan else None,
            product=analysis.product,
        )
        results: list[GenerationResult] = []
        dropped = 0
        resolution = Resolution(summary=NO_ANSWER, confidence=0.0)
        if grounded:
            request = GenerationRequest(case=case_text, resolution_evidence=resolution_evidence)
            results.append(self.generator.generate(request))
            lap("generate")
            resolution, _, dropped = self._ground(
                results[-1].output, request, evidence, grounded, hits, []
            )
            lap("ground")
        resolution.alternatives = _alternatives(hits, grounded)
        yield resolution

        candidates = self._educate(analysis, plan, sentence_vecs)
        if plan is not None:
            best_answer = (hits[0].dense_score or 0.0) if grounded else 0.0
            candidates += self._advise(analysis, plan, query_vec, best_answer)
            candidates += self._achieve(
                analysis,
                plan,
                objectives,
                objective_vecs,
                query_vec,
                sentence_vecs,
                hits[0].article if grounded else None,
            )
            if intent_vec is not None:
                candidates += self._validate(analysis, plan, intent_vec, case)
        if grounded:
            candidates += self._anticipate(analysis, plan, hits[0].article, query_vec)
        trace.candidates = list(candidates)
        chosen = self._rank(candidates, plan)
        trace.chosen = chosen
        signals = self._expansion(analysis, plan, query_vec, trace)
        reason = analysis.hold_reason(self.config.hold_weights)
        hold = Hold(reason=reason) if reason else None
        lap("opportunities")
        if hold is not None:
            yield hold

        values: list[ValueSuggestion] = []
        if chosen:
            opportunities = [
                Opportunity(
                    type=c.type,
                    evidence=evidence.add(self._article_evidence(c.article)),
                    facts=c.facts,
                    objective_id=c.objective_id,
                )
                for c in chosen
            ]
            request = GenerationRequest(case=case_text, opportunities=opportunities)
            results.append(self.generator.generate(request))
            lap("generate")
            _, values, more = self._ground(results[-1].output, request, evidence, False, [], chosen)
            dropped += more
            if hold is not None:
                values = [v.model_copy(update={"held": True}) for v in values]
            lap("ground")
            yield from values

        timings["total"] = round((time.perf_counter() - started) * 1000, 2)
        notes = [note for r in results for note in r.notes]
        if dropped:
            notes.append(f"grounding check dropped {dropped} draft(s) citing unretrieved text")
        if analysis.set_aside:
            notes.append(
                f"set aside {len(analysis.set_aside)} instruction-like sentence(s) in "
                "the case: treated as data, not used"
            )
        if plan is None:
            notes.append(
                "no success plan for this account: only plan-independent suggestions"
                if case.account_id
                else "no account on the case: plan-independent suggestions only"
            )
        last = results[-1] if results else None
        yield Suggestion(
            suggestion_id=f"sg-{uuid.uuid4().hex[:16]}",
            case_id=case.case_id,
            resolution=resolution,
            value_suggestions=values,
            expansion_signals=signals,
            hold=hold,
            meta=SuggestionMeta(
                mode=last.mode if last else self.generator.mode,
                model=last.model if last else None,
                prompt_id=last.prompt_id if last else None,
                prompt_version=last.prompt_version if last else None,
                index_version=self.retriever.index_version,
                latency_ms=timings,
                notes=notes,
            ),
        )

    def _plan_vectors(self, texts: list[str]) -> Vectors:
        """Embeddings of success-plan texts, which repeat across an account's cases: cached."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            for text, vec in zip(missing, self.embedder.embed(missing), strict=True):
                self._text_cache[text] = vec
            while len(self._text_cache) > 4096:
                self._text_cache.pop(next(iter(self._text_cache)))
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._text_cache[t] for t in texts])

    # ------------------------------------------------------------------ resolution
    def _filters(self, analysis: Analysis, *kinds: ArticleKind, tier: bool = True) -> SearchFilters:
        return SearchFilters(
            product=analysis.product,
            plan=analysis.plan_tier if tier else None,
            kinds=kinds,
            audience=Audience.customer,
        )

    def _resolve(
        self, analysis: Analysis, query_vec: Vectors, plan: SuccessPlan | None
    ) -> tuple[list[ArticleHit], bool]:
        # An article on a feature the account may not use never answers its case, whatever the
        # tier says (and without a plan, only articles for every tier may).
        hits = [
            h
            for h in self.retriever.search(
                analysis.query,
                self._filters(analysis, *self.config.resolution_kinds),
                k=self.config.resolution_candidates * 3,
                vector=query_vec,
            ).hits
            if not self._not_entitled(h.article, plan, analysis.plan_tier)
        ][: self.config.resolution_candidates]
        plans = self._capability_answer(analysis, query_vec, hits)
        if plans is not None:
            hits = [plans, *(h for h in hits if h.article.id != plans.article.id)]
            hits = hits[: self.config.resolution_candidates]
        grounded = bool(hits) and (hits[0].dense_score or 0.0) >= (
            self.config.min_resolution_similarity
        )
        return hits, grounded

    def _capability_answer(
        self, analysis: Analysis, query_vec: Vectors, hits: list[ArticleHit]
    ) -> ArticleHit | None:
        """The product's plans article, when the case asks what the product can do.

        A case whose closest articles are releases, best practices or value proofs, clearly
        closer than any troubleshooting, how-to or FAQ, is about a capability rather than a
        problem; the answer of record is the article comparing the plans (named in the
        catalog), which says which plan has it.
        """
        if self.catalog is None or analysis.product is None:
            return None
        plans_id = self.catalog.plans_article(analysis.product)
        article = self.retriever.article(plans_id) if plans_id else None
        if article is None or not article.served or article.audience is not Audience.customer:
            return None
        other_kinds = tuple(
            k
            for k in (ArticleKind.release_note, ArticleKind.best_practice, ArticleKind.value_proof)
            if k not in self.config.resolution_kinds
        )
        others = self.retriever.search(
            analysis.query,
            self._filters(analysis, *other_kinds, tier=False),
            k=1,
            vector=query_vec,
            neighbours=0,
        ).hits
        best_answer = (hits[0].dense_score or 0.0) if hits else 0.0
        if not others or (others[0].dense_score or 0.0) - best_answer < (
            self.config.capability_margin
        ):
            return None
        found = next((h for h in hits if h.article.id == article.id), None)
        if found is None:
            faqs = self.retriever.search(
                analysis.query, self._filters(analysis, article.kind), k=10, vector=query_vec
            ).hits
            found = next((h for h in faqs if h.article.id == article.id), None)
        if found is None:
            chunks = self.retriever.article_chunks(article.id)
            if not chunks:
                return None
            found = ArticleHit(article, 0.0, chunks[0], chunks[1:2], dense_score=best_answer)
        # Grounded as firmly as the capability it answers for.
        found.dense_score = max(found.dense_score or 0.0, others[0].dense_score or 0.0)
        return found

    # ------------------------------------------------------------------ evidence
    def _chunk_evidence(self, article: Article, chunk_ids: Iterable[str]) -> list[EvidenceChunk]:
        out = []
        for chunk_id in chunk_ids:
            stored = self.retriever.chunk(chunk_id)
            if stored is None:
                continue
            c = stored.chunk
            out.append(
                EvidenceChunk(
                    chunk_id=c.chunk_id,
                    article_id=article.id,
                    title=article.title,
                    url=article.url,
                    kind=article.kind.value,
                    audience=article.audience.value,
                    section=list(c.section),
                    text=c.text,
                )
            )
        return out

    def _hit_evidence(self, hits: list[ArticleHit]) -> list[EvidenceChunk]:
        out: list[EvidenceChunk] = []
        for hit in hits:
            ordered = sorted([hit.best_chunk, *hit.neighbours], key=lambda c: c.ord)
            out += self._chunk_evidence(hit.article, [c.chunk_id for c in ordered])
        return out

    def _article_evidence(self, article: Article) -> list[EvidenceChunk]:
        """The intro chunk and the first chunk with numbered steps of an article."""
        chunks = self.retriever.article_chunks(article.id)
        if not chunks:
            return []
        picked = [chunks[0]]
        steps = next((c for c in chunks if _NUMBERED.search(c.text)), None)
        if steps is not None and steps is not chunks[0]:
            picked.append(steps)
        return self._chunk_evidence(article, [c.chunk_id for c in picked])

    # ------------------------------------------------------------------ entitlement
    def _not_entitled(
        self, article: Article, plan: SuccessPlan | None, tier: str | None
    ) -> list[str]:
        """Features of the article the account may not use ([] when entitled)."""
        if plan is None:
            # Without a plan only articles for every tier are safe to suggest.
            return [] if article.plans is None else list(article.features) or ["(higher tier)"]
        known = self.catalog.all_features() if self.catalog else None
        missing = [
            f for f in article.features if (known is None or f in known) and not plan.entitled(f)
        ]
        if tier is not None and not article.applies_to_plan(tier) and not missing:
            missing = list(article.features) or [f"({'/'.join(article.plans or [])} tier)"]
        return missing

    def _expansion(
        self, analysis: Analysis, plan: SuccessPlan | None, query_vec: Vectors, trace: Trace
    ) -> list[ExpansionSignal]:
        """Capabilities the case calls for beyond the plan, that the expansion model would
        hand to the success manager, likeliest first (at most three)."""
        if plan is None:
            return []  # without a plan there is no account to expand, only unknown entitlements
        hits = self.retriever.search(
            analysis.query,
            SearchFilters(product=analysis.product, audience=Audience.customer),
            k=CANDIDATES,
            vector=query_vec,
        ).hits
        candidates = expansion_candidates(
            hits,
            lambda a: self._not_entitled(a, plan, analysis.plan_tier),
            analysis.customer_text,
        )
        trace.expansion_candidates = candidates
        scored = [
            (expansion_probability(c.features, self.config.expansion_weights), c)
            for c in candidates
        ]
        chosen = sorted(
            (pc for pc in scored if pc[0] >= self.config.expansion_threshold),
            key=lambda pc: -pc[0],
        )[:3]
        return [self._signal(c.article, c.feature, p) for p, c in chosen]

    def _signal(self, article: Article, feature: str, probability: float) -> ExpansionSignal:
        tier = None
        if self.catalog:
            tier = next(
                (t for p in article.products if (t := self.catalog.lowest_tier_with(p, feature))),
                None,
            )
        needs = f" (needs {tier})" if tier else ""
        return ExpansionSignal(
            feature=feature,
            article_id=article.id,
            reason=(
                f"the case matches '{article.title}' ({article.kind.value.replace('_', ' ')}), "
                f"which needs {feature}; the plan does not include it{needs} "
                f"(likelihood {probability:.0%})"
            ),
        )

    # ------------------------------------------------------------------ the five moves
    def _published_best_practices(self) -> tuple[list[Article], Vectors | None]:
        version = self.retriever.index_version
        if self._workarounds[0] != version or self._workarounds[1] == []:
            articles = [
                a
                for a in self.store.list_articles(status="published")
                if a.kind is ArticleKind.best_practice
                and a.workaround
                and a.audience is Audience.customer
            ]
            vecs = self.embedder.embed([a.workaround or "" for a in articles]) if articles else None
            self._workarounds = (version, articles, vecs)
        return self._workarounds[1], self._workarounds[2]

    def _educate(
        self,
        analysis: Analysis,
        plan: SuccessPlan | None,
        sentence_vecs: Vectors,
    ) -> list[Candidate]:
        """A workaround in the case that a best practice replaces."""
        articles, vecs = self._published_best_practices()
        # A habit takes a clause to describe: headings and short subjects are not evidence.
        usable = [i for i, s in enumerate(analysis.sentences) if len(s.split()) >= 5]
        if vecs is None or not usable:
            return []
        sims = np.full((len(analysis.sentences), len(articles)), -1.0, dtype=np.float32)
        sims[usable] = sentence_vecs[usable] @ vecs.T  # sentences x workarounds
        other_product = [
            j
            for j, a in enumerate(articles)
            if analysis.product and analysis.product not in a.products
        ]
        sims[:, other_product] = -1.0
        # A sentence describes one habit: only its closest workaround may claim it, so a
        # weaker match cannot stand in for a best practice the plan does not include.
        closest = sims.max(axis=1, keepdims=True)
        sims[sims < closest] = -1.0
        # A sentence in habitual terms ("we still...", "every Monday I...") needs less
        # similarity to name a habit than one that may only mention the same things.
        bars = np.array(
            [
                self.config.habit_similarity
                if s in analysis.habit_sentences
                else self.config.workaround_similarity
                for s in analysis.sentences
            ],
            dtype=np.float32,
        )
        sims[sims < bars[:, None]] = -1.0
        out: list[Candidate] = []
        for j, article in enumerate(articles):
            i = int(np.argmax(sims[:, j]))
            score = float(sims[i, j])
            if score < 0:
                continue
            if self._not_entitled(article, plan, analysis.plan_tier):
                continue  # beyond the plan: an expansion signal's business, never a reply
            out.append(
                Candidate(
                    SuggestionType.educate_better_use,
                    article,
                    score,
                    {
                        "workaround": article.workaround or "",
                        "customer_said": analysis.sentences[i],
                        "practice": article.title,
                    },
                )
            )
        return out

    def _advise(
        self,
        analysis: Analysis,
        plan: SuccessPlan,
        query_vec: Vectors,
        best_answer: float = 0.0,
    ) -> list[Candidate]:
        """A recent release for an owned product, entitled and not yet adopted."""
        today = self.config.today or dt.date.today()
        hits = self.retriever.search(
            analysis.query,
            self._filters(analysis, ArticleKind.release_note, tier=False),
            k=5,
            vector=query_vec,
        ).hits
        out: list[Candidate] = []
        for hit in hits:
            article = hit.article
            if not any(p.product in article.products for p in plan.products):
                continue
            if article.released and (today - article.released).days > (
                self.config.release_window_days
            ):
                continue
            relevance = hit.dense_score or 0.0
            # A release only loosely related to a case that an article answers squarely would
            # distract: it must be about as close to the case as the best answer.
            if relevance < max(
                self.config.topic_similarity, best_answer - self.config.release_margin
            ):
                continue
            if article.features and all(f in plan.adopted_features for f in article.features):
                continue
            if self._not_entitled(article, plan, analysis.plan_tier):
                continue
            out.append(
                Candidate(
                    SuggestionType.advise_new_use,
                    article,
                    relevance,
                    {
                        "release": article.title,
                        "released": article.released.isoformat() if article.released else "",
                        "stage": plan.stage.value,
                    },
                )
            )
        return out[:1]

    def _achieve(
        self,
        analysis: Analysis,
        plan: SuccessPlan,
        objectives: list[Objective],
        objective_vecs: Vectors,
        query_vec: Vectors,
        sentence_vecs: Vectors,
        resolved: Article | None,
    ) -> list[Candidate]:
        """An open objective the case is about, and the how-to for its features.

        The case is about an objective when it is close to the case (or to one of its
        sentences) and either the resolution's article works on the objective's features or the
        customer states the goal. Being merely close in wording is not enough: most cases of an
        account sound like its objectives.
        """
        if not objectives:
            return []
        # A goal sentence often leans on the one before ("... takes all Sunday. We want it
        # under an hour."): each is read together with its predecessor.
        goal_rows = [i for i, s in enumerate(analysis.sentences) if s in analysis.goal_sentences]
        goal_vecs = (
            self._plan_vectors(
                [" ".join(analysis.sentences[max(0, i - 1) : i + 1]) for i in goal_rows]
            )
            if goal_rows
            else None
        )
        resolved_features = set(resolved.features) if resolved is not None else set()
        best: tuple[float, int] | None = None
        for i, vec in enumerate(objective_vecs):
            score = float(vec @ query_vec)
            if len(sentence_vecs):
                score = max(score, float(np.max(sentence_vecs @ vec)))
            stated = goal_vecs is not None and float(np.max(goal_vecs @ vec)) >= (
                self.config.goal_similarity
            )
            if not (stated or resolved_features & set(objectives[i].features)):
                continue
            if best is None or score > best[0]:
                best = (score, i)
        if best is None or best[0] < self.config.goal_similarity:
            return []
        objective = objectives[best[1]]
        hits = self.retriever.search(
            objective.statement,
            self._filters(analysis, ArticleKind.how_to, tier=False),
            k=5,
            vector=objective_vecs[best[1]],
        ).hits
        if objective.features:  # the how-to must work on the objective's own features
            hits = [h for h in hits if set(h.article.features) & set(objective.features)]
        hits.sort(key=lambda h: (-len(set(h.article.features) & set(objective.features)), -h.score))
        for hit in hits:
            if self._not_entitled(hit.article, plan, analysis.plan_tier):
                continue
            return [
                Candidate(
                    SuggestionType.achieve_goal,
                    hit.article,
                    best[0],
                    {
                        "objective": objective.statement,
                        "kpi": str(objective.kpi or ""),
                        "target": str(objective.target or ""),
                        "status": objective.status.value,
                    },
                    objective_id=objective.id,
                )
            ]
        return []

    def _validate(
        self, analysis: Analysis, plan: SuccessPlan, intent_vec: Vectors, case: Case
    ) -> list[Candidate]:
        """Proof that what they bought delivers on why they bought it."""
        today = self.config.today or dt.date.today()
        early = plan.stage in (Stage.onboarding, Stage.learning, Stage.understanding)
        renewing = any(
            p.renewal and 0 <= (p.renewal - today).days <= (self.config.renewal_window_days)
            for p in plan.products
        )
        doubt = analysis.doubt
        if not (early or renewing or doubt):
            return []
        hits = self.retriever.search(
            plan.purchase_intent or "",
            self._filters(analysis, ArticleKind.value_proof),
            k=5,
            vector=intent_vec,
        ).hits
        # The plan's objectives say in features what the intent says in words: a proof about
        # the features they bought it to reach speaks to the intent.
        goals = {f for o in plan.objectives for f in o.features}

        def fit(hit: ArticleHit) -> float:
            shared = len(set(hit.article.features) & goals)
            return (hit.dense_score or 0.0) + self.config.intent_feature_bonus * shared

        for hit in sorted(hits, key=lambda h: -fit(h)):
            if fit(hit) < self.config.intent_similarity:
                continue
            if self._not_entitled(hit.article, plan, analysis.plan_tier):
                continue  # proof built on features they lack would sell, not reassure
            why = (
                "renewal is near"
                if renewing
                else ("the customer doubts the value" if doubt else f"{plan.stage.value} stage")
            )
            return [
                Candidate(
                    SuggestionType.validate_purchase,
                    hit.article,
                    float(hit.dense_score or 0.0),
                    {
                        "purchase_intent": plan.purchase_intent or "",
                        "why_now": why,
                        "stage": plan.stage.value,
                    },
                )
            ]
        return []

    def _anticipate(
        self, analysis: Analysis, plan: SuccessPlan | None, resolved: Article, query_vec: Vectors
    ) -> list[Candidate]:
        """The next step after this resolution, fitted to the next milestone."""
        milestone = None
        if plan is not None:
            upcoming = [
                m
                for m in plan.milestones
                if m.status in (MilestoneStatus.planned, MilestoneStatus.in_progress)
            ]
            upcoming.sort(key=lambda m: m.due or dt.date.max)
            milestone = upcoming[0] if upcoming else None
        nexts = [
            a
            for rid in resolved.related
            if (a := self.retriever.article(rid)) is not None
            and a.served
            and a.audience is Audience.customer
            and (analysis.product is None or analysis.product in a.products)
            and a.kind
            in (ArticleKind.how_to, ArticleKind.best_practice, ArticleKind.troubleshooting)
        ]
        nexts = [a for a in nexts if not self._not_entitled(a, plan, analysis.plan_tier)]
        if plan is not None:
            nexts = [
                a
                for a in nexts
                if not a.features or not all(f in plan.adopted_features for f in a.features)
            ]
        if not nexts:
            return []
        out = []
        # Every qualifying next step, in the order the article lists them: when the first is
        # already another move's evidence, the ranking offers the next one instead.
        for n, article in enumerate(nexts):
            facts = {"after": resolved.title, "next": article.title}
            if milestone is not None:
                facts["milestone"] = milestone.name
                facts["due"] = milestone.due.isoformat() if milestone.due else ""
            if plan is not None:
                facts["stage"] = plan.stage.value
            out.append(Candidate(SuggestionType.anticipate_needs, article, 0.5 - 0.01 * n, facts))
        return out

    def _rank(self, candidates: list[Candidate], plan: SuccessPlan | None) -> list[Candidate]:
        """Up to N of distinct types and distinct articles, weighted for the stage, best first.

        Each move's match score is weighted for the stage and turned into its calibrated
        confidence. Of the sets that fit the most moves, the one with the highest total
        confidence: an article that two moves could cite goes to the move that has no other
        evidence.
        """
        weights = STAGE_WEIGHTS.get(plan.stage, {}) if plan else {}
        for c in candidates:
            c.score *= weights.get(c.type, 1.0)
            c.confidence = value_confidence(c.type, c.score, self.config.value_weights)
        ranked = sorted(candidates, key=lambda c: -c.confidence)
        # the best few per type are enough to find the best set
        pool = [c for t in SuggestionType for c in [x for x in ranked if x.type is t][:3]]
        best: tuple[int, float, tuple[Candidate, ...]] = (0, 0.0, ())
        for size in range(min(self.config.max_suggestions, len(pool)), 0, -1):
            for combo in itertools.combinations(pool, size):
                if len({c.type for c in combo}) < size or len({c.article.id for c in combo}) < size:
                    continue
                total = sum(c.confidence for c in combo)
                if (size, total) > best[:2]:
                    best = (size, total, combo)
            if best[0]:
                break
        return sorted(best[2], key=lambda c: -c.confidence)

    # ------------------------------------------------------------------ grounding
    def _ground(
        self,
        output: GenerationOutput,
        request: GenerationRequest,
        evidence: Evidence,
        grounded: bool,
        hits: list[ArticleHit],
        chosen: list[Candidate],
    ) -> tuple[Resolution, list[ValueSuggestion], int]:
        """Keep only drafts whose every citation is retrieved, customer-safe evidence."""
        dropped = 0

        def citations(chunk_ids: list[str]) -> list[Citation] | None:
            out: list[Citation] = []
            for cid in chunk_ids:
                chunk = evidence.chunks.get(cid)
                if chunk is None or chunk.audience != Audience.customer.value:
                    return None
                article = self.retriever.article(chunk.article_id)
                if article is None or not article.served:
                    return None
                out.append(
                    Citation(
                        article_id=chunk.article_id,
                        chunk_id=cid,
                        title=chunk.title,
                        url=chunk.url,
                        quote=_quote(chunk.text),
                    )
                )
            return out

        resolution = Resolution(summary=NO_ANSWER, confidence=0.0)
        if grounded and output.resolution is not None:
            steps = []
            for step in output.resolution.steps:
                cited = citations(step.chunk_ids)
                if cited is None or not cited:
                    dropped += 1
                    continue
                steps.append(ResolutionStep(text=step.text, citations=cited))
            cited_all = citations(output.resolution.chunk_ids) or []
            if steps or cited_all:
                seen: dict[str, Citation] = {}
                for c in [*cited_all, *(c for s in steps for c in s.citations)]:
                    seen.setdefault(c.chunk_id, c)
                resolution = Resolution(
                    summary=output.resolution.summary,
                    steps=steps,
                    citations=list(seen.values()),
                    confidence=_confidence(hits, self.config.confidence_weights),
                )
        allowed = {o.type: o for o in request.opportunities}
        values: list[ValueSuggestion] = []
        for draft in output.values:
            opportunity = allowed.get(draft.type)
            cited = citations(draft.chunk_ids)
            if (
                opportunity is None
                or not cited
                or any(c.chunk_id not in {e.chunk_id for e in opportunity.evidence} for c in cited)
            ):
                dropped += 1
                continue
            candidate = next(c for c in chosen if c.type is draft.type)
            values.append(
                ValueSuggestion(
                    id=f"vs-{uuid.uuid4().hex[:12]}",
                    type=draft.type,
                    headline=draft.headline,
                    message=draft.message,
                    rationale=draft.rationale,
                    citations=cited,
                    confidence=round(min(0.99, max(0.01, candidate.confidence)), 3),
                    objective_id=opportunity.objective_id,
                )
            )
            allowed.pop(draft.type)
        return resolution, values, dropped


def _alternatives(hits: list[ArticleHit], grounded: bool) -> list[Alternative]:
    """The other articles retrieved for the resolution, best first: below the cited answer, or
    all of them when there is no grounded answer (the agent may still open them)."""
    rest = hits[1:] if grounded else hits
    return [
        Alternative(
            article_id=h.article.id,
            title=h.article.title,
            url=h.article.url,
            passage=_quote(plain(h.best_chunk.text)),
            score=round(h.score, 4),
        )
        for h in rest[:4]
    ]


def _quote(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def confidence_features(hits: list[ArticleHit]) -> tuple[float, float]:
    """The best answer's similarity to the case, and its margin over the runner-up."""
    if not hits:
        return 0.0, 0.0
    top = hits[0].dense_score or 0.0
    second = (hits[1].dense_score or 0.0) if len(hits) > 1 else 0.0
    return top, top - second


def _confidence(hits: list[ArticleHit], weights: tuple[float, float, float]) -> float:
    """Probability that the top article answers the case: a logistic of its similarity and its
    margin, with weights fitted on labelled cases (`copilot eval calibrate`)."""
    if not hits:
        return 0.0
    top, margin = confidence_features(hits)
    bias, w_top, w_margin = weights
    z = bias + w_top * top + w_margin * margin
    return round(float(1.0 / (1.0 + np.exp(-z))), 3)


def value_confidence(
    kind: SuggestionType, score: float, weights: tuple[tuple[str, float, float], ...]
) -> float:
    """The chance that a move of this type and match score is right: a logistic of the score
    with the type's fitted weights, or the score itself for a type without weights."""
    for name, bias, weight in weights:
        if name == kind.value:
            return float(1.0 / (1.0 + np.exp(-(bias + weight * score))))
    return score
