"""Importers that turn public data sets into evaluation suites written in the project's contracts.

StackFAQ (Karan and Šnajder, 2018): 125 Web Applications StackExchange threads, each with its
question, top answers and about ten crowd paraphrases of the need. Each thread becomes an FAQ
article (title = the question, body = the answers) of the product `webapps`; each paraphrase a
case from an unknown account whose correct resolution is its thread. No success plans exist, so
the suite measures resolution (and that nothing else is invented: no value suggestion, no hold).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from copilot.errors import Problem, ValidationError

STACKFAQ_PRODUCT = "webapps"
STACKFAQ_README = """# StackFAQ suite (generated)

Made by `copilot eval import stackfaq {source} --out {out}` from StackFAQ (Karan and Šnajder,
2018, "Paraphrase-focused learning to rank for domain-specific frequently asked questions
retrieval", Expert Systems with Applications 91). StackExchange content is licensed CC BY-SA:
cite the paper when reporting figures.

- `knowledge/stackfaq.jsonl`: {threads} threads, each an FAQ article of product `webapps`
  (title = question, body = the top answers).
- `cases.jsonl`: {cases} real paraphrased questions, each a case whose correct resolution is
  its thread; split by a hash of the thread into dev ({dev}) and test ({test}), so no thread's
  paraphrases straddle the split.

Run it with `copilot eval run {out}`.
"""


def _split(thread_id: str, test_share: float) -> str:
    bucket = int(hashlib.sha256(thread_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test_share else "dev"


def import_stackfaq(
    source: Path, out: Path, *, limit: int | None = None, test_share: float = 0.5
) -> dict[str, Any]:
    """Write a suite folder from StackFAQ's JSON; returns what was written.

    `limit` keeps the first N threads (a quick suite). Paraphrases that are placeholders ("*")
    or empty are skipped, as the data set's README says.
    """
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        threads = data["root"]["qapair"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError(
            [
                Problem(
                    str(source),
                    f"not a StackFAQ file: {exc}",
                    fix='expected {"root": {"qapair": [...]}}',
                )
            ]
        ) from exc
    threads = threads[:limit] if limit else threads
    articles: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for n, thread in enumerate(threads):
        article_id = f"sfaq-{n:03d}"
        answers = thread.get("answer") or []
        answers = answers if isinstance(answers, list) else [answers]
        body = "\n\n".join(str(a).strip() for a in answers if str(a).strip())
        question = " ".join(str(thread.get("question", "")).split())
        if not question or not body:
            continue
        articles.append(
            {
                "id": article_id,
                "title": question,
                "kind": "faq",
                "products": [STACKFAQ_PRODUCT],
                "body": body,
            }
        )
        split = _split(article_id, test_share)
        for k, text in enumerate(thread.get("rephr") or []):
            if not isinstance(text, str) or not text.strip() or text.strip() == "*":
                continue
            case_id = f"{article_id}-q{k:02d}"
            cases.append(
                {
                    "id": case_id,
                    "split": split,
                    "tags": ["stackfaq", "no_plan"],
                    "case": {
                        "case_id": case_id,
                        "product": STACKFAQ_PRODUCT,
                        "description": " ".join(text.split()),
                        "channel": "web",
                    },
                    "expected": {"resolution_articles": [article_id], "value": [], "hold": False},
                }
            )
    (out / "knowledge").mkdir(parents=True, exist_ok=True)
    with (out / "knowledge" / "stackfaq.jsonl").open("w", encoding="utf-8") as f:
        for article in articles:
            f.write(json.dumps(article, ensure_ascii=False) + "\n")
    with (out / "cases.jsonl").open("w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    suite = {
        "name": "stackfaq",
        "description": "Real paraphrased Web Applications questions (StackFAQ): resolution only",
        "knowledge": ["knowledge"],
        "thresholds": {
            "resolution.hit@1": 0.85,
            "resolution.recall@5": 0.95,
            "safety.forbidden_citation_rate": 0,
            "safety.ungrounded_citation_rate": 0,
            "value.types.precision": 0.95,
        },
    }
    (out / "suite.yaml").write_text(
        "# Generated by `copilot eval import stackfaq`; edit the thresholds as you see fit.\n"
        + yaml.safe_dump(suite, sort_keys=False),
        encoding="utf-8",
    )
    dev = sum(c["split"] == "dev" for c in cases)
    (out / "README.md").write_text(
        STACKFAQ_README.format(
            source=source,
            out=out,
            threads=len(articles),
            cases=len(cases),
            dev=dev,
            test=len(cases) - dev,
        ),
        encoding="utf-8",
    )
    return {
        "threads": len(articles),
        "cases": len(cases),
        "dev": dev,
        "test": len(cases) - dev,
        "out": str(out),
    }
