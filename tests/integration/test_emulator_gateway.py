"""The emulator behaving like a gateway (LiteLLM's proxy 1.108.7), one behaviour at a time."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sora_widgets.api import ValidationError
from sora_widgets.emulator import EmulatorSettings
from sora_widgets.emulator._settings import GATEWAY_BEHAVIOURS, gateway_behaviours

from ._emulator_helpers import PROMPT, client, create, decode_image, wait_terminal


def _finished(http: Any, **fields: str) -> dict[str, Any]:
    video = create(http, **fields)
    done = wait_terminal(http, video["id"], timeout=90)
    assert done["status"] == "completed", done
    return done


def test_gateway_words_parse_and_unknown_ones_are_refused() -> None:
    assert gateway_behaviours("no-list, long-ids") == ("no-list", "long-ids")
    assert gateway_behaviours(["ignore-range,no-delete"]) == ("no-delete", "ignore-range")
    assert gateway_behaviours("all") == tuple(GATEWAY_BEHAVIOURS)
    assert gateway_behaviours("litellm") == tuple(
        w for w in GATEWAY_BEHAVIOURS if w != "no-extensions"
    )  # LiteLLM's proxy routes extensions
    assert gateway_behaviours("") == ()
    with pytest.raises(ValidationError, match="'no-lists' is unknown"):
        gateway_behaviours("no-lists")
    assert EmulatorSettings().gateway == ()


def test_no_list_answers_litellms_400(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=("no-list",))
    with client(handle) as http:
        create(http)
        listed = http.get("/videos")
        assert listed.status_code == 400
        error = listed.json()["error"]
        assert error["message"].startswith("litellm.BadRequestError: LLM Provider NOT provided.")
        assert error["type"] == "invalid_request_error"
        assert error["param"] is None and error["code"] == "400"
        assert http.get("/videos").status_code == 400  # every time
    plain = emulator_factory()
    with client(plain) as http:
        assert http.get("/videos").status_code == 200


def test_no_delete_answers_405_like_a_missing_route(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=["no-delete"])
    with client(handle) as http:
        done = _finished(http)
        deleted = http.delete(f"/videos/{done['id']}")
        assert deleted.status_code == 405
        assert deleted.json() == {"detail": "Method Not Allowed"}
        assert deleted.headers["allow"] == "GET"
        assert http.get(f"/videos/{done['id']}").json()["status"] == "completed"


def test_ignore_variants_always_sends_the_mp4(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=("ignore-variants",))
    with client(handle) as http:
        done = _finished(http)
        video = http.get(f"/videos/{done['id']}/content").content
        for variant in ("thumbnail", "spritesheet", "nonsense"):
            answer = http.get(f"/videos/{done['id']}/content", params={"variant": variant})
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "video/mp4"
            assert answer.content == video and answer.content[4:8] == b"ftyp"
    honest = emulator_factory()
    with client(honest) as http:
        done = _finished(http)
        thumb = http.get(f"/videos/{done['id']}/content", params={"variant": "thumbnail"})
        decode_image(thumb.content, "WEBP")


def test_ignore_range_answers_200_with_the_whole_body(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=("ignore-range",))
    with client(handle) as http:
        done = _finished(http)
        whole = http.get(f"/videos/{done['id']}/content")
        ranged = http.get(f"/videos/{done['id']}/content", headers={"Range": "bytes=100-"})
        assert ranged.status_code == 200 and "content-range" not in ranged.headers
        assert ranged.content == whole.content
        assert "bytes" not in ranged.headers.get("accept-ranges", "")
    honest = emulator_factory()
    with client(honest) as http:
        done = _finished(http)
        part = http.get(f"/videos/{done['id']}/content", headers={"Range": "bytes=100-"})
        assert part.status_code == 206


def test_long_ids_are_litellms_and_work_on_every_route(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=("long-ids",))
    with client(handle) as http:
        done = _finished(http)
        video_id = done["id"]
        assert video_id.startswith("video_") and 266 <= len(video_id) <= 290
        inner = base64.b64decode(video_id[len("video_") :]).decode()
        parts = dict(p.split(":", 1) for p in inner.removeprefix("litellm:").split(";"))
        assert parts["custom_llm_provider"] == "openai" and parts["model_id"] == "sora-2"
        assert parts["video_id"].startswith("video_") and len(parts["video_id"]) == 54
        assert len(parts["deployment_id"]) == 64
        assert http.get(f"/videos/{video_id}/content").status_code == 200
        remix = http.post(f"/videos/{video_id}/remix", json={"prompt": "Again"}).json()
        assert remix["remixed_from_video_id"] == video_id and len(remix["id"]) >= 266
        assert [v["id"] for v in http.get("/videos").json()["data"]] == [remix["id"], video_id]
        pro = create(http, model="sora-2-pro", size="1792x1024")
        assert 266 <= len(pro["id"]) <= 290
        wait_terminal(http, remix["id"], timeout=90)
        assert http.delete(f"/videos/{video_id}").json()["deleted"] is True


def test_status_words_are_pending_and_processing_with_no_progress(emulator_factory: Any) -> None:
    now = [1_000_000.0]
    handle = emulator_factory(
        gateway=("status-words",), job_seconds=100, clock=lambda: now[0], render_mode="inline"
    )
    with client(handle) as http:
        video = create(http)
        assert video["status"] == "pending" and video["progress"] is None
        now[0] += 50
        middle = http.get(f"/videos/{video['id']}").json()
        assert middle["status"] == "processing" and middle["progress"] is None
        now[0] += 60
        done = http.get(f"/videos/{video['id']}").json()
        assert done["status"] == "completed" and done["progress"] is None
        assert http.get("/videos").json()["data"][0]["status"] == "completed"


def test_litellm_headers_carry_the_price_and_the_deployment(emulator_factory: Any) -> None:
    handle = emulator_factory(gateway=("litellm-headers",))
    with client(handle) as http:
        answer = http.post(
            "/videos",
            files={
                "prompt": (None, PROMPT),
                "model": (None, "sora-2-pro"),
                "size": (None, "1792x1024"),
                "seconds": (None, "8"),
            },
        )
        assert answer.status_code == 200
        assert float(answer.headers["x-litellm-response-cost"]) == pytest.approx(4.0)
        assert len(answer.headers["x-litellm-model-id"]) == 64
        again = http.get(f"/videos/{answer.json()['id']}")
        assert float(again.headers["x-litellm-response-cost"]) == pytest.approx(4.0)
        small = create(http, seconds="4", size="1280x720")
        small_answer = http.get(f"/videos/{small['id']}")
        assert float(small_answer.headers["x-litellm-response-cost"]) == pytest.approx(0.4)
    plain = emulator_factory()
    with client(plain) as http:
        answer = http.post("/videos", json={"prompt": PROMPT})
        assert not any(h.startswith("x-litellm") for h in answer.headers)


def test_all_behaviours_at_once_through_the_official_sdk(emulator_factory: Any) -> None:
    import warnings

    import openai
    from openai import OpenAI

    handle = emulator_factory(gateway=("litellm",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk = OpenAI(base_url=handle.base_url, api_key="sk-gw", max_retries=0)
        try:
            video = sdk.videos.create(prompt=PROMPT)
            assert len(video.id) >= 266 and video.progress is None
            with pytest.raises(openai.BadRequestError, match="LLM Provider NOT provided"):
                sdk.videos.list()
            with pytest.raises(openai.APIStatusError) as refused:
                sdk.videos.delete(video.id)
            assert refused.value.status_code == 405
        finally:
            sdk.close()
