"""Parsing every example object of API.md, with nulls present and omitted."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sora_widgets.api import DeletedVideo, Video, VideoList, VideoStatus

QUEUED = '{"id":"video_68d7","object":"video","created_at":1758941485,"status":"queued","model":"sora-2-pro","progress":0,"seconds":"8","size":"1280x720"}'
IN_PROGRESS = '{"id":"video_68d7","object":"video","created_at":1758941485,"status":"in_progress","model":"sora-2-pro","progress":33,"seconds":"8","size":"1280x720"}'
FAILED = '{"id":"video_1","object":"video","model":"sora-2","status":"failed","progress":0,"created_at":1758941485,"completed_at":1758941540,"expires_at":null,"prompt":"a","size":"720x1280","seconds":"4","remixed_from_video_id":null,"error":{"code":"moderation_blocked","message":"Your request was blocked by our moderation system."}}'
SPEC_EXAMPLE = '{"id":"video_123","object":"video","model":"sora-2","status":"queued","progress":0,"created_at":1712697600,"size":"1024x1792","seconds":"8","quality":"standard"}'


def test_queued_example_with_nulls_omitted() -> None:
    video = Video.from_dict(json.loads(QUEUED))
    assert video.status is VideoStatus.QUEUED
    assert video.progress == 0
    assert video.completed_at is None and video.expires_at is None and video.error is None
    assert video.width_height == (1280, 720)
    assert not video.is_terminal


def test_in_progress_example() -> None:
    video = Video.from_dict(json.loads(IN_PROGRESS))
    assert video.status is VideoStatus.IN_PROGRESS and video.progress == 33


def test_failed_example_with_nulls_present() -> None:
    video = Video.from_dict(json.loads(FAILED))
    assert video.status.is_terminal
    assert video.error is not None and video.error.code == "moderation_blocked"
    assert video.expires_at is None and video.remixed_from_video_id is None
    assert video.completed_at == 1758941540


def test_unknown_fields_are_kept_and_round_trip() -> None:
    video = Video.from_dict(json.loads(SPEC_EXAMPLE))
    assert video.extra == {"quality": "standard"}
    wire = video.to_dict()
    assert wire["quality"] == "standard"
    assert set(wire) >= {"id", "completed_at", "expires_at", "error", "remixed_from_video_id"}
    assert Video.from_dict(wire) == video


def test_video_is_immutable() -> None:
    video = Video.from_dict(json.loads(QUEUED))
    with pytest.raises(dataclasses.FrozenInstanceError):
        video.status = VideoStatus.COMPLETED  # type: ignore[misc]
    with pytest.raises(TypeError):
        video.extra["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("queued", False),
        ("in_progress", False),
        ("completed", True),
        ("failed", True),
        ("weird", False),
    ],
)
def test_status_is_terminal(status: str, terminal: bool) -> None:
    assert VideoStatus.parse(status).is_terminal is terminal


def test_hostile_values_are_tamed() -> None:
    video = Video.from_dict(
        {"id": "v", "status": "sparkling", "progress": 1e9, "created_at": "soon"}
    )
    assert video.status is VideoStatus.UNKNOWN
    assert video.progress == 100
    assert video.created_at is None
    assert Video.from_dict({"id": "v", "progress": -5}).progress == 0


def test_list_and_deleted() -> None:
    page = VideoList.from_dict(
        {"object": "list", "data": [json.loads(QUEUED), json.loads(FAILED)], "has_more": True}
    )
    assert [v.id for v in page.data] == ["video_68d7", "video_1"]
    assert page.first_id == "video_68d7" and page.last_id == "video_1" and page.has_more
    deleted = DeletedVideo.from_dict({"id": "video_1", "object": "video.deleted", "deleted": True})
    assert deleted.deleted and deleted.id == "video_1"


def test_repr_is_short() -> None:
    video = Video.from_dict(json.loads(FAILED))
    assert "moderation" not in repr(video) and "video_1" in repr(video)


# -- statuses as gateways send them ----------------------------------------------------------------

# LiteLLM 1.108.7's answer to a retrieve of a Veo job, as its proxy serialises the VideoObject its
# gemini transformation builds (litellm/types/videos/main.py, llms/gemini/videos/transformation.py):
# every field present, most of them null, "processing" until the operation is done.
LITELLM_VEO_PROCESSING = (
    '{"id":"video_Z2VtaW5pOnZlby0zLjAtZ2VuZXJhdGUtcHJldmlldzpvcGVyYXRpb25zL2dlbmVyYXRlXzEyMw",'
    '"object":"video","status":"processing","created_at":null,"completed_at":null,'
    '"expires_at":null,"error":null,"progress":null,"remixed_from_video_id":null,"seconds":null,'
    '"size":null,"model":null,"usage":{"duration_seconds":8.0}}'
)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("processing", VideoStatus.IN_PROGRESS),
        ("running", VideoStatus.IN_PROGRESS),
        ("RUNNING", VideoStatus.IN_PROGRESS),
        ("generating", VideoStatus.IN_PROGRESS),
        ("IN_PROGRESS", VideoStatus.IN_PROGRESS),
        ("pending", VideoStatus.QUEUED),
        ("IN_QUEUE", VideoStatus.QUEUED),
        ("in-queue", VideoStatus.QUEUED),
        ("SUCCEEDED", VideoStatus.COMPLETED),
        ("CANCELLED", VideoStatus.FAILED),
        ("sparkling", VideoStatus.UNKNOWN),
        (None, VideoStatus.UNKNOWN),
    ],
)
def test_gateway_status_words(word: str | None, status: VideoStatus) -> None:
    assert VideoStatus.parse(word) is status


def test_gateway_video_with_nulls_keeps_its_word_and_no_progress() -> None:
    video = Video.from_dict(json.loads(LITELLM_VEO_PROCESSING))
    assert video.status is VideoStatus.IN_PROGRESS and video.status_text == "processing"
    assert video.progress is None  # "no progress known", never 0 %
    assert video.size is None and video.seconds is None and video.created_at is None
    assert video.width_height is None and not video.is_terminal
    assert video.extra == {"usage": {"duration_seconds": 8.0}}
    assert video.status_label == "in_progress"
    assert video.to_dict()["status"] == "in_progress"  # the ledger stores the contract's word


def test_missing_progress_is_none_and_present_zero_is_zero() -> None:
    assert Video.from_dict({"id": "v", "status": "queued"}).progress is None
    assert Video.from_dict({"id": "v", "status": "queued", "progress": 0}).progress == 0
    assert Video.from_dict({"id": "v", "status": "queued", "progress": "45"}).progress == 45


def test_unfamiliar_status_is_shown_as_itself() -> None:
    video = Video.from_dict({"id": "v", "status": "Upscaling", "progress": None})
    assert video.status is VideoStatus.UNKNOWN
    assert video.status_label == "Upscaling" and "Upscaling" in repr(video)
    assert video.to_dict()["status"] == "Upscaling"
    assert Video.from_dict(video.to_dict()) == video
