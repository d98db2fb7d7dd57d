"""Provider profiles: checks name the value and the fix; costs come from the profile."""

from __future__ import annotations

import pytest

from sora_widgets.api import ValidationError, get_profile, parse_size


def test_size_not_offered_names_value_and_fix() -> None:
    with pytest.raises(ValidationError) as info:
        get_profile("openai").check(model="sora-2", size="1792x1024")
    message = str(info.value)
    assert "'1792x1024'" in message and "sora-2" in message
    assert "720x1280 or 1280x720" in message and "sora-2-pro" in message


def test_seconds_checked_per_profile() -> None:
    with pytest.raises(ValidationError, match=r"'10'.*takes 4, 8 or 12.*validate=False"):
        get_profile("openai").check(model="sora-2", seconds="10")
    get_profile("relay").check(model="sora-2", seconds="10")
    with pytest.raises(ValidationError, match="whole number"):
        get_profile("openai").check(seconds="four")


def test_prompt_limits() -> None:
    profile = get_profile("openai")
    with pytest.raises(ValidationError, match="empty"):
        profile.check(prompt="   ")
    with pytest.raises(ValidationError, match="32001 characters.*shorten it by 1"):
        profile.check(prompt="x" * 32001)
    profile.check(prompt="x" * 32000)


def test_unknown_model_passes_through() -> None:
    get_profile("openai").check(model="veo-gateway-1", size="1920x1080", seconds="7")
    with pytest.raises(ValidationError, match=r"'big' is not a size.*'16:9', '720p'"):
        get_profile("openai").check(model="veo-gateway-1", size="big")


def test_extras_per_profile() -> None:
    get_profile("relay").check(extra={"watermark": False})
    with pytest.raises(ValidationError, match="'watermark'.*validate=False.*litellm") as info:
        get_profile("openai").check(extra={"watermark": False})
    assert "'relay' profile" not in str(info.value)


def test_dated_snapshot_is_an_alias() -> None:
    profile = get_profile("openai")
    profile.check(model="sora-2-pro-2025-10-06", size="1792x1024")
    assert profile.estimate_cost("sora-2-2025-12-08", "1280x720", "8") == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("model", "size", "seconds", "cost"),
    [
        ("sora-2", "720x1280", "4", 0.40),
        ("sora-2-pro", "1280x720", "8", 2.40),
        ("sora-2-pro", "1792x1024", "12", 6.00),
        ("mystery", "1280x720", "4", None),
    ],
)
def test_estimate_cost(model: str, size: str, seconds: str, cost: float | None) -> None:
    assert get_profile("openai").estimate_cost(model, size, seconds) == (
        None if cost is None else pytest.approx(cost)
    )


def test_unknown_profile_and_sizes() -> None:
    with pytest.raises(ValidationError, match="openai, relay, litellm or emulator"):
        get_profile("azure")
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size((720, 1280)) == (720, 1280)
    with pytest.raises(ValidationError):
        parse_size((0, 5))


def test_custom_profile() -> None:
    custom = get_profile("relay").with_(name="my-gateway", max_running=5)
    assert custom.max_running == 5 and get_profile(custom) is custom
