"""A STAND-IN for Google's Veo endpoints (Gemini API), for tests only: not Google's service.

It answers the three calls LiteLLM's ``gemini`` video provider makes (read from
``litellm/llms/gemini/videos/transformation.py`` in litellm 1.108.7), in the shapes that code
parses, so the proxy can be tested offline with a provider that does not speak ``/v1/videos``:

- ``POST /v1beta/models/{model}:predictLongRunning`` with ``{"instances": [{"prompt": …,
  "image"?: {"bytesBase64Encoded", "mimeType"}}], "parameters": {"aspectRatio", "durationSeconds",
  "resolution"}}`` → a long-running operation ``{"name": "models/{model}/operations/{id}",
  "done": false}``;
- ``GET /v1beta/models/{model}/operations/{id}`` → the operation, ``done`` after ``job_seconds``,
  then with ``response.generateVideoResponse.generatedSamples[0].video.uri``, an absolute URL of
- ``GET /v1beta/files/{id}:download?alt=media`` → the MP4.

Every call needs the key in ``x-goog-api-key`` (or ``?key=``). Errors are Google's RPC shape
``{"error": {"code", "message", "status"}}``. A prompt containing ``BLOCKED_WORD`` ends as Veo ends a
filtered job: ``done`` with an ``error`` and no ``response``.

The clips are real H.264 MP4s made by the emulator's renderer (a reference image becomes the first
frame), cached by their inputs. Nothing here is Google's code or behaviour beyond these shapes.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sora_widgets.emulator._render import RenderSpec, render_clip
from sora_widgets.emulator._server import bind_socket

BLOCKED_WORD = "veo-filtered"
"""A prompt with this word fails as a filtered Veo job does."""

ASPECTS = {"16:9": (1280, 720), "9:16": (720, 1280)}
DURATIONS = (4, 6, 8)


def google_error(status: int, rpc_status: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": rpc_status}}, status_code=status
    )


@dataclass
class Operation:
    name: str
    model: str
    prompt: str
    width: int
    height: int
    seconds: int
    image: bytes | None
    created: float
    file_id: str
    filtered: bool
    done_after: float
    path: str | None = None
    error: str | None = None


@dataclass
class VeoState:
    api_key: str
    clip_dir: Path
    job_seconds: float
    operations: dict[str, Operation] = field(default_factory=dict)
    files: dict[str, Operation] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count[int] = field(default_factory=itertools.count)


def _key_ok(state: VeoState, request: Request) -> bool:
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    return key is not None and secrets.compare_digest(key, state.api_key)


def _state(request: Request) -> VeoState:
    state: VeoState = request.app.state.veo
    state.requests.append((request.method, request.url.path))
    return state


def _bad_key() -> JSONResponse:
    return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")


async def predict_long_running(request: Request) -> Response:
    state = _state(request)
    if not _key_ok(state, request):
        return _bad_key()
    model = request.path_params["model"]
    try:
        body = await request.json()
        instance = body["instances"][0]
        prompt = str(instance["prompt"])
    except (ValueError, KeyError, IndexError, TypeError):
        return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload: instances[0].prompt")
    parameters = body.get("parameters") or {}
    aspect = parameters.get("aspectRatio", "16:9")
    seconds = parameters.get("durationSeconds", 8)
    if aspect not in ASPECTS:
        return google_error(400, "INVALID_ARGUMENT", f"Unsupported aspect ratio: {aspect}")
    if seconds not in DURATIONS:
        return google_error(
            400,
            "INVALID_ARGUMENT",
            f"The number value for `durationSeconds` is out of bound: {seconds}",
        )
    image = None
    if "image" in instance:
        try:
            image = base64.b64decode(instance["image"]["bytesBase64Encoded"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            return google_error(400, "INVALID_ARGUMENT", "Invalid image: bytesBase64Encoded")
    width, height = ASPECTS[aspect]
    with state.lock:
        number = next(state.counter)
    op = Operation(
        name=f"models/{model}/operations/{secrets.token_hex(6)}{number}",
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        seconds=int(seconds),
        image=image,
        created=time.time(),
        file_id=secrets.token_hex(8),
        filtered=BLOCKED_WORD in prompt,
        done_after=time.monotonic() + state.job_seconds,
    )
    with state.lock:
        state.operations[op.name] = op
        state.files[op.file_id] = op
    return JSONResponse({"name": op.name, "metadata": _metadata(op), "done": False})


def _metadata(op: Operation) -> dict[str, Any]:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(op.created))
    return {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningMetadata",
        "createTime": created,
        "model": f"models/{op.model}",
    }


def _render(state: VeoState, op: Operation) -> None:
    """Render the clip the first time the finished operation is looked at (off the event loop)."""
    if op.path is not None or op.filtered:
        return
    spec = RenderSpec(
        width=op.width,
        height=op.height,
        seconds=op.seconds,
        prompt="Veo stand-in (not Google's service)",
        model=op.model,
        reference=op.image,
    )
    op.path = render_clip(spec, str(state.clip_dir)).video


async def get_operation(request: Request) -> Response:
    state = _state(request)
    if not _key_ok(state, request):
        return _bad_key()
    name = f"models/{request.path_params['model']}/operations/{request.path_params['op']}"
    op = state.operations.get(name)
    if op is None:
        return google_error(404, "NOT_FOUND", f"Operation {name} not found.")
    body: dict[str, Any] = {"name": op.name, "metadata": _metadata(op)}
    if time.monotonic() < op.done_after:
        return JSONResponse(body)
    body["done"] = True
    if op.filtered:
        body["error"] = {
            "code": 3,
            "message": "The prompt could not be submitted: it was blocked by the safety filters.",
        }
        return JSONResponse(body)
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(_render, state, op)
    uri = f"{request.base_url}v1beta/files/{op.file_id}:download?alt=media"
    body["response"] = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
    }
    return JSONResponse(body)


async def download(request: Request) -> Response:
    state = _state(request)
    if not _key_ok(state, request):
        return _bad_key()
    op = state.files.get(request.path_params["file_id"])
    if op is None or op.path is None:
        return google_error(404, "NOT_FOUND", "File not found.")
    return FileResponse(op.path, media_type="video/mp4")


def create_app(api_key: str, clip_dir: Path, job_seconds: float = 1.0) -> Starlette:
    """The stand-in as a Starlette app; ``app.state.veo`` holds its operations and request log."""
    app = Starlette(
        routes=[
            Route(
                "/v1beta/models/{model}:predictLongRunning",
                predict_long_running,
                methods=["POST"],
            ),
            Route("/v1beta/models/{model}/operations/{op}", get_operation, methods=["GET"]),
            Route("/v1beta/files/{file_id}:download", download, methods=["GET"]),
        ]
    )
    app.state.veo = VeoState(api_key=api_key, clip_dir=clip_dir, job_seconds=job_seconds)
    return app


class VeoStandIn:
    """The stand-in served by uvicorn in a daemon thread on 127.0.0.1 (``url``, ``stop()``)."""

    def __init__(self, api_key: str, clip_dir: Path, job_seconds: float = 1.0) -> None:
        import uvicorn

        self.app = create_app(api_key, clip_dir, job_seconds)
        sock = bind_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="veo-standin"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Veo stand-in did not start")
            time.sleep(0.01)

    @property
    def state(self) -> VeoState:
        state: VeoState = self.app.state.veo
        return state

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
