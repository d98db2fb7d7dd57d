"""The client over real HTTP against the emulator: every endpoint, real error envelopes, faults."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from sora_widgets.api import (
    AsyncSoraClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    SoraClient,
    VideoFailedError,
    VideoStatus,
)
from sora_widgets.emulator import EmulatorHandle

from .._async import run as run_async
from ..conftest import EmulatorFactory


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def client_for(emulator: EmulatorHandle, **kwargs: object) -> SoraClient:
    return SoraClient(base_url=emulator.base_url, api_key="sk-test-key", **kwargs)  # type: ignore[arg-type]


def test_create_wait_download_every_variant(emulator: EmulatorHandle, tmp_path: Path) -> None:
    with client_for(emulator) as client:
        video = client.create(prompt="a red kite over a beach", size="1280x720", seconds=4)
        assert video.status is VideoStatus.QUEUED and video.size == "1280x720"
        done = client.wait(video.id, timeout=60)
        assert done.status is VideoStatus.COMPLETED and done.progress == 100
        assert done.completed_at is not None and done.expires_at is not None
        mp4 = client.download(video.id, tmp_path)
        thumb = client.download(video.id, tmp_path, variant="thumbnail")
        sprite = client.download(video.id, tmp_path, variant="spritesheet")
        assert mp4.name == f"{video.id}.mp4" and mp4.read_bytes()[4:8] == b"ftyp"
        assert Image.open(thumb).format == "WEBP" and Image.open(sprite).format == "JPEG"
        assert client.download_bytes(video.id, variant="thumbnail") == thumb.read_bytes()


def test_list_pages_remix_delete(emulator: EmulatorHandle) -> None:
    with client_for(emulator) as client:
        ids = [client.create(prompt=f"clip {i}").id for i in range(5)]
        listed = [v.id for v in client.list(limit=2, order="asc")]
        assert listed == ids
        pages = list(client.list(limit=2).iter_pages())
        assert [len(p.data) for p in pages] == [2, 2, 1]
        client.wait(ids[0], timeout=60)
        remix = client.remix(ids[0], prompt="the same clip at night")
        assert remix.remixed_from_video_id == ids[0]
        assert client.delete(ids[0]).deleted
        with pytest.raises(NotFoundError):
            client.retrieve(ids[0])


def test_deleting_a_running_video_is_a_conflict(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(job_seconds=60)
    with client_for(emulator, max_retries=0) as client:
        video = client.create(prompt="slow one")
        with pytest.raises(ConflictError) as info:
            client.delete(video.id)
    assert info.value.status_code == 409 and "only completed or failed" in info.value.message


def test_edit_extend_and_characters(emulator: EmulatorHandle, tmp_path: Path) -> None:
    with client_for(emulator) as client:
        source = client.wait(client.create(prompt="a paper boat").id, timeout=60)
        edited = client.edit(prompt="make it golden", video=source)
        assert edited.status is VideoStatus.QUEUED
        extended = client.extend(prompt="it sails on", seconds=4, video=source.id)
        assert extended.seconds == "8"
        mp4 = client.download(source.id, tmp_path)
        character = client.create_character(name="Boaty", video=mp4)
        assert character.name == "Boaty" and character.id
        assert client.retrieve_character(character.id).name == "Boaty"


def test_server_messages_arrive_in_the_real_envelope(emulator: EmulatorHandle) -> None:
    with client_for(emulator) as client:
        with pytest.raises(BadRequestError) as info:
            client.create(prompt="x", size="1920x1080", validate=False)
        assert "Supported values are: '720x1280', '1280x720'" in info.value.message
        assert info.value.param == "size" and info.value.request_id
        with pytest.raises(BadRequestError, match="Inpaint image must match"):
            client.create(
                prompt="x", size="1280x720", input_reference=png_bytes(640, 480), validate=False
            )
        with pytest.raises(BadRequestError, match=r"Invalid value: '10'"):
            client.create(prompt="x", seconds="10", validate=False)


def test_right_sized_reference_is_accepted(emulator: EmulatorHandle) -> None:
    with client_for(emulator) as client:
        video = client.create(prompt="x", size="720x1280", input_reference=png_bytes(720, 1280))
        assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED


def test_wrong_key_is_401_and_key_is_not_shown(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(api_key="sk-right-key-123456")
    with pytest.raises(AuthenticationError) as info:
        client_for(emulator).retrieve("video_1")
    assert "sk-test-key" not in str(info.value)
    assert (
        SoraClient(base_url=emulator.base_url, api_key="sk-right-key-123456").list_page().data == ()
    )


def test_moderation_failure_raises_with_hint(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(faults=["create:moderation"])
    with client_for(emulator) as client:
        video = client.create(prompt="anything")
        with pytest.raises(VideoFailedError) as info:
            client.wait(video.id, timeout=60)
    assert info.value.code == "moderation_blocked" and "rephrase" in str(info.value)


def test_retries_survive_injected_faults(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    emulator = emulator_factory(
        faults=["retrieve:script=429,503,ok", "content:script=drop,ok", "list:script=502,ok"]
    )
    with client_for(emulator) as client:
        video = client.create(prompt="windy day")
        assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED
        path = client.download(video.id, tmp_path)
        assert path.stat().st_size > 1000 and path.read_bytes()[4:8] == b"ftyp"
        assert [v.id for v in client.list()] == [video.id]


def test_create_dropped_after_send_is_not_billed_twice(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(faults=["create:script=drop,ok"])
    with client_for(emulator) as client:
        video = client.create(prompt="only once please", size="1280x720")
    assert [job.id for job in emulator.jobs] == [video.id]


def test_relay_profile_sends_watermark_and_url_reference(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(profile="relay")
    data_url = (
        "data:image/png;base64," + __import__("base64").b64encode(png_bytes(1280, 720)).decode()
    )
    with SoraClient(base_url=emulator.base_url, api_key="k", profile="relay") as client:
        video = client.create(
            prompt="x", size="1280x720", input_reference=data_url, extra_body={"watermark": False}
        )
        assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED


def test_async_client_against_emulator(emulator: EmulatorHandle, tmp_path: Path) -> None:
    async def main() -> tuple[str, int]:
        async with AsyncSoraClient(base_url=emulator.base_url, api_key="k") as client:
            videos = await asyncio.gather(*(client.create(prompt=f"async {i}") for i in range(3)))
            done = await asyncio.gather(*(client.wait(v.id, timeout=60) for v in videos))
            path = await client.download(done[0].id, tmp_path)
            return path.name, len([v async for v in client.list(limit=1)])

    name, count = run_async(main())
    assert name.endswith(".mp4") and count == 3


def test_five_line_script_as_a_new_user_would(emulator: EmulatorHandle, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from sora_widgets import SoraClient
        client = SoraClient(base_url={emulator.base_url!r}, api_key="my-key")
        video = client.create(prompt="A calico cat playing a piano on stage", size="1280x720")
        video = client.wait(video.id)
        print(client.download(video.id, "cat.mp4"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cat.mp4").read_bytes()[4:8] == b"ftyp"
    assert "my-key" not in result.stdout + result.stderr
