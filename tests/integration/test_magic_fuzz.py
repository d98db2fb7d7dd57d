"""Hostile input to the magics: fuzzed options raise nothing but UsageError; hostile prompts are
refused clearly or shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

TOKENS = [
    "-m",
    "--model",
    "-s",
    "--size",
    "-t",
    "--seconds",
    "-r",
    "--reference",
    "--fit",
    "-n",
    "--variants",
    "--wait",
    "--embed",
    "-o",
    "--out",
    "--profile",
    "--extra",
    "--as",
    "--no-interpolate",
    "--variant",
    "list",
    "status",
    "show",
    "resume",
    "remix",
    "download",
    "delete",
    "cost",
    "config",
    "sora-2",
    "sora-2-pro",
    "landscape",
    "portrait",
    "1280x720",
    "99999x1",
    "0",
    "-1",
    "4",
    "8",
    "1e9",
    "cover",
    "contain",
    "nope",
    "relay",
    "openai",
    "watermark=false",
    "=",
    "a=b=c",
    "{x}",
    "{}",
    "'",
    '"',
    "\\",
    "--",
    "-",
    "x" * 300,
    "/etc/passwd",
    "../../x",
    "http://127.0.0.1:9/x.png",
    "<script>",
    "\x00",
]


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    home = tmp_path_factory.mktemp("fuzz")
    patch = pytest.MonkeyPatch()
    patch.setenv("SORA_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: nothing may be sent
    patch.setenv("SORA_API_KEY", "sk-fuzz")
    patch.setenv("SORA_WIDGETS_HOME", str(home))
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(home / 'out')!r}")
    yield ip
    ip.run_line_magic("unload_ext", "sora_widgets")
    ip.config.pop("SoraMagics", None)  # %config values outlive the extension: forget them
    patch.undo()


def run_safely(call: object) -> None:
    try:
        with capture_output():
            call()  # type: ignore[operator]
    except UsageError:
        pass


line_strategy = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=8).map(" ".join),
    st.text(max_size=80),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=line_strategy, body=st.text(max_size=60))
def test_cell_magic_options_raise_only_usage_errors(
    shell: InteractiveShell, line: str, body: str
) -> None:
    run_safely(lambda: shell.run_cell_magic("sora", f"--dry-run {line}", body or "a prompt"))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=line_strategy)
def test_line_magic_raises_only_usage_errors(shell: InteractiveShell, line: str) -> None:
    run_safely(lambda: shell.run_line_magic("sora", f"--dry-run {line}"))


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("x" * 32001, "32001 characters"),
        ("beep\x07", "control characters"),
    ],
)
def test_bad_prompts_are_refused_clearly(
    shell: InteractiveShell, prompt: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("sora", "--dry-run", prompt)


def test_html_and_braces_in_prompts_show_as_text(shell: InteractiveShell) -> None:
    prompt = "<script>alert(1)</script> {} {unknown} <img src=x onerror=alert(2)>"
    with capture_output() as cap:
        shell.run_cell_magic("sora", "--dry-run", prompt)
    html = cap.outputs[-1].data["text/html"]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "{} {unknown}" in html


def test_nothing_was_sent_or_recorded(shell: InteractiveShell, tmp_path: Path) -> None:
    from sora_widgets.config import resolve_settings
    from sora_widgets.ledger import Ledger

    assert Ledger(resolve_settings().ledger_path).count() == 0
