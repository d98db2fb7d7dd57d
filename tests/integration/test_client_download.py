"""A 200 MB download over real HTTP: flat memory, and it survives dropped connections."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from sora_widgets.api import AsyncSoraClient, NotFoundError, SoraClient

from .._async import run as run_async
from .bigbody_server import BigBodyConfig, body_sha256, serve_big_body

SIZE = 200 * 1024 * 1024
FLAT_MEMORY = 16 * 1024 * 1024


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def expected_sha() -> str:
    return body_sha256(SIZE)


def test_200mb_download_keeps_memory_flat_and_survives_drops(
    tmp_path: Path, expected_sha: str
) -> None:
    config = BigBodyConfig(size=SIZE, drop_at=[37_000_000, 150_000_000])
    with serve_big_body(config) as base_url, SoraClient(base_url=base_url, api_key="k") as client:
        tracemalloc.start()
        try:
            path = client.download("video_big", tmp_path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert path == tmp_path / "video_big.mp4"
    assert path.stat().st_size == SIZE
    assert sha256(path) == expected_sha
    assert peak < FLAT_MEMORY, f"peak Python memory {peak / 1e6:.1f} MB while downloading 200 MB"
    # the two drops were resumed where they broke off, not restarted
    assert config.requests[0] is None
    assert [r for r in config.requests[1:]] == ["bytes=37000000-", "bytes=150000000-"]
    assert [p.name for p in tmp_path.iterdir()] == ["video_big.mp4"]


def test_server_without_range_restarts_and_still_completes(tmp_path: Path) -> None:
    size = 8 * 1024 * 1024
    config = BigBodyConfig(size=size, drop_at=[3_000_000], honour_range=False)
    with serve_big_body(config) as base_url, SoraClient(base_url=base_url, api_key="k") as client:
        path = client.download("video_x", tmp_path / "clip.mp4")
    assert path.stat().st_size == size and sha256(path) == body_sha256(size)


def test_async_download_resumes(tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    config = BigBodyConfig(size=size, drop_at=[5_000_000])

    async def main(base_url: str) -> Path:
        async with AsyncSoraClient(base_url=base_url, api_key="k") as client:
            return await client.download("video_a", tmp_path)

    with serve_big_body(config) as base_url:
        path = run_async(main(base_url))
    assert sha256(path) == body_sha256(size)
    assert config.requests == [None, "bytes=5000000-"]


def test_missing_content_leaves_nothing_behind(tmp_path: Path) -> None:
    config = BigBodyConfig(size=10)
    with (
        serve_big_body(config) as base_url,
        SoraClient(base_url=base_url, api_key="k") as client,
        pytest.raises(NotFoundError),
    ):
        client.download("video_x", tmp_path, variant="thumbnail")
    assert list(tmp_path.iterdir()) == []
