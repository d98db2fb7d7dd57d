"""The SQLite ledger: every job this kit ever created, so nothing paid for is lost.

One row per job, keyed by the server's video id (``pending:<uuid>`` until the create answers, so a
kernel that dies mid-create still leaves a trace to reconcile). WAL mode and a busy timeout let
several kernels use one ledger at once; the schema is versioned and migrated forward on open.
Never stores a key: the provider is its base URL with any credentials removed.
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .status import JobStatus

__all__ = ["BoardRow", "Ledger", "LedgerRow", "default_ledger_path", "provider_key"]

SCHEMA_VERSION = 4

_MIGRATIONS: dict[int, str] = {
    1: """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            profile TEXT,
            model TEXT,
            size TEXT,
            seconds TEXT,
            prompt TEXT,
            reference_sha256 TEXT,
            status TEXT NOT NULL,
            progress INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            completed_at REAL,
            expires_at REAL,
            error_code TEXT,
            error_message TEXT,
            video_path TEXT,
            thumbnail_path TEXT,
            spritesheet_path TEXT,
            cost REAL
        );
        CREATE INDEX jobs_provider_status ON jobs (provider, status);
        CREATE INDEX jobs_created ON jobs (created_at);
    """,
    2: """
        ALTER TABLE jobs ADD COLUMN remixed_from TEXT;
        ALTER TABLE jobs ADD COLUMN note TEXT;
        ALTER TABLE jobs ADD COLUMN extra_json TEXT;
    """,
    3: """
        CREATE TABLE capabilities (
            provider TEXT NOT NULL,
            name TEXT NOT NULL,
            supported INTEGER NOT NULL,
            reason TEXT,
            learned_at REAL NOT NULL,
            PRIMARY KEY (provider, name)
        );
        ALTER TABLE jobs ADD COLUMN cost_source TEXT;
    """,
    4: """
        CREATE TABLE boards (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            profile TEXT,
            model TEXT,
            size TEXT,
            continuity TEXT NOT NULL,
            shots_json TEXT NOT NULL,
            reference_sha256 TEXT,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            cost REAL,
            video_path TEXT,
            chapters_json TEXT,
            join_method TEXT,
            error_message TEXT
        );
        CREATE INDEX boards_provider_created ON boards (provider, created_at);
        ALTER TABLE jobs ADD COLUMN board_id TEXT;
        ALTER TABLE jobs ADD COLUMN shot INTEGER;
        CREATE INDEX jobs_board ON jobs (board_id, shot);
    """,
}


#: Statuses after which a job needs no more following.
FINISHED = tuple(status.value for status in JobStatus if status.final)


def default_ledger_path() -> Path:
    """``$SORA_WIDGETS_HOME/ledger.sqlite3``, else under the user's data folder."""
    home = os.environ.get("SORA_WIDGETS_HOME")
    if home:
        return Path(home).expanduser() / "ledger.sqlite3"
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sora-widgets" / "ledger.sqlite3"


def provider_key(base_url: str) -> str:
    """The base URL without credentials, query or trailing slash: how the ledger names a provider."""
    parts = urlsplit(base_url.strip())
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class LedgerRow:
    """One job as the ledger remembers it (times in unix seconds)."""

    id: str
    provider: str
    profile: str | None
    model: str | None
    size: str | None
    seconds: str | None
    prompt: str | None
    reference_sha256: str | None
    status: str
    progress: int
    created_at: float
    updated_at: float
    completed_at: float | None
    expires_at: float | None
    error_code: str | None
    error_message: str | None
    video_path: str | None
    thumbnail_path: str | None
    spritesheet_path: str | None
    cost: float | None
    remixed_from: str | None
    note: str | None
    extra_json: str | None
    cost_source: str | None = None
    """``gateway`` when the cost is the gateway's own figure, else None (the kit's estimate)."""
    board_id: str | None = None
    """The storyboard this job is a shot of (see `BoardRow`), else None."""
    shot: int | None = None
    """Its shot number on that board, from 1 (a retried shot has several jobs)."""

    @property
    def pending(self) -> bool:
        """True while the create has not answered (the id is a placeholder)."""
        return self.id.startswith("pending:")

    @property
    def finished(self) -> bool:
        """True when the job needs no more following (a final `JobStatus`)."""
        return self.status in FINISHED


_COLUMNS = tuple(f.name for f in fields(LedgerRow))
_UPDATABLE = frozenset(_COLUMNS) - {"id", "provider", "created_at"}


@dataclass(frozen=True)
class BoardRow:
    """One storyboard as the ledger remembers it; its shots are jobs rows with its ``board_id``.

    ``shots_json`` holds the shots as written (``[{"prompt": …, "seconds": …}]``),
    ``chapters_json`` the joined video's chapters (``[[start, end, title]]``)."""

    id: str
    provider: str
    profile: str | None
    model: str | None
    size: str | None
    continuity: str
    """``frame`` (each shot from the last frame before), ``extend`` or ``independent``."""
    shots_json: str
    reference_sha256: str | None
    status: str
    """``making`` until its shots are joined (``joined``) or one failed every try (``failed``)."""
    created_at: float
    updated_at: float
    cost: float | None
    video_path: str | None
    chapters_json: str | None
    join_method: str | None
    error_message: str | None

    @property
    def shots(self) -> list[dict[str, Any]]:
        """The shots as written: ``{"prompt": …, "seconds": … or None}`` each."""
        value = json.loads(self.shots_json)
        return list(value) if isinstance(value, list) else []

    @property
    def chapters(self) -> list[tuple[float, float, str]]:
        """The joined video's chapters (start and end in seconds, title); empty until joined."""
        value = json.loads(self.chapters_json or "[]")
        return [(float(a), float(b), str(t)) for a, b, t in value]

    @property
    def finished(self) -> bool:
        """True once joined, or failed for good."""
        return self.status != "making"


_BOARD_COLUMNS = tuple(f.name for f in fields(BoardRow))
_BOARD_UPDATABLE = frozenset(
    {"status", "cost", "video_path", "chapters_json", "join_method", "error_message"}
)


class Ledger:
    """A handle on one ledger file; safe to share between threads and processes.

    `Ledger.shared` gives the process's one connection to a file (closed at exit); a plain
    ``Ledger(path)`` is a connection of the caller's own, to close.
    """

    _shared: ClassVar[dict[Path, Ledger]] = {}
    _shared_lock = threading.Lock()
    _closes_at_exit = False

    @classmethod
    def shared(cls, path: str | os.PathLike[str] | None = None) -> Ledger:
        """The process's one connection to the ledger at ``path`` (default: `default_ledger_path`),
        opened (and migrated) on first use and closed when the interpreter exits."""
        key = (Path(path) if path is not None else default_ledger_path()).expanduser().absolute()
        with cls._shared_lock:
            ledger = cls._shared.get(key)
            if ledger is None or ledger.closed:
                if not cls._closes_at_exit:
                    atexit.register(cls.close_shared)
                    cls._closes_at_exit = True
                ledger = cls(key)
                cls._shared[key] = ledger
            return ledger

    @classmethod
    def close_shared(cls) -> None:
        """Close every shared connection (at exit, and in tests)."""
        with cls._shared_lock:
            ledgers = list(cls._shared.values())
            cls._shared.clear()
        for ledger in ledgers:
            ledger.close()

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.closed = False
        """True once `close` has run."""
        self.path = Path(path) if path is not None else default_ledger_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection (a second close does nothing)."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._conn.close()

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = int(row[0] or 0)
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the ledger {self.path} has schema version {current}, newer than this "
                    f"sora-widgets understands ({SCHEMA_VERSION}); upgrade sora-widgets"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    @property
    def schema_version(self) -> int:
        """The ledger file's schema version (after migration: `SCHEMA_VERSION`)."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _rows(
        self, table: str, columns: Sequence[str], where: str, params: Sequence[Any], tail: str
    ) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(columns)} FROM {table} {where} {tail}"
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]

    def _select(
        self, where: str = "", params: Sequence[Any] = (), tail: str = ""
    ) -> list[LedgerRow]:
        return [LedgerRow(**row) for row in self._rows("jobs", _COLUMNS, where, params, tail)]

    # -- writing -------------------------------------------------------------------------------

    def record_pending(
        self,
        *,
        provider: str,
        profile: str | None,
        model: str | None,
        size: str | None,
        seconds: str | None,
        prompt: str,
        reference_sha256: str | None = None,
        cost: float | None = None,
        remixed_from: str | None = None,
        board_id: str | None = None,
        shot: int | None = None,
    ) -> str:
        """Record a create about to be sent; returns its placeholder id (``pending:…``).

        ``board_id`` and ``shot`` tag a storyboard's shot (`record_board`)."""
        now = time.time()
        placeholder = f"pending:{uuid.uuid4().hex}"
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (id, provider, profile, model, size, seconds, prompt, "
                "reference_sha256, status, progress, created_at, updated_at, cost, remixed_from, "
                "board_id, shot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'submitting', 0, ?, ?, ?, ?, ?, ?)",
                (
                    placeholder,
                    provider_key(provider),
                    profile,
                    model,
                    size,
                    seconds,
                    prompt,
                    reference_sha256,
                    now,
                    now,
                    cost,
                    remixed_from,
                    board_id,
                    shot,
                ),
            )
        return placeholder

    def record(self, placeholder: str | None, video: Mapping[str, Any], **values: Any) -> None:
        """Record the created job under its real id (replacing ``placeholder`` if given)."""
        now = time.time()
        video_id = str(video["id"])
        with self._transaction() as conn:
            if placeholder is not None:
                exists = conn.execute("SELECT 1 FROM jobs WHERE id = ?", (video_id,)).fetchone()
                if exists:
                    conn.execute("DELETE FROM jobs WHERE id = ?", (placeholder,))
                else:
                    conn.execute(
                        "UPDATE jobs SET id = ?, status = ?, progress = ?, updated_at = ? "
                        "WHERE id = ?",
                        (
                            video_id,
                            video.get("status", "queued"),
                            video.get("progress") or 0,
                            now,
                            placeholder,
                        ),
                    )
            else:
                conn.execute(
                    "INSERT OR IGNORE INTO jobs (id, provider, profile, model, size, seconds, "
                    "prompt, status, progress, created_at, updated_at, cost) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        video_id,
                        provider_key(str(values.pop("provider", ""))),
                        values.pop("profile", None),
                        video.get("model"),
                        video.get("size"),
                        video.get("seconds"),
                        video.get("prompt"),
                        video.get("status", "queued"),
                        video.get("progress") or 0,
                        now,
                        now,
                        values.pop("cost", None),
                    ),
                )
        if values:
            self.update(video_id, **values)

    def update(self, video_id: str, **values: Any) -> None:
        """Change some columns of one job (unknown column names raise ValueError)."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown ledger columns: {sorted(unknown)}")
        if not values:
            return
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._transaction() as conn:
            conn.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), video_id)
            )

    def forget(self, video_id: str) -> None:
        """Remove a row (only for placeholders that turned out never to have been sent)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (video_id,))

    # -- queries -------------------------------------------------------------------------------

    def get(self, video_id: str) -> LedgerRow | None:
        """One job by id, or None."""
        rows = self._select("WHERE id = ?", (video_id,))
        return rows[0] if rows else None

    def find(self, prefix: str) -> LedgerRow | None:
        """A job by id or by a unique id prefix (handy in ``%sora status``)."""
        return _by_prefix(self._select, prefix)

    def recent(
        self, limit: int = 20, *, provider: str | None = None, standalone: bool = False
    ) -> list[LedgerRow]:
        """The newest jobs first, optionally of one provider; ``standalone`` leaves out the
        storyboards' shots (`recent_boards` has the boards)."""
        where = ["board_id IS NULL"] if standalone else []
        params: list[Any] = []
        if provider is not None:
            where.append("provider = ?")
            params.append(provider_key(provider))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._select(clause, (*params, limit), "ORDER BY created_at DESC LIMIT ?")

    def unfinished(self, *, provider: str | None = None) -> list[LedgerRow]:
        """Jobs that still need following (oldest first), optionally of one provider."""
        marks = ", ".join("?" for _ in FINISHED)
        if provider is None:
            return self._select(f"WHERE status NOT IN ({marks})", FINISHED, "ORDER BY created_at")
        return self._select(
            f"WHERE status NOT IN ({marks}) AND provider = ?",
            (*FINISHED, provider_key(provider)),
            "ORDER BY created_at",
        )

    def total_spent(self, *, provider: str | None = None, since: float | None = None) -> float:
        """Estimated dollars of every job the server accepted (failed ones included: they are billed
        on some providers; moderation blocks are not)."""
        sql = (
            "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE id NOT LIKE 'pending:%' "
            "AND status NOT IN ('lost') AND COALESCE(error_code, '') != 'moderation_blocked'"
        )
        params: list[Any] = []
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider_key(provider))
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(since)
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return float(row[0] or 0.0)

    # -- storyboards -------------------------------------------------------------------------

    def record_board(
        self,
        *,
        provider: str,
        profile: str | None,
        model: str | None,
        size: str | None,
        continuity: str,
        shots: Sequence[Mapping[str, Any]],
        reference_sha256: str | None = None,
        cost: float | None = None,
    ) -> str:
        """Record a storyboard about to be made (before any of its shots is sent); its id
        (``board_`` and 24 hex digits)."""
        now = time.time()
        board_id = f"board_{uuid.uuid4().hex[:24]}"
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO boards (id, provider, profile, model, size, continuity, shots_json, "
                "reference_sha256, status, created_at, updated_at, cost) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'making', ?, ?, ?)",
                (
                    board_id,
                    provider_key(provider),
                    profile,
                    model,
                    size,
                    continuity,
                    json.dumps([dict(shot) for shot in shots]),
                    reference_sha256,
                    now,
                    now,
                    cost,
                ),
            )
        return board_id

    def update_board(self, board_id: str, **values: Any) -> None:
        """Change a board's status, cost, joined video, chapters, join method or error."""
        unknown = set(values) - _BOARD_UPDATABLE
        if unknown:
            raise ValueError(f"unknown board columns: {sorted(unknown)}")
        if "chapters_json" in values and not isinstance(values["chapters_json"], (str, type(None))):
            values["chapters_json"] = json.dumps([list(c) for c in values["chapters_json"]])
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._transaction() as conn:
            conn.execute(
                f"UPDATE boards SET {assignments} WHERE id = ?", (*values.values(), board_id)
            )

    def _boards(
        self, where: str = "", params: Sequence[Any] = (), tail: str = ""
    ) -> list[BoardRow]:
        return [
            BoardRow(**row) for row in self._rows("boards", _BOARD_COLUMNS, where, params, tail)
        ]

    def get_board(self, board_id: str) -> BoardRow | None:
        """One board by id, or None."""
        rows = self._boards("WHERE id = ?", (board_id,))
        return rows[0] if rows else None

    def find_board(self, prefix: str) -> BoardRow | None:
        """A board by id or unique id prefix, or None."""
        return _by_prefix(self._boards, prefix)

    def recent_boards(self, limit: int = 20, *, provider: str | None = None) -> list[BoardRow]:
        """The newest boards first, optionally of one provider."""
        if provider is None:
            return self._boards(tail="ORDER BY created_at DESC LIMIT ?", params=(limit,))
        return self._boards(
            "WHERE provider = ?",
            (provider_key(provider), limit),
            "ORDER BY created_at DESC LIMIT ?",
        )

    def unfinished_boards(self, *, provider: str | None = None) -> list[BoardRow]:
        """Boards still being made (oldest first), optionally of one provider."""
        if provider is None:
            return self._boards("WHERE status = 'making'", (), "ORDER BY created_at")
        return self._boards(
            "WHERE status = 'making' AND provider = ?",
            (provider_key(provider),),
            "ORDER BY created_at",
        )

    def board_jobs(self, board_id: str) -> list[LedgerRow]:
        """Every job made for a board's shots, by shot, oldest attempt first."""
        return self._select("WHERE board_id = ?", (board_id,), "ORDER BY shot, created_at")

    # -- capabilities ------------------------------------------------------------------------

    def learn(self, provider: str, name: str, supported: bool, reason: str | None = None) -> None:
        """Remember what a provider was seen to do or refuse (``list``, ``delete``, ``range`` …)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO capabilities (provider, name, supported, reason, "
                "learned_at) VALUES (?, ?, ?, ?, ?)",
                (provider_key(provider), name, int(supported), reason, time.time()),
            )

    def capabilities(self, provider: str) -> dict[str, tuple[bool, str | None]]:
        """What was learned of a provider: ``{name: (supported, reason)}``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, supported, reason FROM capabilities WHERE provider = ?",
                (provider_key(provider),),
            ).fetchall()
        return {row["name"]: (bool(row["supported"]), row["reason"]) for row in rows}

    def count(self) -> int:
        """How many jobs the ledger holds, of every provider."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


_Row = TypeVar("_Row")


def _by_prefix(select: Callable[[str, Sequence[Any], str], list[_Row]], prefix: str) -> _Row | None:
    """The row whose id is ``prefix``, else the only one whose id starts with it, else None."""
    exact = select("WHERE id = ?", (prefix,), "")
    if exact:
        return exact[0]
    rows = select("WHERE id LIKE ? ESCAPE '\\'", (_like_prefix(prefix),), "LIMIT 2")
    return rows[0] if len(rows) == 1 else None


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
