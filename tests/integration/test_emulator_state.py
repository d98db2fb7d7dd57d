"""An emulator with a state folder keeps its jobs across a restart (the embedded emulator keeps
them under ``$SORA_WIDGETS_HOME/emulator``): a job cut off mid-render is rendered again and
completes, its reference kept; one that cannot be rendered again fails, saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sora_widgets.api import SoraClient, VideoFailedError, VideoStatus

from ..conftest import EmulatorFactory
from ._emulator_helpers import decode_video, png


def test_a_restarted_emulator_knows_its_jobs_and_finishes_the_cut_off_one(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    first = emulator_factory(state_dir=state, data_dir=tmp_path / "renders", job_seconds=0.5)
    with SoraClient(base_url=first.base_url, api_key="sk-a", profile="openai") as client:
        done = client.create(prompt="a lighthouse", size="1280x720", seconds="4")
        client.wait(done.id, timeout=60)
        cut = client.create(
            prompt="a harbour",
            size="1280x720",
            seconds="4",
            input_reference=png(1280, 720, (200, 40, 40)),
        )
    first.stop()  # mid-job: its render may not have started
    kept = json.loads((state / "jobs.json").read_text())
    assert {job["id"] for job in kept["jobs"]} == {done.id, cut.id}
    # the clip of the cut-off job is gone too: it must be rendered again from what was kept
    for job in kept["jobs"]:
        if job["id"] == cut.id and job["render_paths"]:
            for path in job["render_paths"].values():
                Path(path).unlink(missing_ok=True)

    second = emulator_factory(state_dir=state, data_dir=tmp_path / "renders2", job_seconds=0.5)
    with SoraClient(base_url=second.base_url, api_key="sk-a", profile="openai") as client:
        assert client.retrieve(done.id).status is VideoStatus.COMPLETED
        finished = client.wait(cut.id, timeout=60)
        assert finished.status is VideoStatus.COMPLETED
        path = client.download(cut.id, tmp_path / "out")
        width, height, _, _ = decode_video(path.read_bytes())
        assert (width, height) == (1280, 720)
        listed = [v.id for v in client.list()]
        assert set(listed) == {done.id, cut.id}
    with SoraClient(base_url=second.base_url, api_key="sk-other", profile="openai") as other:
        assert [v.id for v in other.list()] == []  # still another key's jobs are not shown


def test_a_kept_job_that_cannot_be_rendered_again_fails_saying_why(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    first = emulator_factory(state_dir=state, data_dir=tmp_path / "renders", job_seconds=0.5)
    with SoraClient(base_url=first.base_url, api_key="sk-a", profile="openai") as client:
        cut = client.create(
            prompt="a harbour",
            size="1280x720",
            seconds="4",
            input_reference=png(1280, 720, (200, 40, 40)),
        )
    first.stop()
    for kept_reference in (state / "references").iterdir():
        kept_reference.unlink()  # its reference is gone: it cannot be rendered again
    kept = json.loads((state / "jobs.json").read_text())
    for job in kept["jobs"]:
        job["render_paths"] = None
    (state / "jobs.json").write_text(json.dumps(kept))
    second = emulator_factory(state_dir=state, data_dir=tmp_path / "renders2", job_seconds=0.5)
    with SoraClient(base_url=second.base_url, api_key="sk-a", profile="openai") as client:
        with pytest.raises(VideoFailedError):
            client.wait(cut.id, timeout=30)
        video = client.retrieve(cut.id)
        assert video.status is VideoStatus.FAILED
        assert video.error is not None and "restarted" in video.error.message
