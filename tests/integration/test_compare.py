"""The compare grid's HTML from real emulator jobs (no browser): columns by count, the shared
prompt once and each cell's differing words marked, differing options and costs, the fallback
controls, and the errors (count, unfinished job, missing file, labels)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sora_widgets.api import ValidationError
from sora_widgets.compare import common_words, compare, grid_columns
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import GenerationRequest, Job, generate

from .test_jobs import settings_for


@pytest.fixture
def three(emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    monkeypatch.chdir(tmp_path)  # the notebook's folder
    settings = settings_for(emulator, tmp_path)
    jobs = [
        generate(f"a {colour} lighthouse at dusk", seconds=4, settings=settings, size=size)
        for colour, size in (("red", "1280x720"), ("blue", "1280x720"), ("green", "720x1280"))
    ]
    return [job.wait(60) for job in jobs]


def test_grid_columns_by_count() -> None:
    assert [grid_columns(n) for n in range(2, 10)] == [2, 3, 2, 3, 3, 3, 3, 3]


def test_common_words() -> None:
    assert common_words(["a red cat sat", "a blue cat sat"]) == (["a"], ["cat", "sat"])
    assert common_words(["a cat", "a big cat"]) == (["a"], ["cat"])
    assert common_words(["same words", "same words"]) == (["same", "words"], [])
    assert common_words(["one", "two"]) == ([], [])


def test_grid_of_three_shows_what_differs(three: list[Job]) -> None:
    a, b, c = three
    bundle = compare(a, b, c)
    page = bundle.data["text/html"]
    assert "grid-template-columns:repeat(3," in page
    # the shared words once, above the grid; each cell its own word marked
    shown = re.sub(r' title="[^"]*"', "", page)  # each cell's tooltip holds its whole prompt
    assert shown.count("lighthouse at dusk") == 1
    assert re.findall(r"<mark>(.*?)</mark>", page) == ["red", "blue", "green"]
    assert 'class="sora-compare-common-text">a <span class="sora-compare-gap"' in page
    # options that differ (size) per cell; shared ones (model, length) once
    facts = re.findall(r'class="sora-compare-facts"[^>]*>(.*?)</div>', page)
    assert [f.split(" · ")[0] for f in facts] == ["1280x720", "1280x720", "720x1280"]
    assert all("$0.40" in f for f in facts)
    assert 'class="sora-compare-shared-options"' in page and "sora-2 · 4 s" in page
    # cells share one box (mixed ratios: a square), videos fit in it
    assert page.count("aspect-ratio:1 / 1") == 3 and page.count("object-fit:contain") == 3
    # each video: relative source, inline poster, own controls until the script takes over
    sources = re.findall(r"<video ([^>]*)>", page)
    assert len(sources) == 3
    for attributes, job in zip(sources, three, strict=True):
        assert f'src="out/{job.id}.mp4"' in attributes
        assert 'poster="data:image/' in attributes
        assert "playsinline" in attributes and "muted" in attributes and "controls" in attributes
        assert 'preload="auto"' in attributes
    # one inline script, scoped to a unique root; nothing fetched
    assert page.count("<script>") == 1 and page.count("</script>") == 1
    assert page.endswith("</script></div>")
    root = re.match(
        r'<div id="(sora-compare-[0-9a-f]{32})" class="sora-compare" tabindex="0"', page
    )
    assert root is not None
    assert root.group(1) not in compare(a, b, c).data["text/html"]
    assert "http://" not in page and "https://" not in page
    # the plain-text summary
    text = bundle.data["text/plain"]
    assert text.splitlines()[0] == "compare: 3 videos; shared prompt: a … lighthouse at dusk"
    assert text.splitlines()[1].startswith("1. red · 1280x720 · $0.40")
    assert bundle.metadata["sora_widgets"]["compare"] == [a.id, b.id, c.id]


def test_labels_columns_and_same_prompts(three: list[Job]) -> None:
    a, b, c = three
    page = compare(a, b, labels=["<left>", "right"]).data["text/html"]
    assert "grid-template-columns:repeat(2," in page
    assert "&lt;left&gt;" in page and "<mark>" not in page
    assert "aspect-ratio:1280 / 720" in page  # one shared ratio: its own box
    four = compare([a, b, c, a]).data["text/html"]  # a list works too
    assert "grid-template-columns:repeat(2," in four
    tall = generate(a.request.prompt, seconds=4, size="720x1280", settings=a.settings).wait(60)
    one_prompt = compare(a, tall)  # one prompt, two sizes: the sizes are the difference
    assert re.findall(r"<mark>(.*?)</mark>", one_prompt.data["text/html"]) == [
        "1280x720",
        "720x1280",
    ]
    assert "shared prompt: a red lighthouse at dusk" in one_prompt.data["text/plain"]
    same = compare(a, a).data["text/html"]
    assert "take 1" in same and "take 2" in same and "<mark>" not in same


def test_errors_name_the_problem(three: list[Job], tmp_path: Path) -> None:
    a, b, c = three
    with pytest.raises(ValidationError, match="2 to 9 finished videos, got 1"):
        compare(a)
    with pytest.raises(ValidationError, match="got 10"):
        compare(*[a] * 10)
    with pytest.raises(ValidationError, match="got 0"):
        compare()
    with pytest.raises(ValidationError, match="2 labels for 3 videos"):
        compare(a, b, c, labels=["x", "y"])
    pending = Job(GenerationRequest("a lighthouse"), a.settings)
    with pytest.raises(ValidationError, match="is submitting, not finished"):
        compare(a, pending)
    with pytest.raises(ValidationError, match="not a job"):
        compare(a, "video_123")
    c.paths["video"].unlink()
    with pytest.raises(ValidationError, match=f"{c.id} has no video on disk"):
        compare(a, b, c)


def test_the_magic_compares_jobs_by_id(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    from ._emulator_helpers import magic_shell

    with magic_shell(
        monkeypatch, tmp_path, base_url=emulator.base_url, key="sk-compare-magic"
    ) as ip:
        with capture_output():
            ip.run_cell_magic("sora", "-s 1280x720 -n 2 --wait --as pair", "A heron in reeds\n")
        a, b = ip.user_ns["pair"]
        with pytest.raises(UsageError, match="takes 2 to 9 video ids, got 1"):
            ip.run_line_magic("sora", f"compare {a.id}")
        with capture_output() as cap:
            ip.run_line_magic("sora", f"compare {a.id} {b.id[:14]} --labels 'take 1|take 2'")
        shown = cap.outputs[-1].data["text/html"]
        assert shown.count("<video") == 2 and "take 1" in shown and "take 2" in shown
