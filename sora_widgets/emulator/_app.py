"""The Starlette application: routes of the ``/v1/videos`` contract, auth, faults, access log.

`create_app(settings)` returns the app; its ``state.emulator`` is the `EmulatorState` (job store,
fault plan, render queue) that tests may inspect. Every answer carries ``x-request-id``; every error
is the real envelope ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._faults import JOB_KINDS, FaultAction, FaultPlan
from ._forms import BodyTooLarge, read_fields, too_large
from ._jobs import Character, Job, JobStore, gateway_video_id, new_character_id, new_video_id
from ._references import resolve_reference
from ._render import RenderResult, RenderSpec
from ._settings import EmulatorSettings, gateway_behaviours, service_profile, service_rules
from ._validate import (
    ServiceError,
    Upload,
    bad_request,
    check_bool,
    check_model,
    check_prompt,
    check_reference_image,
    check_seconds,
    check_size,
    check_unknown,
    check_upload_type,
    parse_limit,
    parse_order,
    parse_variant,
)

__all__ = ["ConnectionDropped", "EmulatorState", "create_app"]

access_logger = logging.getLogger("sora_widgets.emulator.access")

CREATE_FIELDS = ("prompt", "model", "seconds", "size", "input_reference")
EXTENSION_SECONDS = ("4", "8", "12", "16", "20")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
MEDIA_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
SUFFIXES = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}


class ConnectionDropped(Exception):
    """Raised on purpose mid-body so the server cuts the connection (the ``drop`` fault)."""


class EmulatorState:
    """Everything one emulator holds: settings, profile, jobs, faults, renders, access log."""

    def __init__(self, settings: EmulatorSettings) -> None:
        from ._workers import RenderQueue

        self.settings = settings
        self.profile = service_profile(settings.profile)
        self.rules = service_rules(self.profile)
        self.clock: Callable[[], float] = settings.clock or time.time
        self.state_dir = Path(settings.state_dir) if settings.state_dir is not None else None
        self.store = JobStore(
            self.clock, None if self.state_dir is None else self.state_dir / "jobs.json"
        )
        self.gateway = frozenset(gateway_behaviours(settings.gateway))
        """The gateway-like behaviours this emulator puts on (see `GATEWAY_BEHAVIOURS`)."""
        self.faults = FaultPlan(settings.faults, settings.fault_seed)
        self.data_dir = settings.resolved_data_dir
        self.uploads_dir = self.data_dir / "uploads"
        self.renders = RenderQueue(
            self.data_dir / "renders", settings.render_mode, settings.render_workers
        )
        self.access_log: deque[str] = deque(maxlen=2000)
        """The last access-log lines (also sent to the ``sora_widgets.emulator.access`` logger)."""
        self.blocked = (
            re.compile(
                r"(?<!\w)(" + "|".join(re.escape(w) for w in settings.blocked_words) + r")(?!\w)",
                re.IGNORECASE,
            )
            if settings.blocked_words
            else None
        )

    def deployment_id(self, model: str) -> str:
        """A stable deployment hash for ``model``, like LiteLLM's ``model_info.id`` (64 hex)."""
        return hashlib.sha256(
            f"sora-widgets-emulator:{self.profile.name}:{model}".encode()
        ).hexdigest()

    def keep_spec(self, spec: RenderSpec) -> dict[str, Any] | None:
        """The spec as kept with its job (the reference bytes stored once, by hash, in the state
        folder); None when nothing is kept across restarts."""
        if self.state_dir is None:
            return None
        fields = dataclasses.asdict(spec)
        reference = fields.pop("reference")
        fields["reference_file"] = None
        if reference is not None:
            name = hashlib.sha256(reference).hexdigest() + ".img"
            path = self.state_dir / "references" / name
            try:
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(reference)
                fields["reference_file"] = name
            except OSError:
                return None
        return fields

    def restore_spec(self, job: Job) -> RenderSpec | None:
        """The `RenderSpec` a kept job was rendered from, or None when it cannot be rebuilt."""
        kept = dict(job.render_spec or {})
        if not kept or self.state_dir is None:
            return None
        name = kept.pop("reference_file", None)
        reference = None
        if name:
            try:
                reference = (self.state_dir / "references" / name).read_bytes()
            except OSError:
                return None
        source = kept.get("source_video")
        if source and not os.path.exists(source):
            return None
        try:
            return RenderSpec(**kept, reference=reference)
        except TypeError:
            return None

    @property
    def jobs(self) -> list[Job]:
        """Every job not deleted, oldest first."""
        return list(self.store)

    def close(self) -> None:
        """Stop the render workers (renders under way are abandoned)."""
        self.renders.close()


# -- plumbing -----------------------------------------------------------------------------------


def _request_id() -> str:
    return "req_" + secrets.token_hex(16)


def error_response(error: ServiceError) -> JSONResponse:
    """The JSON answer for ``error``: its status, the real envelope and its headers."""
    return JSONResponse(error.envelope(), status_code=error.status, headers=error.headers)


class _Frame:
    """Outer ASGI layer: request id, access log, the body-size limit, connection drops.

    The access-log line is written just before the last piece of the answer is sent, so anyone who
    has received an answer finds its line in ``EmulatorState.access_log``. An answer cut short (a
    drop or reset fault, a crash) is logged when the cut happens.
    """

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id()
        status = 0
        logged = False
        limit = self.state.settings.max_body_bytes
        received = 0

        def log(note: str = "") -> None:
            nonlocal logged
            if logged or not self.state.settings.access_log:
                return
            logged = True
            millis = (time.perf_counter() - started) * 1000
            client = scope.get("client") or ("-", 0)
            line = f'{client[0]} "{scope["method"]} {scope["path"]}" {status} {millis:.1f}ms{note}'
            self.state.access_log.append(line)
            access_logger.info(line)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                elapsed = int((time.perf_counter() - started) * 1000)
                headers.append((b"openai-processing-ms", str(elapsed).encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log()  # before the client can have the whole answer
            await send(message)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        declared = dict(scope.get("headers", [])).get(b"content-length")
        note = ""
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await error_response(too_large(limit))(scope, receive, send_with_id)
            else:
                await self.app(scope, counting_receive, send_with_id)
        except ConnectionDropped:
            note = " (connection dropped)"
            raise
        finally:
            log(note)


class _DroppingResponse(Response):
    """Sends the headers (full Content-Length) and part of the body, then cuts the connection."""

    def __init__(self, body: bytes, status_code: int, headers: Mapping[str, str], cut: int) -> None:
        super().__init__(body, status_code=status_code, headers=dict(headers))
        self.cut = max(0, min(cut, len(body) - 1))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body[: self.cut], "more_body": True})
        await asyncio.sleep(0.05)
        raise ConnectionDropped(f"dropped after {self.cut} of {len(self.body)} bytes")


def _drop(response: Response, action: FaultAction) -> Response:
    body = bytes(response.body)
    headers = {
        k.decode(): v.decode() for k, v in response.raw_headers if k.lower() != b"content-length"
    }
    cut = int(action.value) if action.value is not None else len(body) // 2
    return _DroppingResponse(body, response.status_code, headers, cut)


def _fault_error(action: FaultAction) -> ServiceError:
    if action.kind == "429":
        headers: dict[str, str] = {}
        if action.in_ms:
            headers["retry-after-ms"] = str(int(action.value or 0))
        else:
            headers["retry-after"] = str(math.ceil(action.value if action.value is not None else 1))
        return ServiceError(
            429,
            "Rate limit reached for requests. Please try again later.",
            type="requests",
            code="rate_limit_exceeded",
            headers=headers,
        )
    if action.kind == "429bare":
        return ServiceError(
            429,
            "Rate limit reached for requests. Please try again later.",
            type="requests",
            code="rate_limit_exceeded",
        )
    if action.kind == "401":
        return ServiceError(401, "Incorrect API key provided.", code="invalid_api_key")
    if action.kind == "404":
        return ServiceError(404, "Not found.", code="not_found")
    messages = {
        "500": "The server had an error while processing your request. Sorry about that!",
        "502": "Bad gateway.",
        "503": "The server is overloaded or not ready yet.",
    }
    return ServiceError(int(action.kind), messages[action.kind], type="server_error")


_PROXY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>"
)


def with_transport(app: ASGIApp) -> ASGIApp:
    """Wrap the app for uvicorn so a ``reset`` fault can abort the connection's transport.

    uvicorn's ``send`` is a bound method of the request cycle that owns the transport; the
    wrapper puts that transport in the scope before Starlette wraps ``send``.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            scope["sora.transport"] = transport
        await app(scope, receive, send)

    return wrapped


class _ResetResponse(Response):
    """Resets the connection before any byte of the answer (the request was served)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get("sora.transport")
        if transport is not None:
            transport.abort()
        raise ConnectionDropped("connection reset before the answer")


@dataclass(frozen=True)
class Call:
    """What an endpoint gets beside the request: who called, and any job-level fault."""

    owner: str
    fault: FaultAction | None
    drop: FaultAction | None


Handler = Callable[[Request, EmulatorState, Call], Awaitable[Response]]


def _authenticate(request: Request, state: EmulatorState) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ServiceError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    expected = state.settings.api_key
    if expected is not None and not secrets.compare_digest(token.encode(), expected.encode()):
        raise ServiceError(
            401,
            "Incorrect API key provided. This emulator was started with an API key: send that key "
            "as 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def endpoint(route: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with auth, fault injection and error answers."""

    async def run(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        drop: FaultAction | None = None
        try:
            owner = _authenticate(request, state)
            fault = state.faults.pick(route)
            job_fault: FaultAction | None = None
            if fault is not None:
                if fault.kind == "slow":
                    await asyncio.sleep((fault.value if fault.value is not None else 1500) / 1000)
                elif fault.kind == "drop":
                    drop = fault
                elif fault.kind in JOB_KINDS:
                    job_fault = fault
                elif fault.kind == "html":
                    return Response(_PROXY_PAGE, status_code=502, media_type="text/html")
                elif fault.kind not in ("reset", "badjson", "late"):
                    raise _fault_error(fault)
            response = await handler(request, state, Call(owner, job_fault, drop))
            if fault is not None and fault.kind == "late":
                await asyncio.sleep((fault.value if fault.value is not None else 1500) / 1000)
            if fault is not None and fault.kind == "reset":
                return _ResetResponse()
            if fault is not None and fault.kind == "badjson":
                return Response(b'{"id": "video_', media_type="application/json")
        except ServiceError as error:
            response = error_response(error)
        except BodyTooLarge:
            response = error_response(too_large(state.settings.max_body_bytes))
        if drop is not None and not isinstance(response, _DroppingResponse):
            if isinstance(response, FileResponse):
                return response  # the content route drops its own bodies
            return _drop(response, drop)
        return response

    return run


def _not_found(video_id: str) -> ServiceError:
    return ServiceError(404, f"Video with id '{video_id}' not found.", param="video_id")


def _video(job: Job, state: EmulatorState, **headers: str) -> JSONResponse:
    if "litellm-headers" in state.gateway:
        headers.update(_litellm_headers(job, state))
    return JSONResponse(
        job.to_dict(
            state.clock(),
            omit_nulls=bool(state.settings.extra.get("omit_nulls")),
            status_words="status-words" in state.gateway,
        ),
        headers=headers,
    )


def _litellm_headers(job: Job, state: EmulatorState) -> dict[str, str]:
    """What LiteLLM's proxy adds to a video answer: the deployment and the job's price (left out
    when the price is unknown)."""
    headers = {"x-litellm-model-id": state.deployment_id(job.model)}
    cost = state.profile.estimate_cost(job.model, job.size, job.seconds)
    if cost is not None:
        headers["x-litellm-response-cost"] = repr(float(cost))
    return headers


LITELLM_NO_PROVIDER = (
    "litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying "
    "to call. You passed model=None\n Pass model as E.g. For 'Huggingface' inference endpoints "
    "pass in `completion(model='huggingface/starcoder',..)` Learn more: "
    "https://docs.litellm.ai/docs/providers"
)
"""The message LiteLLM's proxy (1.108.7) answers ``GET /v1/videos`` with: it routes no list."""


async def _method_not_allowed(request: Request) -> Response:
    """A route the gateway lacks for this method: FastAPI's own 405, before any key check."""
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"allow": "GET"})


def _check_running_limit(state: EmulatorState, owner: str) -> None:
    limit = state.settings.max_running
    if limit is None:
        return
    now = state.clock()
    running = state.store.running(owner, now)
    if len(running) >= limit:
        soonest = min(j.created_at + j.duration for j in running)
        wait = max(1, math.ceil(soonest - now))
        raise ServiceError(
            429,
            f"Too many running tasks: {len(running)} of {limit} allowed per key are unfinished. "
            "Retry when one has finished.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": str(wait)},
        )


def _start_job(
    state: EmulatorState,
    call: Call,
    *,
    prompt: str,
    model: str,
    size: str,
    seconds: str,
    reference: bytes | None = None,
    source_video: str | None = None,
    continues: bool = False,
    remixed_from: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Job:
    now = state.clock()
    extra = extra or {}
    fail_code: str | None = None
    if state.blocked is not None and state.blocked.search(prompt):
        fail_code = "moderation_blocked"
    if call.fault is not None and call.fault.kind == "moderation":
        fail_code = "moderation_blocked"
    elif call.fault is not None and call.fault.kind == "fail":
        fail_code = "video_generation_failed"
    video_id = new_video_id()
    if "long-ids" in state.gateway:
        video_id = gateway_video_id(video_id, "openai", model, state.deployment_id(model))
    job = Job(
        id=video_id,
        owner=call.owner,
        model=model,
        size=size,
        seconds=seconds,
        prompt=prompt,
        created_at=now,
        duration=state.settings.job_seconds,
        content_ttl=state.settings.content_ttl,
        remixed_from_video_id=remixed_from,
        extra=extra,
        fail_code=fail_code,
        expire_at_completion=call.fault is not None and call.fault.kind == "expire",
    )
    if fail_code is None:
        width, _, height = size.partition("x")
        spec = RenderSpec(
            width=int(width),
            height=int(height),
            seconds=int(seconds),
            prompt=prompt,
            model=model,
            reference=reference,
            source_video=source_video,
            continues=continues,
            watermark=bool(extra.get("watermark")),
            audio=getattr(state.profile.offered_spec(model), "audio", None) is not False,
        )
        job.render_key = spec.key()
        job.render_spec = state.keep_spec(spec)
        state.store.add(job)
        _render(state, job, spec)
    else:
        state.store.add(job)
    return job


def _render(state: EmulatorState, job: Job, spec: RenderSpec) -> None:
    """Render ``job``'s clip in the background; the job (and the kept state) learn the result."""
    clock = state.clock

    def finished(future: Future[RenderResult]) -> None:
        try:
            result = future.result()
        except BaseException as exc:  # the job reports it
            job.render_done(None, f"{type(exc).__name__}: {exc}", clock())
        else:
            paths = {
                "video": result.video,
                "thumbnail": result.thumbnail,
                "spritesheet": result.spritesheet,
            }
            job.render_done(paths, None, clock())
        state.store.save()

    state.renders.submit(spec).add_done_callback(finished)


def resume_renders(state: EmulatorState) -> int:
    """After a restart: render again every kept job whose clip is missing (from its kept spec);
    a job that cannot be rendered again fails, saying why. Returns how many were started."""
    started = 0
    for job in state.store.load():
        if job.deleted or job.fail_code is not None or job.render_error is not None:
            continue
        paths = job.render_paths or {}
        if paths and all(os.path.exists(p) for p in paths.values()):
            continue
        spec = state.restore_spec(job)
        if spec is None:
            job.render_done(
                None,
                "the emulator restarted and cannot render this clip again (its reference or "
                "source is gone); create the video again",
                state.clock(),
            )
            continue
        job.render_paths = None
        _render(state, job, spec)
        started += 1
    state.store.save()
    return started


def _completed_source(state: EmulatorState, video_id: object, action: str, owner: str) -> Job:
    if not isinstance(video_id, str) or not video_id:
        raise bad_request("Invalid 'video.id': expected a video id.", param="video.id")
    job = state.store.get(video_id, owner)
    if job is None:
        raise _not_found(video_id)
    snap = job.snapshot(state.clock())
    if snap.status != "completed" or job.render_paths is None:
        raise bad_request(
            f"Video {video_id} is {snap.status}; only completed videos can be {action}.",
            param="video_id",
            code="invalid_video_status",
        )
    return job


def _extra_fields(state: EmulatorState, fields: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if "watermark" in fields and "watermark" in state.profile.extra_fields:
        extra["watermark"] = check_bool(fields["watermark"], "watermark")
    return extra


@dataclass(frozen=True)
class _Probe:
    path: str
    width: int
    height: int
    seconds: int


def _probe_video(data: bytes, uploads: Path) -> _Probe | None:
    """Save an uploaded video and read its size and length; None if it is not a video."""
    import av

    digest = hashlib.sha256(data).hexdigest()[:40]
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / f"{digest}.mp4"
    if not path.exists():
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if container.duration is not None:
                length = container.duration / 1_000_000
            elif stream.duration is not None and stream.time_base is not None:
                length = float(stream.duration * stream.time_base)
            else:
                length = 4.0
    except (av.error.FFmpegError, IndexError, OSError):
        return None
    return _Probe(str(path), width & ~1, height & ~1, max(1, round(length)))


def nearest_spec_size(width: int, height: int, sizes: Sequence[str]) -> str:
    """The size in ``sizes`` nearest to ``width``x``height``: same orientation first, then the
    closest aspect ratio, then the closest pixel count (earlier sizes win ties)."""

    def shape(size: str) -> tuple[int, int]:
        w, _, h = size.partition("x")
        return int(w), int(h)

    def orientation(w: int, h: int) -> int:
        return (w > h) - (w < h)

    same = [s for s in sizes if orientation(*shape(s)) == orientation(width, height)]
    pool = same or list(sizes)

    def distance(item: tuple[int, str]) -> tuple[float, float, int]:
        index, size = item
        w, h = shape(size)
        aspect = abs(math.log((w / h) / (width / height)))
        area = abs(math.log((w * h) / (width * height)))
        return round(aspect, 6), round(area, 6), index

    return min(enumerate(pool), key=distance)[1]


def nearest_spec_seconds(seconds: float, choices: Sequence[str]) -> str:
    """The length in ``choices`` nearest to ``seconds`` (the longer one on a tie)."""
    return min(choices, key=lambda c: (abs(int(c) - seconds), -int(c)))


def _spec_shape(state: EmulatorState, model: str, probe: _Probe) -> tuple[str, str]:
    """The contract's size and seconds for an uploaded clip: the nearest size of its orientation
    and the nearest length the model offers (a clip made here keeps its own)."""
    spec = state.profile.offered_spec(model)
    sizes = (
        spec.sizes
        if spec
        else tuple(dict.fromkeys(s for m in state.profile.known_models for s in m.sizes))
    )
    choices = (
        spec.seconds
        if spec
        else tuple(dict.fromkeys(c for m in state.profile.known_models for c in m.seconds))
    )
    size = f"{probe.width}x{probe.height}"
    length = str(probe.seconds)
    if size not in sizes:
        size = nearest_spec_size(probe.width, probe.height, sizes)
    if length not in choices:
        length = nearest_spec_seconds(probe.seconds, [c for c in choices if c.isdigit()])
    return size, length


async def _video_source(
    state: EmulatorState, value: object, action: str, owner: str
) -> tuple[Job | None, _Probe]:
    """A source video given as ``{"id": …}`` or as an uploaded file."""
    if isinstance(value, Mapping):
        unknown = [k for k in value if k != "id"]
        if unknown:
            raise bad_request(
                f"Unknown parameter: 'video.{unknown[0]}'.",
                param=f"video.{unknown[0]}",
                code="unknown_parameter",
            )
        job = _completed_source(state, value.get("id"), action, owner)
        width, _, height = job.size.partition("x")
        assert job.render_paths is not None
        return job, _Probe(job.render_paths["video"], int(width), int(height), int(job.seconds))
    if isinstance(value, Upload):
        check_upload_type(value, "video", VIDEO_TYPES)
        probe = await asyncio.to_thread(_probe_video, value.data, state.uploads_dir)
        if probe is None:
            raise bad_request(
                "Invalid file 'video': the video could not be decoded.",
                param="video",
                code="invalid_value",
            )
        return None, probe
    if value is None:
        raise bad_request(
            "Missing required parameter: 'video'.", param="video", code="missing_required_parameter"
        )
    raise bad_request(
        "Invalid type for 'video': expected a file or an object with an 'id', "
        f"but got {'a string' if isinstance(value, str) else 'another type'} instead.",
        param="video",
        code="invalid_type",
    )


# -- endpoints ----------------------------------------------------------------------------------


async def create_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``POST /v1/videos``: validate like the service, start a job, answer it queued."""
    body = await read_fields(request, state.settings.max_body_bytes)
    fields = body.values
    named = fields.get("model")
    offered = state.profile.offered_spec(named) if isinstance(named, str) else None
    model_fields = sorted(offered.extra_fields) if offered else []
    check_unknown(fields, (*CREATE_FIELDS, *sorted(state.profile.extra_fields), *model_fields))
    prompt = check_prompt(fields.get("prompt"), limit=state.profile.max_prompt_chars)
    model, spec = check_model(fields.get("model"), state.profile, state.rules)
    size = check_size(fields.get("size"), spec, state.profile)
    seconds = check_seconds(fields.get("seconds"), spec, state.profile, state.rules)
    extra = _extra_fields(state, fields)
    reference: bytes | None = None
    raw_reference = fields.get("input_reference")
    if raw_reference is not None and raw_reference != "":
        if spec is not None and spec.reference == "none":
            raise bad_request(
                f"Model '{spec.name}' does not take an input_reference.",
                param="input_reference",
                code="invalid_value",
            )
        upload = await resolve_reference(
            raw_reference,
            rules=state.rules,
            from_json=body.is_json,
            timeout=state.settings.fetch_timeout,
            max_bytes=state.settings.fetch_max_bytes,
        )
        fit = spec.reference if spec is not None else "exact"
        shape = await asyncio.to_thread(check_reference_image, upload, size, fit=fit)
        if size == "auto" and spec is not None:
            size = nearest_spec_size(shape[0], shape[1], spec.sizes)
        reference = upload.data
    if size == "auto":
        size = spec.first_size if spec is not None and spec.first_size else "1280x720"
    _check_running_limit(state, call.owner)
    job = _start_job(
        state,
        call,
        prompt=prompt,
        model=model,
        size=size,
        seconds=seconds,
        reference=reference,
        extra=extra,
    )
    return _video(job, state)


async def list_videos(request: Request, state: EmulatorState, call: Call) -> Response:
    """``GET /v1/videos``: one page, newest first by default, with ``after``/``limit``/``order``."""
    if "no-list" in state.gateway:
        raise ServiceError(400, LITELLM_NO_PROVIDER, code="400")
    query = request.query_params
    check_unknown(query, ("after", "limit", "order"))
    limit = parse_limit(query.get("limit"))
    order = parse_order(query.get("order"))
    jobs, has_more = state.store.page(
        order=order, after=query.get("after"), limit=limit, owner=call.owner
    )
    now = state.clock()
    omit = bool(state.settings.extra.get("omit_nulls"))
    return JSONResponse(
        {
            "object": "list",
            "data": [j.to_dict(now, omit_nulls=omit) for j in jobs],
            "first_id": jobs[0].id if jobs else None,
            "last_id": jobs[-1].id if jobs else None,
            "has_more": has_more,
        }
    )


async def retrieve_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``GET /v1/videos/{id}``: the job now; ``openai-poll-after-ms`` while it is not finished."""
    video_id = request.path_params["video_id"]
    job = state.store.get(video_id, call.owner)
    if job is None:
        raise _not_found(video_id)
    if job.snapshot(state.clock()).is_terminal:
        return _video(job, state)
    return _video(
        job, state, **{"openai-poll-after-ms": str(state.settings.resolved_poll_after_ms)}
    )


async def delete_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``DELETE /v1/videos/{id}``: only a completed or failed job (409 otherwise)."""
    video_id = request.path_params["video_id"]
    job = state.store.get(video_id, call.owner)
    if job is None:
        raise _not_found(video_id)
    snap = job.snapshot(state.clock())
    if not snap.is_terminal:
        raise ServiceError(
            409,
            f"Video {video_id} is {snap.status}; only completed or failed videos can be deleted.",
            param="video_id",
            code="invalid_video_status",
        )
    state.store.delete(video_id)
    return JSONResponse({"id": video_id, "object": "video.deleted", "deleted": True})


async def video_content(request: Request, state: EmulatorState, call: Call) -> Response:
    """``GET /v1/videos/{id}/content``: the MP4, thumbnail or spritesheet, with HTTP Range."""
    video_id = request.path_params["video_id"]
    if "ignore-variants" in state.gateway:
        variant = "video"  # like LiteLLM: the query is not read at all
    else:
        check_unknown(request.query_params, ("variant",))
        variant = parse_variant(request.query_params.get("variant"))
    ignore_range = "ignore-range" in state.gateway
    job = state.store.get(video_id, call.owner)
    if job is None:
        raise _not_found(video_id)
    now = state.clock()
    snap = job.snapshot(now)
    if snap.status == "failed":
        raise bad_request(
            f"Video {video_id} failed; it has no content.",
            param="video_id",
            code="invalid_video_status",
        )
    if snap.status != "completed" or job.render_paths is None:
        raise bad_request(
            f"Video {video_id} is not ready yet (status '{snap.status}', progress "
            f"{snap.progress}%); use GET /v1/videos/{video_id} to check its status.",
            param="video_id",
            code="video_not_ready",
        )
    expired = snap.expires_at is not None and now >= snap.expires_at
    if expired or (call.fault is not None and call.fault.kind == "expire"):
        raise ServiceError(
            404,
            f"The content of video {video_id} has expired; downloads are kept for "
            f"{state.settings.content_ttl:g} s after completion. Create or remix it again.",
            param="video_id",
            code="video_expired",
        )
    path = job.render_paths[variant]
    media_type = MEDIA_TYPES[variant]
    headers = {
        "content-disposition": f'inline; filename="{video_id}.{SUFFIXES[variant]}"',
        "cache-control": "private, max-age=3600",
    }
    if call.drop is not None:
        # the dropped answer honours Range like a real one, so a resuming client makes progress
        data = await asyncio.to_thread(Path(path).read_bytes)
        status, total = 200, len(data)
        start = None if ignore_range else _range_start(request.headers.get("range"), total)
        if start is not None:
            data = data[start:]
            status = 206
            headers["content-range"] = f"bytes {start}-{total - 1}/{total}"
        cut = int(call.drop.value) if call.drop.value is not None else len(data) // 2
        return _DroppingResponse(data, status, {**headers, "content-type": media_type}, cut)
    if ignore_range:
        data = await asyncio.to_thread(Path(path).read_bytes)
        return Response(data, media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


def _range_start(header: str | None, total: int) -> int | None:
    """The first byte of an open or closed ``bytes=N-`` range inside the body, else None."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first = header[len("bytes=") :].split("-", 1)[0].strip()
    if not first.isdigit() or int(first) >= total:
        return None
    return int(first)


async def remix_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``POST /v1/videos/{id}/remix``: a new job with the completed source's model and size."""
    source = _completed_source(state, request.path_params["video_id"], "remixed", call.owner)
    body = await read_fields(request, state.settings.max_body_bytes)
    check_unknown(body.values, ("prompt", *sorted(state.profile.extra_fields)))
    prompt = check_prompt(body.values.get("prompt"), limit=state.profile.max_prompt_chars)
    extra = _extra_fields(state, body.values)
    _check_running_limit(state, call.owner)
    assert source.render_paths is not None
    job = _start_job(
        state,
        call,
        prompt=prompt,
        model=source.model,
        size=source.size,
        seconds=source.seconds,
        source_video=source.render_paths["video"],
        remixed_from=source.id,
        extra=extra,
    )
    return _video(job, state)


async def edit_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``POST /v1/videos/edits``: a new job from a completed video (by id) or an uploaded clip."""
    body = await read_fields(request, state.settings.max_body_bytes)
    check_unknown(body.values, ("prompt", "video"))
    prompt = check_prompt(body.values.get("prompt"))
    source, probe = await _video_source(state, body.values.get("video"), "edited", call.owner)
    _check_running_limit(state, call.owner)
    model = source.model if source else state.profile.default_model
    size, length = (source.size, source.seconds) if source else _spec_shape(state, model, probe)
    job = _start_job(
        state,
        call,
        prompt=prompt,
        model=model,
        size=size,
        seconds=length,
        source_video=probe.path,
    )
    return _video(job, state)


async def extend_video(request: Request, state: EmulatorState, call: Call) -> Response:
    """``POST /v1/videos/extensions``: a new job as long as the source plus ``seconds``."""
    body = await read_fields(request, state.settings.max_body_bytes)
    check_unknown(body.values, ("prompt", "seconds", "video"))
    prompt = check_prompt(body.values.get("prompt"))
    if "seconds" not in body.values:
        raise bad_request(
            "Missing required parameter: 'seconds'.",
            param="seconds",
            code="missing_required_parameter",
        )
    seconds = check_seconds(
        body.values["seconds"], None, state.profile, state.rules, allowed=EXTENSION_SECONDS
    )
    source, probe = await _video_source(state, body.values.get("video"), "extended", call.owner)
    _check_running_limit(state, call.owner)
    model = source.model if source else state.profile.default_model
    size, length = (source.size, source.seconds) if source else _spec_shape(state, model, probe)
    job = _start_job(
        state,
        call,
        prompt=prompt,
        model=model,
        size=size,
        seconds=str(int(length) + int(seconds)),
        source_video=probe.path,
        continues=True,
    )
    return _video(job, state)


async def create_character(request: Request, state: EmulatorState, call: Call) -> Response:
    """``POST /v1/videos/characters``: a named character from an uploaded video that decodes."""
    body = await read_fields(request, state.settings.max_body_bytes)
    check_unknown(body.values, ("name", "video"))
    name = check_prompt(body.values.get("name"), name="name", limit=80)
    video = body.values.get("video")
    if not isinstance(video, Upload):
        raise bad_request(
            "Invalid type for 'video': expected a file, but got "
            f"{'nothing' if video is None else 'a string'} instead.",
            param="video",
            code="invalid_type",
        )
    check_upload_type(video, "video", VIDEO_TYPES)
    if await asyncio.to_thread(_probe_video, video.data, state.uploads_dir) is None:
        raise bad_request(
            "Invalid file 'video': the video could not be decoded.",
            param="video",
            code="invalid_value",
        )
    character = Character(new_character_id(), name, int(state.clock()), call.owner)
    state.store.add_character(character)
    return JSONResponse(character.to_dict())


async def get_character(request: Request, state: EmulatorState, call: Call) -> Response:
    """``GET /v1/videos/characters/{id}``: a character made here (404 otherwise)."""
    character_id = request.path_params["character_id"]
    character = state.store.character(character_id, call.owner)
    if character is None:
        raise ServiceError(
            404, f"Character with id '{character_id}' not found.", param="character_id"
        )
    return JSONResponse(character.to_dict())


async def index(request: Request) -> Response:
    """``GET /``: what this server is (an emulator; its videos are synthetic)."""
    state: EmulatorState = request.app.state.emulator
    return JSONResponse(
        {
            "object": "emulator",
            "name": "sora-widgets emulator",
            "note": "Videos made here are synthetic: rendered locally, nothing is generated or billed.",
            "profile": state.profile.name,
            "job_seconds": state.settings.job_seconds,
            "endpoints": "/v1/videos",
        }
    )


async def list_models(request: Request, state: EmulatorState, call: Call) -> Response:
    """``GET /v1/models``: the models this emulator renders, in the contract's list shape."""
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": spec.name, "object": "model", "created": 0, "owned_by": "emulator"}
                for spec in state.profile.known_models
            ],
        }
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in (404, 405):
        message = f"Invalid URL ({request.method} {request.url.path})"
        return error_response(ServiceError(status, message))
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return error_response(ServiceError(status, str(detail), type="server_error"))


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(
        ServiceError(
            500,
            f"The emulator failed while handling the request ({type(exc).__name__}: {exc}).",
            type="server_error",
        )
    )


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """A Starlette app serving the contract under ``/v1``; ``app.state.emulator`` is its state."""
    settings = settings or EmulatorSettings()
    state = EmulatorState(settings)

    def route(path: str, route_name: str, handler: Handler, method: str) -> Route:
        return Route(path, endpoint(route_name, handler), methods=[method])

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/v1", index, methods=["GET"]),
        route("/v1/models", "models", list_models, "GET"),
        route("/v1/videos", "create", create_video, "POST"),
        route("/v1/videos", "list", list_videos, "GET"),
        route("/v1/videos/edits", "edits", edit_video, "POST"),
        (
            Route("/v1/videos/extensions", _method_not_allowed, methods=["POST"])
            if "no-extensions" in state.gateway
            else route("/v1/videos/extensions", "extensions", extend_video, "POST")
        ),
        route("/v1/videos/characters", "characters", create_character, "POST"),
        route("/v1/videos/characters/{character_id}", "characters", get_character, "GET"),
        route("/v1/videos/{video_id}", "retrieve", retrieve_video, "GET"),
        (
            Route("/v1/videos/{video_id}", _method_not_allowed, methods=["DELETE"])
            if "no-delete" in state.gateway
            else route("/v1/videos/{video_id}", "delete", delete_video, "DELETE")
        ),
        route("/v1/videos/{video_id}/content", "content", video_content, "GET"),
        route("/v1/videos/{video_id}/remix", "remix", remix_video, "POST"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.renders.warm()
        if state.state_dir is not None:
            resume_renders(state)
        try:
            yield
        finally:
            state.close()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.emulator = state
    app.add_middleware(_Frame, state=state)
    return app
