"""Every shipped catalogue entry round-trips through a real emulator (``profile="extended"``) over
127.0.0.1: created at its smallest size and shortest length, waited for, downloaded, and the MP4
decoded with PyAV shows that size and that length. ``GET /v1/models`` lists them all.

One emulator per module (per xdist worker), with jobs of a tenth of a second: what is left is the
render, which the shared render cache makes once per run."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from sora_widgets.api import SoraClient, VideoStatus
from sora_widgets.api._catalogue import catalogue_names, find_model
from sora_widgets.api._sizes import parse_size
from sora_widgets.emulator import EmulatorHandle, serve_in_thread

PROMPT = "A paper boat drifting down a rain gutter"


@pytest.fixture(scope="module")
def extended(emulator_cache: Path) -> Iterator[EmulatorHandle]:
    handle = serve_in_thread(profile="extended", job_seconds=0.1, data_dir=emulator_cache)
    yield handle
    handle.stop()


def client_for(emulator: EmulatorHandle) -> SoraClient:
    return SoraClient(base_url=emulator.base_url, api_key="sk-test-key", profile="emulator")


def smallest(sizes: tuple[str, ...]) -> str:
    """The size of least pixel area (the first listed among equals)."""
    return min(sizes, key=lambda size: parse_size(size)[0] * parse_size(size)[1])


def probe(path: Path) -> tuple[int, int, float, bool]:
    """(width, height, seconds, sound) of the MP4: the size of its first decoded frame, the video
    track's duration (its frame count over its rate when the file has no duration), and whether
    it has an audio track."""
    with av.open(str(path)) as container:
        sound = bool(container.streams.audio)
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            frames = 1 + sum(1 for _ in container.decode(stream))
            seconds = float(Fraction(frames) / (stream.average_rate or 24))
        return first.width, first.height, seconds, sound


@pytest.mark.parametrize("model", catalogue_names())
def test_every_catalogued_model_renders_its_smallest_shortest_clip(
    model: str, extended: EmulatorHandle, tmp_path: Path
) -> None:
    spec = find_model(model)
    assert spec is not None
    size, seconds = smallest(spec.sizes), min(spec.seconds, key=int)
    with client_for(extended) as client:
        video = client.create(prompt=PROMPT, model=model, size=size, seconds=seconds)
        assert (video.model, video.size, video.seconds) == (model, size, seconds)
        done = client.wait(video.id, timeout=60)
        assert done.status is VideoStatus.COMPLETED
        path = client.download(video.id, tmp_path)
    width, height, length, sound = probe(path)
    assert f"{width}x{height}" == size
    assert length == pytest.approx(int(seconds), abs=0.1)
    assert sound is (spec.audio is not False)  # a silent model's clip has no sound


def test_models_lists_every_catalogue_name(extended: EmulatorHandle) -> None:
    with client_for(extended) as client:
        listed = client.models()
    assert len(listed) == len(set(listed))
    assert set(listed) == set(catalogue_names())  # every one, and nothing else
