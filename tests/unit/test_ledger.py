"""The SQLite ledger: recorded before the user sees a job, shared by processes, migrated forward."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sora_widgets.ledger import SCHEMA_VERSION, Ledger, default_ledger_path, provider_key

URL = "http://user:secret@gw.test:8443/v1/"


def test_pending_then_recorded_under_the_real_id(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    placeholder = ledger.record_pending(
        provider=URL,
        profile="openai",
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="a cat",
        cost=0.4,
    )
    row = ledger.get(placeholder)
    assert row is not None and row.pending and row.status == "submitting"
    ledger.record(placeholder, {"id": "video_1", "status": "queued", "progress": 0})
    assert ledger.get(placeholder) is None
    row = ledger.get("video_1")
    assert row is not None and row.prompt == "a cat" and row.cost == 0.4 and not row.pending
    assert row.provider == "http://gw.test:8443/v1"


def test_provider_never_holds_credentials(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.record(
        None, {"id": "video_1", "status": "queued"}, provider=URL, profile="relay", cost=1.0
    )
    raw = (tmp_path / "l.sqlite3").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("l.sqlite3-*")
    )
    assert b"secret" not in raw and b"user" not in raw


def test_queries(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    for i, status in enumerate(["queued", "completed", "failed", "in_progress"]):
        ledger.record(None, {"id": f"video_{i}", "status": status}, provider=URL, cost=1.0)
    ledger.record(
        None, {"id": "video_other", "status": "queued"}, provider="http://else/v1", cost=5.0
    )
    ledger.update("video_2", error_code="moderation_blocked")
    assert [r.id for r in ledger.unfinished(provider=URL)] == ["video_0", "video_3"]
    assert len(ledger.unfinished()) == 3
    assert ledger.recent(2)[0].id == "video_other"
    assert ledger.total_spent(provider=URL) == pytest.approx(3.0)
    assert ledger.total_spent() == pytest.approx(8.0)
    assert ledger.find("video_ot") is not None and ledger.find("video_") is None
    with pytest.raises(ValueError, match="unknown ledger columns"):
        ledger.update("video_1", api_key="x")


def test_migrates_a_version_1_ledger(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE jobs (id TEXT PRIMARY KEY, provider TEXT NOT NULL, profile TEXT, model TEXT,
            size TEXT, seconds TEXT, prompt TEXT, reference_sha256 TEXT, status TEXT NOT NULL,
            progress INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL,
            completed_at REAL, expires_at REAL, error_code TEXT, error_message TEXT, video_path TEXT,
            thumbnail_path TEXT, spritesheet_path TEXT, cost REAL);
        INSERT INTO jobs (id, provider, status, created_at, updated_at, prompt)
            VALUES ('video_old', 'http://gw/v1', 'in_progress', 1, 1, 'kept');
        """
    )
    conn.close()
    ledger = Ledger(path)
    assert ledger.schema_version == SCHEMA_VERSION
    row = ledger.get("video_old")
    assert row is not None and row.prompt == "kept" and row.note is None


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade sora-widgets"):
        Ledger(path)


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    Ledger(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from sora_widgets.ledger import Ledger
        ledger = Ledger({str(path)!r})
        n = sys.argv[1]
        for i in range(100):
            ledger.record(None, {{"id": f"video_{{n}}_{{i}}", "status": "queued"}}, provider="http://gw/v1")
            ledger.update(f"video_{{n}}_{{i}}", progress=50)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    assert all(p.wait(120) == 0 for p in procs)
    ledger = Ledger(path)
    assert ledger.count() == 400
    assert {r.progress for r in ledger.unfinished()} == {50}


def test_default_path_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path))
    assert default_ledger_path() == tmp_path / "ledger.sqlite3"
    assert provider_key("HTTP://h:1/v1/") == "http://h:1/v1"
