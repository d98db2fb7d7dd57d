"""The magic's subcommands: a dry run sends nothing, options are each command's own, local
checks come before the first request, and actions reach every listener of a job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from sora_widgets.emulator import EmulatorHandle

KEY = "sk-magic-commands-0123456789"


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


def wait_until(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


def requests_during(emulator: EmulatorHandle, action: Callable[[], Any]) -> list[str]:
    """The requests that reached the emulator while ``action`` ran.

    A probe request sent afterwards marks the end: once its line is logged, every request
    ``action`` could have sent is logged too.
    """
    log = emulator.state.access_log
    before = len(log)
    action()
    probe = f"probe_{uuid.uuid4().hex}"
    httpx.get(f"{emulator.base_url}/videos/{probe}", headers={"Authorization": "Bearer x"})
    wait_until(lambda: any(probe in line for line in list(log)), what="the probe's log line")
    assert len(log) < (log.maxlen or 0), "the access log is full; counting would be wrong"
    return [line for line in list(log)[before:] if probe not in line]


def texts(cap: Any) -> str:
    return "\n".join(
        o.data.get("text/plain", "") + o.data.get("text/html", "") for o in cap.outputs
    )


def test_no_dry_run_sends_anything(shell: InteractiveShell, emulator: EmulatorHandle) -> None:
    from PIL import Image

    from sora_widgets.jobs import Runner

    with capture_output():
        shell.run_cell_magic("sora", "--wait --as done", "a finished harbour")
        shell.run_cell_magic("sora", "--as running", "an unfinished harbour")
    done, running = shell.user_ns["done"], shell.user_ns["running"]
    wait_until(lambda: bool(running.id) and not running.id.startswith("pending:"), what="create")
    Runner.shutdown()  # as if the kernel died: the running job is left unfinished in the ledger
    done.paths["video"].unlink()  # so show and download would have to fetch it
    requests_during(emulator, lambda: None)  # every request made so far is logged
    shell.user_ns["photo"] = Image.new("RGB", (640, 480), (200, 90, 20))
    where = emulator.base_url
    forms: list[tuple[str, Callable[[], Any], str]] = [
        (
            "cell",
            lambda: shell.run_cell_magic("sora", "-r photo -n 2 --dry-run", "the photo moves"),
            f"POST /videos on {where} × 2",
        ),
        ("line", lambda: shell.run_line_magic("sora", "--dry-run -n 2 a line prompt"), "× 2"),
        (
            "remix",
            lambda: shell.run_line_magic("sora", f"remix {done.id} --dry-run at night"),
            f"POST /videos/{done.id}/remix on {where} × 1",
        ),
        (
            "delete",
            lambda: shell.run_line_magic("sora", f"delete {done.id} --dry-run"),
            f"DELETE /videos/{done.id} on {where}",
        ),
        (
            "download",
            lambda: shell.run_line_magic("sora", f"download {done.id} --variant all --dry-run"),
            "content?variant=spritesheet",
        ),
        (
            "show",
            lambda: shell.run_line_magic("sora", f"show {done.id} --dry-run"),
            "content?variant=video",
        ),
        (
            "status",
            lambda: shell.run_line_magic("sora", f"status {running.id[:12]} --dry-run"),
            f"GET /videos/{running.id} on {where}",
        ),
        (
            "resume",
            lambda: shell.run_line_magic("sora", "resume --dry-run"),
            f"GET /videos/{running.id} on {where}",
        ),
    ]
    for name, form, shown in forms:
        with capture_output() as cap:
            sent = requests_during(emulator, form)
        assert sent == [], f"{name} --dry-run sent {sent}"
        out = texts(cap)
        assert "nothing was sent" in out and shown in out, (name, out)
    assert len(emulator.jobs) == 2  # nothing created, nothing deleted
    assert not done.paths["video"].exists()


def test_a_bad_name_creates_nothing(shell: InteractiveShell, emulator: EmulatorHandle) -> None:
    def bad_cell() -> None:
        with pytest.raises(UsageError, match="'1bad' is not a valid variable name"):
            shell.run_cell_magic("sora", "-n 2 --as 1bad", "two takes, badly named")

    assert requests_during(emulator, bad_cell) == []
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as source", "a source clip")
    source = shell.user_ns["source"]

    def bad_remix() -> None:
        with pytest.raises(UsageError, match="valid variable name"):
            shell.run_line_magic("sora", f"remix {source.id} --as class at night")

    assert requests_during(emulator, bad_remix) == []
    assert [job.id for job in emulator.jobs] == [source.id]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("delete abc --size 1280x720", "%sora delete does not take --size; see %sora?"),
        ("list --wait", "%sora list does not take --wait"),
        ("status abc --embed", "%sora status does not take --embed"),
        ("show abc --variant video", "%sora show does not take --variant"),
        ("download abc --wait", "%sora download does not take --wait"),
        ("resume --as jobs", "%sora resume does not take --as"),
        ("remix abc -n 2 a new prompt", "%sora remix does not take -n"),
        ("cost --out somewhere", "%sora cost does not take --out"),
        ("config --extra a=b", "%sora config does not take --extra"),
        ("--variant thumbnail a prompt", "%sora does not take --variant"),
        ("download abc --variants 2", "does not take --variants: did you mean --variant[?]"),
        ("download abc --varient thumbnail", "unrecognized option --varient: did you mean --var"),
        ("--sise landscape a prompt", "unrecognized option --sise: did you mean --size[?]"),
        ("--dry-run delete abc", "'delete' is a subcommand"),
    ],
)
def test_each_command_takes_only_its_own_options(
    shell: InteractiveShell, emulator: EmulatorHandle, line: str, message: str
) -> None:
    def run() -> None:
        with pytest.raises(UsageError, match=message):
            shell.run_line_magic("sora", line)

    assert requests_during(emulator, run) == []


def test_the_cell_refuses_a_subcommands_option(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="%%sora does not take --force"):
        shell.run_cell_magic("sora", "--force", "a prompt")
    with pytest.raises(UsageError, match=r"did you mean --wait\?"):
        shell.run_cell_magic("sora", "--wiat", "a prompt")


def test_delete_through_the_magic_reaches_every_listener(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as clip", "a clip to delete")
    clip = shell.user_ns["clip"]
    heard: list[str] = []
    clip.on_change(lambda job: heard.append(str(job.status)))
    with capture_output() as cap:
        shell.run_line_magic("sora", f"delete {clip.id[:14]}")
    assert f"deleted {clip.id}" in texts(cap)
    wait_until(lambda: "deleted" in heard, what="the listener to hear the delete")
    assert clip.status == "deleted"
    assert emulator.jobs == []
    assert clip.paths["video"].exists()  # local files are kept
    with capture_output() as cap:
        shell.run_line_magic("sora", f"status {clip.id}")
    assert "deleted" in texts(cap)
    with pytest.raises(UsageError, match="is deleted: there is nothing to delete"):
        shell.run_line_magic("sora", f"delete {clip.id} --dry-run")


def test_show_fetches_missing_files_and_download_says_where(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as clip", "a clip to fetch again")
    clip = shell.user_ns["clip"]
    clip.paths["video"].unlink()
    with capture_output() as cap:
        shell.run_line_magic("sora", f"show {clip.id}")
    assert clip.paths["video"].exists()
    assert cap.outputs[-1].metadata["sora_widgets"]["id"] == clip.id
    with capture_output() as cap:
        shell.run_line_magic("sora", f"download {clip.id} --variant spritesheet --force")
    assert f"saved {tmp_path / 'out'}" in texts(cap) and ".spritesheet.jpg" in texts(cap)


def test_help_is_plain_text_and_lists_every_command(shell: InteractiveShell) -> None:
    from sora_widgets.magics._commands import COMMANDS

    doc = shell.find_line_magic("sora").__doc__ or ""
    assert "::" not in doc and "``" not in doc
    for name, command in COMMANDS.items():
        assert command.usage in doc
        for option in command.parser().option_strings():
            assert option in doc, (name, option)
    assert "Examples:" in doc and "%sora delete" in doc


def test_an_unpriced_model_is_refused_under_max_spend_unless_allowed(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    shell.run_line_magic("config", "SoraMagics.max_spend = 5.0")
    try:

        def refused() -> None:
            with pytest.raises(UsageError, match="--allow-unpriced"):
                shell.run_cell_magic("sora", "-m some-gateway-model --dry-run", "a quiet bay")

        assert requests_during(emulator, refused) == []
        with capture_output() as cap:
            sent = requests_during(
                emulator,
                lambda: shell.run_cell_magic(
                    "sora", "-m some-gateway-model --allow-unpriced --dry-run", "a quiet bay"
                ),
            )
        assert sent == [] and "price unknown" in texts(cap)
    finally:
        shell.run_line_magic("config", "SoraMagics.max_spend = None")


def test_list_says_when_the_provider_cannot_list(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    from sora_widgets.config import resolve_settings
    from sora_widgets.jobs import ledger_for

    with capture_output():
        shell.run_cell_magic("sora", "--wait", "a harbour at noon")
    settings = resolve_settings()
    ledger_for(settings).learn(
        settings.provider, "list", False, "this gateway cannot list its videos (400)"
    )
    with capture_output() as cap:
        shell.run_line_magic("sora", "list")
    shown = texts(cap)
    assert "this gateway cannot list its videos (400)" in shown
    assert "jobs this machine's ledger knows" in shown and "a harbour at noon" in shown
