"""The run store: every evaluation run in the SQL store (SQLite or PostgreSQL), per case too.

Runs live beside suggestions and feedback in the configured database (`COPILOT_DATABASE_URL`);
each suite may have one promoted baseline run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, String, Text, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from copilot.errors import NotFound
from copilot.store.sql import make_engine
from evals.records import CaseRecord, RunResult


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "eval_runs"

    run_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    suite: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    mode: Mapped[str] = mapped_column(String(32))
    git_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    split: Mapped[str | None] = mapped_column(String(16), nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None: no gate ran
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    duration_s: Mapped[float] = mapped_column(Float)
    artifact: Mapped[str | None] = mapped_column(Text, nullable=True)  # the JSON file written
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the RunResult without its cases


class CaseRow(Base):
    __tablename__ = "eval_case_results"

    run_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("eval_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RunStore:
    """Save, list, load and promote evaluation runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        Base.metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> RunStore:
        return cls(make_engine(url))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._session.begin() as s:
            yield s

    def save(self, run: RunResult, artifact: str | None = None) -> None:
        """Keep a run and its case records (one transaction: all or nothing)."""
        head = run.model_dump(mode="json", exclude={"cases"})
        with self.session() as s:
            s.add(
                RunRow(
                    run_id=run.run_id,
                    suite=run.suite.name,
                    created_at=run.created_at,
                    mode=run.fingerprint.mode,
                    git_sha=run.fingerprint.git_sha,
                    split=run.suite.split,
                    passed=run.gate.passed if run.gate else None,
                    duration_s=run.duration_s,
                    artifact=artifact,
                    data=head,
                )
            )
            s.flush()  # the run row before its cases (PostgreSQL checks the foreign key)
            for case in run.cases:
                s.add(
                    CaseRow(run_id=run.run_id, case_id=case.id, data=case.model_dump(mode="json"))
                )

    def load(self, run_id: str) -> RunResult:
        """A saved run with its cases; NotFound names the runs that do exist."""
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                recent = [r.run_id for r in self.list(limit=3)]
                hint = f"; recent runs: {', '.join(recent)}" if recent else ""
                raise NotFound(f"no evaluation run {run_id!r}{hint}")
            cases = s.scalars(select(CaseRow).where(CaseRow.run_id == run_id)).all()
            records = [CaseRecord.model_validate(c.data) for c in cases]
            order = {
                cid: i for i, cid in enumerate(row.data.get("suite", {}).get("case_ids") or [])
            }
            records.sort(key=lambda r: (order.get(r.id, 0), r.id))
            return RunResult.model_validate({**row.data, "cases": []}).model_copy(
                update={"cases": records}
            )

    def list(self, suite: str | None = None, limit: int = 20) -> list[RunRow]:
        """The newest runs first (all suites, or one)."""
        query = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
        if suite is not None:
            query = query.where(RunRow.suite == suite)
        with self.session() as s:
            return list(s.scalars(query).all())

    def promote(self, run_id: str) -> RunRow:
        """Make a run its suite's baseline (the previous baseline stops being one)."""
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"no evaluation run {run_id!r}: see `copilot eval list`")
            s.execute(update(RunRow).where(RunRow.suite == row.suite).values(is_baseline=False))
            row.is_baseline = True
            return row

    def baseline(self, suite: str) -> str | None:
        """The promoted baseline run of a suite, if any."""
        with self.session() as s:
            return s.scalars(
                select(RunRow.run_id).where(RunRow.suite == suite, RunRow.is_baseline)
            ).first()
