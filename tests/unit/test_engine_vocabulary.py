"""The engine knows no company: no catalog product name, product slug or feature slug of any
sample company appears in the engine's or the generators' code, prompts or phrase lists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "copilot" / "engine", ROOT / "copilot" / "llm"]


def vocabulary() -> set[str]:
    terms: set[str] = set()
    catalogs = sorted((ROOT / "knowledge").glob("*/catalog.yaml"))
    assert len(catalogs) >= 3, "the sample companies' catalogs are missing"
    for path in catalogs:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for slug, product in data["products"].items():
            terms |= {slug, product["name"]}
            for features in product["plans"].values():
                terms |= set(features)
            terms |= set(product.get("addons") or {})
    return terms


def occurrences(text: str, terms: set[str]) -> list[str]:
    found = []
    for term in sorted(terms):
        words = re.escape(term).replace(r"\_", "[_ ]").replace("_", "[_ ]")
        if re.search(rf"(?<![\w]){words}(?![\w])", text, re.IGNORECASE):
            found.append(term)
    return found


def test_no_company_vocabulary_in_the_engine() -> None:
    terms = vocabulary()
    files = [p for folder in SCANNED for p in folder.rglob("*") if p.suffix in (".py", ".yaml")]
    assert files
    hits = {
        str(p.relative_to(ROOT)): found
        for p in files
        if (found := occurrences(p.read_text(encoding="utf-8"), terms))
    }
    assert hits == {}, f"company vocabulary in engine code: {hits}"


def test_the_check_would_catch_a_product_name() -> None:
    assert "ledgerly" in occurrences("not sure (?:it|this|ledgerly)", vocabulary())
    assert occurrences("the bank sync is down", {"bank_sync"}) == ["bank_sync"]
