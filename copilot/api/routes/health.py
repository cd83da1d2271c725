"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from copilot.api.deps import RuntimeDep
from copilot.errors import UpstreamUnavailable
from ingest.pipeline import INDEX_VERSION_KEY

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database and both indexes answer, and the indexes hold the same content."""
    checks: dict[str, Any] = {}
    ready = True
    for name, ping in (("database", runtime.store.ping), ("vector_index", runtime.vectors.ping)):
        try:
            ping()
            checks[name] = "ok"
        except UpstreamUnavailable as exc:
            checks[name] = str(exc)
            ready = False
    if ready:
        version = runtime.store.get_state(INDEX_VERSION_KEY)
        vectors, lexical = runtime.vectors.count(), len(runtime.lexical.ids())
        in_step = version is not None and version == runtime.lexical.version and vectors == lexical
        checks["index"] = {
            "version": version,
            "vector_chunks": vectors,
            "lexical_chunks": lexical,
            "in_step": in_step,
        }
        if version is None:
            checks["index"]["hint"] = "nothing ingested yet: run `copilot ingest knowledge/`"
        ready = in_step
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
