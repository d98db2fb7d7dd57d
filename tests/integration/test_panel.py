"""SoraPanel driven from Python against the emulator: the form, Submit, the cards and their actions,
the history gallery, and the widget state a saved notebook would keep."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ipywidgets import HBox, Widget
from ipywidgets.embed import embed_data
from PIL import Image

from sora_widgets import jobs
from sora_widgets.api import UnsupportedError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import generate
from sora_widgets.ledger import Ledger
from sora_widgets.panel import SoraPanel
from sora_widgets.player import VideoPlayer

from ..conftest import EmulatorFactory

KEY = "sk-panel-SECRET-0123456789abcdef"
OFFLINE = "http://127.0.0.1:9/v1"
"""A base URL nothing listens on: for tests that never send a request."""


@pytest.fixture
def env(emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The emulator configured through the environment, the notebook's folder at ``tmp_path``."""
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SORA_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SORA_API_KEY", KEY)
    return tmp_path


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "SORA_API_KEY",
        "OPENAI_API_KEY",
        "SORA_BASE_URL",
        "OPENAI_BASE_URL",
        "SORA_PROFILE",
        "SORA_MAX_SPEND",
        "SORA_OUTPUT_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def offline_settings(tmp_path: Path, **kwargs: Any) -> Settings:
    return resolve_settings(
        base_url=OFFLINE,
        api_key="sk-offline",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,
    )


def panel_for(tmp_path: Path, **kwargs: Any) -> SoraPanel:
    kwargs.setdefault("output_dir", tmp_path / "out")
    panel = SoraPanel(**kwargs)
    panel.wait_idle()
    return panel


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (200, 120, 40))
    for x in range(0, width, 16):
        image.paste((30, 60, 200), (x, 0, x + 8, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(panel: SoraPanel, name: str, content: bytes, size: int | None = None) -> None:
    """What the browser sends when a file is chosen."""
    entry = {
        "name": name,
        "type": "image/png",
        "size": len(content) if size is None else size,
        "content": memoryview(content),
        "last_modified": 0,
    }
    panel.upload.set_state({"value": [entry]})


def widgets_of(root: Widget) -> Iterator[Widget]:
    """Every widget reachable from ``root`` through synced traits."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        yield widget
        for name in widget.keys:
            value = getattr(widget, name)
            values = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(v for v in values if isinstance(v, Widget))


def blobs(value: Any) -> Iterator[bytes | str]:
    if isinstance(value, (bytes, memoryview)):
        yield bytes(value)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from blobs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from blobs(item)


# -- the form --------------------------------------------------------------------------------------


def test_sizes_and_seconds_follow_the_model_and_profile(tmp_path: Path) -> None:
    panel = panel_for(tmp_path, settings=offline_settings(tmp_path))
    assert panel.model.value == "sora-2"
    assert [label for label, _ in panel.size.options] == [
        "720x1280 · 9:16 portrait",
        "1280x720 · 16:9 landscape",
    ]
    assert [value for _, value in panel.seconds.options] == ["4", "8", "12"]
    assert panel.extras == {}
    panel.model.value = "sora-2-pro"
    assert [value for _, value in panel.size.options] == [
        "720x1280",
        "1280x720",
        "1024x1792",
        "1792x1024",
    ]
    panel.size.value = "1792x1024"
    panel.seconds.value = "8"
    assert "$4.00" in panel.cost.value
    panel.model.value = "sora-2"  # 1792x1024 is not offered: the landscape size stays landscape
    assert panel.size.value == "1280x720" and panel.seconds.value == "8"
    assert "$0.80" in panel.cost.value

    relay = panel_for(tmp_path, settings=offline_settings(tmp_path, profile="relay"))
    relay.model.value = "sora-2-pro"
    assert "1920x1080" in [value for _, value in relay.size.options]
    assert "10" in [value for _, value in relay.seconds.options]
    watermark = relay.extras["watermark"]
    assert watermark.description == "Watermark"
    watermark.value = False
    assert relay.form.extra() == {"watermark": False}
    assert not relay.submit_button.disabled or "prompt" in relay.reason.value


def test_submit_is_disabled_with_the_reason(tmp_path: Path) -> None:
    panel = panel_for(tmp_path, settings=offline_settings(tmp_path, max_spend=1.0))
    assert panel.submit_button.disabled and "prompt is empty" in panel.reason.value
    assert panel.submit() == [] and "prompt is empty" in panel.message.value

    panel.prompt.value = "x" * 32001
    assert panel.submit_button.disabled and "32001 characters" in panel.reason.value
    assert "32,001 / 32,000" in panel.prompt_count.value and "sora-over" in panel.prompt_count.value

    panel.prompt.value = "a calm sea"
    assert not panel.submit_button.disabled and panel.reason.value == ""
    assert "$0.40" in panel.cost.value and "$1.00 left of $1.00" in panel.cost.value

    panel.seconds.value = "12"
    assert panel.submit_button.disabled and "max_spend $1.00" in panel.reason.value
    panel.seconds.value = "4"
    panel.variants.value = 3
    assert panel.submit_button.disabled and "these 3 jobs cost about $1.20" in panel.reason.value
    assert "$1.20 (3 × $0.40)" in panel.cost.value
    panel.variants.value = 2
    assert not panel.submit_button.disabled


def test_reference_preview_follows_the_options_and_uploads_have_a_limit(tmp_path: Path) -> None:
    panel = panel_for(tmp_path, settings=offline_settings(tmp_path), prompt="a kite")
    upload(panel, "huge.png", b"\0" * 1024, size=25 * 1024 * 1024)
    assert panel.upload.value == ()  # the upload's bytes are not kept in the widget
    assert "huge.png" in panel.reason.value and "26.2 MB" in panel.reason.value
    assert "20.0 MB limit" in panel.reason.value and panel.submit_button.disabled
    assert "huge.png" in panel.reference_caption.value
    panel.clear_reference.click()
    assert not panel.submit_button.disabled and panel.reference is None

    upload(panel, "<b>photo</b>.png", png(640, 480))
    assert panel.upload.value == ()
    ref = panel.reference
    assert ref is not None and ref.size == (720, 1280) and ref.fit == "cover"
    panel.wait_idle()
    assert panel.reference_preview.layout.display is None
    assert panel.reference_preview.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(panel.reference_preview.value) < 60_000
    assert (
        "&lt;b&gt;photo&lt;/b&gt;.png 640×480 → sent as 720×1280" in panel.reference_caption.value
    )

    panel.size.value = "1280x720"
    panel.fit.value = "contain"
    ref = panel.reference
    assert ref is not None and ref.size == (1280, 720) and ref.fit == "contain"
    assert panel.focus_x.disabled  # focus matters only with cover
    panel.fit.value = "cover"
    assert not panel.focus_x.disabled

    upload(panel, "notes.png", b"not an image at all")
    assert panel.reference is None
    panel.wait_idle()
    assert panel.submit_button.disabled and "notes.png" in panel.reason.value


# -- jobs ------------------------------------------------------------------------------------------


def test_submit_follows_the_job_into_a_player_with_a_download_link(env: Path) -> None:
    panel = panel_for(env, prompt="<script>alert('x')</script> a fox in snow")
    panel.size.value = "1280x720"
    assert "$0.40 simulated" not in panel.cost.value and "$0.40" in panel.cost.value
    statuses: list[str] = []
    panel.submit_button.click()
    card = panel.cards[0]
    card.job.on_change(lambda job: statuses.append(card.status.value))
    assert 'role="progressbar"' in card.status.value
    card.job.wait(60)
    wait_for(lambda: card.player is not None)
    assert isinstance(card.player, VideoPlayer)
    # the card turned into its player: no finished status above it; the prompt is the player's
    # title (the player writes it as text, never as HTML)
    assert card.status.value == ""
    assert card.player.title == card.job.request.prompt
    assert any("&lt;script&gt;" in s for s in statuses)
    assert all("<script>" not in s for s in statuses)
    assert "submitted 1 job" in panel.message.value

    # the player's own link downloads it: no Download button, no second link
    assert card.download_button.layout.display == "none"
    path = card.download().result(10)
    assert path == env / "out" / f"{card.job.id}.mp4"
    assert card.download_link.value == ""
    assert card.player.fallback_src == f"out/{card.job.id}.mp4"
    assert card.player.video_name == f"{card.job.id}.mp4"

    card.copy_button.click()
    assert panel.prompt.value == card.job.request.prompt
    card.close_button.click()
    assert card not in panel.cards


def test_remix_retry_use_as_reference_and_delete(env: Path, emulator: EmulatorHandle) -> None:
    panel = panel_for(env, prompt="a red kite over green hills", size="1280x720")
    (card,) = panel.submit()
    assert card.remix_button.disabled  # not finished yet
    card.job.wait(60)
    wait_for(lambda: not card.remix_button.disabled)

    card.remix_button.click()
    assert panel.remixing is card.job and panel.prompt.value == "a red kite over green hills"
    assert "Remixing" in panel.remix_note.value and panel.model.disabled
    panel.prompt.value = "the same kite at night"
    (remix,) = panel.submit()
    assert panel.remixing is None and not panel.model.disabled

    retry = card.retry()
    for job in (remix.job, retry.job):
        job.wait(60)
    assert remix.job.video is not None
    assert remix.job.video.remixed_from_video_id == card.job.id
    assert retry.job.request.prompt == card.job.request.prompt and retry.job.id != card.job.id
    assert retry.job.size == "1280x720"
    assert panel.cards[:3] == [retry, remix, card]

    panel.size.value = "720x1280"
    ref = card.use_as_reference().result(30)
    assert ref is not None and ref.size == (720, 1280)
    assert panel.reference is ref
    assert "last frame of" in panel.reference_caption.value

    card.delete_button.click()  # asks first
    assert card.delete_button.description == "Confirm delete" and not card.deleted
    card.delete().result(30)
    assert card.deleted and "deleted on the provider" in card.status.value
    assert card.delete_button.disabled and card.remix_button.disabled
    assert card.job.id is not None
    row = Ledger(env / "home" / "ledger.sqlite3").get(card.job.id)
    assert row is not None and row.status == "deleted"
    with httpx.Client() as client:
        answer = client.get(
            f"{emulator.base_url}/videos/{card.job.id}",
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert answer.status_code == 404
    assert card.job.id not in {item.row.id for item in panel.history.items}


def test_history_lists_past_jobs_and_a_click_opens_one(env: Path) -> None:
    settings = resolve_settings(output_dir=env / "out")
    job = generate("an old lighthouse", size="1280x720", settings=settings)
    job.wait(60)
    assert job.id is not None
    job.paths["video"].unlink()  # opening it must download it again

    panel = panel_for(env)
    (item,) = panel.history.items
    assert item.row.id == job.id
    assert item.button.description == "an old lighthouse"
    thumbnail = item.root.children[0]
    assert thumbnail.value[:2] == b"\xff\xd8" and len(thumbnail.value) < 20_000

    item.button.click()
    card = panel.cards[0]
    assert card.job.id == job.id
    wait_for(lambda: card.player is not None)
    assert job.paths["video"].exists()
    assert item.open() is card  # opened once


def embed_state(root: Any) -> Any:
    """``embed_data``'s manager state. It walks ipywidgets' global registry, which background
    threads (other tests' jobs) may grow meanwhile: read it again when that happens."""
    for _ in range(20):
        try:
            return embed_data(views=[root])["manager_state"]
        except RuntimeError:  # dictionary changed size during iteration
            time.sleep(0.1)
    raise AssertionError("the widget registry never stood still long enough to be read")


def test_saved_state_holds_no_key_and_no_video_bytes(
    emulator_factory: EmulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(api_key=KEY)  # only this key passes
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SORA_BASE_URL", emulator.base_url)
    panel = panel_for(tmp_path, prompt="a paper boat on a puddle")

    panel.api_key.set_state({"value": KEY})  # typed in the browser
    assert panel.api_key.value == "" and not panel.forget_key.disabled
    panel.wait_idle()
    assert "a key from this panel" in panel.provider_line.value
    panel.set_reference(Image.new("RGB", (300, 200), "teal"), name="teal").result(30)
    (card,) = panel.submit()
    card.job.wait(60)  # only possible with the key from the password field
    wait_for(lambda: card.player is not None)
    card.download().result(10)
    panel.refresh_history().result(10)
    assert len(panel.history.items) == 1

    widgets = list(widgets_of(panel.root))
    assert card.player in widgets and panel.history.items[0].root in widgets
    for widget in widgets:
        for blob in blobs(widget.get_state()):
            if isinstance(blob, str):
                assert KEY not in blob
                assert len(blob) < 60_000, f"{type(widget).__name__} holds {len(blob)} chars"
            else:
                assert KEY.encode() not in blob
                assert b"ftyp" not in blob[:16], f"{type(widget).__name__} holds video bytes"
                assert len(blob) < 60_000, f"{type(widget).__name__} holds {len(blob)} bytes"
    saved = json.dumps(embed_state(panel.root))
    assert KEY not in saved
    assert "AAAAGGZ0eXBpc29t" not in saved and "ftypisom" not in saved


# -- a widget among widgets ------------------------------------------------------------------------


def requests_during(emulator: EmulatorHandle, action: Callable[[], Any]) -> list[str]:
    """The requests that reached the emulator while ``action`` ran (a probe sent afterwards marks
    the end: once its line is logged, every earlier request is logged too)."""
    log = emulator.state.access_log
    before = len(log)
    action()
    probe = f"probe_{uuid.uuid4().hex}"
    httpx.get(f"{emulator.base_url}/videos/{probe}", headers={"Authorization": "Bearer x"})
    wait_for(lambda: any(probe in line for line in list(log)))
    assert len(log) < (log.maxlen or 0), "the access log is full; counting would be wrong"
    return [line for line in list(log)[before:] if probe not in line]


def test_the_panel_nests_in_a_layout(tmp_path: Path) -> None:
    panel = panel_for(tmp_path, settings=offline_settings(tmp_path), prompt="a kite")
    box = HBox([panel])
    assert box.children == (panel,)
    bundle = box._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    state = embed_state(box)["state"]
    assert panel.model_id in state and panel.prompt.model_id in state
    assert list(state[panel.model_id]["state"]["_dom_classes"]) == ["sora-panel"]
    assert panel.prompt in list(widgets_of(box))


def test_dry_run_shows_the_plan_and_sends_nothing(env: Path, emulator: EmulatorHandle) -> None:
    panel = panel_for(env, prompt="a lighthouse in fog", size="1280x720", variants=2)
    panel.set_reference(Image.new("RGB", (640, 480), "navy"), name="fog.png").result(30)
    panel.dry_run.value = True
    cards: list[Any] = []
    sent = requests_during(emulator, lambda: cards.extend(panel.submit()))
    assert sent == [] and cards == [] and panel.cards == []
    plan = panel.submit_bar.plan_view.value
    assert "POST /videos" in plan and "nothing was sent" in plan
    assert "2 jobs, estimated $0.80." in plan
    assert "input_reference" in plan and "1280x720" in plan and "a lighthouse in fog" in plan
    assert "dry run: nothing was sent" in panel.message.value
    assert not panel.submit_button.disabled

    panel.dry_run.value = False  # the same request, sent
    assert panel.submit_bar.plan_view.value == ""
    cards = panel.submit()
    assert len(cards) == 2 and "submitted 2 jobs, estimated $0.80" in panel.message.value
    for card in cards:
        card.job.wait(60)


def test_a_delete_done_elsewhere_shows_on_the_card(env: Path) -> None:
    panel = panel_for(env, prompt="a heron in reeds", size="1280x720")
    (card,) = panel.submit()
    card.job.wait(60)
    wait_for(lambda: card.player is not None and not card.delete_button.disabled)
    panel.refresh_history().result(10)
    assert card.job.id in {item.row.id for item in panel.history.items}

    assert card.job.id is not None
    same = jobs.find_job(card.job.id, panel.settings)  # what %sora delete does
    assert same is card.job
    jobs.delete(same).result(30)
    wait_for(lambda: "deleted on the provider" in card.status.value)
    # the card's buttons follow in the same refresh: wait for them as a user would see them
    wait_for(lambda: card.deleted and card.delete_button.disabled and card.remix_button.disabled)
    wait_for(lambda: card.job.id not in {item.row.id for item in panel.history.items})


def test_close_closes_every_widget_and_stops_listening(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    panel = panel_for(env, prompt="a slow tide", size="1280x720")
    panel.set_reference(Image.new("RGB", (300, 200), "teal"), name="teal").result(30)
    (card,) = panel.submit()
    assert not card.job.done
    widgets = [panel, *widgets_of(panel)]
    assert card in widgets and panel.form.prompt in widgets and panel.history in widgets
    status_at_close = card.status.value

    caplog.set_level(logging.WARNING)
    panel.close()
    assert all(widget.comm is None for widget in widgets)
    assert panel.cards == [] and panel.history.items == []
    assert card.closed

    card.job.wait(60)  # the job goes on, and finishes after the panel closed
    assert card.job.status == "completed"
    assert jobs.listeners_idle(30)
    assert card.status.value == status_at_close and card.player is None
    failed = [r.getMessage() for r in caplog.records if "listener" in r.getMessage()]
    assert failed == []


def test_behind_a_gateway_without_delete_or_list_the_panel_says_so(
    emulator_factory: EmulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(gateway=["no-delete", "no-list"])
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SORA_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SORA_API_KEY", KEY)
    panel = panel_for(tmp_path, prompt="a heron behind a gateway", size="1280x720")
    (card,) = panel.submit()
    card.job.wait(60)
    wait_for(lambda: card.player is not None)
    assert card.delete_button.layout.display != "none"  # not known yet: it may work
    with pytest.raises(UnsupportedError):
        card.delete().result(30)  # the gateway answers 405: learned ...
    (again,) = panel.submit()
    again.job.wait(60)
    wait_for(lambda: again.player is not None)
    assert again.delete_button.layout.display == "none"  # ... and the button is gone
    settings = panel.settings
    jobs.ledger_for(settings).learn(settings.provider, "list", False, "this gateway cannot list")
    panel.refresh_history().result(10)
    assert "this gateway cannot list: shown are the jobs this machine" in panel.history.empty.value
    assert len(panel.history.items) == 2
