"""Serving the browser pages: templates, static files, and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
STATIC_DIR = WEB_DIR / "static"
# Front-end packages installed from npm by scripts/setup.sh (`npm ci` in copilot/web); only
# these files are served.
VENDOR_FILES = {"axe-core/axe.min.js": WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"}

_env = Environment(
    loader=FileSystemLoader(WEB_DIR / "pages"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def content_security_policy(frame_ancestors: list[str], *, frames: bool = False) -> str:
    """Scripts and styles from this origin only (no inline script), data only from the API."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'self'" if frames else "frame-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


def page(
    template: str,
    *,
    frame_ancestors: list[str] | None = None,
    frames: bool = False,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A rendered page with its Content-Security-Policy."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": content_security_policy(
                frame_ancestors or [], frames=frames
            ),
            "Cache-Control": "no-store",
        },
    )


class SecurityHeaders:
    """`X-Content-Type-Options: nosniff` and a referrer policy on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"x-content-type-options", b"referrer-policy")
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
