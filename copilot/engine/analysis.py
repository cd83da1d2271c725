"""Case analysis: what the customer needs, how they feel, what habits and goals they mention."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from copilot.domain import Case, Priority, Role, SuccessPlan

# Phrases that signal frustration or escalation; each hit adds to the score.
_FRUSTRATION = re.compile(
    r"\b(frustrat\w*|unacceptable|ridiculous|furious|angry|fed up|sick of|waste of (?:my |our )?"
    r"time|third time|fourth time|again and again|still (?:not|broken|waiting)|no one has|"
    r"nobody has|escalat\w*|speak to (?:a |your )?manager|cancel (?:our|my) (?:account|"
    r"subscription|plan)|(?:third|fourth|fifth|sixth) (?:message|email|request|follow[- ]?up|"
    r"call)|any update(?=\?)|hello(?=\?)|refund|terrible|awful|worst|disappointed|useless|"
    r"lost (?:a |the )?(?:client|customer|deal))\b",
    re.IGNORECASE,
)
_OUTAGE = re.compile(
    r"\b(outage|is down|are down|went down|completely down|not loading for anyone|"
    r"(?:sync|feeds?|app|site|system|service|server|platform|everything|all sites) down|"
    r"nobody can (?:log ?in|sign in|access)|no one can (?:log ?in|sign in|access)|service "
    r"unavailable|status page|data loss|lost (?:all )?(?:our |my )?data|data (?:is|has) "
    r"(?:gone|disappeared|missing)|(?:records|invoices|transactions|timesheets|shifts) "
    r"(?:have |has )?(?:disappeared|vanished|been deleted|gone missing)|deleted everything|"
    r"(?:receipts|records|invoices|bills|payments|transactions|timesheets|shifts|schedules?|"
    r"rotas?|punches|entries|reports|data|history|files) (?:is |are |have |has |were )?(?:all )?"
    r"(?:gone|vanished|disappeared|been deleted|"
    r"been wiped)|wiped|corrupt\w*)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_GOAL = re.compile(
    r"\b(we want to|we'd like to|we would like to|i want to|i'd like to|our goal|my goal|"
    r"we're trying to|we are trying to|i'm trying to|hoping to|aiming to|we need to be able to|"
    r"so that we can|target is)\b",
    re.IGNORECASE,
)

# Habitual wording: how customers describe a routine they have settled into (a workaround).
_HABIT = re.compile(
    r"\b(still|usually|always|normally|typically|(?:every|each) (?:single |other )?\w+|by hand|"
    r"manually|(?:we|i)'ve been|(?:has|have) been|for now|in the meantime|currently|"
    r"(?:right now|today|at the moment),? (?:we|i|our|my|the)|we just|we keep|i keep|end up|"
    r"ends up|instead we|so we|workaround)\b",
    re.IGNORECASE,
)

# Text addressed to a model rather than to support: it is data, never instructions, and it
# must not steer retrieval either, so such sentences are set aside before analysis.
_INJECTION = re.compile(
    r"\b(ignore|disregard|override)\b[^.!?\n]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines)\b|\byou are now\b|\b(system|developer) prompt\b|\b(admin|developer|god|"
    r"jailbreak) mode\b|\bnew instructions\b|\bact as (?:an? )?(?:ai|assistant|model|"
    r"system)\b|<\s*/?\s*(system|instructions?)\s*>",
    re.IGNORECASE,
)
_PIECES = re.compile(r"(?<=[.!?])\s+|\n+")

FRUSTRATION_HOLD_SCORE = 2


def set_aside_instructions(text: str) -> tuple[str, list[str]]:
    """The text without sentences that try to instruct a model, and those sentences."""
    kept: list[str] = []
    removed: list[str] = []
    for piece in _PIECES.split(text):
        (removed if _INJECTION.search(piece) else kept).append(piece)
    return " ".join(p for p in kept if p.strip()), [r.strip() for r in removed if r.strip()]


@dataclass
class Analysis:
    """What the engine knows about a case before retrieving anything."""

    query: str
    customer_text: str
    sentences: list[str]
    product: str | None
    plan_tier: str | None
    frustration_score: int
    frustration_signals: list[str] = field(default_factory=list)
    outage_signals: list[str] = field(default_factory=list)
    goal_sentences: list[str] = field(default_factory=list)
    habit_sentences: list[str] = field(default_factory=list)
    repeated_contacts: int = 0
    set_aside: list[str] = field(default_factory=list)

    @property
    def hold_reason(self) -> str | None:
        """Why value suggestions must wait for the resolution, or None."""
        if self.outage_signals:
            return (
                f"the case is about an outage or data loss ({self.outage_signals[0]!r}): "
                "resolve it before suggesting anything else"
            )
        if self.frustration_score >= FRUSTRATION_HOLD_SCORE:
            shown = ", ".join(repr(s) for s in self.frustration_signals[:3])
            return f"the customer is frustrated or escalating ({shown}): land the resolution first"
        return None


def analyse(case: Case, plan: SuccessPlan | None) -> Analysis:
    """Build the retrieval query and read the case's signals."""
    set_aside: list[str] = []

    def clean(text: str) -> str:
        kept, removed = set_aside_instructions(text)
        set_aside.extend(removed)
        return kept

    subject, description = clean(case.subject), clean(case.description)
    customer = [clean(m.text) for m in case.messages if m.role is Role.customer]
    latest = customer[-3:]
    query = "\n".join(part for part in (subject, description, *latest) if part.strip())
    customer_text = "\n".join(part for part in (subject, description, *customer) if part)
    sentences = [s.strip() for s in _SENTENCE.split(customer_text) if len(s.strip()) > 12]

    product = case.product
    if product is None and plan is not None and len(plan.products) == 1:
        product = plan.products[0].product
    tier = plan.plan_for(product) if plan is not None and product else None

    frustration = [m.group(0) for m in _FRUSTRATION.finditer(customer_text)]
    score = len(frustration)
    shouting = re.findall(r"\b[A-Z]{4,}\b", customer_text)
    if len(shouting) >= 2 or "!!" in customer_text:
        frustration.append("shouting")
        score += 1
    repeated = max(0, len(customer) - 2)
    if repeated >= 2:  # four or more customer messages: chasing, not conversing
        frustration.append(f"{len(customer)} customer messages")
        score += FRUSTRATION_HOLD_SCORE
    if case.priority is Priority.urgent:
        frustration.append("urgent priority")
        score += 2
    elif case.priority is Priority.high:
        frustration.append("high priority")
        score += 1
    outage = [m.group(0) for m in _OUTAGE.finditer(customer_text)]
    goals = [s for s in sentences if _GOAL.search(s)]
    habits = [s for s in sentences if _HABIT.search(s)]
    return Analysis(
        query=query,
        customer_text=customer_text,
        sentences=sentences,
        product=product,
        plan_tier=tier,
        frustration_score=score,
        frustration_signals=frustration,
        outage_signals=outage,
        goal_sentences=goals,
        habit_sentences=habits,
        repeated_contacts=repeated,
        set_aside=set_aside,
    )
