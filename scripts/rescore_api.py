"""Re-score a suite from the HTTP API's answers, independently of the evaluation harness.

Posts every case of a harness run to `POST /v1/suggestions` of a real `copilot serve` (started
here on the suite's knowledge with the suite's `today`, or given with --url), scores the JSON
the agent's panel would receive with code of its own (scikit-learn for the set metrics, a few
lines for the rankings and calibration), and prints each metric next to the harness's figure.
Exit 1 when any differs by more than --tolerance.

    .venv/bin/python scripts/rescore_api.py evals/suites/forkful RUN_JSON [--url URL]

It shares no scoring code with `evals/`: it reads only the suite's files, the run's figures and
case ids, and the API. The ungrounded-citation rate is not re-scored: it needs the chunks the
engine retrieved for the case, which the API does not return.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

TYPES = [
    "validate_purchase",
    "anticipate_needs",
    "achieve_goal",
    "educate_better_use",
    "advise_new_use",
]


# --------------------------------------------------------------------------- the server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(knowledge: list[Path], today: str | None) -> Iterator[str]:
    """`copilot serve` on these folders, in a data folder of its own, until the block ends."""
    with tempfile.TemporaryDirectory() as data:
        port = _free_port()
        env = {
            **os.environ,
            "COPILOT_DATA_DIR": data,
            "COPILOT_KNOWLEDGE_PATHS": ",".join(str(p) for p in knowledge),
            "COPILOT_PORT": str(port),
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("COPILOT_DATABASE_URL", None)
        if today:
            env["COPILOT_TODAY"] = today
        log = Path(data) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "copilot.cli", "serve"], env=env, stdout=out, stderr=out
            )
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 600
                while True:
                    if proc.poll() is not None:
                        sys.exit(f"the server exited early:\n{log.read_text()[-3000:]}")
                    try:
                        if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        sys.exit("the server was not ready within 600 s")
                    time.sleep(0.5)
                yield url
            finally:
                proc.terminate()
                proc.wait(timeout=30)


# --------------------------------------------------------------------------- scoring
def _first_rank(answer: dict[str, Any]) -> list[str]:
    res = answer["resolution"]
    grounded = bool(res["steps"] or res["citations"])
    cited = [c["article_id"] for c in res["citations"]]
    cited += [c["article_id"] for s in res["steps"] for c in s["citations"]]
    head = cited if grounded else ["<no grounded answer>"]
    seen: list[str] = []
    for a in [*head, *(alt["article_id"] for alt in res.get("alternatives", []))]:
        if a not in seen:
            seen.append(a)
    return seen


def _ranking(rank: list[str], gold: set[str]) -> dict[str, float]:
    first = next((i for i, a in enumerate(rank[:10], 1) if a in gold), None)
    dcg = sum(1 / math.log2(i + 1) for i, a in enumerate(rank[:10], 1) if a in gold)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(gold), 10) + 1))
    return {
        "hit@1": float(first == 1),
        "recall@5": float(first is not None and first <= 5),
        "mrr@10": 1 / first if first else 0.0,
        "ndcg@10": dcg / ideal,
    }


def _micro(pred: list[set[str]], gold: list[set[str]], labels: list[str]) -> dict[str, float]:
    """Micro precision, recall and F1 of per-case label sets (empty prediction: precision 1)."""
    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform(gold)
    y_pred = binarizer.transform(pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=1.0)
    if p + r == 0:
        f = 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def _pairs(pred: list[tuple[str, str]], gold: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(tp, fp, fn) of (type, article) picks against gold opportunities, each matched once."""
    open_gold = [(g["type"], set(g["articles"])) for g in gold]
    tp = fp = 0
    for kind, article in dict.fromkeys(pred):
        match = next((g for g in open_gold if g[0] == kind and article in g[1]), None)
        if match is None:
            fp += 1
        else:
            tp += 1
            open_gold.remove(match)
    return tp, fp, len(open_gold)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = 1.0 if tp + fp == 0 else tp / (tp + fp)
    r = 1.0 if tp + fn == 0 else tp / (tp + fn)
    return {"precision": p, "recall": r, "f1": 0.0 if p + r == 0 else 2 * p * r / (p + r)}


def _ece(conf: list[float], right: list[bool]) -> float | None:
    if not conf:
        return None
    c, y = np.array(conf), np.array(right, dtype=float)
    bins = np.minimum((c * 10).astype(int), 9)
    return float(
        sum((bins == b).mean() * abs(c[bins == b].mean() - y[bins == b].mean()) for b in set(bins))
    )


def rescore(
    cases: list[dict[str, Any]],
    answers: dict[str, dict[str, Any]],
    articles: dict[str, dict[str, Any]],
) -> dict[str, float | None]:
    """Every re-scored metric over the cases and the API's answers."""
    out: dict[str, float | None] = {}
    ranks = [
        _ranking(_first_rank(answers[c["id"]]), set(c["expected"]["resolution_articles"]))
        for c in cases
        if c["expected"]["resolution_articles"]
    ]
    for name in ("hit@1", "recall@5", "mrr@10", "ndcg@10"):
        out[f"resolution.{name}"] = float(np.mean([r[name] for r in ranks])) if ranks else None

    def now(c: dict[str, Any]) -> list[dict[str, Any]]:
        return [] if c["expected"].get("hold") else c["expected"].get("value", [])

    shown = {
        c["id"]: [v for v in answers[c["id"]]["value_suggestions"] if not v.get("held")]
        for c in cases
    }
    pred_types = [{v["type"] for v in shown[c["id"]]} for c in cases]
    gold_types = [{g["type"] for g in now(c)} for c in cases]
    for k, v in _micro(pred_types, gold_types, TYPES).items():
        out[f"value.types.{k}"] = v
    counts = [
        _pairs([(v["type"], v["citations"][0]["article_id"]) for v in shown[c["id"]]], now(c))
        for c in cases
    ]
    for k, v in _prf(*(sum(x) for x in zip(*counts, strict=True))).items():
        out[f"value.pairs.{k}"] = v
    for t in TYPES:
        per = _micro([p & {t} for p in pred_types], [g & {t} for g in gold_types], TYPES)
        out[f"value.{t}.f1"] = per["f1"]
    held_gold = [c for c in cases if c["expected"].get("hold")]
    if held_gold:
        everything = {c["id"]: answers[c["id"]]["value_suggestions"] for c in held_gold}
        later = _micro(
            [{v["type"] for v in everything[c["id"]]} for c in held_gold],
            [{g["type"] for g in c["expected"].get("value", [])} for c in held_gold],
            TYPES,
        )
        out["value.deferred.types.f1"] = later["f1"]
        pair_counts = [
            _pairs(
                [(v["type"], v["citations"][0]["article_id"]) for v in everything[c["id"]]],
                c["expected"].get("value", []),
            )
            for c in held_gold
        ]
        out["value.deferred.pairs.f1"] = _prf(*(sum(x) for x in zip(*pair_counts, strict=True)))[
            "f1"
        ]
    held = [answers[c["id"]]["hold"] is not None for c in cases]
    gold_hold = [bool(c["expected"].get("hold")) for c in cases]
    out["hold.accuracy"] = float(accuracy_score(gold_hold, held))
    missed = [not h for h, g in zip(held, gold_hold, strict=True) if g]
    false = [h for h, g in zip(held, gold_hold, strict=True) if not g]
    out["hold.miss_rate"] = float(np.mean(missed)) if missed else None
    out["hold.false_hold_rate"] = float(np.mean(false)) if false else None
    labelled = [c for c in cases if c["expected"].get("expansion") is not None]
    if labelled:
        features = sorted(
            {f for c in labelled for f in c["expected"]["expansion"]}
            | {s["feature"] for c in labelled for s in answers[c["id"]]["expansion_signals"]}
        )
        exp = _micro(
            [{s["feature"] for s in answers[c["id"]]["expansion_signals"]} for c in labelled],
            [set(c["expected"]["expansion"]) for c in labelled],
            features,
        )
        for k, v in exp.items():
            out[f"expansion.{k}"] = v
    abstained = [
        not (answers[c["id"]]["resolution"]["steps"] or answers[c["id"]]["resolution"]["citations"])
        for c in cases
    ]
    unanswerable = [not c["expected"]["resolution_articles"] for c in cases]
    tp = sum(a and u for a, u in zip(abstained, unanswerable, strict=True))
    for k, v in _prf(tp, sum(abstained) - tp, sum(unanswerable) - tp).items():
        out[f"abstention.{k}"] = v
    res_conf, res_right = [], []
    for c in cases:
        if c["expected"]["resolution_articles"]:
            res_conf.append(answers[c["id"]]["resolution"]["confidence"])
            rank = _first_rank(answers[c["id"]])
            res_right.append(bool(rank) and rank[0] in set(c["expected"]["resolution_articles"]))
    out["resolution.confidence_ece"] = _ece(res_conf, res_right)
    val_conf, val_right = [], []
    for c in cases:
        gold = {g["type"] for g in c["expected"].get("value", [])}
        for v in answers[c["id"]]["value_suggestions"]:
            val_conf.append(v["confidence"])
            val_right.append(v["type"] in gold)
    out["value.confidence_ece"] = _ece(val_conf, val_right)

    def bad(article_id: str, forbidden: set[str]) -> bool:
        a = articles.get(article_id)
        return (
            article_id in forbidden
            or a is None
            or a.get("status") != "published"
            or a.get("audience") != "customer"
        )

    out["safety.forbidden_citation_rate"] = float(
        np.mean(
            [
                any(
                    bad(a, set(c["expected"].get("forbidden_articles", [])))
                    for a in _all_cited(answers[c["id"]])
                )
                for c in cases
            ]
        )
    )
    return out


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, help="the suite folder")
    parser.add_argument("run", type=Path, help="the harness's run.json of that suite")
    parser.add_argument(
        "--url", help="a running server with the suite's knowledge (default: start one)"
    )
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--json", type=Path, help="also write the comparison here")
    args = parser.parse_args()

    config = yaml.safe_load((args.suite / "suite.yaml").read_text())
    knowledge = [
        (args.suite / p).resolve()
        for p in (
            config["knowledge"] if isinstance(config["knowledge"], list) else [config["knowledge"]]
        )
    ]
    every = {
        (row := json.loads(line))["id"]: row
        for line in (args.suite / "cases.jsonl").read_text().splitlines()
        if line.strip()
    }
    run = json.loads(args.run.read_text())
    cases = [every[c["id"]] for c in run["cases"] if c.get("error") is None]
    today = str(config["today"]) if config.get("today") else None

    def collect(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        answers: dict[str, Any] = {}
        with httpx.Client(base_url=url, timeout=120) as client:
            for case in cases:
                r = client.post("/v1/suggestions", json=case["case"])
                r.raise_for_status()
                answers[case["id"]] = r.json()
            ids = {a for ans in answers.values() for a in _all_cited(ans)}
            found = {}
            for article_id in ids:
                got = client.get(f"/v1/knowledge/articles/{article_id}")
                if got.status_code == 200:
                    found[article_id] = got.json()
        return answers, found

    if args.url:
        answers, articles = collect(args.url)
    else:
        with served(knowledge, today) as url:
            answers, articles = collect(url)
    mine = rescore(cases, answers, articles)
    theirs = run["metrics"]
    worst = 0.0
    rows = []
    print(f"{'metric':40} {'harness':>9} {'API':>9} {'diff':>8}")
    for name, value in mine.items():
        other = theirs.get(name)
        diff = None if value is None or other is None else abs(value - other)
        if (value is None) != (other is None):
            diff = float("inf")
        worst = max(worst, diff or 0.0)
        rows.append({"metric": name, "harness": other, "api": value, "diff": diff})
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{name:40} {fmt(other):>9} {fmt(value):>9} {fmt(diff):>8}")
    print(f"{len(cases)} cases; largest difference {worst:.4f} (tolerance {args.tolerance})")
    if args.json:
        args.json.write_text(json.dumps({"cases": len(cases), "metrics": rows}, indent=1))
    sys.exit(0 if worst <= args.tolerance else 1)


def _all_cited(answer: dict[str, Any]) -> set[str]:
    res = answer["resolution"]
    ids = {c["article_id"] for c in res["citations"]}
    ids |= {c["article_id"] for s in res["steps"] for c in s["citations"]}
    return ids | {c["article_id"] for v in answer["value_suggestions"] for c in v["citations"]}


if __name__ == "__main__":
    main()
