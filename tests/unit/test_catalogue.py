"""The model catalogue as a user meets it: sizes written every way, models found by any of their
names, every shipped entry usable as it stands, checks that name the fix, prices with their source,
user entries, and create requests built from all of it. Pure: nothing is sent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from sora_widgets.api import FileReference, ValidationError
from sora_widgets.api._catalogue import (
    ModelSpec,
    catalogue_names,
    find_model,
    load_models_file,
    register_model,
    unregister_model,
)
from sora_widgets.api._profiles import get_profile
from sora_widgets.api._requests import RequestSpec, build_create
from sora_widgets.api._sizes import (
    nominal_pixels,
    orientation,
    parse_size,
    ratio_of,
    read_size,
    size_tier,
)

LITELLM = get_profile("litellm")
OPENAI = get_profile("openai")
EMULATOR = get_profile("emulator")
SHIPPED = catalogue_names()


def spec_of(name: str) -> ModelSpec:
    spec = find_model(name)
    assert spec is not None, f"{name} is not in the catalogue"
    return spec


# -- sizes as people write them -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind", "text", "numbers"),
    [
        ("1280x720", "pixels", "1280x720", (1280, 720)),
        (" 1280 X 720 ", "pixels", "1280x720", (1280, 720)),
        ("16:9", "ratio", "16:9", (16, 9)),
        ("720p", "tier", "720p", (720, 720)),
        ("720P", "tier", "720p", (720, 720)),
        ("4k", "tier", "4k", (2160, 2160)),
        ("auto", "auto", "auto", (0, 0)),
        ("Landscape", "orientation", "landscape", (0, 0)),
    ],
)
def test_read_size_tells_each_kind(
    written: str, kind: str, text: str, numbers: tuple[int, int]
) -> None:
    read = read_size(written)
    assert read is not None
    assert (read.kind, read.text, read.numbers) == (kind, text, numbers)


@pytest.mark.parametrize("garbage", ["garbage", "", "16:0", "1280x", "x720", "12k", None, 720])
def test_read_size_rejects_what_is_no_size(garbage: object) -> None:
    assert read_size(garbage) is None


def test_ratio_of_reduces_and_snaps_to_the_ratio_sizes_are_sold_as() -> None:
    assert ratio_of(1792, 1024) == "7:4"
    assert ratio_of(1280, 720) == "16:9"
    assert ratio_of(720, 1280) == "9:16"
    assert ratio_of(854, 480) == "16:9"  # not 427:240
    assert ratio_of(960, 960) == "1:1"


def test_size_tier_is_the_short_side() -> None:
    assert size_tier("1280x720") == "720p"
    assert size_tier("1080x1920") == "1080p"
    assert size_tier("2560x1440") == "2k"
    assert size_tier("3840x2160") == "4k"
    assert size_tier("16:9") is None


def test_nominal_pixels_for_sizes_without_their_own() -> None:
    assert nominal_pixels("1280x720") == (1280, 720)
    assert nominal_pixels("16:9") == (1280, 720)
    assert nominal_pixels("9:16") == (720, 1280)
    assert nominal_pixels("4:3") == (960, 720)
    assert nominal_pixels("1080p") == (1920, 1080)
    assert nominal_pixels("1080p", landscape=False) == (1080, 1920)
    assert nominal_pixels("4k") == (3840, 2160)
    assert nominal_pixels("portrait") == (720, 1280)
    assert nominal_pixels("square") == (720, 720)
    assert nominal_pixels("auto") is None
    assert nominal_pixels("garbage") is None


# -- finding models -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "name"),
    [
        ("sora-2", "sora-2"),
        ("openai/sora-2", "sora-2"),
        ("sora-2-2025-10-06", "sora-2"),
        ("gemini/veo-3.0-generate-preview", "veo-3.0-generate-001"),
        ("vertex_ai/veo-3.1-generate-001", "veo-3.1-generate-preview"),
        ("runwayml/gen4_turbo", "gen4_turbo"),
        ("dashscope/wan2.7-t2v", "dashscope/wan2.7-t2v"),
    ],
)
def test_find_model_by_name_or_alias(asked: str, name: str) -> None:
    assert spec_of(asked).name == name


@pytest.mark.parametrize("asked", ["my-house-model", "", None])
def test_find_model_knows_nothing_of_other_names(asked: str | None) -> None:
    assert find_model(asked) is None


def test_hand_written_entries_win_and_litellm_entries_say_so() -> None:
    assert spec_of("sora-2").origin == "catalogue"
    assert spec_of("veo-3.0-generate-001").origin == "catalogue"
    assert spec_of("dashscope/wan2.7-t2v").origin == "litellm"
    assert len(SHIPPED) == len(set(SHIPPED)) > 60
    assert set(catalogue_names(origin="catalogue")) >= {"sora-2", "sora-2-pro", "gen4_turbo"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_entry_is_usable_as_it_stands(name: str) -> None:
    spec = spec_of(name)
    assert spec.sizes, "an entry without sizes checks nothing"
    for size in spec.sizes:
        width, height = parse_size(size)
        assert width % 2 == 0 and height % 2 == 0, f"{size}: video sizes have even sides"
    assert spec.seconds and all(s.isdigit() and int(s) > 0 for s in spec.seconds)
    assert spec.price_source and spec.price_date
    assert spec.first_size in spec.sizes
    assert spec.first_seconds in spec.seconds
    # every size it has a price for, so a cost line never goes blank for a shipped model
    for size in spec.sizes:
        cost = spec.cost(size, spec.first_seconds or "4")
        assert cost is not None and cost > 0, size
    # with no size or length asked, a create of it passes its own checks
    resolved = LITELLM.resolve(model=name)
    assert (resolved.size, resolved.seconds) == (spec.first_size, spec.first_seconds)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_size_word_of_an_entry_resolves_to_one_of_its_sizes(name: str) -> None:
    spec = spec_of(name)
    assert set(spec.ratios) and set(spec.tiers)
    for word in spec.size_words():
        sent = spec.resolve_size(word)
        if word == "auto":
            assert sent == "auto"
            continue
        assert sent in spec.sizes, f"{word} → {sent}"
        read = read_size(word)
        assert read is not None
        if read.kind == "ratio":
            assert ratio_of(*parse_size(sent)) == word
        elif read.kind == "tier":
            assert size_tier(sent) == word
        elif read.kind == "orientation":
            assert orientation(sent) == word


@pytest.mark.parametrize("name", SHIPPED)
def test_every_price_of_an_entry_applies_to_one_of_its_sizes(name: str) -> None:
    spec = spec_of(name)
    reachable = {"default", *spec.sizes, *spec.tiers}
    assert set(spec.price_per_second) <= reachable


def test_volcengine_smallest_size_costs_the_480p_rate() -> None:
    spec = spec_of("volcengine/doubao-seedance-2-0-260128")
    assert spec.price("864x496") == pytest.approx(0.066003429)


# -- a model's sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "asked", "sent"),
    [
        ("sora-2", "16:9", "1280x720"),
        ("sora-2", "9:16", "720x1280"),
        ("sora-2", "720p", "720x1280"),  # its default size is portrait
        ("sora-2", "landscape", "1280x720"),
        ("sora-2", "portrait", "720x1280"),
        ("sora-2", "auto", "720x1280"),  # it does not pick: its default size
        ("sora-2", "1280x720", "1280x720"),
        ("sora-2-pro", "7:4", "1792x1024"),
        ("sora-2-pro", "1080p", "1080x1920"),
        ("veo-3.1-generate-preview", "1080p", "1920x1080"),
        ("veo-3.1-generate-preview", "4k", "3840x2160"),
        ("veo-3.1-generate-preview", "9:16", "720x1280"),
        ("veo-3.1-generate-preview", "16:9", "1280x720"),
        ("gen4_turbo", "1:1", "960x960"),
        ("gen4_turbo", "square", "960x960"),
    ],
)
def test_resolve_size(model: str, asked: str, sent: str) -> None:
    assert spec_of(model).resolve_size(asked) == sent


def test_a_size_a_model_does_not_take_is_refused_naming_value_choices_and_the_skip() -> None:
    with pytest.raises(ValidationError) as info:
        spec_of("sora-2").resolve_size("1920x1080")
    message = str(info.value)
    assert "'1920x1080'" in message and "sora-2" in message
    assert "720x1280 or 1280x720" in message
    assert "validate=False" in message
    assert info.value.param == "size"


@pytest.mark.parametrize("asked", ["4k", "1:1", "square", "banana"])
def test_sora_2_refuses_words_it_has_no_size_for(asked: str) -> None:
    with pytest.raises(ValidationError, match="720x1280 or 1280x720"):
        spec_of("sora-2").resolve_size(asked)


def test_a_refused_size_on_a_profile_points_at_a_model_that_takes_it() -> None:
    with pytest.raises(ValidationError) as info:
        LITELLM.resolve(model="sora-2", size="1920x1080")
    assert "or use sora-2-pro" in str(info.value)


# -- Profile.resolve ------------------------------------------------------------------------------


def test_resolve_reads_seconds_written_with_a_unit() -> None:
    resolved = LITELLM.resolve(model="sora-2", size="16:9", seconds="8s")
    assert (resolved.model, resolved.size, resolved.seconds) == ("sora-2", "1280x720", "8")
    assert resolved.asked_size == "16:9"
    assert resolved.spec is not None and resolved.spec.name == "sora-2"


def test_resolve_by_alias_keeps_the_name_asked_and_checks_the_entry() -> None:
    resolved = LITELLM.resolve(model="gemini/veo-3.0-generate-preview", size="9:16", seconds=4)
    assert (resolved.model, resolved.size, resolved.seconds) == (
        "gemini/veo-3.0-generate-preview",
        "720x1280",
        "4",
    )
    with pytest.raises(ValidationError, match="4, 6 or 8"):
        LITELLM.resolve(model="gemini/veo-3.0-generate-preview", seconds=5)


@pytest.mark.parametrize("size", ["16:9", "720p", "1280x720", "auto"])
def test_an_unknown_model_passes_sizes_through_with_any_extra_field(size: str) -> None:
    resolved = LITELLM.resolve(
        model="my-house-model", size=size, seconds=7, extra={"house_knob": 3}
    )
    assert (resolved.model, resolved.size, resolved.seconds) == ("my-house-model", size, "7")
    assert resolved.spec is None


def test_an_unknown_model_is_still_checked_for_shape() -> None:
    with pytest.raises(ValidationError, match="not a size"):
        LITELLM.resolve(model="my-house-model", size="huge")
    with pytest.raises(ValidationError, match="16 to 8192"):
        LITELLM.resolve(model="my-house-model", size="10x10")
    with pytest.raises(ValidationError, match="whole number"):
        LITELLM.resolve(model="my-house-model", seconds="ten")


def test_validate_false_sends_everything_as_asked() -> None:
    resolved = EMULATOR.resolve(
        model="sora-2",
        size="16:9",
        seconds="10",
        extra={"negativePrompt": "rain"},
        validate=False,
    )
    assert (resolved.model, resolved.size, resolved.seconds) == ("sora-2", "16:9", "10")
    resolved = OPENAI.resolve(model="sora-2", size="4k", seconds="11s", validate=False)
    assert (resolved.size, resolved.seconds) == ("4k", "11s")


def test_an_extra_field_of_the_model_is_accepted_on_the_emulator_profile() -> None:
    resolved = EMULATOR.resolve(
        model="veo-3.0-generate-001", size="16:9", extra={"negativePrompt": "rain"}
    )
    assert resolved.size == "1280x720"
    EMULATOR.check(model="veo-3.0-generate-001", extra={"negativePrompt": "rain", "seed": 3})


def test_an_extra_field_sora_does_not_take_is_refused_naming_the_ways_round() -> None:
    with pytest.raises(ValidationError) as info:
        EMULATOR.resolve(model="sora-2", extra={"negativePrompt": "rain"})
    message = str(info.value)
    assert "'negativePrompt'" in message
    assert "validate=False" in message and "litellm" in message
    assert info.value.param == "negativePrompt"
    # the gateway passes it on
    LITELLM.check(model="sora-2", extra={"negativePrompt": "rain"})


@pytest.mark.parametrize(
    ("profile", "takes"), [("litellm", "4, 8, 12, 16 or 20"), ("openai", "4, 8 or 12")]
)
def test_a_length_sora_2_does_not_take_is_refused_with_what_it_takes(
    profile: str, takes: str
) -> None:
    with pytest.raises(ValidationError) as info:
        get_profile(profile).resolve(model="sora-2", seconds="10")
    message = str(info.value)
    assert "'10'" in message and f"takes {takes};" in message
    assert "validate=False" in message
    assert info.value.param == "seconds"
    with pytest.raises(ValidationError):
        get_profile(profile).check(model="sora-2", seconds=10)


def test_the_official_profile_keeps_1080p_off_sora_2_pro() -> None:
    assert LITELLM.resolve(model="sora-2-pro", size="1920x1080").size == "1920x1080"
    with pytest.raises(ValidationError, match="'1920x1080'"):
        OPENAI.resolve(model="sora-2-pro", size="1920x1080")


# -- prices ---------------------------------------------------------------------------------------


def test_sora_2_pro_costs_by_size() -> None:
    spec = spec_of("sora-2-pro")
    assert spec.cost("1792x1024", 8) == pytest.approx(4.00)
    assert spec.cost("1792x1024", "8s") == pytest.approx(4.00)
    assert spec.cost("720x1280", 4) == pytest.approx(1.20)
    assert LITELLM.estimate_cost("sora-2-pro", "1792x1024", "8") == pytest.approx(4.00)


def test_veo_fast_prices_by_tier() -> None:
    spec = spec_of("veo-3.1-fast-generate-preview")
    assert spec.price("1920x1080") == pytest.approx(0.12)
    assert spec.price("1080x1920") == pytest.approx(0.12)
    assert spec.price("1280x720") == pytest.approx(0.10)
    assert spec.price("3840x2160") == pytest.approx(0.30)
    assert spec.cost("1920x1080", 8) == pytest.approx(0.96)


def test_price_origin_says_where_the_price_came_from() -> None:
    assert spec_of("sora-2-pro").price_origin == "OpenAI's price list, 2026-03-01"
    origin = spec_of("dashscope/wan2.7-t2v").price_origin
    assert "LiteLLM's price map" in origin and "2026-12-01" in origin


def test_an_unknown_length_or_model_has_no_cost() -> None:
    assert spec_of("sora-2").cost("720x1280", "soon") is None
    assert LITELLM.estimate_cost("my-house-model", "1280x720", 4) is None


# -- user entries ---------------------------------------------------------------------------------


def test_register_model_adds_an_entry_used_by_the_checks() -> None:
    made = register_model("house-video", sizes=["1280x720"], seconds=[4], price=0.2)
    found = find_model("house-video")
    assert found == made and found.origin == "user"
    assert catalogue_names()[0] == "house-video"
    assert "house-video" in catalogue_names(origin="user")
    assert found.cost("1280x720", 4) == pytest.approx(0.8)
    resolved = EMULATOR.resolve(model="house-video", size="16:9")
    assert (resolved.size, resolved.seconds) == ("1280x720", "4")
    with pytest.raises(ValidationError, match="house-video"):
        EMULATOR.resolve(model="house-video", seconds=8)
    assert unregister_model("house-video") is True
    assert find_model("house-video") is None
    assert unregister_model("house-video") is False


def test_register_model_overrides_a_shipped_entry_until_unregistered() -> None:
    register_model("sora-2", sizes=["1280x720"], seconds=[4], price=1.0)
    assert spec_of("sora-2").price("1280x720") == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="not offered by sora-2"):
        LITELLM.resolve(model="sora-2", size="720x1280")
    unregister_model("sora-2")
    assert spec_of("sora-2").price("1280x720") == pytest.approx(0.10)
    assert spec_of("sora-2").origin == "catalogue"


@pytest.mark.parametrize(
    ("entry", "field", "shown"),
    [
        ({"sizes": ["16:9"]}, "sizes", "'16:9'"),
        ({"sizes": ["1280x720"], "price": "cheap"}, "price", "'cheap'"),
        ({"sizes": ["1280x720"], "colour": "red"}, "colour", "'colour'"),
        ({"sizes": ["1280x720"], "reference": "maybe"}, "reference", "'maybe'"),
        ({"sizes": "1280x720", "seconds": {"min": 8, "max": 4}}, "seconds", "seconds"),
    ],
)
def test_a_malformed_entry_is_refused_naming_model_and_field(
    entry: dict[str, object], field: str, shown: str
) -> None:
    with pytest.raises(ValidationError) as info:
        register_model("house-video", **entry)
    assert info.value.param == field
    assert "'house-video'" in str(info.value) and shown in str(info.value)
    assert find_model("house-video") is None


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"seconds": ["soon"]}, id="seconds-not-a-number"),
        pytest.param({"seconds": [0, -4]}, id="seconds-not-positive"),
        pytest.param({"default_size": "banana"}, id="default-size-not-a-size"),
        pytest.param({"default_size": "720x1280"}, id="default-size-not-offered"),
        pytest.param({"default_seconds": "soon"}, id="default-seconds-not-a-number"),
        pytest.param({"auto": "no"}, id="auto-not-a-boolean"),
    ],
)
def test_entries_that_cannot_work_are_refused_when_registered(entry: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="house-video"):
        register_model("house-video", sizes=["1280x720"], **entry)


def test_load_models_file_registers_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."house-toml"]\n'
        'provider = "Acme"\n'
        'aliases = ["acme/house-toml"]\n'
        'sizes = ["1280x720", "720x1280"]\n'
        "seconds = { min = 2, max = 4 }\n"
        'price = { default = 0.1, "720p" = 0.15 }\n'
        'extra_fields = ["seed"]\n',
        encoding="utf-8",
    )
    loaded = load_models_file(path)
    assert [spec.name for spec in loaded] == ["house-toml"]
    spec = spec_of("acme/house-toml")
    assert spec.name == "house-toml" and spec.origin == "user"
    assert spec.seconds == ("2", "3", "4")
    assert spec.cost("720x1280", 2) == pytest.approx(0.30)
    EMULATOR.check(model="acme/house-toml", size="9:16", seconds="3s", extra={"seed": 1})


def test_load_models_file_without_a_file_is_no_error(tmp_path: Path) -> None:
    assert load_models_file(tmp_path / "models.toml") == []


def test_load_models_file_refuses_broken_toml_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text("[models\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid TOML") as info:
        load_models_file(path)
    assert str(path) in str(info.value)


def test_load_models_file_registers_nothing_when_one_entry_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."house-good"]\nsizes = ["1280x720"]\n\n[models."house-video"]\nsizes = ["16:9"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="'house-video'"):
        load_models_file(path)
    assert find_model("house-good") is None


def test_a_malformed_entry_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text('[models."house-video"]\nsizes = ["16:9"]\n', encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_models_file(path)
    assert str(path) in str(info.value)


# -- create requests ------------------------------------------------------------------------------


def fields_of(spec: RequestSpec) -> dict[str, object]:
    if spec.multipart is not None:
        return dict(spec.multipart)
    assert isinstance(spec.json, dict)
    return dict(spec.json)


def picture(width: int, height: int) -> FileReference:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="PNG")
    return FileReference(filename="first-frame.png", data=out.getvalue(), mime_type="image/png")


def test_build_create_sends_a_ratio_as_the_models_pixel_size() -> None:
    spec, params = build_create(
        LITELLM, prompt="a lighthouse at dusk", model="veo-3.0-generate-001", size="16:9"
    )
    assert spec.multipart is not None and spec.json is None  # LiteLLM takes multipart
    fields = fields_of(spec)
    assert fields["size"] == "1280x720" and fields["seconds"] == "8"
    assert fields["model"] == "veo-3.0-generate-001"
    assert (params.size, params.seconds) == ("1280x720", "8")


def test_build_create_without_validation_sends_the_ratio_itself() -> None:
    spec, params = build_create(
        LITELLM,
        prompt="a lighthouse at dusk",
        model="veo-3.0-generate-001",
        size="16:9",
        validate=False,
    )
    assert fields_of(spec)["size"] == "16:9" and params.size == "16:9"


def test_build_create_on_a_json_profile_resolves_too() -> None:
    spec, _ = build_create(
        get_profile("relay"), prompt="x", model="sora-2", size="landscape", seconds="8s"
    )
    assert spec.json is not None
    assert (spec.json["size"], spec.json["seconds"]) == ("1280x720", "8")


def test_a_reference_of_the_exact_size_goes_with_sora() -> None:
    reference = picture(1280, 720)
    spec, _ = build_create(
        LITELLM, prompt="x", model="sora-2", size="1280x720", input_reference=reference
    )
    assert fields_of(spec)["input_reference"] == reference
    spec, _ = build_create(
        LITELLM, prompt="x", model="sora-2", size="16:9", input_reference=reference
    )
    assert fields_of(spec)["size"] == "1280x720"


def test_a_square_reference_is_refused_by_sora_for_its_pixels() -> None:
    with pytest.raises(ValidationError, match="needs them equal") as info:
        build_create(
            LITELLM,
            prompt="x",
            model="sora-2",
            size="1280x720",
            input_reference=picture(1000, 1000),
        )
    assert "1000x1000" in str(info.value) and "prepare_reference" in str(info.value)
    assert info.value.param == "input_reference"


def test_a_square_reference_is_refused_by_veo_for_its_shape() -> None:
    with pytest.raises(ValidationError, match="aspect ratio") as info:
        build_create(
            LITELLM,
            prompt="x",
            model="veo-3.0-generate-001",
            size="1280x720",
            input_reference=picture(1000, 1000),
        )
    assert "16:9" in str(info.value)
    # any picture of the ratio goes, at whatever pixels
    build_create(
        LITELLM,
        prompt="x",
        model="veo-3.0-generate-001",
        size="16:9",
        input_reference=picture(1920, 1080),
    )


def test_any_reference_goes_with_runway() -> None:
    reference = picture(1000, 1000)
    spec, _ = build_create(
        LITELLM, prompt="x", model="gen4_turbo", size="1280x720", input_reference=reference
    )
    assert fields_of(spec)["input_reference"] == reference


def test_a_text_only_model_refuses_a_reference_unless_told_not_to_check() -> None:
    with pytest.raises(ValidationError, match="takes no reference image"):
        build_create(
            LITELLM,
            prompt="x",
            model="dashscope/wan2.7-t2v",
            size="1280x720",
            input_reference=picture(1280, 720),
        )
    spec, _ = build_create(
        LITELLM,
        prompt="x",
        model="dashscope/wan2.7-t2v",
        size="1280x720",
        input_reference=picture(1280, 720),
        validate=False,
    )
    assert "input_reference" in fields_of(spec)
