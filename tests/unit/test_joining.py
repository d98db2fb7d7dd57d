"""Joining a storyboard's shots into one MP4, on real emulator renders: stream copy when the clips
match (packets copied, sound kept, a chapter per shot, the shots' pictures unchanged), re-encoding
when they do not, and clear errors for what cannot be joined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from sora_widgets.api import ValidationError
from sora_widgets.emulator._render import RenderSpec, render_clip
from sora_widgets.joining import JoinError, JoinResult, join_clips

FPS = 24


def render(folder: Path, width: int, height: int, seconds: int, prompt: str) -> str:
    spec = RenderSpec(width=width, height=height, seconds=seconds, prompt=prompt)
    return render_clip(spec, str(folder)).video


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "a": render(folder, 320, 180, 1, "A lighthouse at dusk"),
        "b": render(folder, 320, 180, 2, "The keeper climbs the stairs"),
        "c": render(folder, 320, 180, 1, "The lamp turns on"),
        "portrait": render(folder, 180, 320, 1, "A gull on the railing"),
    }


def frames(path: str) -> list[Any]:
    with av.open(path) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_same_shape_clips_are_joined_by_stream_copy(clips: dict[str, str], tmp_path: Path) -> None:
    parts = [clips["a"], clips["b"], clips["c"]]
    out = tmp_path / "board" / "scene.mp4"

    result = join_clips(parts, out)

    assert isinstance(result, JoinResult)
    assert result.method == "copy" and result.why is None
    assert result.path == out and out.is_file()
    assert not [p for p in out.parent.iterdir() if p != out]  # no temp file left behind
    assert abs(result.duration - 4.0) <= 1 / FPS
    assert [title for _, _, title in result.chapters] == ["Shot 1", "Shot 2", "Shot 3"]
    assert [start for start, _, _ in result.chapters] == pytest.approx([0, 1, 3], abs=0.002)
    assert result.chapters[-1][1] == pytest.approx(4.0, abs=0.002)

    with av.open(str(out)) as container:
        assert len(container.chapters()) == 3
        assert container.streams.audio, "the sound is kept"
        assert container.streams.video[0].codec_context.name == "h264"
    decoded = frames(str(out))  # decodable start to end
    per_clip = [frames(p) for p in parts]
    assert len(decoded) == sum(len(f) for f in per_clip) == 4 * FPS
    with av.open(str(out)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples >= 4 * 48000

    # The pictures are the clips' own: shot 2 starts with clip 2's first frame, shot 3 with clip 3's.
    start2, start3 = len(per_clip[0]), len(per_clip[0]) + len(per_clip[1])
    assert psnr(decoded[start2], per_clip[1][0]) >= 40
    assert psnr(decoded[start3], per_clip[2][0]) >= 40
    assert psnr(decoded[start2 - 1], per_clip[0][-1]) >= 40


def test_titles_name_the_chapters_and_force_reencode_reencodes(
    clips: dict[str, str], tmp_path: Path
) -> None:
    result = join_clips(
        [clips["a"], clips["c"]], tmp_path / "two.mp4", titles=["Dusk", "Lamp"], force="reencode"
    )

    assert result.method == "reencode" and result.why and "force" in result.why
    assert [c[2] for c in result.chapters] == ["Dusk", "Lamp"]
    assert [c[0] for c in result.chapters] == pytest.approx([0, 1], abs=0.002)
    assert len(frames(str(result.path))) == 2 * FPS


def test_different_sizes_are_reencoded_at_the_first_clips_size(
    clips: dict[str, str], tmp_path: Path
) -> None:
    result = join_clips([clips["a"], clips["portrait"], clips["c"]], tmp_path / "mixed.mp4")

    assert result.method == "reencode"
    assert result.why is not None and "sizes differ" in result.why
    assert "320x180" in result.why and "180x320" in result.why
    assert [c[0] for c in result.chapters] == pytest.approx([0, 1, 2], abs=0.002)
    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert video.codec_context.pix_fmt == "yuv420p"
        assert container.streams.audio
        assert len(container.chapters()) == 3
    decoded = frames(str(result.path))
    assert len(decoded) == 3 * FPS
    # The portrait shot is letterboxed: black bars left and right, picture in the middle.
    portrait = decoded[FPS + FPS // 2]
    assert portrait[:, :40].max() < 40
    assert portrait[:, 140:180].std() > 5


def test_a_clip_without_sound_gets_silence(tmp_path: Path, clips: dict[str, str]) -> None:
    silent = render_clip(
        RenderSpec(width=320, height=180, seconds=1, prompt="Silence", audio=False),
        str(tmp_path),
    ).video
    result = join_clips([clips["a"], silent, clips["c"]], tmp_path / "out.mp4")

    assert result.method == "reencode" and result.why and "has none" in result.why
    with av.open(str(result.path)) as container:
        sound = np.concatenate(
            [f.to_ndarray() for f in container.decode(audio=0)], axis=1
        )  # planar: channels x samples
    assert sound.shape[1] >= 3 * 48000
    middle = sound[:, int(1.1 * 48000) : int(1.9 * 48000)]
    assert np.abs(middle).max() < 1e-3
    assert np.abs(sound[:, int(0.2 * 48000) : int(0.8 * 48000)]).max() > 1e-3


def test_force_copy_refuses_clips_that_differ(clips: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(JoinError, match="sizes differ: 320x180 vs 180x320"):
        join_clips([clips["a"], clips["portrait"]], tmp_path / "x.mp4", force="copy")
    assert not list(tmp_path.iterdir())


def test_errors_name_the_clip_and_the_reason(clips: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(JoinError, match="no clips"):
        join_clips([], out)

    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(JoinError, match=r"clip 2 not found: .*nowhere\.mp4") as caught:
        join_clips([clips["a"], missing], out)
    assert caught.value.clip == str(missing)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ValidationError)

    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    with pytest.raises(JoinError, match=r"clip 1 \(notes\.mp4\) is not a video"):
        join_clips([text, clips["a"]], out)

    image = tmp_path / "still.png"
    av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24").to_image().save(
        image
    )
    with pytest.raises(JoinError, match=r"clip 2 \(still\.png\) is not a video"):
        join_clips([clips["a"], image], out)

    with pytest.raises(JoinError, match="1 titles for 2 clips"):
        join_clips([clips["a"], clips["c"]], out, titles=["One"])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4", "still.png"]
