"""The client and `generate` through the real LiteLLM proxy (1.108.7), in front of two emulators
(``sora-2``, ``sora-2-pro``) and a stand-in of Google's Veo endpoints (``veo-3.0-generate-preview``
through LiteLLM's ``gemini`` provider): what works through a gateway, shown working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sora_widgets.api import (
    AsyncSoraClient,
    SoraClient,
    ValidationError,
    VideoStatus,
    find_model,
    register_model,
)
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.jobs import JobStatus, generate
from sora_widgets.ledger import Ledger

from .._async import run as run_async
from ..conftest import FAST_POLL
from ._helpers import close_to, decode_litellm_id, deployments, first_frame, is_mp4, png
from .conftest import Gateway

pytestmark = pytest.mark.slow

ORANGE = (230, 120, 20)
TEAL = (20, 150, 160)


@pytest.fixture
def client(gateway: Gateway) -> SoraClient:
    return SoraClient(base_url=gateway.base_url, api_key=gateway.master_key, poll_policy=FAST_POLL)


def test_text_to_video_create_retrieve_wait_download(client: SoraClient, tmp_path: Path) -> None:
    video = client.create(prompt="a lighthouse at dusk", model="sora-2", size="1280x720", seconds=4)
    # LiteLLM's own id: provider, model, the emulator's id and the deployment, in base64
    assert video.status in (VideoStatus.QUEUED, VideoStatus.IN_PROGRESS)
    assert len(video.id) > 200
    parts = decode_litellm_id(video.id)
    assert parts["custom_llm_provider"] == "openai" and parts["model_id"] == "sora-2"
    assert parts["video_id"].startswith("video_")

    # no profile was chosen: the client takes the one the proxy names (x-litellm-* headers)
    assert client.detected_profile == "litellm"
    assert client.retrieve(video.id).id == video.id
    done = client.wait(video.id, timeout=60)
    assert done.status == VideoStatus.COMPLETED and done.id == video.id
    path = client.download(done.id, tmp_path / "lighthouse.mp4")
    assert is_mp4(path.read_bytes()) and path.stat().st_size > 10_000
    assert first_frame(path).size == (1280, 720)


def test_a_png_reference_travels_through_the_proxy(client: SoraClient, tmp_path: Path) -> None:
    reference = tmp_path / "orange.png"
    reference.write_bytes(png(1280, 720, ORANGE))
    video = client.create(
        prompt="the orange wall fades to night",
        model="sora-2",
        size="1280x720",
        seconds=4,
        input_reference=reference,
    )
    client.wait(video.id, timeout=60)
    path = client.download(video.id, tmp_path / "wall.mp4")
    # the emulator makes the reference its first frame: the upload arrived intact
    assert close_to(first_frame(path).getpixel((640, 360)), ORANGE)


def test_async_client_remixes_through_the_proxy(gateway: Gateway, tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str, bytes]:
        async with AsyncSoraClient(
            base_url=gateway.base_url, api_key=gateway.master_key, poll_policy=FAST_POLL
        ) as c:
            first = await c.create(prompt="a red kite", model="sora-2-pro", size="1280x720")
            first = await c.wait(first.id, timeout=60)
            remix = await c.remix(first.id, prompt="the same kite at night")
            remix = await c.wait(remix.id, timeout=60)
            path = await c.download(remix.id, tmp_path)
            return first.id, remix.id, path.read_bytes()

    first_id, remix_id, content = run_async(scenario())
    assert remix_id != first_id
    remix_parts = decode_litellm_id(remix_id)
    assert remix_parts["model_id"] == "sora-2-pro"
    assert remix_parts["video_id"] != decode_litellm_id(first_id)["video_id"]
    assert is_mp4(content)


def test_veo_through_litellms_gemini_provider(
    gateway: Gateway, client: SoraClient, tmp_path: Path
) -> None:
    reference = tmp_path / "teal.png"
    reference.write_bytes(png(720, 1280, TEAL))
    video = client.create(
        prompt="a teal door opens onto the sea",
        model=gateway.veo_model,
        size="720x1280",
        seconds=4,
        input_reference=reference,
    )
    parts = decode_litellm_id(video.id)
    # LiteLLM answers Veo's long-running operation as "processing"
    assert parts["custom_llm_provider"] == "gemini"
    assert parts["video_id"].startswith(f"models/{gateway.veo_model}/operations/")
    assert video.status == VideoStatus.IN_PROGRESS
    done = client.wait(video.id, timeout=60)
    assert done.status == VideoStatus.COMPLETED
    path = client.download(done.id, tmp_path / "door.mp4")
    picture = first_frame(path)
    # portrait from size → aspectRatio 9:16, and the reference became the first frame
    assert picture.size == (720, 1280)
    assert close_to(picture.getpixel((360, 640)), TEAL)


def test_one_model_name_over_two_deployments(gateway: Gateway, client: SoraClient) -> None:
    """``sora-2`` is two deployments: jobs spread over both, and every retrieve and download of
    a job reaches the deployment that made it (the other has no such id and its own key)."""
    bases = deployments(gateway)
    emulator_of = {e.url: i for i, e in enumerate(gateway.emulators)}
    made: dict[int, list[str]] = {0: [], 1: []}
    for attempt in range(24):  # simple-shuffle: both are used long before 24 (1 in 8 million)
        video = client.create(prompt=f"a paper boat {attempt}", model="sora-2", seconds=4)
        made[emulator_of[bases[decode_litellm_id(video.id)["deployment_id"]]]].append(video.id)
        if made[0] and made[1]:
            break
    assert made[0] and made[1], "the proxy sent every job to one deployment"
    for index, ids in made.items():
        upstream = {decode_litellm_id(i)["video_id"] for i in ids}
        assert upstream <= gateway.emulator_ids(index)
        assert not upstream & gateway.emulator_ids(1 - index)
        for video_id in ids:
            assert client.wait(video_id, timeout=60).status == VideoStatus.COMPLETED
            assert is_mp4(client.download_bytes(video_id))


def settings_for(gateway: Gateway, tmp_path: Path, **kwargs: Any) -> Settings:
    return resolve_settings(
        base_url=gateway.base_url,
        api_key=gateway.master_key,
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,
    )


def test_generate_through_the_proxy_records_the_gateway(gateway: Gateway, tmp_path: Path) -> None:
    settings = settings_for(gateway, tmp_path)
    job = generate("a fox in the snow", size="1280x720", seconds=4, settings=settings, wait=True)
    assert job.status == JobStatus.COMPLETED and job.id is not None
    assert is_mp4(job.paths["video"].read_bytes())
    assert {p.parent for p in job.paths.values()} == {tmp_path / "out"}
    # LiteLLM's x-litellm-response-cost (its price list: $0.10 a second of sora-2) is the cost
    assert job.cost == pytest.approx(0.40) and job.cost_source == "gateway"
    row = Ledger(tmp_path / "ledger.sqlite3").get(job.id)
    assert row is not None and row.provider == gateway.base_url and row.status == "completed"
    assert row.cost_source == "gateway"
    assert gateway.master_key not in (tmp_path / "ledger.sqlite3").read_bytes().decode("latin-1")


def test_an_unpriced_model_under_max_spend_needs_the_allowance(
    gateway: Gateway, tmp_path: Path
) -> None:
    """A model the kit has no price for (its catalogue entry made unpriced here; LiteLLM 1.108.7
    sends no x-litellm-response-cost for Veo): refused under max_spend, sent with the allowance."""
    catalogued = find_model(gateway.veo_model)
    assert catalogued is not None
    register_model(catalogued.with_(name=gateway.veo_model, aliases=(), price_per_second={}))
    settings = settings_for(gateway, tmp_path, max_spend=50.0)
    with pytest.raises(ValidationError, match="allow_unpriced=True"):
        generate(
            "a storm at sea", model=gateway.veo_model, size="1280x720", seconds=4, settings=settings
        )
    assert Ledger(tmp_path / "ledger.sqlite3").count() == 0  # nothing was sent
    job = generate(
        "a storm at sea",
        model=gateway.veo_model,
        size="1280x720",
        seconds=4,
        settings=settings,
        allow_unpriced=True,
        wait=True,
    )
    assert job.status == JobStatus.COMPLETED and is_mp4(job.paths["video"].read_bytes())
