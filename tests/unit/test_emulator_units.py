"""Pure parts of the emulator: fault specs, the progress curve, request checks, job clock."""

from __future__ import annotations

import pytest

from sora_widgets.emulator import EmulatorSettings, parse_fault, service_profile
from sora_widgets.emulator._faults import FaultPlan, FaultSpecError
from sora_widgets.emulator._forms import nest
from sora_widgets.emulator._jobs import Job, progress_curve
from sora_widgets.emulator._settings import service_rules
from sora_widgets.emulator._validate import (
    ServiceError,
    check_prompt,
    check_seconds,
    check_size,
    join_and,
    join_or,
)


def test_fault_specs_parse_and_print_back() -> None:
    rule = parse_fault("retrieve:429:0.3")
    assert (rule.route, str(rule.actions[0]), rule.probability) == ("retrieve", "429", 0.3)
    assert str(parse_fault("content:drop=100")) == "content:drop=100"
    script = parse_fault("create:script=500,500,ok")
    assert script.scripted and [a.kind for a in script.actions] == ["500", "500", "ok"]
    assert parse_fault("create:429=250ms").actions[0].in_ms
    assert parse_fault("*:slow=200:0.1").route == "*"


@pytest.mark.parametrize(
    "spec",
    ["retrieve", "nowhere:500", "create:418", "create:500:2", "create:fail=3", "list:script="],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="ROUTE:ACTION"):
        parse_fault(spec)


def test_fault_plan_scripts_then_stops_and_seeds_reproduce() -> None:
    plan = FaultPlan(["create:script=503,ok,500"])
    assert [str(a) if a else None for a in (plan.pick("create") for _ in range(4))] == [
        "503",
        None,
        "500",
        None,
    ]
    assert plan.pick("list") is None
    dice = [
        [FaultPlan(["*:500:0.5"], seed=s).pick("list") is not None for _ in range(1)]
        for s in range(30)
    ]
    assert any(d[0] for d in dice) and not all(d[0] for d in dice)
    one, two = FaultPlan(["list:500:0.5"], seed=3), FaultPlan(["list:500:0.5"], seed=3)
    assert [one.pick("list") for _ in range(30)] == [two.pick("list") for _ in range(30)]


def test_progress_curve_is_monotonic_uneven_and_bounded() -> None:
    for seed in range(20):
        values = [progress_curve(i / 200, seed) for i in range(201)]
        assert values == sorted(values)
        assert values[0] == 0 and values[-1] == 99
        gains = [values[k + 40] - values[k] for k in range(0, 200, 40)]
        assert max(gains) - min(gains) >= 10  # bursts and stalls, not a straight line
    assert [progress_curve(0.5, 1)] * 2 == [progress_curve(0.5, 1), progress_curve(0.5, 1)]


def test_job_moves_through_its_life_on_a_clock() -> None:
    job = Job(
        id="video_x",
        owner="o",
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="p",
        created_at=1000.0,
        duration=10.0,
        content_ttl=3600.0,
    )
    assert job.snapshot(1000.0).status == "queued"
    assert job.snapshot(1005.0).status == "in_progress"
    assert job.snapshot(1011.0).status == "in_progress"  # render not finished yet
    job.render_done({"video": "v", "thumbnail": "t", "spritesheet": "s"}, None, 1012.0)
    done = job.snapshot(1013.0)
    assert (done.status, done.progress, done.completed_at, done.expires_at) == (
        "completed",
        100,
        1012.0,
        4612.0,
    )
    blocked = Job(
        id="video_y",
        owner="o",
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="p",
        created_at=0.0,
        duration=10.0,
        content_ttl=1.0,
        fail_code="moderation_blocked",
    )
    assert blocked.snapshot(10.0).error == {
        "code": "moderation_blocked",
        "message": "Your request was blocked by our moderation system.",
    }


def test_messages_list_values_like_the_service() -> None:
    assert join_and(["4", "8", "12"]) == "'4', '8', and '12'"
    assert join_and(["a", "b"]) == "'a' and 'b'"
    assert join_or(["4", "8", "12"]) == "'4', '8', or '12'"
    openai = service_profile("openai")
    rules = service_rules(openai)
    with pytest.raises(ServiceError) as error:
        check_seconds("10", openai.model_spec("sora-2"), openai, rules)
    assert error.value.message == "Invalid value: '10'. Supported values are: '4', '8', and '12'."
    with pytest.raises(ServiceError) as error:
        check_seconds(8, openai.model_spec("sora-2"), openai, rules)
    assert error.value.code == "invalid_type"
    relay = service_profile("relay")
    assert check_seconds(10, relay.model_spec("sora-2"), relay, service_rules(relay)) == "10"
    with pytest.raises(ServiceError) as error:
        check_size("1920x1080", openai.model_spec("sora-2-pro"), openai)
    assert "'720x1280', '1280x720', '1024x1792', and '1792x1024'" in error.value.message
    extended = service_profile("extended")
    assert check_size("1920x1080", extended.model_spec("sora-2-pro"), extended) == "1920x1080"
    with pytest.raises(ServiceError):
        check_prompt("")
    with pytest.raises(ServiceError) as error:
        check_prompt(None)
    assert error.value.message == "Missing required parameter: 'prompt'."


def test_bracketed_keys_nest() -> None:
    assert nest([("prompt", "p"), ("input_reference[image_url]", "u"), ("video[id]", "v")]) == {
        "prompt": "p",
        "input_reference": {"image_url": "u"},
        "video": {"id": "v"},
    }


def test_settings_defaults_and_import_stays_light() -> None:
    import subprocess
    import sys

    settings = EmulatorSettings()
    assert settings.profile == "openai" and settings.api_key is None
    assert settings.with_(job_seconds=1).resolved_poll_after_ms == 100
    code = (
        "import sys, sora_widgets.emulator; "
        "print(any(m in sys.modules for m in ('av', 'starlette', 'uvicorn', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _job(video_id: str, owner: str, created_at: float) -> Job:
    return Job(
        id=video_id,
        owner=owner,
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="p",
        created_at=created_at,
        duration=10.0,
        content_ttl=3600.0,
    )


def test_the_store_scopes_jobs_and_characters_by_owner() -> None:
    from sora_widgets.emulator._jobs import Character, JobStore

    store = JobStore(lambda: 0.0)
    for video_id, owner, at in (("video_a", "alice", 1.0), ("video_b", "bob", 2.0)):
        store.add(_job(video_id, owner, at))
        store.add(_job(video_id + "2", owner, at + 10))
    assert store.get("video_a", "alice") is not None and store.get("video_a", "bob") is None
    assert store.get("video_a") is not None  # unscoped: the emulator's own view
    page, more = store.page(order="asc", after=None, limit=10, owner="bob")
    assert [j.id for j in page] == ["video_b", "video_b2"] and not more
    assert store.page(order="asc", after="video_a", limit=10, owner="bob") == ([], False)
    store.add_character(Character("char_1", "Calico", 0, "alice"))
    assert store.character("char_1", "alice") is not None
    assert store.character("char_1", "bob") is None


def test_gateway_ids_and_status_words() -> None:
    import base64

    from sora_widgets.emulator._jobs import gateway_video_id, new_video_id

    upstream = new_video_id()
    long_id = gateway_video_id(upstream, "openai", "sora-2", "f" * 64)
    assert long_id.startswith("video_") and len(long_id) == 266
    decoded = base64.b64decode(long_id.removeprefix("video_")).decode()
    assert decoded == (
        f"litellm:custom_llm_provider:openai;model_id:sora-2;video_id:{upstream}"
        f";deployment_id:{'f' * 64}"
    )
    assert "/" not in long_id and "+" not in long_id  # safe in a URL path
    job = _job("video_x", "o", 1000.0)
    assert job.to_dict(1000.0, status_words=True)["status"] == "pending"
    middle = job.to_dict(1005.0, status_words=True)
    assert middle["status"] == "processing" and middle["progress"] is None
    assert job.to_dict(1005.0)["status"] == "in_progress"
