"""`SoraClient` and `AsyncSoraClient`: one keyword-only surface, two ways of sending.

Both only drive the flows of `_endpoints` / `_flows`; retries, create reconciliation, resumable
downloads and polling live there once.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from ._endpoints import ClientCore
from ._errors import APIConnectionError, SoraError, scrub
from ._filenames import safe_filename
from ._flows import Action, Send, Sleep, Stream, accept_stream, download_flow, parsed_flow
from ._models import Character, DeletedVideo, Video, VideoList
from ._polling import PollPolicy
from ._prices import (
    GatewayModel,
    GatewayPrice,
    build_model_info,
    build_models,
    parse_model_info,
    parse_model_prices,
    parse_models,
)
from ._profiles import Profile
from ._requests import build_content
from ._retry import RetryPolicy

__all__ = ["AsyncSoraClient", "AsyncVideoPager", "SoraClient", "VideoPager", "safe_filename"]

T = TypeVar("T")

CHUNK_SIZE = 1 << 20


def _target(video_id: str, path: str | os.PathLike[str] | None, variant: str) -> Path:
    if path is None:
        return Path.cwd() / safe_filename(video_id, variant)
    target = Path(path)
    if target.is_dir():
        return target / safe_filename(video_id, variant)
    return target


class _PartFile:
    """A temporary file beside ``target``, renamed into place only when complete."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        self.target = target
        self.path = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "w+b")

    def commit(self) -> Path:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.path, self.target)
        return self.target

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


class SoraClient(ClientCore):
    """A synchronous client for any server that speaks `/v1/videos`.

    Settings resolve from the arguments, then ``SORA_API_KEY`` / ``OPENAI_API_KEY``,
    ``SORA_BASE_URL`` / ``OPENAI_BASE_URL`` and ``SORA_PROFILE``. The key travels only in the
    Authorization header and appears in no repr, log line or error message.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        profile: str | Profile | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            profile=profile,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            poll_policy=poll_policy,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(follow_redirects=True, timeout=self.timeout)
        self._sleep = sleep

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (only if this client made it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SoraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driving flows -------------------------------------------------------------------------

    def _run(self, flow: Generator[Action, Any, T]) -> T:
        try:
            return self._drive(flow)
        except SoraError as exc:
            self._learn_from(exc)
            scrub(exc, self._api_key)
            raise

    def _drive(self, flow: Generator[Action, Any, T]) -> T:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            if isinstance(action, Sleep):
                self._sleep(action.seconds)
            elif isinstance(action, Send):
                request = self._build_request(self._http, action.request, action.timeout)
                try:
                    result = self._http.send(request)
                except httpx.HTTPError as exc:
                    error = self._transport_error(exc, action.request)
                else:
                    self._observe(result)
            else:
                try:
                    result = self._stream(action)
                except httpx.HTTPError as exc:
                    error = self._transport_error(exc, action.request)
                except APIConnectionError as exc:  # content that is not content
                    error = exc

    def _stream(self, action: Stream) -> httpx.Response:
        request = self._build_request(self._http, action.request)
        request.headers["Accept-Encoding"] = "identity"
        response = self._http.send(request, stream=True)
        try:
            if accept_stream(response, action.sink, action.offset, action.learned):
                for chunk in response.iter_raw():
                    action.sink.write(chunk)
            else:
                response.read()
        finally:
            response.close()
        return response

    # -- endpoints -----------------------------------------------------------------------------

    def create(
        self,
        *,
        prompt: str,
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        input_reference: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        validate: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> Video:
        """Start a generation; returns the queued Video.

        Checked against the profile first (`ValidationError`, nothing sent). Never billed twice:
        after an ambiguous failure the job is looked for before anything is resent.
        ``retry_policy`` overrides the client's for this call.
        """
        return self._run(
            self._create_flow(
                prompt=prompt,
                model=model,
                size=size,
                seconds=seconds,
                input_reference=input_reference,
                extra_body=extra_body,
                validate=validate,
                retry_policy=retry_policy,
            )
        )

    def retrieve(self, video_id: str) -> Video:
        """The job's current state; a malformed answer is retried like a dropped connection."""
        return self._run(self._retrieve_flow(video_id))

    def model_prices(self) -> dict[str, GatewayPrice]:
        """The gateway's own prices of its video models (LiteLLM's ``GET /model/info``), by model
        name. Raises `APIError` (e.g. `NotFoundError`) where the server has no such route."""
        return self._run(parsed_flow(build_model_info(), self.retry_policy, parse_model_prices))

    def models(self, *, retry_policy: RetryPolicy | None = None) -> list[str]:
        """The model ids the server offers (``GET /models``). Raises `APIError` (e.g.
        `NotFoundError`) where the server has no such route."""
        policy = retry_policy or self.retry_policy
        return self._run(parsed_flow(build_models(), policy, parse_models))

    def model_info(self, *, retry_policy: RetryPolicy | None = None) -> list[GatewayModel]:
        """Every model a gateway routes, with its mode, upstream model and price (LiteLLM's
        ``GET /model/info``). Raises `APIError` where the server has no such route."""
        policy = retry_policy or self.retry_policy
        return self._run(parsed_flow(build_model_info(), policy, parse_model_info))

    def retrieve_with_hint(self, video_id: str) -> tuple[Video, str | None]:
        """`retrieve`, and the server's raw ``openai-poll-after-ms`` header (None if absent).

        The hint is the server's suggested delay before the next retrieve, in milliseconds, as
        sent: give it to `PollTracker.observe`, which ignores garbage.
        """
        return self._run(self._retrieve_with_hint_flow(video_id))

    def list(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> VideoPager:
        """Iterate over videos, fetching pages of ``limit`` lazily as iteration goes on."""
        return VideoPager(self, limit=limit, after=after, order=order)

    def list_page(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> VideoList:
        """One page of the list, newest first unless ``order="asc"``.

        ``limit`` is 0–100 and ``order`` asc or desc (`ValidationError`, nothing sent); ``after``
        is the ``last_id`` of the page before. Not every gateway routes list (LiteLLM answers 400).
        """
        return self._run(self._list_page_flow(limit=limit, after=after, order=order))

    def delete(self, video_id: str) -> DeletedVideo:
        """Delete a completed or failed video (a running one gives `ConflictError` or similar)."""
        return self._run(self._delete_flow(video_id))

    def remix(self, video_id: str, *, prompt: str) -> Video:
        """A new job that changes a completed video as ``prompt`` says; never resent blindly."""
        return self._run(self._remix_flow(video_id, prompt))

    def edit(
        self, *, prompt: str, video: Any, extra_body: Mapping[str, Any] | None = None
    ) -> Video:
        """A new job that edits a video (``video``: an id, a Video or ``{"id": …}``).

        Like `create`, it is never resent blindly after an ambiguous failure.
        """
        return self._run(self._edit_flow(prompt, video, extra_body))

    def extend(
        self,
        *,
        prompt: str,
        seconds: str | int,
        video: Any,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Video:
        """A new job that continues a video by ``seconds``; the result's ``seconds`` is the total.

        Like `create`, it is never resent blindly after an ambiguous failure.
        """
        return self._run(self._extend_flow(prompt, seconds, video, extra_body))

    def create_character(self, *, name: str, video: Any) -> Character:
        """Make a character (1–80 character name) from an uploaded video file."""
        return self._run(self._character_flow(name, video))

    def retrieve_character(self, character_id: str) -> Character:
        """A character made by `create_character` (`NotFoundError` if the server has none)."""
        return self._run(self._get_character_flow(character_id))

    def wait(
        self,
        video_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[Video], None] | None = None,
        raise_on_failure: bool = True,
    ) -> Video:
        """Poll until the job is completed or failed, and return its last state.

        ``timeout`` (seconds, default the poll policy's ``deadline``) holds whatever the server
        answers: retry sleeps are clipped to it, each request's timeouts are capped to the time
        left, and answers that are not a video are polled through. Then `APITimeoutError`: the job
        keeps running on the server and can be waited for again. A failed job raises
        `VideoFailedError` unless ``raise_on_failure`` is False; ``on_update`` gets every state seen.
        """
        return self._run(
            self._wait_flow(
                video_id, timeout=timeout, on_update=on_update, raise_on_failure=raise_on_failure
            )
        )

    def download(
        self,
        video_id: str,
        path: str | os.PathLike[str] | None = None,
        *,
        variant: str = "video",
    ) -> Path:
        """Stream content to ``path`` (a file, or a folder for ``<id>.mp4`` etc.) and return it.

        Written to a temporary file and renamed into place when complete, so a partial file never
        stands where a finished one should; a dropped transfer resumes with Range. Memory stays flat.
        """
        spec = build_content(video_id, variant)
        part = _PartFile(_target(video_id, path, variant))
        try:
            self._run(download_flow(spec, part.file, self.retry_policy, self.learned))
        except BaseException:
            part.discard()
            raise
        return part.commit()

    def download_bytes(self, video_id: str, *, variant: str = "video") -> bytes:
        """The content in memory (for thumbnails and small clips; use `download` for videos)."""
        buffer = io.BytesIO()
        self._run(
            download_flow(build_content(video_id, variant), buffer, self.retry_policy, self.learned)
        )
        return buffer.getvalue()


class VideoPager:
    """Videos of a list, page by page as iteration needs them."""

    def __init__(
        self, client: SoraClient, *, limit: int | None, after: str | None, order: str | None
    ) -> None:
        self._client = client
        self._limit = limit
        self._after = after
        self._order = order

    def iter_pages(self) -> Iterator[VideoList]:
        """The pages themselves, each fetched when the one before is used up."""
        after = self._after
        while True:
            page = self._client.list_page(limit=self._limit, after=after, order=self._order)
            yield page
            if not page.has_more or not page.last_id or page.last_id == after:
                return
            after = page.last_id

    def __iter__(self) -> Iterator[Video]:
        for page in self.iter_pages():
            yield from page.data


class AsyncSoraClient(ClientCore):
    """The asyncio twin of `SoraClient`: the same keyword-only methods, awaited."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        profile: str | Profile | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            profile=profile,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            poll_policy=poll_policy,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(follow_redirects=True, timeout=self.timeout)
        self._sleep = sleep

    async def close(self) -> None:
        """Close the connection pool (only if this client made it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncSoraClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run(self, flow: Generator[Action, Any, T]) -> T:
        try:
            return await self._drive(flow)
        except SoraError as exc:
            self._learn_from(exc)
            scrub(exc, self._api_key)
            raise

    async def _drive(self, flow: Generator[Action, Any, T]) -> T:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            if isinstance(action, Sleep):
                await self._sleep(action.seconds)
            elif isinstance(action, Send):
                request = self._build_request(self._http, action.request, action.timeout)
                try:
                    result = await self._http.send(request)
                except httpx.HTTPError as exc:
                    error = self._transport_error(exc, action.request)
                else:
                    self._observe(result)
            else:
                try:
                    result = await self._stream(action)
                except httpx.HTTPError as exc:
                    error = self._transport_error(exc, action.request)
                except APIConnectionError as exc:  # content that is not content
                    error = exc

    async def _stream(self, action: Stream) -> httpx.Response:
        request = self._build_request(self._http, action.request)
        request.headers["Accept-Encoding"] = "identity"
        response = await self._http.send(request, stream=True)
        try:
            if accept_stream(response, action.sink, action.offset, action.learned):
                async for chunk in response.aiter_raw():
                    action.sink.write(chunk)
            else:
                await response.aread()
        finally:
            await response.aclose()
        return response

    async def create(
        self,
        *,
        prompt: str,
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        input_reference: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        validate: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> Video:
        """Start a generation; see `SoraClient.create`."""
        return await self._run(
            self._create_flow(
                prompt=prompt,
                model=model,
                size=size,
                seconds=seconds,
                input_reference=input_reference,
                extra_body=extra_body,
                validate=validate,
                retry_policy=retry_policy,
            )
        )

    async def retrieve(self, video_id: str) -> Video:
        """The job's current state; see `SoraClient.retrieve`."""
        return await self._run(self._retrieve_flow(video_id))

    async def model_prices(self) -> dict[str, GatewayPrice]:
        """The gateway's own prices of its video models; see `SoraClient.model_prices`."""
        return await self._run(
            parsed_flow(build_model_info(), self.retry_policy, parse_model_prices)
        )

    async def models(self, *, retry_policy: RetryPolicy | None = None) -> list[str]:
        """The model ids the server offers; see `SoraClient.models`."""
        policy = retry_policy or self.retry_policy
        return await self._run(parsed_flow(build_models(), policy, parse_models))

    async def model_info(self, *, retry_policy: RetryPolicy | None = None) -> list[GatewayModel]:
        """Every model a gateway routes; see `SoraClient.model_info`."""
        policy = retry_policy or self.retry_policy
        return await self._run(parsed_flow(build_model_info(), policy, parse_model_info))

    async def retrieve_with_hint(self, video_id: str) -> tuple[Video, str | None]:
        """The job's state and the raw poll hint; see `SoraClient.retrieve_with_hint`."""
        return await self._run(self._retrieve_with_hint_flow(video_id))

    def list(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> AsyncVideoPager:
        """``async for video in client.list(...)``: pages fetched lazily."""
        return AsyncVideoPager(self, limit=limit, after=after, order=order)

    async def list_page(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> VideoList:
        """One page of the list; see `SoraClient.list_page`."""
        return await self._run(self._list_page_flow(limit=limit, after=after, order=order))

    async def delete(self, video_id: str) -> DeletedVideo:
        """Delete a completed or failed video; see `SoraClient.delete`."""
        return await self._run(self._delete_flow(video_id))

    async def remix(self, video_id: str, *, prompt: str) -> Video:
        """A new job that changes a completed video; see `SoraClient.remix`."""
        return await self._run(self._remix_flow(video_id, prompt))

    async def edit(
        self, *, prompt: str, video: Any, extra_body: Mapping[str, Any] | None = None
    ) -> Video:
        """Edit a video; see `SoraClient.edit`."""
        return await self._run(self._edit_flow(prompt, video, extra_body))

    async def extend(
        self,
        *,
        prompt: str,
        seconds: str | int,
        video: Any,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Video:
        """Extend a video; see `SoraClient.extend`."""
        return await self._run(self._extend_flow(prompt, seconds, video, extra_body))

    async def create_character(self, *, name: str, video: Any) -> Character:
        """Make a character from a video file; see `SoraClient.create_character`."""
        return await self._run(self._character_flow(name, video))

    async def retrieve_character(self, character_id: str) -> Character:
        """A character by id; see `SoraClient.retrieve_character`."""
        return await self._run(self._get_character_flow(character_id))

    async def wait(
        self,
        video_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[Video], None] | None = None,
        raise_on_failure: bool = True,
    ) -> Video:
        """Poll until the job is completed or failed; see `SoraClient.wait`.

        Sleeps with the client's ``sleep`` (``asyncio.sleep``), so the loop stays free; cancelling
        the task stops the waiting, not the job.
        """
        return await self._run(
            self._wait_flow(
                video_id, timeout=timeout, on_update=on_update, raise_on_failure=raise_on_failure
            )
        )

    async def download(
        self,
        video_id: str,
        path: str | os.PathLike[str] | None = None,
        *,
        variant: str = "video",
    ) -> Path:
        """Stream content to ``path``; see `SoraClient.download`."""
        spec = build_content(video_id, variant)
        part = _PartFile(_target(video_id, path, variant))
        try:
            await self._run(download_flow(spec, part.file, self.retry_policy, self.learned))
        except BaseException:
            part.discard()
            raise
        return part.commit()

    async def download_bytes(self, video_id: str, *, variant: str = "video") -> bytes:
        """The content in memory; see `SoraClient.download_bytes`."""
        buffer = io.BytesIO()
        await self._run(
            download_flow(build_content(video_id, variant), buffer, self.retry_policy, self.learned)
        )
        return buffer.getvalue()


class AsyncVideoPager:
    """Videos of a list for ``async for``, page by page."""

    def __init__(
        self, client: AsyncSoraClient, *, limit: int | None, after: str | None, order: str | None
    ) -> None:
        self._client = client
        self._limit = limit
        self._after = after
        self._order = order

    async def iter_pages(self) -> AsyncIterator[VideoList]:
        """The pages themselves (``async for``), each fetched when the one before is used up."""
        after = self._after
        while True:
            page = await self._client.list_page(limit=self._limit, after=after, order=self._order)
            yield page
            if not page.has_more or not page.last_id or page.last_id == after:
                return
            after = page.last_id

    async def __aiter__(self) -> AsyncIterator[Video]:
        async for page in self.iter_pages():
            for video in page.data:
                yield video
