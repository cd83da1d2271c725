"""The browser pages: the side panel, the demo helpdesk, and the consoles."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from copilot.api.deps import RuntimeDep
from copilot.api.web import STATIC_DIR, VENDOR_FILES, page
from copilot.demo import load_demo_cases
from copilot.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def demo_helpdesk() -> HTMLResponse:
    """The demo helpdesk: sample tickets grouped by company."""
    return page("demo.html", title="Demo helpdesk")


@router.get("/tickets/{case_id}", response_class=HTMLResponse)
def demo_ticket(case_id: str, runtime: RuntimeDep) -> HTMLResponse:
    """One demo ticket with the side panel beside it, wired through the bridge."""
    cases = load_demo_cases(runtime.settings.demo_cases)
    known = {t.case.case_id for c in cases.companies for t in c.tickets}
    if case_id not in known:
        return page(
            "not_found.html",
            title="No such ticket",
            status_code=404,
            message=f"The demo has no ticket {case_id}.",
        )
    return page("ticket.html", title=f"Ticket {case_id}", frames=True, case_id=case_id)


@router.get("/demo/cases.json")
def demo_cases(runtime: RuntimeDep) -> JSONResponse:
    """The demo helpdesk's tickets (examples/demo/cases.json unless COPILOT_DEMO_CASES)."""
    return JSONResponse(load_demo_cases(runtime.settings.demo_cases).model_dump(mode="json"))


@router.get("/panel", response_class=HTMLResponse)
def panel(runtime: RuntimeDep) -> HTMLResponse:
    """The side panel a helpdesk embeds; only the configured origins may frame it."""
    origins = runtime.settings.panel_allowed_origins
    return page(
        "panel.html",
        title="Value Copilot",
        frame_ancestors=["'self'", *origins],
        allowed_origins=" ".join(origins),
    )


@router.get("/console/knowledge", response_class=HTMLResponse)
def knowledge_console() -> HTMLResponse:
    """Knowledge managers: upload, articles, coverage and gaps."""
    return page("console_knowledge.html", title="Knowledge console")


@router.get("/console/evals", response_class=HTMLResponse)
def evals_console() -> HTMLResponse:
    """QA: evaluation runs, a run's report, and comparisons."""
    return page("console_evals.html", title="QA console", frames=True)


@router.get("/vendor/{package}/{name}")
def vendor(package: str, name: str) -> FileResponse:
    """A front-end package file installed from npm (see copilot/web/package.json)."""
    path = VENDOR_FILES.get(f"{package}/{name}")
    if path is None or not path.is_file():
        raise NotFound(
            f"no vendored file {package}/{name}: run scripts/setup.sh (npm ci in copilot/web)"
        )
    return FileResponse(path, media_type="text/javascript")


@router.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(STATIC_DIR / "icon.svg", media_type="image/svg+xml")
