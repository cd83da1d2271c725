"""Browser fixtures: one Debian Chromium for the session, the app served over loopback on a copy
of the sample knowledge base, and a stand-in helpdesk on other origins."""

from __future__ import annotations

import functools
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from copilot.api.app import create_app
from copilot.config import Settings
from copilot.runtime import Runtime

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
HOST_FILES = Path(__file__).parent / "host"
SCREENSHOTS = REPO / ".data" / "screenshots"
WIDTHS = (400, 1280)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run does)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _serve_folder(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class Hosts:
    """The stand-in helpdesk: `allowed` may embed the panel, `foreign` may not."""

    allowed: str
    foreign: str


@pytest.fixture(scope="session")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    """Two origins serving the stand-in helpdesk with the shipped copilot-host.js."""
    folder = tmp_path_factory.mktemp("host")
    shutil.copytree(HOST_FILES, folder, dirs_exist_ok=True)
    shutil.copy(REPO / "copilot" / "web" / "static" / "copilot-host.js", folder)
    shutil.copytree(REPO / "adapters" / "zendesk" / "assets", folder / "zendesk")
    shutil.copytree(REPO / "adapters" / "freshdesk" / "app", folder / "freshdesk")
    allowed, allowed_url = _serve_folder(folder)
    foreign, foreign_url = _serve_folder(folder)
    yield Hosts(allowed_url, foreign_url)
    for server in (allowed, foreign):
        server.shutdown()
        server.server_close()


@dataclass
class App:
    url: str
    runtime: Runtime


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, kb_runtime: Runtime, hosts: Hosts
) -> Iterator[App]:
    """The app over loopback HTTP (uvicorn in a thread) on its own copy of the sample knowledge
    base, so what the browser tests write leaves the shared one alone."""
    from threadpoolctl import threadpool_limits

    data = tmp_path_factory.mktemp("panel") / "data"
    shutil.copytree(kb_runtime.settings.data_dir, data)
    settings = Settings(
        data_dir=data,
        knowledge_paths=list(kb_runtime.settings.knowledge_paths),
        panel_allowed_origins=[hosts.allowed],
        demo_cases=REPO / "examples" / "demo" / "cases.json",
    )
    runtime = Runtime.build(settings, embedder=kb_runtime.embedder, chunker=kb_runtime.chunker)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    with threadpool_limits(1, user_api="blas"):  # as `copilot serve` runs
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the app did not start within 30 s")
            time.sleep(0.05)
        yield App(f"http://127.0.0.1:{port}", runtime)
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Console:
    """Console errors and uncaught exceptions of every page and frame of a context."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def context(browser: Browser, console: Console) -> Iterator[BrowserContext]:
    """A fresh browser context per test; at the end, no page of it logged a console error."""
    ctx = browser.new_context(viewport={"width": 400, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    # Citations link to the sample help center, which does not exist: answer for it.
    ctx.route(
        "https://help.fernhill.example/**",
        lambda route: route.fulfill(status=200, content_type="text/plain", body="article"),
    )
    ctx.on("page", console.watch)
    yield ctx
    ctx.close()
    assert console.errors == [], "console errors"
    assert console.dialogs == [], "a script in the data ran"


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def shoot(page: Page, name: str) -> list[Path]:
    """Screenshots of the page at the panel's width and a desktop width (paths printed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)  # let the layout and the panel's resize settle
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if original:
        page.set_viewport_size(original)
    print(f"screenshots: {', '.join(str(p) for p in paths)}")
    return paths


def axe_violations(target: Any) -> list[dict[str, Any]]:
    """Serious and critical violations axe-core finds on a page or frame (axe is served by the
    app from copilot/web/node_modules, installed by scripts/setup.sh)."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        url = target.url.split("/", 3)
        target.add_script_tag(url=f"{url[0]}//{url[2]}/vendor/axe-core/axe.min.js")
    result = target.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
