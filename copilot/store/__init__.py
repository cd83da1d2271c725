"""Relational store for article metadata, chunks and success plans (SQLite or PostgreSQL)."""

from copilot.store.sql import SqlStore, StoredChunk

__all__ = ["SqlStore", "StoredChunk"]
