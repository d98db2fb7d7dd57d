"""``python -m sora_widgets.emulator``: starts with one command, prints its URL, logs requests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = (sys.executable, "-m", "sora_widgets.emulator")


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """The emulator started as a user starts it, on a free port, and its first line."""
    process = subprocess.Popen(
        [*EMULATOR, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, process.stdout.readline()


def url_in(line: str) -> str:
    return line.split("listening on ")[1].split()[0]


def help_text() -> str:
    return subprocess.run(
        [*EMULATOR, "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout


def test_cli_starts_prints_url_serves_and_logs_without_the_key(tmp_path: Path) -> None:
    process, line = start(
        "--api-key", "sk-cli-secret", "--job-seconds", "1", "--data-dir", str(tmp_path)
    )
    try:
        assert "listening on http://127.0.0.1:" in line and "synthetic" in line
        base_url = url_in(line)
        assert base_url.endswith("/v1")
        headers = {"Authorization": "Bearer sk-cli-secret"}
        created = httpx.post(f"{base_url}/videos", headers=headers, data={"prompt": "cli"})
        assert created.status_code == 200
        assert (
            httpx.get(f"{base_url}/videos", headers={"Authorization": "Bearer no"}).status_code
            == 401
        )
    finally:
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert '"POST /v1/videos" 200' in stderr
    assert '"GET /v1/videos" 401' in stderr
    assert "sk-cli-secret" not in stderr


def test_cli_help_documents_faults() -> None:
    text = help_text()
    assert "ROUTE:ACTION[:PROBABILITY]" in text and "--job-seconds" in text


def test_cli_help_documents_every_gateway_behaviour() -> None:
    from sora_widgets.emulator._settings import GATEWAY_BEHAVIOURS

    text = help_text()
    assert "--gateway WORDS" in text
    for word, what in GATEWAY_BEHAVIOURS.items():
        assert f"  {word:<16}{what}" in text


def test_cli_gateway_flag_starts_a_gateway_like_emulator(tmp_path: Path) -> None:
    bad = subprocess.run(
        [*EMULATOR, "--gateway", "no-lists"], capture_output=True, text=True, cwd=ROOT
    )
    assert bad.returncode == 2 and "'no-lists' is unknown" in bad.stderr
    process, line = start(
        "--quiet",
        "--data-dir",
        str(tmp_path),
        "--gateway",
        "no-list,no-delete",
        "--gateway",
        "long-ids",
    )
    try:
        assert "like a gateway: no-list,no-delete,long-ids" in line
        base_url = url_in(line)
        headers = {"Authorization": "Bearer sk-cli"}
        created = httpx.post(f"{base_url}/videos", headers=headers, data={"prompt": "cli"})
        assert created.status_code == 200 and len(created.json()["id"]) >= 266
        assert httpx.get(f"{base_url}/videos", headers=headers).status_code == 400
        video_id = created.json()["id"]
        assert httpx.delete(f"{base_url}/videos/{video_id}", headers=headers).status_code == 405
    finally:
        os.kill(process.pid, signal.SIGINT)
        process.communicate(timeout=10)


def test_killed_mid_render_its_worker_ends_quietly(tmp_path: Path) -> None:
    """The emulator killed with a clip on its way (as a kernel restart kills the embedded one): its
    render worker, which answers the render (and its warm-up) into a pipe nobody reads any more,
    ends without a traceback in the terminal (or the Jupyter server's log)."""
    process, line = start("--data-dir", str(tmp_path))
    try:
        base_url = url_in(line)
        created = httpx.post(
            f"{base_url}/videos",
            headers={"Authorization": "Bearer sk-any"},
            data={"prompt": "a long clip, cut off while it renders", "seconds": "12"},
        )
        assert created.status_code == 200
    finally:
        os.kill(process.pid, signal.SIGKILL)
        # the worker shares the emulator's stderr: this returns once the worker too has ended
        _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
