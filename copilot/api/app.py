"""The FastAPI application: routes, error mapping, body limits, API keys."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot import __version__
from copilot.api.deps import require_api_key
from copilot.api.routes import cases, evals, health, knowledge, pages, plans, suggestions
from copilot.api.web import STATIC_DIR, SecurityHeaders
from copilot.errors import ConfigError, NotEntitled, NotFound, UpstreamUnavailable, ValidationError
from copilot.runtime import Runtime


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Rejects request bodies over the limit with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = (
            f'{{"detail": "request body is larger than {self.max_bytes} bytes; send fewer or '
            f'smaller files per request, or raise COPILOT_MAX_BODY_BYTES"}}'
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_app(runtime: Runtime) -> FastAPI:
    """An app serving this runtime."""
    app = FastAPI(
        title="Value Copilot",
        version=__version__,
        description="Grounded resolutions and value-enhancing suggestions for support agents.",
    )
    app.state.runtime = runtime
    app.include_router(health.router)
    secured = [Depends(require_api_key)]
    app.include_router(knowledge.router, dependencies=secured)
    app.include_router(plans.router, dependencies=secured)
    app.include_router(suggestions.router, dependencies=secured)
    app.include_router(cases.router, dependencies=secured)
    app.include_router(evals.router, dependencies=secured)
    app.include_router(evals.report_router, dependencies=secured)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return _error(422, [p.as_dict() for p in exc.problems])

    @app.exception_handler(NotEntitled)
    async def _not_entitled(_: Request, exc: NotEntitled) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(UpstreamUnavailable)
    async def _upstream(_: Request, exc: UpstreamUnavailable) -> JSONResponse:
        return _error(503, f"{exc}; check that the service is running and reachable")

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
        return _error(500, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                "message": err["msg"],
                **({"allowed": err["ctx"]["expected"]} if "expected" in err.get("ctx", {}) else {}),
            }
            for err in exc.errors()
        ]
        return _error(422, problems)

    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
