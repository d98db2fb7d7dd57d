"""Issue 16 through the real LiteLLM proxy: one prompt on Sora (an emulator behind the proxy) and
on Veo (the stand-in) from one cell each, with sizes as a ratio and a tier, a reference fitted to
the ratio, and a cost line for each; the gateway's models learned from ``/v1/models`` and
``/model/info``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from sora_widgets.api import find_model, unregister_model
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import JobStatus, provider_models

from ._helpers import close_to, first_frame
from .conftest import Gateway
from .test_magics_and_panel import CLEAN, shown

pytestmark = pytest.mark.slow

RED, GREEN = (220, 30, 30), (30, 200, 60)
PROMPT = "A paper boat drifts down a rainy street"


@pytest.fixture
def shell(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    for name in (*CLEAN, "SORA_MAX_SPEND", "SORA_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SORA_BASE_URL", gateway.base_url)
    monkeypatch.setenv("SORA_API_KEY", gateway.master_key)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(tmp_path / 'out')!r}")
    # a square photo: red in the middle, green bands at top and bottom that a 16:9 crop removes
    photo = Image.new("RGB", (900, 900), GREEN)
    photo.paste(Image.new("RGB", (900, 500), RED), (0, 200))
    ip.user_ns["photo"] = photo
    yield ip
    ip.run_line_magic("unload_ext", "sora_widgets")
    ip.config.pop("SoraMagics", None)


def _cell(shell: InteractiveShell, line: str) -> tuple[Any, str]:
    with capture_output() as cap:
        shell.run_cell_magic("sora", line, PROMPT + "\n")
    return cap, shown(cap)


def test_one_prompt_on_sora_and_on_veo_with_a_ratio_and_a_tier(
    shell: InteractiveShell, gateway: Gateway
) -> None:
    _, dry_sora = _cell(shell, "-m sora-2 -s 16:9 -t 4 -r photo --dry-run")
    _, dry_veo = _cell(shell, f"-m {gateway.veo_model} -s 720p -t 8s -r photo --dry-run")
    # the cost line of each says where its figure comes from; the reference is fitted to 16:9
    assert "$0.40" in dry_sora and "OpenAI's price list" in dry_sora
    assert "$3.20" in dry_veo and "LiteLLM's price map" in dry_veo
    for text in (dry_sora, dry_veo):
        assert "size: 1280x720" in text and "1280x720" in text.split("input_reference", 1)[1]

    _, out_sora = _cell(shell, "-m sora-2 -s 16:9 -t 4 -r photo --wait --as on_sora")
    _, out_veo = _cell(shell, f"-m {gateway.veo_model} -s 720p -t 8s -r photo --wait --as on_veo")
    for job, out in ((shell.user_ns["on_sora"], out_sora), (shell.user_ns["on_veo"], out_veo)):
        assert job.status == JobStatus.COMPLETED, job.message
        assert job.size == "1280x720"
        frame = first_frame(job.paths["video"])
        assert frame.size == (1280, 720)
        # the first frame is the fitted reference: red edge to edge, the green bands cropped
        assert close_to(frame.getpixel((640, 20)), RED, 40), frame.getpixel((640, 20))
        assert close_to(frame.getpixel((640, 700)), RED, 40)
        assert "$" in out  # the card's cost
        assert gateway.master_key not in out
    assert shell.user_ns["on_veo"].seconds == "8"
    assert shell.user_ns["on_veo"].cost == pytest.approx(3.20)


def test_the_gateways_models_are_listed_and_learned(
    shell: InteractiveShell, gateway: Gateway
) -> None:
    with capture_output() as cap:
        shell.run_line_magic("sora", "models")
    out = shown(cap)
    assert "from the gateway's /model/info" in out
    for name in ("sora-2", "sora-2-pro", "house-video", gateway.veo_model):
        assert name in out
    assert "Google" in out and "16:9, 9:16" in out
    # house-video is the gateway's name for sora-2-pro: learned as it, priced by the gateway
    spec = find_model("house-video")
    assert spec is not None and spec.origin == "gateway" and "1792x1024" in spec.sizes
    listed = provider_models(resolve_settings())
    row = next(r for r in listed.rows if r.name == "house-video")
    assert row.known_from == "gateway" and row.upstream == "openai/sora-2-pro"
    with capture_output() as cap:
        shell.run_cell_magic("sora", "-m house-video -s landscape -t 4 --dry-run", PROMPT)
    text = shown(cap)
    assert "size: 1280x720" in text and "$0.60" in text and "the gateway's price" in text
    # forgotten (unregister_model): the next listing, answered from what the gateway said
    # before, learns it again, so the list and the checks never disagree
    unregister_model("house-video")
    assert "house-video" in provider_models(resolve_settings()).names
    assert find_model("house-video") == spec
