"""Issue 16's checks where a user meets them: ``generate``, the magic and the panel, against a real
emulator over 127.0.0.1. A refusal names the value, what the model takes and how to skip the check;
``validate=False`` / ``--no-validate`` / the panel's "Skip model checks" send exactly what was
asked; sizes as ratios and tiers become the model's own pixel size."""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from sora_widgets.api import BadRequestError, SoraClient, ValidationError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import JobStatus, generate
from sora_widgets.panel import SoraPanel

from ..conftest import EmulatorFactory
from ._emulator_helpers import decode_video, magic_shell

KEY = "sk-models"


def settings_for(emulator: EmulatorHandle, tmp_path: Path, **kwargs: Any) -> Settings:
    return resolve_settings(
        base_url=emulator.base_url,
        api_key=KEY,
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,
    )


def posts(emulator: EmulatorHandle) -> list[str]:
    return [line for line in emulator.state.access_log if '"POST ' in line]


# -- the client -----------------------------------------------------------------------------------


def test_the_client_resolves_sizes_refuses_with_the_fix_and_can_send_as_asked(
    emulator: EmulatorHandle,
) -> None:
    with SoraClient(base_url=emulator.base_url, api_key=KEY, profile="openai") as client:
        made = client.create(prompt="a kite", model="sora-2", size="16:9", seconds="8s")
        assert (made.size, made.seconds) == ("1280x720", "8")
        with pytest.raises(ValidationError) as refused:
            client.create(prompt="a kite", model="sora-2", seconds=10)
        assert "'10'" in str(refused.value) and "4, 8 or 12" in str(refused.value)
        assert "validate=False" in str(refused.value)
        assert len(posts(emulator)) == 1
        with pytest.raises(BadRequestError, match="Invalid value: '16:9'"):
            client.create(prompt="a kite", model="sora-2", size="16:9", validate=False)
        assert len(posts(emulator)) == 2  # sent exactly as asked; the service answered


# -- generate -------------------------------------------------------------------------------------


def test_generate_refuses_by_the_catalogue_and_validate_false_sends_as_asked(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    settings = settings_for(emulator, tmp_path, profile="openai")
    with pytest.raises(ValidationError) as refused:
        generate("a lighthouse", model="sora-2", size="1792x1024", settings=settings)
    message = str(refused.value)
    assert "'1792x1024'" in message and "720x1280 or 1280x720" in message
    assert "validate=False" in message and "sora-2-pro" in message  # the model that takes it
    assert posts(emulator) == []

    # sent exactly as asked: the (strict) service answers for itself
    job = generate(
        "a lighthouse", model="sora-2", size="1792x1024", validate=False, settings=settings
    )
    with pytest.raises(BadRequestError, match="Invalid value: '1792x1024'"):
        job.wait(30)
    assert job.status == JobStatus.ERROR
    assert len(posts(emulator)) == 1


def test_a_ratio_and_a_tier_become_the_models_own_size(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    settings = settings_for(emulator, tmp_path, profile="openai")
    wide = generate("a harbour", model="sora-2", size="16:9", seconds="4s", settings=settings)
    tall = generate("a harbour", model="sora-2", size="720p", seconds=4, settings=settings)
    for job, size in ((wide, "1280x720"), (tall, "720x1280")):
        job.wait(60)
        assert job.status == JobStatus.COMPLETED and job.size == size and job.seconds == "4"
        width, height, _, _ = decode_video(job.paths["video"].read_bytes())
        assert f"{width}x{height}" == size


def test_a_veo_reference_is_fitted_to_the_ratio_on_the_extended_emulator(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(profile="extended")
    settings = settings_for(emulator, tmp_path, profile="emulator")
    photo = Image.new("RGB", (900, 900), (30, 200, 60))
    photo.paste(Image.new("RGB", (900, 500), (220, 30, 30)), (0, 200))
    job = generate(
        "a boat",
        model="veo-3.1-lite-generate-preview",
        size="9:16",
        seconds=4,
        reference=photo,
        settings=settings,
    )
    assert job.request.input_reference.size == (720, 1280)
    assert job.cost == pytest.approx(0.20)  # $0.05 a second at 720p
    job.wait(60)
    assert job.status == JobStatus.COMPLETED and job.size == "720x1280"
    # size "auto": the picture keeps its shape, and the model picks the size from it
    landscape = Image.new("RGB", (900, 600), (220, 30, 30))
    picked = generate(
        "a boat",
        model="fal_ai/bytedance/seedance-2.0/image-to-video",
        size="auto",
        seconds=4,
        reference=landscape,
        settings=settings,
    )
    assert picked.request.input_reference.size == (900, 600) and picked.size == "auto"
    picked.wait(60)
    assert picked.status == JobStatus.COMPLETED
    assert picked.video is not None and picked.video.size in ("960x720", "1280x720")
    # a model that takes no reference says so before anything is sent
    before = len(posts(emulator))
    with pytest.raises(ValidationError, match=r"takes no reference image.*validate=False"):
        generate("a boat", model="dashscope/wan2.7-t2v", reference=photo, settings=settings)
    assert len(posts(emulator)) == before


# -- the magic ------------------------------------------------------------------------------------


@pytest.fixture
def shell(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    with magic_shell(monkeypatch, tmp_path, base_url=emulator.base_url, key=KEY) as ip:
        yield ip


def run(shell: InteractiveShell, line: str, cell: str | None = "a fox in the snow\n") -> str:
    with capture_output() as cap:
        if cell is None:
            shell.run_line_magic("sora", line)
        else:
            shell.run_cell_magic("sora", line, cell)
    return "\n".join(o.data.get("text/plain", "") for o in cap.outputs) + cap.stdout


def test_the_magic_refuses_with_the_fix_and_no_validate_sends_as_asked(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    with pytest.raises(UsageError) as refused:
        run(shell, "-m sora-2 -t 10 --dry-run")
    assert "'10'" in str(refused.value) and "4, 8 or 12" in str(refused.value)
    assert "--no-validate" in str(refused.value)
    with pytest.raises(UsageError, match=r"negativePrompt.*--no-validate.*litellm"):
        run(shell, "-m sora-2 --extra negativePrompt=blur --dry-run")
    shown = run(shell, "-m sora-2 -t 10 --extra negativePrompt=blur --no-validate --dry-run")
    assert "seconds: 10" in shown and "negativePrompt: 'blur'" in shown
    shown = run(shell, "-m sora-2-pro -s 16:9 -t 8s --dry-run")
    assert "size: 1280x720" in shown and "seconds: 8" in shown
    assert "$2.40" in shown and "OpenAI's price list" in shown
    assert posts(emulator) == []  # dry runs and refusals send nothing


def test_models_from_config_and_from_the_users_file(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    shell.run_line_magic(
        "config",
        "SoraMagics.models = {'house-model': {'sizes': ['960x960'], 'seconds': [3, 6], "
        "'price': 0.25}}",
    )
    shown = run(shell, "-m house-model -s square -t 6 --dry-run")
    assert "size: 960x960" in shown and "$1.50" in shown
    with pytest.raises(UsageError, match=r"'4' is not offered by house-model.*takes 3 or 6"):
        run(shell, "-m house-model -t 4 --dry-run")

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "models.toml").write_text(
        '[models."file-model"]\nsizes = ["1280x720"]\nseconds = { min = 2, max = 5 }\n'
        'price = { "720p" = 0.07 }\nprice_source = "our contract"\nprice_date = "2026-11-30"\n'
    )
    shown = run(shell, "-m file-model -s 720p -t 5 --dry-run")
    assert "$0.35" in shown and "our contract, 2026-11-30" in shown
    (home / "models.toml").write_text('[models."file-model"]\nsizes = ["16:9"]\n')
    with pytest.raises(UsageError, match=r"models.toml|'file-model'.*WIDTHxHEIGHT"):
        run(shell, "-m file-model --dry-run")


def test_models_lists_what_the_emulator_offers(shell: InteractiveShell) -> None:
    shown = run(shell, "models", cell=None)
    assert "from the provider's /v1/models" in shown
    assert "sora-2-pro" in shown and "$0.30–$0.50" in shown and "OpenAI" in shown
    everything = run(shell, "models --all", cell=None)
    assert "veo-3.1-generate-preview" in everything and "gen4_turbo" in everything


# -- the panel ------------------------------------------------------------------------------------


def test_the_panel_learns_the_models_and_follows_the_chosen_one(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(profile="extended")
    panel = SoraPanel(
        settings=settings_for(emulator, tmp_path, profile="emulator"),
        output_dir=tmp_path / "out",
        prompt="a paper boat on a rainy street",
    )
    panel.wait_idle()
    try:
        assert "veo-3.1-generate-preview" in panel.model.options  # from its /v1/models
        panel.model.value = "veo-3.1-fast-generate-preview"
        assert [v for _, v in panel.seconds.options] == ["4", "6", "8"]
        labels = [label for label, _ in panel.size.options]
        assert "1920x1080 · 16:9 landscape" in labels and "2160x3840 · 9:16 portrait" in labels
        assert "negativePrompt" in panel.extras
        assert "Google" in panel.model_note.value
        panel.size.value, panel.seconds.value = "1920x1080", "8"
        cost = html.unescape(panel.cost.value)
        assert "$0.96" in cost and "LiteLLM's price map" in cost

        # a model that takes no reference: refused with the fix; the switch lets it through
        panel.model.value = "dashscope/wan2.7-t2v"
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), (200, 40, 40)).save(buffer, "PNG")
        panel.set_reference(buffer.getvalue(), name="red.png").result(30)
        panel._check()
        assert "takes no reference image" in panel.reason.value
        assert panel.submit_button.disabled
        panel.skip_checks.value = True
        assert panel.reason.value == "" or "takes no reference" not in panel.reason.value
        assert not panel.submit_button.disabled

        panel.model.value = "my-own-model"
        assert "not in the catalogue" in panel.model_note.value
    finally:
        panel.close()
