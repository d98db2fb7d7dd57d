"""Prepared references against the emulator: accepted at every official size, in every transport."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sora_widgets import prepare_reference
from sora_widgets.api import BadRequestError, SoraClient, VideoStatus
from sora_widgets.emulator import EmulatorHandle

from ..conftest import EmulatorFactory

SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")


def phone_photo() -> bytes:
    """A 4:3 JPEG stored sideways with EXIF orientation 6, as phones write them."""
    image = Image.new("RGB", (1600, 1200), (30, 90, 160))
    image.paste((240, 200, 40), (0, 0, 400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("size", SIZES)
def test_prepared_reference_is_accepted_at_every_size(emulator: EmulatorHandle, size: str) -> None:
    reference = prepare_reference(phone_photo(), size, fit="cover")
    with SoraClient(base_url=emulator.base_url, api_key="k") as client:
        video = client.create(
            prompt="animate this", model="sora-2-pro", size=size, input_reference=reference
        )
        assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED


def test_unprepared_reference_of_wrong_size_gets_the_real_message(emulator: EmulatorHandle) -> None:
    with (
        SoraClient(base_url=emulator.base_url, api_key="k") as client,
        pytest.raises(BadRequestError) as info,
    ):
        client.create(prompt="x", size="1280x720", input_reference=phone_photo(), validate=False)
    assert info.value.message == "Inpaint image must match the requested width and height"


@pytest.mark.parametrize("fit", ["contain", "stretch"])
def test_prepared_reference_travels_as_data_url_to_relays(
    emulator_factory: EmulatorFactory, fit: str
) -> None:
    emulator = emulator_factory(profile="relay")
    reference = prepare_reference(phone_photo(), "1280x720", fit=fit)
    with SoraClient(base_url=emulator.base_url, api_key="k", profile="relay") as client:
        by_url = client.create(prompt="x", size="1280x720", input_reference=reference.to_data_url())
        by_file = client.create(prompt="y", size="1280x720", input_reference=reference)
        for video in (by_url, by_file):
            assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED


def test_object_form_profile_sends_prepared_reference_as_image_url(
    emulator: EmulatorHandle,
) -> None:
    profile = SoraClient(base_url=emulator.base_url, api_key="k").profile.with_(
        reference_form="object", body_encoding="json"
    )
    reference = prepare_reference(phone_photo(), "720x1280")
    with SoraClient(base_url=emulator.base_url, api_key="k", profile=profile) as client:
        video = client.create(prompt="x", size="720x1280", input_reference=reference)
        assert client.wait(video.id, timeout=60).status is VideoStatus.COMPLETED
