"""Small helpers shared by the emulator tests: an httpx client, waiting, decoding media."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
from PIL import Image

from sora_widgets.emulator import EmulatorHandle

AUTH = {"Authorization": "Bearer test-key"}
PROMPT = "A calico cat playing a piano on stage"


def client(emulator: EmulatorHandle, **kwargs: Any) -> httpx.Client:
    kwargs.setdefault("headers", AUTH)
    return httpx.Client(base_url=emulator.base_url, timeout=30, **kwargs)


def wait_terminal(http: httpx.Client, video_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        video: dict[str, Any] = http.get(f"/videos/{video_id}").json()
        if video["status"] in ("completed", "failed"):
            return video
        if time.monotonic() > deadline:
            raise AssertionError(f"video {video_id} still {video['status']} after {timeout} s")
        time.sleep(0.05)


def create(http: httpx.Client, **fields: str) -> dict[str, Any]:
    data = {"prompt": PROMPT, "size": "720x1280", "seconds": "4", **fields}
    response = http.post("/videos", files={k: (None, v) for k, v in data.items()})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def decode_video(data: bytes) -> tuple[int, int, int, bool]:
    """(width, height, frame count, has audio) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        has_audio = len(container.streams.audio) > 0
        return stream.codec_context.width, stream.codec_context.height, frames, has_audio


def assert_video(data: bytes, size: str, seconds: str) -> None:
    width, height = (int(v) for v in size.split("x"))
    got_w, got_h, frames, has_audio = decode_video(data)
    assert (got_w, got_h) == (width, height)
    assert abs(frames - int(seconds) * 24) <= 1
    assert has_audio


def decode_image(data: bytes, fmt: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == fmt
    return image


def png(width: int, height: int, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


@contextlib.contextmanager
def magic_shell(
    monkeypatch: Any, tmp_path: Path, *, base_url: str, key: str, profile: str | None = None
) -> Iterator[Any]:
    """An IPython shell with the extension loaded against ``base_url`` (env as a user sets it,
    a private ledger, videos under ``tmp_path / "out"``); unloaded and its ``%config`` forgotten
    afterwards (``%config`` values outlive the extension)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("SORA_BASE_URL", base_url)
    monkeypatch.setenv("SORA_API_KEY", key)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA_MAX_SPEND", raising=False)
    if profile is None:
        monkeypatch.delenv("SORA_PROFILE", raising=False)
    else:
        monkeypatch.setenv("SORA_PROFILE", profile)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(tmp_path / 'out')!r}")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "sora_widgets")
        ip.config.pop("SoraMagics", None)
