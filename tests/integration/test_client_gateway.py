"""The client against the emulator behaving like LiteLLM's proxy (``gateway=``): over real HTTP.

Each behaviour of the emulator's gateway mode meets the wire part that answers it: status words
with null progress, long ids and their file names, list and delete missing, variants and Range
ignored, the gateway's cost header and its self-identification.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_widgets.api import (
    APIConnectionError,
    SoraClient,
    UnsupportedError,
    Video,
    VideoStatus,
    detect_profile,
    safe_filename,
)
from sora_widgets.emulator import EmulatorHandle

from ..conftest import EmulatorFactory
from ._emulator_helpers import decode_video


def gateway_client(emulator: EmulatorHandle, **kwargs: object) -> SoraClient:
    return SoraClient(base_url=emulator.base_url, api_key="sk-gateway-key", **kwargs)  # type: ignore[arg-type]


def finished(client: SoraClient, prompt: str = "a lighthouse at dusk") -> tuple[Video, list[Video]]:
    made = client.create(prompt=prompt)
    seen: list[Video] = []
    done = client.wait(made.id, timeout=90, on_update=seen.append)
    assert done.status is VideoStatus.COMPLETED, done
    return made, seen


def test_status_words_and_null_progress_are_followed_to_the_end(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = emulator_factory(gateway=("status-words",), job_seconds=1.5)
    with gateway_client(emulator) as client:
        made, seen = finished(client)
    assert made.status is VideoStatus.QUEUED and made.status_text == "pending"
    assert made.progress is None
    running = [v for v in seen if v.status is VideoStatus.IN_PROGRESS]
    assert all(v.status_text == "processing" and v.progress is None for v in running)


def test_long_ids_get_distinct_safe_files(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(gateway=("long-ids",), job_seconds=0.5)
    with gateway_client(emulator) as client:
        first, _ = finished(client, "a red kite")
        second, _ = finished(client, "a blue kite")
        assert len(first.id) > 200 and first.id[:40] == second.id[:40]
        paths = [client.download(v.id, tmp_path) for v in (first, second)]
    assert paths[0] != paths[1]
    assert [p.name for p in paths] == [safe_filename(v.id) for v in (first, second)]
    assert all(len(p.name) <= 64 for p in paths)
    assert paths[0].read_bytes() != paths[1].read_bytes()  # the second did not overwrite the first
    assert decode_video(paths[1].read_bytes())[:2] == (720, 1280)


def test_missing_list_and_delete_are_unsupported_and_learned(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = emulator_factory(gateway=("no-list", "no-delete"), job_seconds=0.5)
    with gateway_client(emulator) as client:
        made, _ = finished(client)
        with pytest.raises(UnsupportedError) as listed:
            client.list_page()
        with pytest.raises(UnsupportedError) as deleted:
            client.delete(made.id)
        assert client.learned == {"list": False, "delete": False}
        assert client.retrieve(made.id).status is VideoStatus.COMPLETED  # still there
    assert listed.value.capability == "list" and "ledger" in listed.value.message
    assert deleted.value.capability == "delete" and "stays on the provider" in str(deleted.value)


def test_ignored_variants_save_nothing_and_the_video_still_downloads(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(gateway=("ignore-variants",), job_seconds=0.5)
    with gateway_client(emulator) as client:
        made, _ = finished(client)
        for variant in ("thumbnail", "spritesheet"):
            with pytest.raises(UnsupportedError) as info:
                client.download(made.id, tmp_path, variant=variant)
            assert info.value.capability == "variants" and "an MP4 video" in info.value.message
        assert list(tmp_path.iterdir()) == []
        video = client.download(made.id, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [video.name]
    assert client.learned == {"variants": False}


def test_ignored_range_restarts_cleanly_and_is_learned(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(
        gateway=("ignore-range",), job_seconds=0.5, faults=["content:script=drop"]
    )
    with gateway_client(emulator) as client:
        made, _ = finished(client)
        try:
            path = client.download(made.id, tmp_path)
        except APIConnectionError:  # the drop came before any byte: nothing to resume from
            pytest.skip("the emulator dropped the body before its first byte")
        served = Path(emulator.jobs[0].render_paths["video"]).read_bytes()  # type: ignore[index]
    assert path.read_bytes() == served  # one whole copy, never a second appended
    assert client.learned == {"range": False}


def test_litellm_headers_identify_the_gateway_and_carry_its_cost(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = emulator_factory(gateway=("litellm-headers",), job_seconds=0.5)
    with gateway_client(emulator) as client:
        made = client.create(prompt="a paper boat", seconds="8")
        assert made.gateway_cost is not None and made.gateway_cost > 0
        response = client._http.get(
            f"{emulator.base_url}/videos/{made.id}",
            headers={"Authorization": "Bearer sk-gateway-key"},
        )
    assert detect_profile(response.headers) == "litellm"
