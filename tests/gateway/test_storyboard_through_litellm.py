"""Storyboards through the real LiteLLM proxy (1.108.7), in front of the two emulators that serve
``sora-2`` (load-balanced) and the one that serves ``sora-2-pro``.

The kit talks to the proxy through `RecordingRelay`, a plain HTTP hop on 127.0.0.1 that notes every
request the proxy receives (method, path, whether a create carried an ``input_reference``); what
arrived behind the proxy is asked of each emulator directly, with its own key.
"""

from __future__ import annotations

import http.server
import itertools
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from sora_widgets.config import Settings, resolve_settings
from sora_widgets.jobs import JobStatus, Storyboard, capability, storyboard
from sora_widgets.media import last_frame

from .._media import frame_at, psnr, video_seconds
from ..integration._emulator_helpers import magic_shell
from ._helpers import decode_litellm_id, deployments
from .conftest import Backend, Gateway

pytestmark = pytest.mark.slow

SIZE = "1280x720"
SECONDS = 4  # the shortest sora-2 length: the emulators render each shot in about a second
BOARD_TIMEOUT = 180.0


# -- the proxy's view: every request it receives from the kit ---------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    """Unquoted (the kit sends a LiteLLM id's ``=`` as ``%3D``)."""
    reference: bool
    """True for a multipart body with an ``input_reference`` part."""


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RecordingRelay:
    """An HTTP relay on 127.0.0.1 in front of ``target`` (the proxy's root URL): forwards every
    request as it came and every answer as it went, and records each request in `seen`."""

    def __init__(self, target: str) -> None:
        self.seen: list[Seen] = []
        upstream = httpx.Client(base_url=target, timeout=120)
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urllib.parse.unquote(self.path)
                relay.seen.append(Seen(self.command, path, b'name="input_reference"' in body))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer = upstream.request(self.command, self.path, headers=headers, content=body)
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in (*_HOP_BY_HOP, "content-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._upstream = upstream
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def where(self, method: str, path: str) -> list[int]:
        """The places of such requests in the order the proxy received them."""
        return [i for i, r in enumerate(self.seen) if (r.method, r.path) == (method, path)]

    def creates(self) -> list[Seen]:
        return [self.seen[i] for i in self.where("POST", "/v1/videos")]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()


@pytest.fixture
def relay(gateway: Gateway) -> Iterator[RecordingRelay]:
    hop = RecordingRelay(gateway.url)
    yield hop
    hop.stop()


def settings_for(gateway: Gateway, relay: RecordingRelay, tmp_path: Path) -> Settings:
    return resolve_settings(
        base_url=relay.base_url,
        api_key=gateway.master_key,
        profile="litellm",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
    )


# -- behind the proxy: each emulator asked directly --------------------------------------------


def emulator_of(gateway: Gateway, video_id: str) -> tuple[Backend, str]:
    """The emulator that holds a LiteLLM video id's job, and the job's id there."""
    parts = decode_litellm_id(video_id)
    api_base = deployments(gateway)[parts["deployment_id"]]
    (backend,) = (e for e in gateway.emulators if e.url == api_base)
    return backend, parts["video_id"]


def upstream_get(gateway: Gateway, video_id: str, tail: str = "") -> httpx.Response:
    """``GET /videos/{id}{tail}`` asked of the emulator behind the proxy, with its own key."""
    backend, upstream_id = emulator_of(gateway, video_id)
    answer = httpx.get(
        f"{backend.url}/videos/{upstream_id}{tail}",
        headers={"Authorization": f"Bearer {backend.key}"},
        timeout=60,
    )
    answer.raise_for_status()
    return answer


def upstream_video(gateway: Gateway, video_id: str) -> dict[str, Any]:
    video: dict[str, Any] = upstream_get(gateway, video_id).json()
    return video


def upstream_content(gateway: Gateway, video_id: str, target: Path) -> Path:
    """The MP4 as the emulator behind the proxy made it."""
    target.write_bytes(upstream_get(gateway, video_id, "/content").content)
    return target


def prompts_at_emulators(gateway: Gateway) -> list[str]:
    """The prompt of every job either emulator holds (its own list, with its own key)."""
    prompts: list[str] = []
    for backend in gateway.emulators:
        headers = {"Authorization": f"Bearer {backend.key}"}
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100, **({"after": after} if after else {})}
            page = httpx.get(f"{backend.url}/videos", headers=headers, params=params).json()
            prompts.extend(item["prompt"] for item in page["data"])
            if not page.get("has_more"):
                break
            after = page["last_id"]
    return prompts


# -- pictures (the measure of tests/integration/test_storyboard.py) -----------------------------


def shot_ids(board: Storyboard) -> list[str]:
    ids = [job.id if job is not None else None for job in board.jobs]
    assert all(ids), ids
    return [i for i in ids if i is not None]


# -- the tests ---------------------------------------------------------------------------------


def test_a_chained_board_carries_each_last_frame_through_the_proxy(
    gateway: Gateway, relay: RecordingRelay, tmp_path: Path
) -> None:
    shots = ["A fox wakes in its den", "The fox trots out into the snow", "The fox leaps a log"]
    board = storyboard(
        shots,
        model="sora-2",
        size=SIZE,
        seconds=SECONDS,
        settings=settings_for(gateway, relay, tmp_path),
    )
    board.wait(BOARD_TIMEOUT)
    assert [len(tries) for tries in board.attempts] == [1, 1, 1]
    ids = shot_ids(board)
    assert all(job is not None and job.status == JobStatus.COMPLETED for job in board.jobs)

    # the proxy got three creates, the second and third with a reference, each only after the
    # shot before it was downloaded (its last frame is that reference)
    assert [create.reference for create in relay.creates()] == [False, True, True]
    posts = relay.where("POST", "/v1/videos")
    for before, create in zip(ids, posts[1:], strict=False):
        assert relay.where("GET", f"/v1/videos/{before}/content")[0] < create

    # behind the proxy: each shot reached an emulator with its own prompt, one after the other
    # (sora-2 is two deployments: the shots may land on either, the reference travels each time)
    made = [upstream_video(gateway, video_id) for video_id in ids]
    assert [video["prompt"] for video in made] == shots
    for previous, following in itertools.pairwise(made):
        assert following["created_at"] >= previous["completed_at"]
    clips = [
        upstream_content(gateway, video_id, tmp_path / f"upstream-{n}.mp4")
        for n, video_id in enumerate(ids, 1)
    ]
    for previous_clip, clip in itertools.pairwise(clips):
        # the emulator renders its reference as the first frame: the frame arrived intact
        assert psnr(frame_at(clip), last_frame(previous_clip)) >= 30

    # one joined video: the summed length, a chapter a shot, and shot 2 opens on shot 1's end
    assert board.video is not None and board.video.exists()
    assert video_seconds(board.video) == pytest.approx(3 * SECONDS, abs=0.1)
    assert [round(start, 1) for start, _end, _title in board.chapters] == [0.0, 4.0, 8.0]
    assert board.chapters[1][2] == "2. The fox trots out into the snow"
    assert psnr(frame_at(board.video, at=4.0), last_frame(clips[0])) >= 30
    # priced by the gateway itself (x-litellm-response-cost: $0.10 a second of sora-2)
    assert [job.cost_source for job in board.jobs if job is not None] == ["gateway"] * 3
    assert board.total_cost == pytest.approx(1.20)


def test_an_independent_board_sends_every_shot_at_once_through_the_proxy(
    gateway: Gateway, relay: RecordingRelay, tmp_path: Path
) -> None:
    sent_when_the_first_was_done: list[list[str | None]] = []

    def changed(board: Storyboard) -> None:
        if not sent_when_the_first_was_done:
            sent_when_the_first_was_done.append([tries[0].id for tries in board.attempts if tries])

    shots = ["A lighthouse at dawn", "A gull over the waves", "A boat comes home"]
    board = storyboard(
        shots,
        model="sora-2",
        size="720x1280",
        seconds=SECONDS,
        independent=True,
        on_change=changed,
        settings=settings_for(gateway, relay, tmp_path),
    )
    board.wait(BOARD_TIMEOUT)
    ids = shot_ids(board)
    # by the time the first shot was finished, all three had been sent and had their ids
    assert sent_when_the_first_was_done == [ids]

    # the proxy got the three creates before it was asked for any video, none with a reference
    creates = relay.creates()
    assert [create.reference for create in creates] == [False, False, False]
    first_content = min(i for i, r in enumerate(relay.seen) if r.path.endswith("/content"))
    assert max(relay.where("POST", "/v1/videos")) < first_content

    # behind the proxy: every shot was created before any had finished
    made = [upstream_video(gateway, video_id) for video_id in ids]
    assert [video["prompt"] for video in made] == shots
    assert max(v["created_at"] for v in made) <= min(v["completed_at"] for v in made)

    assert board.video is not None
    assert video_seconds(board.video) == pytest.approx(3 * SECONDS, abs=0.1)
    assert len(board.chapters) == 3 and board.join_method in ("copy", "reencode")


@pytest.fixture
def shell(
    gateway: Gateway, relay: RecordingRelay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    """``%%sora`` configured as a user configures a gateway, reaching the proxy through `relay`."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SORA_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with magic_shell(
        monkeypatch,
        tmp_path,
        base_url=relay.base_url,
        key=gateway.master_key,
        profile="litellm",
    ) as ip:
        yield ip


def test_the_magics_dry_run_of_a_board_reaches_neither_proxy_nor_emulators(
    shell: InteractiveShell, gateway: Gateway, relay: RecordingRelay
) -> None:
    mark = uuid.uuid4().hex[:12]
    scene = f"A fox wakes ({mark})\n---\nThe fox trots out ({mark})\n---\nThe fox leaps ({mark})\n"
    for chain, flags in (
        ("each from the last frame of the one before", ""),
        ("independent", " --independent"),
    ):
        with capture_output() as cap:  # type: ignore[no-untyped-call]
            shell.run_cell_magic(  # type: ignore[no-untyped-call]
                "sora", f"--storyboard -m sora-2 -s {SIZE} -t {SECONDS}{flags} --dry-run", scene
            )
        shown = "\n".join(o.data.get("text/plain", "") for o in cap.outputs) + cap.stdout
        assert "storyboard of 3 shots" in shown and "nothing was sent" in shown
        assert f"POST /videos on {relay.base_url}" in shown and "× 3" in shown
        assert f"shot 2: sora-2 · {SIZE} · {SECONDS} s" in shown and chain in shown
        assert gateway.master_key not in shown

    assert relay.seen == []  # the proxy heard nothing from the kit…
    assert not [p for p in prompts_at_emulators(gateway) if mark in p]  # …nor did the emulators


def test_two_boards_through_one_deployment_keep_their_own_joined_videos(
    gateway: Gateway, relay: RecordingRelay, tmp_path: Path
) -> None:
    """``sora-2-pro`` is one deployment, and LiteLLM's ids of one deployment end alike (the base64
    of its deployment id): a joined video named after its first shot's id would be shared, the
    second board overwriting the first's."""
    settings = settings_for(gateway, relay, tmp_path)
    boards = [
        storyboard([prompt], model="sora-2-pro", size=SIZE, seconds=SECONDS, settings=settings)
        for prompt in ("A red kite over a beach", "A blue kite over a field")
    ]
    for board in boards:
        board.wait(BOARD_TIMEOUT)
    videos = [board.video for board in boards]
    assert None not in videos and len(set(videos)) == 2, videos
    for board, video in zip(boards, videos, strict=True):
        assert video is not None and video.parent == tmp_path / "out"
        assert "=" not in video.name
        (job,) = board.jobs
        assert job is not None
        # each joined file still plays its own board's shot
        assert psnr(frame_at(video), frame_at(job.paths["video"])) >= 30


def test_the_proxy_routes_extensions_so_an_extend_board_extends_through_it(
    gateway: Gateway, relay: RecordingRelay, tmp_path: Path
) -> None:
    """LiteLLM 1.108.7 routes ``POST /v1/videos/extensions`` (as it does ``/remix`` and
    ``/edits``), to the deployment that made the source video: the kit does not fall back to a
    last frame here, and learns nothing missing."""
    settings = settings_for(gateway, relay, tmp_path)
    shots = ["A fox wakes in its den", "The fox trots out into the snow"]
    board = storyboard(
        shots, model="sora-2", size=SIZE, seconds=SECONDS, extend=True, settings=settings
    )
    board.wait(BOARD_TIMEOUT)
    assert board.continuity == "extend" and board.note == ""
    assert [r.path for r in relay.seen if r.method == "POST"] == [
        "/v1/videos",
        "/v1/videos/extensions",
    ]
    first, second = shot_ids(board)
    # behind the proxy: the extension reached the emulator that made the first shot, and made
    # one video of both shots' length
    assert emulator_of(gateway, second)[0] == emulator_of(gateway, first)[0]
    extended = upstream_video(gateway, second)
    assert extended["prompt"] == shots[1] and extended["seconds"] == str(2 * SECONDS)
    assert board.video is not None
    assert video_seconds(board.video) == pytest.approx(2 * SECONDS, abs=0.1)
    assert [round(start, 1) for start, _end, _title in board.chapters] == [0.0, 4.0]
    assert capability(settings, "extend") is not False
