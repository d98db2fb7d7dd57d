"""What the magic says, as a person reads it: ``%sora?`` as plain text with examples that work, a
compact ``%sora list`` whose short ids work everywhere, "did you mean" for mistyped options,
choices and subcommands, dry-run headings that read as sentences, and a reference preview whose
labels wrap instead of being cut. Through a real IPython shell against real emulators."""

from __future__ import annotations

import base64
import io
import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from sora_widgets.emulator import EmulatorHandle

from ._emulator_helpers import magic_shell

KEY = "sk-magic-text-0123456789"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _shell(tmp_path: Path) -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sora_widgets")
    ip.run_line_magic("config", f"SoraMagics.output_dir = {str(tmp_path / 'out')!r}")
    return ip


def _close(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "sora_widgets")
    ip.config.pop("SoraMagics", None)  # %config values outlive the extension: forget them


@pytest.fixture
def shell(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    with magic_shell(monkeypatch, tmp_path, base_url=emulator.base_url, key=KEY) as ip:
        yield ip


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A shell with nothing configured: the kit starts its own emulator (stopped afterwards)."""
    from sora_widgets.config import stop_embedded_emulator

    for name in ("SORA_BASE_URL", "OPENAI_BASE_URL", "SORA_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SORA_PROFILE", raising=False)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SORA_EMULATOR_JOB_SECONDS", "1")
    stop_embedded_emulator()
    ip = _shell(tmp_path)
    yield ip
    _close(ip)
    stop_embedded_emulator()


def plain(cap: Any) -> str:
    return "\n".join(o.data.get("text/plain", "") for o in cap.outputs)


def markup(cap: Any) -> str:
    return "\n".join(o.data.get("text/html", "") for o in cap.outputs)


def run_line(ip: InteractiveShell, line: str) -> Any:
    with capture_output() as cap:
        ip.run_line_magic("sora", line)
    return cap


def record(
    ip: InteractiveShell, video_id: str, prompt: str, *, provider: str | None = None
) -> None:
    """A finished job in the ledger, as if made earlier (nothing on any server)."""
    from sora_widgets.config import resolve_settings
    from sora_widgets.jobs import ledger_for

    settings = resolve_settings()
    video = {"id": video_id, "status": "completed", "progress": 100, "model": "sora-2"}
    video |= {"size": "1280x720", "seconds": "4", "prompt": prompt}
    ledger_for(settings).record(None, video, provider=provider or settings.provider, cost=0.4)


# -- %sora? ------------------------------------------------------------------------------------


def test_help_is_plain_text_with_examples_that_work(shell: InteractiveShell) -> None:
    from sora_widgets.magics._commands import parse
    from sora_widgets.magics._magic import _split

    pages = {}
    for source in ("%sora?", "%%sora?", "%sora??", "sora?"):
        with capture_output() as cap:
            shell.run_cell(source)
        pages[source] = ANSI.sub("", cap.stdout)
    for name in ("%sora", "%%sora"):
        for level in (0, 1):
            bundle = shell.object_inspect_mime(name, detail_level=level)
            pages[f"inspect {name} {level}"] = ANSI.sub("", bundle["text/plain"])
    for source, page in pages.items():  # all IPython prints, docstrings it adds included
        assert "::" not in page and "``" not in page, (source, page)
        assert not re.search(r"^\s*\.\. \w|:[a-z]+:`", page, re.M), source  # no reST roles
    page = pages["%sora?"]
    assert page.startswith("Docstring:\n%%sora and %sora: make videos")
    assert "see the help below" not in pages["%sora??"]  # the source points to %sora? instead
    head, _, rest = page.partition("\nExamples:\n")
    examples, _, options = rest.partition("\nCommands and their options:\n")
    assert "%sora COMMAND" in head and "-- first" in head
    assert "%sora list 50 --long" in examples and "-l, --long" in options
    assert max(len(line) for line in page.splitlines()) <= 100  # help lines are wrapped
    commands = [line.strip() for line in examples.splitlines() if line.strip().startswith("%")]
    assert len(commands) >= 14 and any(c.startswith("%%sora") for c in commands)
    for command in commands:  # every example is a line the magic accepts
        cell = command.startswith("%%")
        parse(_split(command.removeprefix("%%sora" if cell else "%sora")), cell=cell)


# -- %sora list --------------------------------------------------------------------------------

LONG_PROMPT = (
    "A lighthouse keeper climbs the spiral stairs at dawn while gulls circle outside, the lamp "
    "still turning, waves breaking white on the rocks far below"
)


def test_list_is_compact_and_its_short_ids_work(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "-n 2 --wait --as pair", LONG_PROMPT + "\nsecond line")
        shell.run_cell_magic("sora", "--wait --as short", "a quiet harbour")
    jobs = [*shell.user_ns["pair"], shell.user_ns["short"]]
    cap = run_line(shell, "list")
    text = plain(cap)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["id", "status"] and lines[0].endswith("prompt")
    assert "ids are shortened" in lines[-1] and "--long" in lines[-1]
    rows = lines[1:-1]
    assert len(rows) == 3 and all(len(row) <= 120 for row in rows)
    short_ids = [row.split()[0] for row in rows]
    for job in jobs:
        (short,) = [s for s in short_ids if job.id.startswith(s)]
        assert 14 <= len(short) < 20 < len(job.id)  # video_ and 8 or more of the rest
        assert job.id not in text
        shown = run_line(shell, f"status {short}")  # the short id works as it is
        assert job.id in plain(shown) + markup(shown)
        dry = plain(run_line(shell, f"show {short} --dry-run"))
        assert f"id: {job.id}" in dry
    # the prompt: one line, left-aligned under its heading, cut with an ellipsis
    column = lines[0].index("prompt")
    long_rows = [row for row in rows if row[column:].startswith("A lighthouse keeper")]
    assert len(long_rows) == 2
    assert all(row.endswith("…") and "second line" not in row for row in long_rows)
    assert any(row[column:] == "a quiet harbour" for row in rows)
    # the HTML: Jupyter's fixed, centred, right-aligned tables overridden; the prompt in the room
    # left, on one line cut by CSS, whole in its title
    html = markup(cap)
    assert "table-layout:auto" in html and "text-align:left" in html
    assert html.count("<tr>") == 4
    prompt_cells = re.findall(
        r"<td style='([^']*)' title='([^']*)'><div class='sora-prompt' "
        r"style='([^']*)'>([^<]*)</div></td>",
        html,
    )
    assert len(prompt_cells) == 3
    for td_style, _title, box, inside in prompt_cells:
        assert "white-space:normal" in td_style  # the cell may grow; the box below decides
        assert "white-space:nowrap" in box and "text-overflow:ellipsis" in box
        assert "max-width:" in box and "overflow:hidden" in box
        assert "\n" not in inside
    titles = {title for _, title, _, _ in prompt_cells}
    assert any(t.startswith("A lighthouse keeper") and t.endswith("second line") for t in titles)
    for job in jobs:  # the id cell shows the short id, the whole id in its title
        assert f"title='{job.id}'>{job.id[:14]}" in html


def test_list_long_shows_whole_ids_and_prompts(shell: InteractiveShell) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as clip", LONG_PROMPT + "\nsecond line")
    clip = shell.user_ns["clip"]
    cap = run_line(shell, "list --long")
    text = plain(cap)
    assert clip.id in text and LONG_PROMPT in text and "…" not in text
    lines = text.splitlines()
    column = lines[0].index("prompt")
    (second,) = [line for line in lines if line.endswith("second line")]
    assert second == " " * column + "second line"  # the prompt's next line under its first
    assert "shortened" not in text
    html = markup(cap)
    assert f">{clip.id}</td>" in html and "white-space:pre-wrap" in html
    assert "text-overflow:ellipsis" not in html
    assert plain(run_line(shell, "list -l 1")) == text  # -l and a count, in either order


def test_short_ids_stay_unique_in_the_whole_ledger_and_regardless_of_case(
    shell: InteractiveShell,
) -> None:
    # SQLite's LIKE, which resolves prefixes, ignores case; and a prefix must not match a job
    # of another provider in the same ledger either (%sora status would find two)
    record(shell, "video_68d7512d0000aaaa1111", "one")
    record(shell, "video_68D7512D0000AAAA2222", "two")
    record(shell, "video_99ab34cd5555bbbb0000", "three")
    record(shell, "video_99ab34cd5555cccc0000", "elsewhere", provider="https://other.example/v1")
    text = plain(run_line(shell, "list"))
    short = {line.split()[-1]: line.split()[0] for line in text.splitlines()[1:-1]}
    assert short == {
        "one": "video_68d7512d0000aaaa1",
        "two": "video_68D7512D0000AAAA2",
        "three": "video_99ab34cd5555b",
    }
    for prompt, prefix in short.items():
        dry = plain(run_line(shell, f"show {prefix} --dry-run"))
        assert re.search(rf"id: {prefix}\w*\n", dry), (prompt, dry)
        with pytest.raises(UsageError, match="no job"):  # one character less is ambiguous
            shell.run_line_magic("sora", f"show {prefix[:-1]} --dry-run")


def test_a_gateways_long_ids_are_shortened_to_what_still_works(
    emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = emulator_factory(gateway=("long-ids",))
    monkeypatch.setenv("SORA_BASE_URL", gateway.base_url)
    monkeypatch.setenv("SORA_API_KEY", KEY)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA_PROFILE", raising=False)
    ip = _shell(tmp_path)
    try:
        with capture_output():
            ip.run_cell_magic("sora", "-n 2 --wait --as pair", "a kite over the dunes")
        pair = ip.user_ns["pair"]
        assert all(len(job.id) > 200 for job in pair)
        text = plain(run_line(ip, "list"))
        for row in text.splitlines()[1:-1]:
            short = row.split()[0]
            (job,) = [job for job in pair if job.id.startswith(short)]
            assert len(short) < len(job.id)
            assert f"id: {job.id}" in plain(run_line(ip, f"show {short} --dry-run"))
    finally:
        _close(ip)


# -- did you mean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "line", "message"),
    [
        (True, "--sise 16:9", "%%sora: unrecognized option --sise: did you mean --size?"),
        (True, "-size 16:9", "unrecognized option -size: did you mean --size?"),
        (True, "--wiat", "unrecognized option --wiat: did you mean --wait?"),
        (True, "--fit contian", "invalid choice: 'contian' .*: did you mean contain?"),
        (True, "--force", "%%sora does not take --force; see %sora?"),
        (False, "list --lnog", "%sora list: unrecognized option --lnog: did you mean --long?"),
        (False, "download abc1 --varient all", "did you mean --variant?"),
        (False, "download abc1 --variant thumnail", "did you mean thumbnail?"),
        (False, "lsit", "unknown command lsit: did you mean %sora list?"),
        (False, "List --long", "unknown command List: did you mean %sora list?"),
        (False, "stauts video_68d7", "did you mean %sora status?"),
        (False, "dowload abc --variant all", "did you mean %sora download?"),
        (False, "--dry-run reusme", "did you mean %sora resume?"),
        (False, "model", "did you mean %sora models?"),
    ],
)
def test_mistakes_get_the_nearest_right_word(
    shell: InteractiveShell, emulator: EmulatorHandle, cell: bool, line: str, message: str
) -> None:
    before = len(emulator.state.access_log)
    with pytest.raises(UsageError, match=re.escape(message).replace(r"\.\*", ".*")) as refused:
        if cell:
            shell.run_cell_magic("sora", line, "a prompt")
        else:
            shell.run_line_magic("sora", line)
    assert "\n" not in str(refused.value)
    time.sleep(0.2)
    assert len(emulator.state.access_log) == before and emulator.jobs == []  # nothing sent


def test_a_prompt_that_only_looks_like_a_command_still_works(shell: InteractiveShell) -> None:
    for line, prompt in [
        ("--dry-run snow falling on the harbour", "snow falling on the harbour"),
        ("--dry-run -- lsit", "lsit"),
        ("--dry-run lists of flowers in a field", "lists of flowers in a field"),
    ]:
        text = plain(run_line(shell, line))
        assert text.startswith("dry run: POST /videos on ") and f"prompt: {prompt}" in text
    with pytest.raises(UsageError, match=r"put -- before the prompt, or use %%sora"):
        shell.run_line_magic("sora", "snow")  # one word that reads as "show": asked, not sent


# -- dry-run headings --------------------------------------------------------------------------


def test_dry_run_headings_name_the_request_then_where_it_goes(
    shell: InteractiveShell, emulator: EmulatorHandle
) -> None:
    with capture_output():
        shell.run_cell_magic("sora", "--wait --as clip", "a harbour")
    clip = shell.user_ns["clip"]
    where = emulator.base_url
    cap = run_line(shell, "-n 2 --dry-run a line prompt")
    assert plain(cap).startswith(f"dry run: POST /videos on {where} × 2 with profile openai")
    assert f"<b>dry run: POST /videos on {where} × 2" in markup(cap)
    remix = plain(run_line(shell, f"remix {clip.id[:14]} --dry-run at night"))
    assert remix.startswith(f"dry run: POST /videos/{clip.id}/remix on {where} × 1")
    delete = plain(run_line(shell, f"delete {clip.id} --dry-run"))
    assert delete.startswith(f"dry run: DELETE /videos/{clip.id} on {where} (no charge)")
    clip.paths["video"].unlink()
    show = plain(run_line(shell, f"show {clip.id} --dry-run"))
    gets = ", then ".join(
        f"GET /videos/{clip.id}/content?variant={v}" for v in ("video", "thumbnail", "spritesheet")
    )
    assert show.startswith(f"dry run: {gets} on {where} (no charge)")  # the place named once
    assert "/v1/videos" not in show.splitlines()[0].replace(where, "")


def test_dry_run_on_the_local_emulator_reads_as_a_sentence(embedded: InteractiveShell) -> None:
    cap = run_line(embedded, "-t 4 --dry-run a lighthouse")
    text = plain(cap)
    assert "dry run: POST /videos on the local emulator × 1 with profile emulator" in text
    assert "the local emulator/" not in text + markup(cap)
    record(embedded, "video_0123456789abcdef", "an old job")  # in the embedded emulator's name
    status = plain(run_line(embedded, "status video_01234567 --dry-run"))
    assert status.startswith(
        "dry run: GET /videos/video_0123456789abcdef on the local emulator (no charge); "
        "nothing was sent"
    )


# -- the reference preview ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "size", "fit"),
    [
        ((1600, 900), "720x1280", "contain"),  # the label the issue saw cut: "sent 720x1280 conta"
        ((900, 1600), "720x1280", "contain"),  # two narrow columns: labels side by side
        ((900, 1600), "720x1280", "cover"),
        ((1600, 900), "1280x720", "stretch"),
    ],
)
def test_the_reference_preview_labels_wrap_inside_the_picture(
    shell: InteractiveShell, tmp_path: Path, source: tuple[int, int], size: str, fit: str
) -> None:
    photo = tmp_path / "portrait_source_picture.png"  # a name wider than a portrait picture
    Image.new("RGB", source, (20, 90, 200)).save(photo)
    with capture_output() as cap:
        shell.run_cell_magic("sora", f"-r {photo} -s {size} --fit {fit} --dry-run", "it moves")
    assert "dry run: POST /videos on " in plain(cap)
    data = next(o.data["image/png"] for o in cap.outputs if "image/png" in o.data)
    png = data if isinstance(data, bytes) else base64.b64decode(data)
    rgb = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = rgb.size
    assert width <= 700 and height <= 260
    background = rgb.getpixel((width - 1, height - 1))
    ink = [
        [
            max(abs(a - b) for a, b in zip(rgb.getpixel((x, y)), background, strict=True)) > 60
            for x in range(width)
        ]
        for y in range(height)
    ]

    def longest_run(row: list[bool]) -> int:
        best = run = 0
        for dark in row:
            run = run + 1 if dark else 0
            best = max(best, run)
        return best

    # nothing reaches the right edge: no label is cut there
    assert not any(row[x] for row in ink for x in range(width - 6, width)), (size, fit)
    # below the pictures (rows with a long unbroken run of colour), the labels: two or more
    # lines, in two columns with clear space between them (neither runs into the other)
    bottom = max(y for y, row in enumerate(ink) if longest_run(row) >= 60)
    band = ink[bottom + 1 :]
    text_rows = [y for y, row in enumerate(band) if any(row)]
    assert text_rows and text_rows[-1] - text_rows[0] >= 12, "fewer than two lines of labels"
    columns = [x for x in range(width) if any(row[x] for row in band)]
    gaps = [b - a for a, b in itertools.pairwise(columns)]
    assert max(gaps) >= 12, (size, fit, "one label runs into the other")
