"""Dependencies injected into routes: the runtime built at start, and API-key checking."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from copilot.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


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
