"""Jobs are scoped by the bearer key: another key sees none of them and gets the real 404."""

from __future__ import annotations

from typing import Any

from sora_widgets.emulator import EmulatorHandle

from ._emulator_helpers import PROMPT, client, create, wait_terminal

OTHER = {"Authorization": "Bearer sk-another-student"}


def _not_found(response: Any, video_id: str) -> None:
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["message"] == f"Video with id '{video_id}' not found."
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "video_id"


def test_another_key_sees_nothing_and_gets_404_on_every_route(emulator: EmulatorHandle) -> None:
    with client(emulator) as mine, client(emulator, headers=OTHER) as theirs:
        video = create(mine, prompt=f"{PROMPT} (a private prompt)")
        wait_terminal(mine, video["id"], timeout=90)
        video_id = video["id"]

        listed = theirs.get("/videos").json()
        assert listed["data"] == [] and listed["has_more"] is False
        assert listed["first_id"] is None and listed["last_id"] is None
        assert theirs.get("/videos", params={"after": video_id}).json()["data"] == []
        assert "private prompt" not in theirs.get("/videos").text

        _not_found(theirs.get(f"/videos/{video_id}"), video_id)
        _not_found(theirs.get(f"/videos/{video_id}/content"), video_id)
        _not_found(theirs.get(f"/videos/{video_id}/content?variant=thumbnail"), video_id)
        _not_found(theirs.post(f"/videos/{video_id}/remix", json={"prompt": "mine now"}), video_id)
        _not_found(
            theirs.post("/videos/edits", json={"prompt": "mine now", "video": {"id": video_id}}),
            video_id,
        )
        _not_found(
            theirs.post(
                "/videos/extensions",
                json={"prompt": "mine now", "seconds": "4", "video": {"id": video_id}},
            ),
            video_id,
        )
        _not_found(theirs.delete(f"/videos/{video_id}"), video_id)

        # the owner still has it all, and the other key's attempts changed nothing
        assert [v["id"] for v in mine.get("/videos").json()["data"]] == [video_id]
        assert mine.get(f"/videos/{video_id}").json()["status"] == "completed"
        assert mine.get(f"/videos/{video_id}/content").status_code == 200
        assert len(emulator.state.jobs) == 1
        assert mine.delete(f"/videos/{video_id}").json()["deleted"] is True


def test_each_key_lists_its_own_jobs_only(emulator: EmulatorHandle) -> None:
    with client(emulator) as mine, client(emulator, headers=OTHER) as theirs:
        first = create(mine)["id"]
        second = create(theirs)["id"]
        third = create(mine)["id"]
        assert [v["id"] for v in mine.get("/videos").json()["data"]] == [third, first]
        assert [v["id"] for v in theirs.get("/videos").json()["data"]] == [second]
        page = mine.get("/videos", params={"limit": 1, "order": "asc"}).json()
        assert [v["id"] for v in page["data"]] == [first] and page["has_more"] is True
        rest = mine.get("/videos", params={"after": first, "order": "asc"}).json()
        assert [v["id"] for v in rest["data"]] == [third] and rest["has_more"] is False
        # an `after` that is another key's id reveals nothing
        assert theirs.get("/videos", params={"after": first}).json()["data"] == []


def test_the_running_limit_counts_each_keys_jobs(emulator_factory: Any) -> None:
    handle = emulator_factory(max_running=1, job_seconds=2)
    with client(handle) as mine, client(handle, headers=OTHER) as theirs:
        create(mine)
        assert mine.post("/videos", json={"prompt": PROMPT}).status_code == 429
        assert theirs.post("/videos", json={"prompt": PROMPT}).status_code == 200


def test_the_owner_is_a_hash_never_the_key(emulator: EmulatorHandle) -> None:
    with client(emulator, headers={"Authorization": "Bearer sk-recognisable-key"}) as http:
        create(http)
    (job,) = emulator.state.jobs
    assert "sk-recognisable-key" not in job.owner and len(job.owner) == 16
