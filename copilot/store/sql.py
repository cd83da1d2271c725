"""SQLAlchemy store: the same code on SQLite (default) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from copilot.domain import Article, Case, Chunk, SuccessPlan, Suggestion
from copilot.errors import UpstreamUnavailable


class Base(DeclarativeBase):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the full Article, JSON form
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ChunkRow(Base):
    __tablename__ = "chunks"

    chunk_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    article_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    ord: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    section: Mapped[list[str]] = mapped_column(JSON)
    token_count: Mapped[int] = mapped_column(Integer)


class PlanRow(Base):
    __tablename__ = "success_plans"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SuggestionRow(Base):
    __tablename__ = "suggestions"

    suggestion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(128), index=True)
    account_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    product: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                    index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SuggestionCaseRow(Base):
    """The case a suggestion answered: turns agents' feedback into evaluation cases."""

    __tablename__ = "suggestion_cases"

    suggestion_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("suggestions.suggestion_id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class FeedbackRow(Base):
    __tablename__ = "suggestion_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("suggestions.suggestion_id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[str] = mapped_column(String(64))  # a value suggestion id, or "resolution"
    item_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    final_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)  # the citation clicked
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    product: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


class StateRow(Base):
    __tablename__ = "index_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class FeedbackEvent:
    """One agent action on one item of a stored suggestion."""

    item_id: str
    item_type: str
    event: str
    final_text: str | None
    reason: str | None
    agent_id: str | None
    at: dt.datetime
    url: str | None = None


@dataclass(frozen=True)
class StoredSuggestion:
    """A suggestion as it was returned, with the case it answered and when."""

    suggestion: Suggestion
    case: Case | None
    created_at: dt.datetime


# Columns added after the first release: (table, column, SQL type). create_all() makes missing
# tables only, so an older database gets these added in place.
_ADDED_COLUMNS = (("suggestion_feedback", "url", "TEXT"),)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk together with the metadata of its article, as the retrievers index it."""

    chunk: Chunk
    article: Article


def _event_of(row: FeedbackRow) -> FeedbackEvent:
    return FeedbackEvent(item_id=row.item_id, item_type=row.item_type, event=row.event,
                         final_text=row.final_text, reason=row.reason, agent_id=row.agent_id,
                         at=row.at, url=row.url)


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    is_sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": not is_sqlite}
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


class SqlStore:
    """Articles, chunks, success plans and index state in one relational database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        """Connect and create the tables if they are missing."""
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        store = cls(make_engine(url))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        """Create missing tables and columns (idempotent)."""
        Base.metadata.create_all(self.engine)
        inspector = inspect(self.engine)
        for table, column, sql_type in _ADDED_COLUMNS:
            present = {c["name"] for c in inspector.get_columns(table)}
            if column not in present:
                with self.engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        with self._session.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise UpstreamUnavailable unless the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the driver's error types differ per backend
            raise UpstreamUnavailable(f"database unreachable: {exc}") from exc

    # ------------------------------------------------------------------ articles
    def article_hashes(self) -> dict[str, str]:
        """Content hash of every stored article, by id."""
        with self.session() as s:
            return dict(s.execute(select(ArticleRow.id, ArticleRow.content_hash)).all())

    def article_sources(self) -> dict[str, str | None]:
        """Source file of every stored article, by id."""
        with self.session() as s:
            return dict(s.execute(select(ArticleRow.id, ArticleRow.source)).all())

    def get_article(self, article_id: str) -> Article | None:
        """One article, or None."""
        with self.session() as s:
            row = s.get(ArticleRow, article_id)
            return Article.model_validate(row.data) if row else None

    def list_articles(self, *, status: str | None = None) -> list[Article]:
        """Every article (optionally of one status), by id."""
        with self.session() as s:
            query = select(ArticleRow.data).order_by(ArticleRow.id)
            if status:
                query = query.where(ArticleRow.status == status)
            return [Article.model_validate(d) for d in s.scalars(query)]

    def chunk_ids(self, article_id: str) -> list[str]:
        """Ids of an article's chunks in order."""
        with self.session() as s:
            query = select(ChunkRow.chunk_id).where(ChunkRow.article_id == article_id)
            return list(s.scalars(query.order_by(ChunkRow.ord)))

    def replace_article(self, article: Article, chunks: Sequence[Chunk], content_hash: str) -> None:
        """Write an article and its chunks, replacing the old ones, in one transaction."""
        with self.session() as s:
            s.execute(delete(ChunkRow).where(ChunkRow.article_id == article.id))
            row = s.get(ArticleRow, article.id)
            values = {
                "title": article.title,
                "kind": article.kind.value,
                "status": article.status.value,
                "audience": article.audience.value,
                "locale": article.locale,
                "data": article.model_dump(mode="json"),
                "content_hash": content_hash,
                "source": article.source,
                "ingested_at": _now(),
            }
            if row is None:
                s.add(ArticleRow(id=article.id, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
            s.flush()
            s.add_all(
                ChunkRow(
                    chunk_id=c.chunk_id,
                    article_id=c.article_id,
                    ord=c.ord,
                    text=c.text,
                    title=c.title,
                    section=list(c.section),
                    token_count=c.token_count,
                )
                for c in chunks
            )

    def delete_article(self, article_id: str) -> bool:
        """Remove an article and its chunks; False if it did not exist."""
        with self.session() as s:
            s.execute(delete(ChunkRow).where(ChunkRow.article_id == article_id))
            result = s.execute(delete(ArticleRow).where(ArticleRow.id == article_id))
            return bool(getattr(result, "rowcount", 0))

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk with its article, in article then chunk order."""
        with self.session() as s:
            articles = {
                aid: Article.model_validate(data)
                for aid, data in s.execute(select(ArticleRow.id, ArticleRow.data))
            }
            rows = s.scalars(select(ChunkRow).order_by(ChunkRow.article_id, ChunkRow.ord))
            return [
                StoredChunk(
                    Chunk(
                        chunk_id=r.chunk_id,
                        article_id=r.article_id,
                        ord=r.ord,
                        text=r.text,
                        title=r.title,
                        section=list(r.section),
                        token_count=r.token_count,
                    ),
                    articles[r.article_id],
                )
                for r in rows
            ]

    # ------------------------------------------------------------------ success plans
    def plan_hashes(self) -> dict[str, str]:
        """Content hash of every stored success plan, by account id."""
        with self.session() as s:
            return dict(s.execute(select(PlanRow.account_id, PlanRow.content_hash)).all())

    def plan_sources(self) -> dict[str, str | None]:
        """Source file of every stored success plan, by account id."""
        with self.session() as s:
            return dict(s.execute(select(PlanRow.account_id, PlanRow.source)).all())

    def put_plan(self, plan: SuccessPlan, content_hash: str, source: str | None = None) -> None:
        """Insert or replace an account's success plan."""
        with self.session() as s:
            row = s.get(PlanRow, plan.account_id)
            data = plan.model_dump(mode="json")
            if row is None:
                s.add(
                    PlanRow(
                        account_id=plan.account_id,
                        data=data,
                        content_hash=content_hash,
                        source=source,
                    )
                )
            else:
                row.data, row.content_hash, row.source, row.updated_at = (
                    data,
                    content_hash,
                    source,
                    _now(),
                )

    def get_plan(self, account_id: str) -> SuccessPlan | None:
        """An account's success plan, or None."""
        with self.session() as s:
            row = s.get(PlanRow, account_id)
            return SuccessPlan.model_validate(row.data) if row else None

    def list_plans(self) -> list[SuccessPlan]:
        """Every success plan, by account id."""
        with self.session() as s:
            rows = s.scalars(select(PlanRow.data).order_by(PlanRow.account_id))
            return [SuccessPlan.model_validate(d) for d in rows]

    def delete_plan(self, account_id: str) -> bool:
        """Remove a success plan; False if it did not exist."""
        with self.session() as s:
            result = s.execute(delete(PlanRow).where(PlanRow.account_id == account_id))
            return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------------ suggestions
    def put_suggestion(self, suggestion: Suggestion, case: Case) -> None:
        """Keep a returned suggestion so feedback and analytics can refer to it."""
        with self.session() as s:
            s.add(SuggestionRow(suggestion_id=suggestion.suggestion_id, case_id=case.case_id,
                                account_id=case.account_id, product=case.product,
                                agent_id=case.agent_id,
                                data=suggestion.model_dump(mode="json")))
            s.flush()  # the suggestion row before its case (PostgreSQL checks the foreign key)
            s.add(SuggestionCaseRow(suggestion_id=suggestion.suggestion_id,
                                    data=case.model_dump(mode="json", exclude_none=True)))

    def get_suggestion(self, suggestion_id: str) -> tuple[Suggestion, str | None,
                                                           str | None] | None:
        """A stored suggestion with its product and agent, or None."""
        with self.session() as s:
            row = s.get(SuggestionRow, suggestion_id)
            if row is None:
                return None
            return Suggestion.model_validate(row.data), row.product, row.agent_id

    def get_stored(self, suggestion_id: str) -> StoredSuggestion | None:
        """A stored suggestion with its case, or None."""
        with self.session() as s:
            row = s.get(SuggestionRow, suggestion_id)
            if row is None:
                return None
            case_row = s.get(SuggestionCaseRow, suggestion_id)
            return StoredSuggestion(
                Suggestion.model_validate(row.data),
                Case.model_validate(case_row.data) if case_row else None,
                row.created_at,
            )

    def latest_for_case(self, case_id: str) -> StoredSuggestion | None:
        """The newest suggestion returned for a case, with the case as it was sent."""
        with self.session() as s:
            row = s.scalars(
                select(SuggestionRow)
                .where(SuggestionRow.case_id == case_id)
                .order_by(SuggestionRow.created_at.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            case_row = s.get(SuggestionCaseRow, row.suggestion_id)
            return StoredSuggestion(
                Suggestion.model_validate(row.data),
                Case.model_validate(case_row.data) if case_row else None,
                row.created_at,
            )

    def recent_suggestions(self, limit: int = 500,
                           since: dt.datetime | None = None) -> list[StoredSuggestion]:
        """The newest suggestions first, each with its case."""
        query = select(SuggestionRow, SuggestionCaseRow.data).outerjoin(
            SuggestionCaseRow, SuggestionCaseRow.suggestion_id == SuggestionRow.suggestion_id
        ).order_by(SuggestionRow.created_at.desc()).limit(limit)
        if since is not None:
            query = query.where(SuggestionRow.created_at >= since)
        with self.session() as s:
            return [
                StoredSuggestion(
                    Suggestion.model_validate(row.data),
                    Case.model_validate(case) if case else None,
                    row.created_at,
                )
                for row, case in s.execute(query).all()
            ]

    def feedback_for(self, suggestion_id: str) -> list[FeedbackEvent]:
        """Every feedback event on one suggestion, oldest first."""
        query = (
            select(FeedbackRow)
            .where(FeedbackRow.suggestion_id == suggestion_id)
            .order_by(FeedbackRow.at, FeedbackRow.id)
        )
        with self.session() as s:
            return [_event_of(row) for row in s.scalars(query).all()]

    def add_feedback(self, suggestion_id: str, item_id: str, item_type: str, event: str, *,
                     final_text: str | None, reason: str | None, agent_id: str | None,
                     product: str | None, at: dt.datetime | None = None,
                     url: str | None = None) -> int:
        """Record one feedback event; returns its id."""
        with self.session() as s:
            row = FeedbackRow(suggestion_id=suggestion_id, item_id=item_id, item_type=item_type,
                              event=event, final_text=final_text, reason=reason, url=url,
                              agent_id=agent_id, product=product, at=at or _now())
            s.add(row)
            s.flush()
            return int(row.id)

    def feedback_with_cases(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[tuple[Suggestion, Case | None, list[FeedbackEvent]]]:
        """Suggestions that got feedback in a period, each with its case and its events in
        order (the case is None for suggestions stored before cases were kept)."""
        query = select(FeedbackRow).order_by(FeedbackRow.at, FeedbackRow.id)
        if since is not None:
            query = query.where(FeedbackRow.at >= since)
        if until is not None:
            query = query.where(FeedbackRow.at < until)
        out: dict[str, tuple[Suggestion, Case | None, list[FeedbackEvent]]] = {}
        with self.session() as s:
            for row in s.scalars(query).all():
                if row.suggestion_id not in out:
                    stored = s.get(SuggestionRow, row.suggestion_id)
                    if stored is None:
                        continue
                    case_row = s.get(SuggestionCaseRow, row.suggestion_id)
                    out[row.suggestion_id] = (
                        Suggestion.model_validate(stored.data),
                        Case.model_validate(case_row.data) if case_row else None,
                        [],
                    )
                out[row.suggestion_id][2].append(_event_of(row))
        return list(out.values())

    def feedback_counts(self, group_by: str, since: dt.datetime | None,
                        until: dt.datetime | None) -> list[tuple[str | None, str, int]]:
        """(group value, event, count) over a period; group_by is type, product or agent."""
        column = {"type": FeedbackRow.item_type, "product": FeedbackRow.product,
                  "agent": FeedbackRow.agent_id}[group_by]
        query = select(column, FeedbackRow.event, func.count()).group_by(column,
                                                                          FeedbackRow.event)
        if since is not None:
            query = query.where(FeedbackRow.at >= since)
        if until is not None:
            query = query.where(FeedbackRow.at < until)
        with self.session() as s:
            return [(g, e, int(n)) for g, e, n in s.execute(query).all()]

    # ------------------------------------------------------------------ state
    def get_state(self, key: str) -> str | None:
        """A value of the index state (such as the index version)."""
        with self.session() as s:
            row = s.get(StateRow, key)
            return row.value if row else None

    def set_state(self, key: str, value: str) -> None:
        """Set a value of the index state."""
        with self.session() as s:
            row = s.get(StateRow, key)
            if row is None:
                s.add(StateRow(key=key, value=value))
            else:
                row.value = value
