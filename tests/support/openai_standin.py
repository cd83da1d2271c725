"""A local OpenAI-compatible endpoint replaying recorded chat completions, for tests over real HTTP.

Each recording in tests/fixtures/openai/<scenario>.json holds the shape of the request it
answers (`request`, with "..." matching anything) and the `responses` to replay in turn (the
last one repeats): status, headers, an optional delay and the body, in the OpenAI wire format.
A request that does not match the recorded shape gets an OpenAI-style 400, so a change in what
the client sends shows up as a failure instead of a silent pass. Every request is kept for
assertions.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openai"
WILDCARD = "..."


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)

    def messages(self, role: str) -> list[str]:
        """Contents of the chat messages with this role."""
        return [m["content"] for m in self.body.get("messages", []) if m.get("role") == role]


class OpenAIStandIn:
    """Serves POST /v1/chat/completions on 127.0.0.1 (ephemeral port) from a recorded scenario."""

    def __init__(self, fixtures: Path = FIXTURES) -> None:
        self.fixtures = fixtures
        self.requests: list[ReceivedRequest] = []
        self._recording: dict[str, Any] | None = None
        self._scenario: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ control
    @property
    def base_url(self) -> str:
        """The OpenAI base URL to configure a client with (ends in /v1)."""
        if self._port is None:
            raise RuntimeError("the stand-in is not running: call start()")
        return f"http://127.0.0.1:{self._port}/v1"

    def scenarios(self) -> list[str]:
        """Names of the recorded scenarios."""
        return sorted(p.stem for p in self.fixtures.glob("*.json"))

    def use(self, scenario: str) -> dict[str, Any]:
        """Replay `scenario` from now on, with a fresh request log; returns the recording."""
        path = self.fixtures / f"{scenario}.json"
        if not path.is_file():
            raise FileNotFoundError(f"no recording {path}; have: {', '.join(self.scenarios())}")
        recording = json.loads(path.read_text(encoding="utf-8"))
        if not recording.get("responses"):
            raise ValueError(f"{path}: a recording needs at least one entry in 'responses'")
        with self._lock:
            self._recording = recording
            self._scenario = scenario
            self.requests = []
        return dict(recording)

    def start(self) -> OpenAIStandIn:
        """Start uvicorn in a daemon thread and wait until it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="openai-standin", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the OpenAI stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server, cutting short any delayed answer."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> OpenAIStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ server
    def _app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> JSONResponse:
            raw = await request.body()
            received = ReceivedRequest(request.method, request.url.path, dict(request.headers), raw)
            with self._lock:
                self.requests.append(received)
                recording = self._recording
                index = len(self.requests) - 1
            if recording is None:
                return _error(500, "the stand-in has no scenario: call use(name)", "standin")
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _error(
                    401, "You didn't provide an API key.", "invalid_request_error", "missing_key"
                )
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "We could not parse the JSON body of your request.")
            mismatch = _mismatch(recording.get("request", {}).get("body", {}), body, "body")
            if mismatch:
                return _error(400, f"request does not match the recording: {mismatch}")
            responses = recording["responses"]
            answer = responses[min(index, len(responses) - 1)]
            await self._sleep(float(answer.get("delay_s", 0)))
            return JSONResponse(
                answer["body"], status_code=int(answer["status"]), headers=answer.get("headers")
            )

        return app

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self._stopping.is_set():
            await asyncio.sleep(min(0.05, end - time.monotonic()))


def _mismatch(expected: Any, actual: Any, where: str) -> str | None:
    """Where `actual` departs from the recorded shape ("..." matches anything), or None."""
    if expected == WILDCARD:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where} should be an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key} is missing"
            found = _mismatch(value, actual[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where} should be a list of {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = _mismatch(e, a, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if expected == actual else f"{where} is {actual!r}, recorded {expected!r}"


def _error(
    status: int, message: str, type_: str = "invalid_request_error", code: str | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)
