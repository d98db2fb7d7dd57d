"""The emulator over plain HTTP: validation, life cycle, pagination, ranges, limits, auth."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from sora_widgets.emulator import EmulatorHandle

from ._emulator_helpers import (
    AUTH,
    PROMPT,
    assert_video,
    client,
    create,
    decode_image,
    png,
    wait_terminal,
)


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["x-request-id"].startswith("req_")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_validation_messages_match_the_service(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:

        def post(**fields: Any) -> dict[str, Any]:
            response = http.post("/videos", json=fields)
            assert response.status_code == 400, response.text
            return _error(response)

        assert post(size="720x1280")["message"] == "Missing required parameter: 'prompt'."
        assert "maximum length 32000" in post(prompt="x" * 32001)["message"]
        assert post(prompt="x", seconds=8)["message"] == (
            "Invalid type for 'seconds': expected one of '4', '8', or '12', but got an integer "
            "instead."
        )
        unknown = post(prompt="x", duration="8")
        assert (
            unknown["message"] == "Unknown parameter: 'duration'."
            and unknown["param"] == "duration"
        )
        assert post(prompt="x", model="sora-2", size="1792x1024")["param"] == "size"
        assert post(prompt="x", model="veo-3")["param"] == "model"
        assert post(prompt="x", watermark=False)["message"] == "Unknown parameter: 'watermark'."

        text_ref = http.post(
            "/videos", files={"prompt": (None, "x"), "input_reference": (None, "https://x/y.png")}
        )
        assert _error(text_ref)["message"] == (
            "Invalid type for 'input_reference': expected a file, but got a string instead."
        )
        assert _error(text_ref)["code"] == "invalid_type"
        octet = http.post(
            "/videos",
            data={"prompt": "x", "size": "720x1280"},
            files={"input_reference": ("r", png(720, 1280), "application/octet-stream")},
        )
        assert _error(octet)["message"] == (
            "Invalid file 'input_reference': unsupported mimetype ('application/octet-stream'). "
            "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'."
        )
        # dated snapshots are accepted and echoed
        snapshot = http.post("/videos", json={"prompt": PROMPT, "model": "sora-2-2025-10-06"})
        assert snapshot.status_code == 200 and snapshot.json()["model"] == "sora-2-2025-10-06"


def test_life_cycle_queued_progress_completed_with_poll_header(emulator_factory: Any) -> None:
    handle = emulator_factory(job_seconds=1.5)
    with client(handle) as http:
        video = create(http)
        assert video["status"] == "queued" and video["progress"] == 0
        assert len(video["id"]) == len("video_") + 48
        assert set(video) >= {
            "id",
            "object",
            "model",
            "status",
            "progress",
            "created_at",
            "completed_at",
            "expires_at",
            "prompt",
            "size",
            "seconds",
            "remixed_from_video_id",
            "error",
        }
        seen: list[tuple[str, int]] = []
        while True:
            response = http.get(f"/videos/{video['id']}")
            body = response.json()
            seen.append((body["status"], body["progress"]))
            if body["status"] == "completed":
                assert "openai-poll-after-ms" not in response.headers
                break
            assert int(response.headers["openai-poll-after-ms"]) > 0
            time.sleep(0.03)
        statuses = [s for s, _ in seen]
        assert "in_progress" in statuses
        progress = [p for s, p in seen if s == "in_progress"]
        assert progress == sorted(progress) and 0 < progress[-1] <= 99
        assert body["progress"] == 100
        assert body["expires_at"] - body["completed_at"] == 3600


def test_delete_only_when_terminal(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:
        video = create(http)
        early = http.delete(f"/videos/{video['id']}")
        assert early.status_code == 409
        assert "only completed or failed videos can be deleted" in _error(early)["message"]
        not_ready = http.get(f"/videos/{video['id']}/content")
        assert not_ready.status_code == 400 and _error(not_ready)["code"] == "video_not_ready"
        wait_terminal(http, video["id"])
        gone = http.delete(f"/videos/{video['id']}")
        assert gone.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
        assert http.get(f"/videos/{video['id']}").status_code == 404


def test_content_variants_and_range_requests(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:
        video = create(http)
        wait_terminal(http, video["id"])
        full = http.get(f"/videos/{video['id']}/content")
        assert full.headers["content-type"] == "video/mp4"
        assert int(full.headers["content-length"]) == len(full.content)
        assert_video(full.content, "720x1280", "4")
        part = http.get(f"/videos/{video['id']}/content", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
        assert part.content == full.content[100:200]
        thumb = http.get(f"/videos/{video['id']}/content", params={"variant": "thumbnail"})
        assert thumb.headers["content-type"] == "image/webp"
        assert decode_image(thumb.content, "WEBP").size == (720, 1280)
        sheet = http.get(f"/videos/{video['id']}/content", params={"variant": "spritesheet"})
        assert sheet.headers["content-type"] == "image/jpeg"
        decode_image(sheet.content, "JPEG")
        bad = http.get(f"/videos/{video['id']}/content", params={"variant": "gif"})
        assert bad.status_code == 400 and _error(bad)["param"] == "variant"


def test_content_expires(emulator_factory: Any) -> None:
    handle = emulator_factory(content_ttl=0.3)
    with client(handle) as http:
        video = create(http)
        done = wait_terminal(http, video["id"])
        time.sleep(max(0.0, done["expires_at"] + 1 - time.time()))
        expired = http.get(f"/videos/{video['id']}/content")
        assert expired.status_code == 404 and _error(expired)["code"] == "video_expired"


def test_pagination_limits_and_order(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:
        ids = [create(http, prompt=f"{PROMPT} {i}")["id"] for i in range(3)]
        page = http.get("/videos", params={"limit": 2}).json()
        assert page["object"] == "list" and page["has_more"] is True
        assert [v["id"] for v in page["data"]] == ids[::-1][:2]
        rest = http.get("/videos", params={"limit": 2, "after": page["last_id"]}).json()
        assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["has_more"] is False
        assert _error(http.get("/videos", params={"limit": 101}))["param"] == "limit"
        assert _error(http.get("/videos", params={"order": "up"}))["param"] == "order"


def test_running_job_limit_answers_429_with_retry_after(emulator_factory: Any) -> None:
    handle = emulator_factory(max_running=2, job_seconds=2)
    with client(handle) as http:
        create(http)
        create(http)
        third = http.post("/videos", json={"prompt": PROMPT})
        assert third.status_code == 429
        assert "Too many running tasks" in _error(third)["message"]
        assert int(third.headers["retry-after"]) >= 1
        with client(handle, headers={"Authorization": "Bearer another-key"}) as other:
            assert other.post("/videos", json={"prompt": PROMPT}).status_code == 200


def test_auth_with_and_without_a_configured_key(emulator_factory: Any) -> None:
    open_door = emulator_factory()
    with httpx.Client(base_url=open_door.base_url) as http:
        missing = http.get("/videos")
        assert (
            missing.status_code == 401 and "didn't provide an API key" in _error(missing)["message"]
        )
        assert http.get("/videos", headers={"Authorization": "Bearer anything"}).status_code == 200
    locked = emulator_factory(api_key="sk-right")
    with httpx.Client(base_url=locked.base_url) as http:
        wrong = http.get("/videos", headers={"Authorization": "Bearer sk-wrong"})
        assert wrong.status_code == 401 and _error(wrong)["code"] == "invalid_api_key"
        assert "sk-wrong" not in wrong.text
        assert http.get("/videos", headers={"Authorization": "Bearer sk-right"}).status_code == 200
    assert not any("sk-right" in line or "sk-wrong" in line for line in locked.state.access_log)


def test_body_over_the_limit_is_413(emulator_factory: Any) -> None:
    handle = emulator_factory(max_body_bytes=10_000)
    with client(handle) as http:
        big = http.post(
            "/videos",
            data={"prompt": "x"},
            files={"input_reference": ("r.png", b"0" * 20_000, "image/png")},
        )
        assert big.status_code == 413
        assert _error(big)["code"] == "request_too_large"

        def chunks() -> Any:
            for _ in range(30):
                yield b'{"prompt": "' + b"x" * 1000

        streamed = http.post(
            "/videos", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


def test_bracketed_multipart_keys_and_json_object_reference(emulator: EmulatorHandle) -> None:
    import base64

    data_url = "data:image/png;base64," + base64.b64encode(png(720, 1280)).decode()
    with client(emulator) as http:
        form = http.post(
            "/videos",
            files={"prompt": (None, PROMPT), "input_reference[image_url]": (None, data_url)},
        )
        assert form.status_code == 200, form.text
        as_json = http.post(
            "/videos", json={"prompt": PROMPT, "input_reference": {"image_url": data_url}}
        )
        assert as_json.status_code == 200, as_json.text
        wrong = http.post(
            "/videos",
            files={"prompt": (None, PROMPT), "input_reference[file_id]": (None, "file-123")},
        )
        assert wrong.status_code == 400 and "file-123" in _error(wrong)["message"]
        assert wait_terminal(http, form.json()["id"])["status"] == "completed"


def test_edits_extensions_and_characters(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:
        source = create(http)
        wait_terminal(http, source["id"])
        mp4 = http.get(f"/videos/{source['id']}/content").content

        edit = http.post(
            "/videos/edits", json={"prompt": "Make it snow", "video": {"id": source["id"]}}
        )
        assert edit.status_code == 200, edit.text
        bracketed = http.post(
            "/videos/edits",
            files={"prompt": (None, "Make it rain"), "video[id]": (None, source["id"])},
        )
        assert bracketed.status_code == 200, bracketed.text
        uploaded = http.post(
            "/videos/edits",
            data={"prompt": "Upload edit"},
            files={"video": ("clip.mp4", mp4, "video/mp4")},
        )
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["size"] == "720x1280" and uploaded.json()["seconds"] == "4"

        extension = http.post(
            "/videos/extensions",
            json={"prompt": "And then", "seconds": "4", "video": {"id": source["id"]}},
        )
        assert extension.status_code == 200, extension.text
        assert extension.json()["seconds"] == "8"
        done = wait_terminal(http, extension.json()["id"], timeout=90)  # four renders queue
        assert done["status"] == "completed"
        assert_video(http.get(f"/videos/{done['id']}/content").content, "720x1280", "8")

        character = http.post(
            "/videos/characters",
            data={"name": "Calico"},
            files={"video": ("clip.mp4", mp4, "video/mp4")},
        )
        assert character.status_code == 200, character.text
        body = character.json()
        assert body["id"].startswith("char_") and body["name"] == "Calico"
        assert http.get(f"/videos/characters/{body['id']}").json()["name"] == "Calico"
        long_name = http.post(
            "/videos/characters",
            data={"name": "x" * 81},
            files={"video": ("clip.mp4", mp4, "video/mp4")},
        )
        assert long_name.status_code == 400 and _error(long_name)["param"] == "name"
        assert http.get("/videos/characters/char_nope").status_code == 404


def test_moderation_blocks_configured_words(emulator_factory: Any) -> None:
    handle = emulator_factory(blocked_words=("forbidden",))
    with client(handle) as http:
        video = create(http, prompt="A Forbidden scene")
        failed = wait_terminal(http, video["id"])
        assert failed["status"] == "failed"
        assert failed["error"] == {
            "code": "moderation_blocked",
            "message": "Your request was blocked by our moderation system.",
        }
        assert http.delete(f"/videos/{video['id']}").status_code == 200


def test_unknown_route_and_access_log(
    emulator: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    key = AUTH["Authorization"].removeprefix("Bearer ")
    caplog.set_level(logging.INFO, logger="sora_widgets.emulator.access")
    with client(emulator) as http:
        missing = http.get("/nothing-here")
        assert missing.status_code == 404
        assert _error(missing)["message"] == "Invalid URL (GET /v1/nothing-here)"
        listed = http.get("/videos", params={"limit": 5})
    lines = list(emulator.state.access_log)
    assert any('"GET /v1/nothing-here" 404' in line for line in lines)
    assert any('"GET /v1/videos" 200' in line and line.endswith("ms") for line in lines)
    # the key travels only in the Authorization header: no log line, answer or header shows it
    logged = lines + [record.getMessage() for record in caplog.records]
    assert len(caplog.records) == len(lines)
    assert not any(key in line for line in logged)
    for response in (missing, listed):
        assert key not in response.text
        assert not any(key in value for value in response.headers.values())


def test_every_answer_is_in_the_access_log_once_it_is_received(emulator: EmulatorHandle) -> None:
    with client(emulator) as http:
        for i in range(1, 101):
            http.get("/videos", params={"limit": 1 + i % 3})
            assert len(emulator.state.access_log) == i, f"request {i} answered before it was logged"


def test_api_stays_responsive_while_rendering(emulator_factory: Any) -> None:
    handle = emulator_factory(job_seconds=0.1, data_dir=None)
    with client(handle) as http:
        video = create(http, prompt=f"{PROMPT} {time.time()}", size="1280x720", seconds="8")
        slowest = 0.0
        for _ in range(20):
            start = time.perf_counter()
            http.get(f"/videos/{video['id']}")
            slowest = max(slowest, time.perf_counter() - start)
        assert slowest < 0.5
