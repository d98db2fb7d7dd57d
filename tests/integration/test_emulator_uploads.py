"""Edits and extensions of an uploaded clip answer with the contract's sizes and seconds.

An upload of any size and length becomes a job of the nearest spec size of its orientation and the
nearest length the model offers, so the official SDK's strict models accept the answer, every list
page after it, and the finished clip decodes at that size.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import pytest
from openai import OpenAI

from sora_widgets.emulator import EmulatorHandle
from sora_widgets.emulator._app import nearest_spec_seconds, nearest_spec_size

from ._emulator_helpers import assert_video, client, wait_terminal

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SPEC_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")


def clip(width: int, height: int, seconds: float, fps: int = 12) -> bytes:
    """A small H.264 MP4 of ``width`` x ``height`` and about ``seconds`` long."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            pixels = np.full((height, width, 3), (i * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.fixture
def sdk(emulator: EmulatorHandle) -> Iterator[OpenAI]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = OpenAI(base_url=emulator.base_url, api_key="sk-test", max_retries=0)
        yield client
        client.close()


def test_nearest_spec_size_keeps_the_orientation() -> None:
    sora2 = ("720x1280", "1280x720")
    assert nearest_spec_size(640, 360, sora2) == "1280x720"
    assert nearest_spec_size(360, 640, sora2) == "720x1280"
    assert nearest_spec_size(512, 512, sora2) == "720x1280"  # square: the first (default) size
    assert nearest_spec_size(1920, 1080, SPEC_SIZES) == "1280x720"  # same aspect wins
    assert nearest_spec_size(1792, 1024, SPEC_SIZES) == "1792x1024"
    assert nearest_spec_size(1280, 720, SPEC_SIZES) == "1280x720"
    assert nearest_spec_size(400, 1000, SPEC_SIZES) == "720x1280"
    assert nearest_spec_seconds(2, ("4", "8", "12")) == "4"
    assert nearest_spec_seconds(6, ("4", "8", "12")) == "8"
    assert nearest_spec_seconds(30, ("4", "8", "12")) == "12"


def test_http_edit_and_extension_of_an_upload_use_spec_values(emulator: EmulatorHandle) -> None:
    landscape = clip(640, 360, 2)
    with client(emulator) as http:
        edit = http.post(
            "/videos/edits",
            data={"prompt": "Make it snow"},
            files={"video": ("clip.mp4", landscape, "video/mp4")},
        )
        assert edit.status_code == 200, edit.text
        assert (edit.json()["size"], edit.json()["seconds"]) == ("1280x720", "4")

        portrait = http.post(
            "/videos/extensions",
            data={"prompt": "And then", "seconds": "8"},
            files={"video": ("tall.mp4", clip(360, 640, 3), "video/mp4")},
        )
        assert portrait.status_code == 200, portrait.text
        assert (portrait.json()["size"], portrait.json()["seconds"]) == ("720x1280", "12")

        done = wait_terminal(http, edit.json()["id"], timeout=90)
        assert done["status"] == "completed"
        assert_video(http.get(f"/videos/{done['id']}/content").content, "1280x720", "4")
        for video in http.get("/videos").json()["data"]:
            assert video["size"] in SPEC_SIZES and video["seconds"] in ("4", "8", "12", "16", "20")


def test_sdk_edits_and_extends_uploads_and_lists_every_page(sdk: OpenAI) -> None:
    edited = sdk.videos.edit(
        prompt="Make it snow", video=("clip.mp4", clip(640, 360, 2), "video/mp4")
    )
    assert edited.size == "1280x720" and edited.seconds == "4"
    extended = sdk.videos.extend(
        prompt="And then", seconds="4", video=("odd.mp4", clip(480, 480, 5), "video/mp4")
    )
    assert extended.size == "720x1280" and extended.seconds == "8"
    made = sdk.videos.create(prompt="A plain job beside them", size="1280x720")

    every = list(sdk.videos.list(limit=1))  # one job per page: each page parses on its own
    assert [v.id for v in every] == [made.id, extended.id, edited.id]
    assert sdk.videos.poll(edited.id).status == "completed"
    assert_video(sdk.videos.download_content(edited.id).content, "1280x720", "4")
