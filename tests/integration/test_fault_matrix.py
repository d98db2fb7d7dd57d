"""The fault matrix: every fault × {create, retrieve, list, content}, through the jobs layer.

Each cell starts a fresh emulator whose route suffers the fault once, runs one job to its end and
lists the provider's jobs. The expected outcome is either "ok" (retried and succeeded) or a clear
error; in every cell the ledger still holds every job the server created, no job is duplicated,
no partial file stands where a finished one should, and an interrupted job can still be resumed.
`docs/fault-matrix.md` is the same table in prose; `FAULTS` and `expected` are its source.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_widgets.api import (
    AuthenticationError,
    NotFoundError,
    SoraClient,
    SoraError,
    UnsupportedError,
    VideoFailedError,
)
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import JobStatus, generate, resume
from sora_widgets.ledger import Ledger

from ..conftest import EmulatorFactory

ROUTES = ("create", "retrieve", "list", "content")

FAULTS: dict[str, str] = {
    "429 with Retry-After": "429=1",
    "429 without Retry-After": "429bare",
    "500": "500",
    "502": "502",
    "503": "503",
    "reset before a response": "reset",
    "dropped mid-body": "drop",
    "read timeout": "late=2500",
    "malformed JSON": "badjson",
    "HTML page from a proxy": "html",
    "401": "401",
    "404": "404",
    "expired content": "expire",
    "failed job": "fail",
    "moderation": "moderation",
}

CLIENT_TIMEOUT = 1.0


def expected(fault: str, route: str) -> str:
    """The outcome a user should see: ``ok``, or the kind of clear error."""
    if fault in ("401", "404"):
        if route == "list":  # a 404 on GET /videos says the server has no list route
            return "list-unsupported" if fault == "404" else "list-error"
        return "refused" if route == "create" else "error-resumable"
    if fault == "expired content" and route in ("create", "content"):
        return "expired"
    if fault in ("failed job", "moderation") and route == "create":
        return "failed"
    return "ok"


CELLS = [(fault, route) for fault in FAULTS for route in ROUTES]


@pytest.mark.parametrize(("fault", "route"), CELLS, ids=[f"{f}-{r}" for f, r in CELLS])
def test_fault_cell(
    emulator_factory: EmulatorFactory, tmp_path: Path, fault: str, route: str
) -> None:
    emulator = emulator_factory(
        job_seconds=0.5, faults=[f"{route}:script={FAULTS[fault]}"], poll_after_ms=100
    )
    out, ledger_path = tmp_path / "out", tmp_path / "ledger.sqlite3"
    settings = resolve_settings(
        base_url=emulator.base_url,
        api_key="sk-matrix",
        profile="openai",
        output_dir=out,
        ledger_path=ledger_path,
        timeout=CLIENT_TIMEOUT,
    )
    outcome = expected(fault, route)

    job = generate("a lighthouse in the fault matrix", settings=settings)
    error: BaseException | None = None
    try:
        job.wait(60)
    except SoraError as exc:
        error = exc

    list_error: BaseException | None = None
    with SoraClient(
        base_url=emulator.base_url, api_key="sk-matrix", timeout=CLIENT_TIMEOUT
    ) as client:
        try:
            listed = [v.id for v in client.list()]
        except SoraError as exc:
            list_error = exc
            listed = []

    # the outcome the user sees
    if outcome == "ok":
        assert error is None and job.status == JobStatus.COMPLETED, (job.status, error)
        assert list_error is None and listed == [job.id]
    elif outcome == "refused":
        assert (
            isinstance(error, (AuthenticationError, NotFoundError))
            and job.status == JobStatus.ERROR
        )
        assert error.message  # the server's words, not a traceback
    elif outcome == "error-resumable":
        assert isinstance(error, (AuthenticationError, NotFoundError)), error
        assert job.status == JobStatus.ERROR and job.message
    elif outcome == "list-error":
        assert job.status == JobStatus.COMPLETED
        assert isinstance(list_error, AuthenticationError)
    elif outcome == "list-unsupported":
        assert job.status == JobStatus.COMPLETED
        assert isinstance(list_error, UnsupportedError) and list_error.capability == "list"
    elif outcome == "expired":
        assert job.status == JobStatus.EXPIRED and "expired" in job.message
    elif outcome == "failed":
        assert isinstance(error, VideoFailedError) and job.status == JobStatus.FAILED
        assert error.code in ("moderation_blocked", "video_generation_failed")

    # invariants, in every cell
    ledger = Ledger(ledger_path)
    server_ids = [j.id for j in emulator.jobs]
    rows = ledger.recent(100)
    assert len(server_ids) == (0 if outcome == "refused" else 1), "a job was duplicated or lost"
    assert {r.id for r in rows} == set(server_ids), "the ledger lost or invented a job"
    assert not any(r.pending for r in rows)
    assert not list(out.glob("*.part")) if out.exists() else True
    for path in out.glob("*.mp4") if out.exists() else []:
        served = Path(emulator.jobs[0].render_paths["video"])  # type: ignore[index]
        assert path.read_bytes() == served.read_bytes(), "a partial or wrong file stands in place"

    if outcome == "error-resumable":  # the fault has passed: resuming finishes the job
        resumed = resume(settings=settings, wait=True)
        assert [j.status for j in resumed] == [JobStatus.COMPLETED]
        assert ledger.unfinished() == []


_WORDS = {
    "ok": "retried, succeeded",
    "refused": "clear error, no job",
    "error-resumable": "clear error; `resume()` finishes it",
    "list-error": "job done; list gives a clear error",
    "list-unsupported": "job done; list says the server has no list route (`UnsupportedError`)",
    "expired": "reported expired",
    "failed": "`VideoFailedError` with code and hint",
}


GATEWAY_ROWS: dict[str, str] = {
    "no-list": "job done; list says the gateway has no list (`UnsupportedError`); `resume()` needs none",
    "no-delete": "job done; delete says, in one line, that the video stays on the provider",
    "ignore-variants": "job done; thumbnail and spritesheet made from the MP4 (real WebP and JPEG)",
    "ignore-range": "job done; a download whose Range is ignored starts again, never appends",
    "long-ids": "job done; a 280-character id gets its own short file name",
    "status-words": "job done; the gateway's own word is shown, no fake percentage",
    "litellm-headers": "job done; the cost is the gateway's own figure",
}
"""What each of the emulator's gateway behaviours (what LiteLLM's proxy does) leads to."""


@pytest.mark.parametrize("behaviour", list(GATEWAY_ROWS))
def test_gateway_row(emulator_factory: EmulatorFactory, tmp_path: Path, behaviour: str) -> None:
    from PIL import Image

    from sora_widgets.api import UnsupportedError
    from sora_widgets.jobs import delete

    # a download cut mid-body is resumed with Range: where the gateway ignores Range, it must
    # start again cleanly (the bytes are compared with the render below)
    faults = ["content:script=drop"] if behaviour == "ignore-range" else []
    emulator = emulator_factory(job_seconds=0.5, gateway=[behaviour], faults=faults)
    out, ledger_path = tmp_path / "out", tmp_path / "ledger.sqlite3"
    settings = resolve_settings(
        base_url=emulator.base_url,
        api_key="sk-matrix",
        profile="openai",
        output_dir=out,
        ledger_path=ledger_path,
    )
    said: list[str] = []
    job = generate(
        "a lighthouse behind a gateway",
        settings=settings,
        on_change=lambda j: said.append(j.message),
    )
    job.wait(60)
    assert job.status == JobStatus.COMPLETED and job.id is not None
    assert (
        job.paths["video"].read_bytes()
        == Path(
            emulator.jobs[0].render_paths["video"]  # type: ignore[index]
        ).read_bytes()
    )
    for variant, kind in (("thumbnail", "WEBP"), ("spritesheet", "JPEG")):
        with Image.open(job.paths[variant]) as picture:
            assert picture.format == kind, (variant, picture.format)
    assert not list(out.glob("*.part"))
    with SoraClient(base_url=emulator.base_url, api_key="sk-matrix") as client:
        if behaviour == "no-list":
            with pytest.raises(UnsupportedError):
                list(client.list())
        else:
            assert [v.id for v in client.list()] == [job.id]
    if behaviour == "no-delete":
        with pytest.raises(UnsupportedError, match="stays on the provider"):
            delete(job).result(30)
    if behaviour == "ignore-range":  # the cut download was asked for again
        contents = [line for line in emulator.state.access_log if "/content" in line]
        assert len(contents) >= 4, contents
    if behaviour == "long-ids":
        assert len(job.id) > 200 and len(job.paths["video"].name) < 80
    if behaviour == "status-words":
        assert any("processing" in text for text in said)
    if behaviour == "litellm-headers":
        assert job.cost_source == "gateway"
    rows = Ledger(ledger_path).recent(10)
    assert [r.id for r in rows] == [job.id] and rows[0].status == "completed"


def matrix_markdown() -> str:
    """The outcome table of `docs/fault-matrix.md`, from `FAULTS` and `expected`."""
    lines = [
        "# Fault matrix",
        "",
        "Every cell is a test in `tests/integration/test_fault_matrix.py`: the route suffers the fault",
        "once, through the jobs layer (`generate`, then a `list`). In every cell the ledger still holds",
        "every job the server created, no job is duplicated, and no partial file stands in place of a",
        "finished one. Job-level faults (failed, moderation, expired) act only on routes that create",
        "jobs or serve content; elsewhere the job is unaffected.",
        "",
        "| fault | " + " | ".join(ROUTES) + " |",
        "|---|" + "---|" * len(ROUTES),
    ]
    for fault, action in FAULTS.items():
        cells = [_WORDS[expected(fault, route)] for route in ROUTES]
        lines.append(f"| {fault} (`{action}`) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Gateway rows",
        "",
        "What a gateway such as LiteLLM's proxy does differently, played by the emulator",
        "(`--gateway BEHAVIOUR`); each row is `test_gateway_row`, one job through the jobs layer,",
        "then a `list`. The same behaviours are tested through the real proxy in `tests/gateway/`.",
        "",
        "| gateway behaviour | outcome |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {outcome} |" for name, outcome in GATEWAY_ROWS.items()]
    return "\n".join(lines) + "\n"


def test_the_documented_table_matches_the_tests() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "fault-matrix.md"
    assert doc.read_text() == matrix_markdown(), (
        "regenerate docs/fault-matrix.md from matrix_markdown()"
    )
