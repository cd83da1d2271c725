"""The single settings object: environment variables prefixed COPILOT_, or a .env file."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ChromaMode(StrEnum):
    embedded = "embedded"
    server = "server"


class LLMMode(StrEnum):
    extractive = "extractive"
    openai = "openai"
    local = "local"


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything configurable, validated once at start."""

    # hide_input_in_errors: a refusal is printed at start; it must not echo the API keys.
    model_config = SettingsConfigDict(
        env_prefix="COPILOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".data")

    # vector index
    chroma_mode: ChromaMode = ChromaMode.embedded
    chroma_path: Path | None = None  # default: <data_dir>/chroma
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8001
    chroma_collection: str = "knowledge"

    # relational store
    database_url: str | None = None  # default: sqlite:///<data_dir>/copilot.db

    # embeddings and chunking
    embedder_model: str | None = None  # default: the bundled all-MiniLM-L6-v2
    embed_batch_size: int = Field(64, ge=1, le=1024)
    chunk_size: int = Field(200, ge=32, le=512, description="tokens per chunk")
    chunk_overlap: int = Field(32, ge=0, le=256)

    # retrieval
    dense_candidates: int = Field(40, ge=1, le=500)
    lexical_candidates: int = Field(40, ge=1, le=500)

    # sample knowledge base served by `copilot serve`
    knowledge_paths: Annotated[list[Path], NoDecode] = [Path("knowledge")]

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = []
    max_body_bytes: int = Field(20 * 1024 * 1024, ge=1024)

    # side panel and its hosts
    panel_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="origins (scheme://host[:port]) that may embed /panel and talk to it; "
        "the app's own origin always may",
    )
    handoff_webhook_url: str | None = None  # expansion hand-offs are POSTed here when set
    handoff_webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    demo_cases: Path = Path("examples/demo/cases.json")  # the demo helpdesk's cases
    gap_confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="resolutions below this confidence are knowledge gaps"
    )

    # generation (used by the engine)
    llm_mode: LLMMode = LLMMode.extractive
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(20.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    judge_model: str | None = None  # evals' LLM judge; default: llm_model

    # the engine: fitted values (a file written by `copilot eval calibrate/tune --write`), and
    # the date it takes as today (pinned for demos and for scoring a suite through the API)
    engine_fit: Path | None = None
    today: dt.date | None = None
    # a company's own phrases (the shape of copilot/engine/phrases.yaml), extending the shipped ones
    engine_phrases: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _lists_from_csv(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("knowledge_paths", "api_keys", "panel_allowed_origins"):
                if key in data:
                    data[key] = _split_csv(data[key])
        return data

    @field_validator("panel_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        bad = [o for o in value if not _ORIGIN.fullmatch(o)]
        if bad:
            raise ValueError(
                f"panel_allowed_origins {bad} are not origins: write each as scheme://host[:port] "
                "with no path, no trailing slash and no wildcard, e.g. https://acme.zendesk.com"
            )
        return [o.lower() for o in value]

    @field_validator("handoff_webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://\S+", value):
            raise ValueError("handoff_webhook_url must be an http(s) URL")
        return value or None

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        if self.env == "production" and not self.api_keys and not _is_loopback(self.host):
            raise ValueError(
                f"refusing to serve on {self.host} in production without API keys: "
                "set COPILOT_API_KEYS or bind COPILOT_HOST to 127.0.0.1"
            )
        if self.engine_fit is not None and not self.engine_fit.is_file():
            raise ValueError(f"COPILOT_ENGINE_FIT: no file {self.engine_fit}")
        if self.engine_phrases is not None and not self.engine_phrases.is_file():
            raise ValueError(f"COPILOT_ENGINE_PHRASES: no file {self.engine_phrases}")
        if self.llm_mode is LLMMode.openai and self.llm_api_key is None and not self.llm_base_url:
            raise ValueError("llm_mode=openai needs COPILOT_LLM_API_KEY or COPILOT_LLM_BASE_URL")
        return self

    @cached_property
    def resolved_chroma_path(self) -> Path:
        """Folder of the embedded Chroma index."""
        return self.chroma_path or self.data_dir / "chroma"

    @cached_property
    def resolved_database_url(self) -> str:
        """SQLAlchemy URL of the store; SQLite in the data folder unless configured."""
        return self.database_url or f"sqlite:///{self.data_dir / 'copilot.db'}"

    @property
    def lexical_path(self) -> Path:
        """Folder of the persisted BM25 index."""
        return self.data_dir / "bm25"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
