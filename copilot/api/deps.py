"""Dependencies injected into routes: the runtime built at start, and API-key checking."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from copilot.handoff import HandoffNotifier
from copilot.runtime import Runtime
from evals.store import RunStore


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_handoff_notifier(runtime: RuntimeDep) -> HandoffNotifier | None:
    """The hand-off webhook, or None when none is configured."""
    return runtime.handoff_notifier


HandoffNotifierDep = Annotated[HandoffNotifier | None, Depends(get_handoff_notifier)]


def get_run_store(request: Request, runtime: RuntimeDep) -> RunStore:
    """The evaluation run store on the configured database, opened once per app."""
    store: RunStore | None = getattr(request.app.state, "run_store", None)
    if store is None:
        store = RunStore(runtime.store.engine)
        request.app.state.run_store = store
    return store


RunStoreDep = Annotated[RunStore, Depends(get_run_store)]


def require_api_key(runtime: RuntimeDep, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """When API keys are configured, every /v1 call must send one in X-API-Key."""
    keys = runtime.settings.api_keys
    if not keys:
        return
    if x_api_key is None or not any(
        secrets.compare_digest(x_api_key, k.get_secret_value()) for k in keys
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or unknown API key: send one of COPILOT_API_KEYS in X-API-Key",
        )
