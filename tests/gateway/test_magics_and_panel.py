"""``%%sora`` (through a real IPython InteractiveShell) and the panel, through the real LiteLLM
proxy, configured the way a user configures a gateway: ``SORA_BASE_URL`` and ``SORA_API_KEY``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from sora_widgets.jobs import JobStatus
from sora_widgets.panel import SoraPanel
from sora_widgets.player import VideoPlayer

from ._helpers import decode_litellm_id, is_mp4
from .conftest import Gateway

pytestmark = pytest.mark.slow

CLEAN = ("SORA_API_KEY", "OPENAI_API_KEY", "SORA_BASE_URL", "OPENAI_BASE_URL", "SORA_PROFILE")


@pytest.fixture
def through_proxy(gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The proxy configured through the environment; the notebook's folder at ``tmp_path``."""
    for name in (*CLEAN, "SORA_MAX_SPEND", "SORA_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SORA_BASE_URL", gateway.base_url)
    monkeypatch.setenv("SORA_API_KEY", gateway.master_key)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shell(through_proxy: Path) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(through_proxy / 'out')!r}")
    yield ip
    ip.run_line_magic("unload_ext", "sora_widgets")
    ip.config.pop("SoraMagics", None)  # %config values outlive the extension: forget them


def shown(cap: Any) -> str:
    texts = (o.data.get("text/plain", "") + o.data.get("text/html", "") for o in cap.outputs)
    return "\n".join(texts) + cap.stdout + cap.stderr


def wait_for(condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_cell_magic_generates_remixes_and_shows_through_the_proxy(
    shell: InteractiveShell, gateway: Gateway
) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("sora", "-s 1280x720 -t 4 --wait --as clip", "An otter surfing\n")
    job = shell.user_ns["clip"]
    assert job.status == JobStatus.COMPLETED
    assert decode_litellm_id(job.id)["custom_llm_provider"] == "openai"
    assert is_mp4(job.paths["video"].read_bytes())
    final = cap.outputs[-1]
    assert final.metadata["sora_widgets"]["id"] == job.id
    assert "application/vnd.jupyter.widget-view+json" in final.data or "<video" in str(final.data)
    # the price is LiteLLM's own (x-litellm-response-cost), not the kit's estimate
    assert job.cost_source == "gateway"
    assert gateway.master_key not in shown(cap)

    with capture_output() as cap:
        shell.run_line_magic("sora", f"remix {job.id} --wait --as again the otter at night")
        shell.run_line_magic("sora", f"status {job.id}")
        shell.run_line_magic("sora", f"show {shell.user_ns['again'].id}")
    again = shell.user_ns["again"]
    assert again.status == JobStatus.COMPLETED and again.id != job.id
    assert is_mp4(again.paths["video"].read_bytes())
    out = shown(cap)
    assert job.id in out and "completed" in out
    assert gateway.master_key not in out


def test_panel_submits_and_plays_through_the_proxy(through_proxy: Path, gateway: Gateway) -> None:
    panel = SoraPanel(output_dir=through_proxy / "out", prompt="a fox in snow", size="1280x720")
    panel.wait_idle()
    panel.submit_button.click()
    card = panel.cards[0]
    card.job.wait(60)
    assert card.job.status == JobStatus.COMPLETED
    wait_for(lambda: card.player is not None)
    assert isinstance(card.player, VideoPlayer)
    # one card that turned into its player: no status line left, the prompt is its title
    assert card.status.value == "" and card.player.title == card.job.request.prompt
    path = card.download().result(30)
    assert is_mp4(path.read_bytes())
    assert not card.remix_button.disabled
    panel.close()


def test_without_delete_or_list_the_magics_and_panel_say_so(
    shell: InteractiveShell, through_proxy: Path
) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "-s 1280x720 -t 4 --wait --as clip", "a quiet harbour")
    job = shell.user_ns["clip"]
    with pytest.raises(UsageError, match=r"no DELETE /videos/\{id\}.*stays on the provider"):
        shell.run_line_magic("sora", f"delete {job.id}")

    # learned once for this gateway: the panel offers no Delete, its history needs no list
    panel = SoraPanel(output_dir=through_proxy / "out", prompt="a kite", size="1280x720")
    panel.wait_idle()
    assert job.id in {item.row.id for item in panel.history.items}
    (card,) = panel.submit()
    card.job.wait(60)
    wait_for(lambda: card.player is not None)
    assert card.delete_button.layout.display == "none"
    panel.close()

    # the litellm profile knows there is no list: %sora list says where its rows come from
    shell.run_line_magic("config", "SoraMagics.profile = 'litellm'")
    with capture_output() as cap:
        shell.run_line_magic("sora", "list")
        shell.run_line_magic("sora", f"show {job.id[:-12]}")  # a unique prefix is enough
    out = shown(cap)
    assert job.id in out and card.job.id in out
    assert "has no list" in out and "jobs this machine's ledger knows" in out
    assert f"{job.paths['video'].name}" in out and len(job.paths["video"].name) < 80
