"""Heading-aware chunking within a token budget (langchain-text-splitters)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_text_splitters import (
    MarkdownHeaderTextSplitter,
    RecursiveCharacterTextSplitter,
    TextSplitter,
)

from copilot.domain import Article, Chunk

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


def load_tokenizer(model_path: Path) -> Any:
    """The embedder's tokenizer alone (much faster to load than the model)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    # It only counts tokens here; long sections are split before they reach the model.
    tokenizer.model_max_length = 1_000_000
    return tokenizer


class Chunker:
    """Splits an article on its headings, then packs each section into token-bounded chunks."""

    def __init__(
        self, tokenizer_factory: Callable[[], Any], chunk_size: int = 200, chunk_overlap: int = 32
    ) -> None:
        self._tokenizer_factory = tokenizer_factory
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._headers = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)

    @cached_property
    def tokenizer(self) -> Any:
        """Loaded on first use, so unchanged re-ingests never load it."""
        return self._tokenizer_factory()

    @cached_property
    def _splitter(self) -> TextSplitter:
        return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
            self.tokenizer, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the embedder sees for this text."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def chunk(self, article: Article) -> list[Chunk]:
        """The article's chunks in reading order, each with its title and section path."""
        chunks: list[Chunk] = []
        for section in self._headers.split_text(article.body):
            path = [str(section.metadata[key]) for _, key in _HEADERS if key in section.metadata]
            # A leading H1 that repeats the title adds nothing to the path.
            if path and path[0].strip().lower() == article.title.strip().lower():
                path = path[1:]
            for piece in self._splitter.split_text(section.page_content):
                text = piece.strip()
                if not text:
                    continue
                ord_ = len(chunks)
                digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
                chunks.append(
                    Chunk(
                        chunk_id=f"{article.id}::{ord_:03d}-{digest}",
                        article_id=article.id,
                        ord=ord_,
                        text=text,
                        title=article.title,
                        section=path,
                        token_count=self.count_tokens(text),
                    )
                )
        return chunks
