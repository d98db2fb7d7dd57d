"""%sora / %%sora through a real IPython InteractiveShell against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import MAX_VARIANTS
from sora_widgets.magics import interpolate

KEY = "sk-magic-SECRET-0123456789"


@pytest.fixture
def shell(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("SORA_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SORA_API_KEY", KEY)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA_PROFILE", raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(tmp_path / 'out')!r}")
    yield ip
    ip.run_line_magic("unload_ext", "sora_widgets")
    ip.config.pop("SoraMagics", None)  # %config values outlive the extension: forget them


def texts(cap: Any) -> str:
    return "\n".join(
        o.data.get("text/plain", "") + o.data.get("text/html", "") for o in cap.outputs
    )


def test_cell_magic_generates_waits_and_shows_the_video(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    shell.user_ns["animal"] = "otter"
    with capture_output() as cap:
        shell.run_cell_magic(
            "sora", "-s landscape --wait --as clip", "An {animal} surfing at {dawn}\n"
        )
    job = shell.user_ns["clip"]
    assert job.status == "completed" and job.size == "1280x720"
    assert job.request.prompt == "An otter surfing at {dawn}"
    for suffix in (".mp4", ".thumbnail.webp", ".spritesheet.jpg"):
        assert (tmp_path / "out" / f"{job.id}{suffix}").exists()
    final = cap.outputs[-1]
    assert final.metadata["sora_widgets"]["id"] == job.id
    assert (
        "<video" in final.data.get("text/html", "")
        or "application/vnd.jupyter.widget-view+json" in final.data
    )
    assert KEY not in texts(cap) + cap.stdout + cap.stderr


def test_variants_bind_a_list(shell: InteractiveShell) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "-n 2 --wait --as pair", "two takes")
    pair = shell.user_ns["pair"]
    assert len(pair) == 2 and len({j.id for j in pair}) == 2
    assert all(j.status == "completed" for j in pair)


def test_dry_run_sends_nothing(shell: InteractiveShell, emulator: EmulatorHandle) -> None:
    with capture_output() as cap:
        shell.run_cell_magic(
            "sora", "-m sora-2-pro -s 1792x1024 -t 8 --dry-run", "a <b>bold</b> plan"
        )
    html_out = cap.outputs[-1].data["text/html"]
    assert "nothing was sent" in html_out and "$4.00" in html_out
    assert "&lt;b&gt;bold&lt;/b&gt;" in html_out and "<b>bold</b>" not in html_out
    assert emulator.jobs == []


def test_reference_from_a_variable_is_previewed(shell: InteractiveShell) -> None:
    from PIL import Image

    shell.user_ns["photo"] = Image.new("RGB", (800, 600), (10, 120, 200))
    with capture_output() as cap:
        shell.run_cell_magic(
            "sora", "-s portrait -r photo --fit contain --wait --as ref_job", "waves"
        )
    assert "image/png" in cap.outputs[0].data  # the preview comes first
    assert shell.user_ns["ref_job"].status == "completed"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-s 1792x1024", "not offered by sora-2"),
        ("-r no_such_file.png", "neither a file"),
        ("--bogus", "unrecognized option --bogus"),
        ("-n 0", f"from 1 to {MAX_VARIANTS}"),
        ("--extra watermark", "KEY=VALUE"),
        ("-s sideways", "'sideways' is not a size"),
        ("--as 1x", "valid variable name"),
    ],
)
def test_user_mistakes_are_one_clear_line(shell: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("sora", line, "a prompt")


def test_empty_prompt_is_refused(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="empty"):
        shell.run_cell_magic("sora", "", "   \n")
    with pytest.raises(UsageError, match="needs a prompt"):
        shell.run_line_magic("sora", "")


def test_subcommands(shell: InteractiveShell, tmp_path: Path) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as first", "a quiet harbour")
    job = shell.user_ns["first"]
    with capture_output() as cap:
        shell.run_line_magic("sora", "list 5")
        shell.run_line_magic("sora", f"status {job.id[:16]}")
        shell.run_line_magic("sora", "cost")
        shell.run_line_magic("sora", "config")
        shell.run_line_magic("sora", f"download {job.id} --variant thumbnail")
        shell.run_line_magic("sora", f"show {job.id}")
    out = texts(cap) + cap.stdout
    assert job.id in out and "a quiet harbour" in out
    assert "$0.40" in out and "output_dir" in out
    assert KEY not in out and "set (from the environment)" in out
    with capture_output():
        shell.run_line_magic("sora", f"remix {job.id} --wait --as again the harbour at night")
    again = shell.user_ns["again"]
    assert again.status == "completed" and again.video.remixed_from_video_id == job.id
    with capture_output() as cap:
        shell.run_line_magic("sora", f"delete {job.id}")
        shell.run_line_magic("sora", "resume")
    out = texts(cap) + cap.stdout
    assert "deleted" in out and "Nothing to resume" in out
    with pytest.raises(UsageError, match="usage: %sora remix"):
        shell.run_line_magic("sora", "remix")


def test_config_defaults_apply(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "SoraMagics.size = 'landscape'")
    shell.run_line_magic("config", "SoraMagics.max_spend = 0.1")
    try:
        with pytest.raises(UsageError, match="max_spend"):
            shell.run_cell_magic("sora", "", "too dear")
    finally:
        shell.run_line_magic("config", "SoraMagics.max_spend = None")
        shell.run_line_magic("config", "SoraMagics.size = None")


def test_help_documents_everything(shell: InteractiveShell) -> None:
    doc = shell.find_line_magic("sora").__doc__ or ""
    for word in (
        "--reference",
        "--variants",
        "--dry-run",
        "--extra",
        "--as",
        "%sora list",
        "%sora resume",
        "%sora cost",
    ):
        assert word in doc


def test_interpolation_rules() -> None:
    ns = {"a": "x", "obj": type("O", (), {"name": "n"})()}
    assert (
        interpolate("{a} {b} {} {obj.name} {obj._hidden} {{a}}", ns)
        == "x {b} {} n {obj._hidden} {x}"
    )


def test_embed_inlines_the_video_with_a_warning(shell: InteractiveShell) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("sora", "--embed --wait --as inline", "an inline clip")
    final = cap.outputs[-1].data["text/html"]
    assert 'src="data:video/mp4;base64,' in final and "adds" in final and "MB to the" in final
    assert "application/vnd.jupyter.widget-view+json" not in cap.outputs[-1].data


def test_colab_embeds_automatically(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with capture_output() as cap:
        shell.run_cell_magic("sora", "--wait", "colab clip")
    assert 'src="data:video/mp4;base64,' in cap.outputs[-1].data["text/html"]


def test_interrupt_stops_the_waiting_not_the_job(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sora_widgets.jobs import Job

    real_wait = Job.wait

    def interrupted(self: Job, timeout: float | None = None) -> Job:
        raise KeyboardInterrupt

    monkeypatch.setattr(Job, "wait", interrupted)
    with capture_output() as cap:
        shell.run_cell_magic("sora", "--wait --as pending", "keeps going")
    monkeypatch.setattr(Job, "wait", real_wait)
    assert "Stopped waiting" in cap.stderr and "%sora resume" in cap.stderr
    job = shell.user_ns["pending"]
    assert job.wait(60).status == "completed"  # the job itself went on
