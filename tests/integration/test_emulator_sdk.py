"""The official openai SDK against the emulator: the whole round trip a user of the SDK makes."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI
from PIL import Image

from sora_widgets.emulator import EmulatorHandle

from ._emulator_helpers import PROMPT, assert_video, decode_image, png

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _message(error: openai.APIStatusError) -> str:
    body = error.body
    assert isinstance(body, dict)
    return str(body["message"])


@pytest.fixture
def sdk(emulator: EmulatorHandle) -> Iterator[OpenAI]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = OpenAI(base_url=emulator.base_url, api_key="sk-test", max_retries=0)
        yield client
        client.close()


def test_sdk_create_and_poll_download_remix_delete(sdk: OpenAI) -> None:
    video = sdk.videos.create_and_poll(prompt=PROMPT, size="1280x720", seconds="4")
    assert video.status == "completed"
    assert video.progress == 100
    assert video.completed_at is not None and video.expires_at is not None
    assert video.expires_at > video.completed_at

    again = sdk.videos.retrieve(video.id)
    assert again.id == video.id and again.status == "completed"

    assert_video(sdk.videos.download_content(video.id).content, "1280x720", "4")
    thumb = sdk.videos.download_content(video.id, variant="thumbnail").content
    assert decode_image(thumb, "WEBP").size == (1280, 720)
    sheet = sdk.videos.download_content(video.id, variant="spritesheet").content
    assert decode_image(sheet, "JPEG").width > 0

    remix = sdk.videos.remix(video.id, prompt="The same cat, now at night")
    assert remix.remixed_from_video_id == video.id
    assert remix.status == "queued"
    remix = sdk.videos.poll(remix.id)
    assert remix.status == "completed"
    assert_video(sdk.videos.download_content(remix.id).content, "1280x720", "4")

    deleted = sdk.videos.delete(video.id)
    assert deleted.deleted and deleted.id == video.id
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)


def test_sdk_lists_across_pages(sdk: OpenAI, emulator: EmulatorHandle) -> None:
    created = [sdk.videos.create(prompt=f"{PROMPT} #{i}").id for i in range(5)]
    first = sdk.videos.list(limit=2)
    assert [v.id for v in first.data] == created[::-1][:2]
    assert first.has_more
    every = [v.id for v in sdk.videos.list(limit=2)]  # the SDK follows `after` itself
    assert every == created[::-1]
    ascending = [v.id for v in sdk.videos.list(limit=3, order="asc")]
    assert ascending == created


def test_sdk_bad_size_seconds_and_reference_raise_the_real_messages(sdk: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad_size:
        sdk.videos.create(prompt=PROMPT, size="1920x1080")  # type: ignore[arg-type]
    assert _message(bad_size.value) == (
        "Invalid value: '1920x1080'. Supported values are: '720x1280', '1280x720', "
        "'1024x1792', and '1792x1024'."
    )
    with pytest.raises(openai.BadRequestError) as bad_seconds:
        sdk.videos.create(prompt=PROMPT, seconds="10")  # type: ignore[arg-type]
    assert (
        _message(bad_seconds.value)
        == "Invalid value: '10'. Supported values are: '4', '8', and '12'."
    )
    assert bad_seconds.value.param == "seconds"
    with pytest.raises(openai.BadRequestError) as bad_reference:
        sdk.videos.create(
            prompt=PROMPT, size="1280x720", input_reference=("ref.png", png(640, 360), "image/png")
        )
    assert (
        _message(bad_reference.value) == "Inpaint image must match the requested width and height"
    )


def test_sdk_reference_becomes_the_first_frame(sdk: OpenAI) -> None:
    reference = png(720, 1280, (30, 160, 90))
    video = sdk.videos.create_and_poll(
        prompt="Zoom into the green", input_reference=("ref.png", reference, "image/png")
    )
    assert video.status == "completed"
    import av

    data = sdk.videos.download_content(video.id).content
    with av.open(io.BytesIO(data)) as container:
        first = next(container.decode(video=0)).to_image()
    r, g, b = first.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    assert abs(r - 30) < 12 and abs(g - 160) < 12 and abs(b - 90) < 12


def test_every_official_size_decodes(emulator_factory: object) -> None:
    from ._emulator_helpers import client, create, wait_terminal

    handle = emulator_factory(job_seconds=0.2)  # type: ignore[operator]
    with client(handle) as http:
        for size in ("720x1280", "1280x720", "1024x1792", "1792x1024"):
            video = create(http, model="sora-2-pro", size=size)
            assert wait_terminal(http, video["id"])["status"] == "completed"
            assert_video(http.get(f"/videos/{video['id']}/content").content, size, "4")
