"""Injected faults: seeded and reproducible, scripted, and each kind as a client sees it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from ._emulator_helpers import PROMPT, client, create, wait_terminal


def _statuses(handle: Any, count: int) -> list[int]:
    with client(handle) as http:
        return [http.get("/videos").status_code for _ in range(count)]


def test_probabilistic_faults_reproduce_with_the_same_seed(emulator_factory: Any) -> None:
    runs = [
        _statuses(emulator_factory(faults=("list:503:0.5",), fault_seed=seed), 20)
        for seed in (7, 7, 8)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 503}


def test_scripted_faults_and_retry_after_headers(emulator_factory: Any) -> None:
    handle = emulator_factory(faults=("create:script=429=3,429=250ms,500,502,ok",))
    with client(handle) as http:
        answers = [http.post("/videos", json={"prompt": PROMPT}) for _ in range(6)]
    assert [a.status_code for a in answers] == [429, 429, 500, 502, 200, 200]
    assert answers[0].headers["retry-after"] == "3"
    assert answers[1].headers["retry-after-ms"] == "250"
    assert answers[2].json()["error"]["type"] == "server_error"
    assert handle.state.faults.history[0] == ("create", "429=3")


def test_dropped_connection_cuts_the_body(emulator_factory: Any) -> None:
    handle = emulator_factory(faults=("retrieve:script=drop", "content:script=drop=1000"))
    with client(handle) as http:
        video = create(http)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(f"/videos/{video['id']}")
    with client(handle) as http:
        wait_terminal(http, video["id"])
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(f"/videos/{video['id']}/content")
        assert http.get(f"/videos/{video['id']}/content").status_code == 200
    assert any("connection dropped" in line for line in handle.state.access_log)


def test_slow_fail_moderation_and_expire(emulator_factory: Any) -> None:
    handle = emulator_factory(
        faults=("list:slow=300", "create:script=fail,moderation,expire", "content:expire:0")
    )
    with client(handle) as http:
        start = time.perf_counter()
        assert http.get("/videos").status_code == 200
        assert time.perf_counter() - start >= 0.3
        failed = wait_terminal(http, create(http)["id"])
        assert failed["status"] == "failed" and failed["error"]["code"] == "video_generation_failed"
        blocked = wait_terminal(http, create(http)["id"])
        assert blocked["error"]["code"] == "moderation_blocked"
        expiring = wait_terminal(http, create(http)["id"])
        assert expiring["status"] == "completed"
        assert expiring["expires_at"] == expiring["completed_at"]
        assert http.get(f"/videos/{expiring['id']}/content").status_code == 404
