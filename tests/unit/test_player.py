"""VideoPlayer: small synced state, bytes on request in chunks, text kept as text."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import sora_widgets.player as player_module
from sora_widgets.player import VideoPlayer

HOSTILE = '<img src=x onerror=alert(1)> "quoted" & <script>alert(2)</script>'

Sent = list[tuple[dict[str, Any], list[bytes]]]


def make_files(
    folder: Path, video_bytes: bytes = b"\x00\x00\x00\x18ftypmp42 fake video"
) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "video_abc.mp4"
    video.write_bytes(video_bytes)
    thumbnail = folder / "video_abc.thumbnail.webp"
    # Noise compresses badly: the poster must still come out small.
    Image.effect_noise((1280, 720), 80).convert("RGB").save(thumbnail, format="WEBP", quality=90)
    spritesheet = folder / "video_abc.spritesheet.jpg"
    Image.new("RGB", (960, 216), (20, 40, 60)).save(spritesheet, format="JPEG")
    return {"video": video, "thumbnail": thumbnail, "spritesheet": spritesheet}


def capture(widget: VideoPlayer, monkeypatch: pytest.MonkeyPatch) -> Sent:
    sent: Sent = []

    def send(content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        sent.append((content, [bytes(b) for b in buffers or []]))

    monkeypatch.setattr(widget, "send", send)
    return sent


def request(widget: VideoPlayer, variant: str, request_id: str = "r1") -> None:
    # Through ipywidgets' own dispatch, as a message from the front end arrives.
    widget._handle_custom_msg({"type": "request", "variant": variant, "request": request_id}, [])


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    return make_files(tmp_path / "sora_videos")


def test_state_is_small_and_holds_no_bytes(files: dict[str, Path]) -> None:
    widget = VideoPlayer(
        files["video"], thumbnail=files["thumbnail"], spritesheet=files["spritesheet"]
    )
    state = widget.get_state()
    assert state["video_name"] == "video_abc.mp4"
    assert state["thumbnail_name"] == "video_abc.thumbnail.webp"
    assert state["spritesheet_name"] == "video_abc.spritesheet.jpg"
    assert state["fallback_src"] == "sora_videos/video_abc.mp4"
    assert (state["sprite_columns"], state["sprite_rows"], state["sprite_count"]) == (5, 2, 10)
    assert not any(isinstance(v, bytes | bytearray | memoryview) for v in state.values())
    for name, value in state.items():
        if isinstance(value, str) and name not in ("_esm", "_css", "poster_data"):
            assert len(value) < 200, name


def test_poster_is_a_small_downscaled_data_url(files: dict[str, Path]) -> None:
    import base64

    widget = VideoPlayer(files["video"], thumbnail=files["thumbnail"])
    header, _, payload = widget.poster_data.partition(",")
    assert header in ("data:image/webp;base64", "data:image/jpeg;base64")
    assert len(widget.poster_data) <= 30_000
    with Image.open(io.BytesIO(base64.b64decode(payload))) as poster:
        assert poster.width <= 320
        assert abs(poster.width / poster.height - 1280 / 720) < 0.05


def test_no_thumbnail_no_poster(files: dict[str, Path], tmp_path: Path) -> None:
    assert VideoPlayer(files["video"]).poster_data == ""
    broken = tmp_path / "broken.webp"
    broken.write_bytes(b"not an image")
    assert VideoPlayer(files["video"], thumbnail=broken).poster_data == ""


def test_state_stays_small_for_a_5_mb_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = make_files(tmp_path, os.urandom(5 * 1024 * 1024))
    widget = VideoPlayer(
        paths["video"], thumbnail=paths["thumbnail"], spritesheet=paths["spritesheet"]
    )
    size = len(json.dumps(widget.get_state()))
    # The front end's source is most of it; the video adds nothing.
    assert size < 60_000


@pytest.mark.parametrize("variant", ["video", "thumbnail", "spritesheet"])
def test_request_is_answered_with_the_file(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    widget = VideoPlayer(
        files["video"], thumbnail=files["thumbnail"], spritesheet=files["spritesheet"]
    )
    sent = capture(widget, monkeypatch)
    request(widget, variant, "view-1")
    data = files[variant].read_bytes()
    assert len(sent) == 1
    content, buffers = sent[0]
    assert content == {
        "type": "chunk",
        "request": "view-1",
        "variant": variant,
        "index": 0,
        "count": 1,
        "size": len(data),
        "mime": {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}[
            variant
        ],
        "name": files[variant].name,
    }
    assert buffers == [data]


def test_big_file_goes_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(player_module, "CHUNK_SIZE", 1000)
    data = os.urandom(3500)
    paths = make_files(tmp_path, data)
    widget = VideoPlayer(paths["video"])
    sent = capture(widget, monkeypatch)
    request(widget, "video")
    assert [c["index"] for c, _ in sent] == [0, 1, 2, 3]
    assert {c["count"] for c, _ in sent} == {4}
    assert {c["size"] for c, _ in sent} == {3500}
    assert [len(b[0]) for _, b in sent] == [1000, 1000, 1000, 500]
    assert b"".join(b[0] for _, b in sent) == data


def test_exact_multiple_and_empty_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(player_module, "CHUNK_SIZE", 1000)
    for data, count in ((os.urandom(2000), 2), (b"", 1)):
        paths = make_files(tmp_path, data)
        widget = VideoPlayer(paths["video"])
        sent = capture(widget, monkeypatch)
        request(widget, "video")
        assert [c["count"] for c, _ in sent] == [count] * count
        assert b"".join(b[0] for _, b in sent) == data


def test_missing_variant_or_file_is_an_error_message(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = VideoPlayer(files["video"])
    sent = capture(widget, monkeypatch)
    request(widget, "thumbnail")
    request(widget, "../../etc/passwd")
    files["video"].unlink()
    request(widget, "video")
    assert [c["type"] for c, _ in sent] == ["error"] * 3
    assert all(b == [] for _, b in sent)
    assert "video_abc.mp4" in sent[2][0]["message"]


def test_other_messages_are_ignored(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = VideoPlayer(files["video"])
    sent = capture(widget, monkeypatch)
    widget._handle_custom_msg({"type": "something else"}, [])
    widget._handle_custom_msg(["not", "a", "dict"], [])
    assert sent == []


def test_hostile_caption_stays_text(files: dict[str, Path]) -> None:
    widget = VideoPlayer(files["video"], caption=HOSTILE, title=HOSTILE)
    assert widget.caption == HOSTILE and widget.title == HOSTILE
    # The front end sets it with textContent only.
    script = (Path(player_module.__file__).parent / "static" / "player.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


def test_mimebundle_has_an_escaped_html_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / 'we"ird <dir>'
    paths = make_files(folder)
    widget = VideoPlayer(
        paths["video"], thumbnail=paths["thumbnail"], caption=HOSTILE, title=HOSTILE
    )
    data, _metadata = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    page = data["text/html"]
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'src="we%22ird%20%3Cdir%3E/video_abc.mp4"' in page
    assert f'poster="{widget.poster_data}"' in page
    assert 'download="video_abc.mp4"' in page
    assert data["text/plain"] == "VideoPlayer('video_abc.mp4')"


def test_from_job(files: dict[str, Path]) -> None:
    from sora_widgets.api import get_profile
    from sora_widgets.config import Settings
    from sora_widgets.jobs import GenerationRequest, Job, JobStatus

    settings = Settings(base_url="http://127.0.0.1:9/v1", profile=get_profile("openai"))
    job = Job(
        GenerationRequest(
            prompt="A cat <b>plays</b>", model="sora-2", size="1280x720", seconds="4"
        ),
        settings,
    )
    with pytest.raises(ValueError, match="no downloaded video"):
        VideoPlayer.from_job(job)
    job.id = "video_abc"
    job.status = JobStatus.COMPLETED
    job.paths = dict(files)
    widget = VideoPlayer.from_job(job)
    assert widget.title == "A cat <b>plays</b>"
    assert widget.caption.startswith("sora-2 · 1280x720 · 4 s · video_abc")
    assert widget.spritesheet_name == "video_abc.spritesheet.jpg"
    assert widget.poster_data.startswith("data:image/")


def test_bad_grid_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="0x2"):
        VideoPlayer(files["video"], sprite_columns=0)
    assert (
        VideoPlayer(files["video"], sprite_columns=4, sprite_rows=3, sprite_count=11).sprite_count
        == 11
    )
