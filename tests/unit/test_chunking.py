"""Chunks keep their title and section path, fit the embedder's token budget, have stable ids,
and lose no text. Uses the real tokenizer (the session `chunker`), never the model."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.domain import Article
from ingest.chunking import Chunker
from tests.factories import make_article

BUDGET = 200  # the session chunker's chunk_size


def article(**overrides: Any) -> Article:
    return Article.model_validate(make_article(**overrides))


def long_paragraph(topic: str, sentences: int = 60) -> str:
    return " ".join(
        f"Step {n} of the {topic} procedure checks the ledger entry and records the result."
        for n in range(sentences)
    )


def measured(chunker: Chunker, text: str) -> int:
    """Tokens of text by the tokenizer itself, independent of Chunk.token_count."""
    return len(chunker.tokenizer.encode(text, add_special_tokens=False))


def test_chunks_keep_the_title_and_the_h2_section(chunker: Chunker) -> None:
    chunks = chunker.chunk(article())

    assert [c.section for c in chunks] == [[], ["Check the connection"], ["If it still fails"]]
    assert {c.title for c in chunks} == {"Bank feed stopped importing"}
    assert chunks[1].text.startswith("1. Go to **Banking > Accounts**")
    assert chunks[1].embed_text.startswith("Bank feed stopped importing > Check the connection\n\n")


def test_section_path_nests_h3_under_h2_and_drops_an_h1_repeating_the_title(
    chunker: Chunker,
) -> None:
    body = (
        "# Bank feed stopped importing\n\nIntro text.\n\n"
        "## Reconnect\n\nReconnect the account.\n\n"
        "### On mobile\n\nOpen the app and tap Reconnect.\n\n"
        "### On the web\n\nOpen Banking and select Reconnect.\n\n"
        "## Contact support\n\nSend the error code.\n"
    )

    chunks = chunker.chunk(article(body=body))

    assert [(c.section, c.text) for c in chunks] == [
        ([], "Intro text."),
        (["Reconnect"], "Reconnect the account."),
        (["Reconnect", "On mobile"], "Open the app and tap Reconnect."),
        (["Reconnect", "On the web"], "Open Banking and select Reconnect."),
        (["Contact support"], "Send the error code."),
    ]
    assert chunks[2].embed_text.startswith("Bank feed stopped importing > Reconnect > On mobile")


def test_h1_that_differs_from_the_title_stays_in_the_path(chunker: Chunker) -> None:
    chunks = chunker.chunk(article(body="# Overview\n\n## Setup\n\nDo this.\n"))

    assert [c.section for c in chunks] == [["Overview", "Setup"]]


def test_chunks_stay_within_the_token_budget_of_the_same_tokenizer(chunker: Chunker) -> None:
    body = f"{long_paragraph('close')}\n\n## Reconcile\n\n{long_paragraph('reconcile')}\n"

    chunks = chunker.chunk(article(body=body))

    assert len(chunks) > 4  # the budget forced splits
    for chunk in chunks:
        assert chunk.token_count == measured(chunker, chunk.text)
        assert chunk.token_count <= BUDGET
    assert {tuple(c.section) for c in chunks} == {(), ("Reconcile",)}


def test_chunks_are_numbered_in_reading_order(chunker: Chunker) -> None:
    chunks = chunker.chunk(article(body=long_paragraph("close")))

    assert [c.ord for c in chunks] == list(range(len(chunks)))
    assert all(c.article_id == "kb-9001" for c in chunks)
    assert chunks[0].text.startswith("Step 0 of the close procedure")


def test_chunk_ids_are_stable_across_runs_and_chunkers(chunker: Chunker) -> None:
    again = Chunker(lambda: chunker.tokenizer, BUDGET, chunker.chunk_overlap)

    first = [c.chunk_id for c in chunker.chunk(article())]

    assert first == [c.chunk_id for c in chunker.chunk(article())]
    assert first == [c.chunk_id for c in again.chunk(article())]
    assert len(set(first)) == len(first)
    assert all(cid.startswith("kb-9001::") for cid in first)


def test_chunk_id_changes_when_its_text_changes_and_only_then(chunker: Chunker) -> None:
    original = chunker.chunk(article())
    edited_body = make_article()["body"].replace("BF-102", "BF-205")

    edited = chunker.chunk(article(body=edited_body))

    assert [c.chunk_id for c in edited[:-1]] == [c.chunk_id for c in original[:-1]]
    assert edited[-1].chunk_id != original[-1].chunk_id
    assert edited[-1].ord == original[-1].ord


def test_empty_sections_produce_no_chunks(chunker: Chunker) -> None:
    chunks = chunker.chunk(article(body="## Empty\n\n## Full\n\nSome text.\n"))

    assert [(c.section, c.text) for c in chunks] == [(["Full"], "Some text.")]


# --------------------------------------------------------------------------- property
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=14)
paragraphs = st.lists(words, min_size=1, max_size=150).map(" ".join)
headings = st.tuples(
    st.integers(min_value=1, max_value=3), st.lists(words, min_size=1, max_size=4).map(" ".join)
)
sections = st.tuples(st.none() | headings, st.lists(paragraphs, min_size=1, max_size=4))
bodies = st.lists(sections, min_size=1, max_size=5)


def render(body: list[tuple[tuple[int, str] | None, list[str]]]) -> str:
    blocks: list[str] = []
    for heading, paras in body:
        if heading is not None:
            level, text = heading
            blocks.append(f"{'#' * level} {text}")
        blocks.extend(paras)
    return "\n\n".join(blocks) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_property_chunks_fit_the_budget_and_lose_no_text(
    chunker: Chunker, body: list[tuple[tuple[int, str] | None, list[str]]]
) -> None:
    # The title cannot collide with a generated heading (those have no capitals or '-').
    chunks = chunker.chunk(article(title="Generated-Article", body=render(body)))

    for chunk in chunks:
        assert measured(chunker, chunk.text) <= BUDGET
    body_words = Counter(w for _, paras in body for p in paras for w in p.split())
    chunk_words = Counter(w for c in chunks for w in c.text.split())
    assert not body_words - chunk_words, "words of the body are missing from every chunk"
    path_words = {w for c in chunks for part in c.section for w in part.split()}
    heading_words = {w for heading, _ in body if heading for w in heading[1].split()}
    assert heading_words <= path_words
