"""The gateway stack for the tests, run as its own process: ``python -m tests.gateway._stack DIR``.

It starts two emulators and the Veo stand-in (threads of this process), writes a LiteLLM config
in front of them (``DIR/config.yaml``), starts the real LiteLLM proxy as a child process on
127.0.0.1 with ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (so it fetches nothing), waits for
``GET /health/liveliness`` and then writes ``DIR/state.json`` (URLs, keys, pids, start-up time).

It lives until it is sent SIGTERM (the fixture kills its process group by pid) or until the
process it watches (``--watch PID``: the pytest process that owns it) is gone, and then stops the
proxy. Everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from sora_widgets.emulator import serve_in_thread

from .veo_standin import VeoStandIn

VEO_MODEL = "veo-3.0-generate-preview"
READY_DEADLINE = 240.0
"""Seconds the proxy gets to answer its liveliness check (it takes 10–30 s on a busy 2-core box)."""


def litellm_config(
    master_key: str, emulators: list[tuple[str, str]], veo: tuple[str, str]
) -> dict[str, Any]:
    """The proxy's config: ``sora-2`` over both emulators, ``sora-2-pro`` on the first, Veo.

    The same dict is shown as YAML in docs/gateways.md.
    """
    (url_a, key_a), (url_b, key_b) = emulators
    veo_url, veo_key = veo

    def openai(model: str, url: str, key: str) -> dict[str, Any]:
        return {
            "model_name": model,
            "litellm_params": {"model": f"openai/{model}", "api_base": url, "api_key": key},
        }

    return {
        "model_list": [
            openai("sora-2", url_a, key_a),
            openai("sora-2", url_b, key_b),
            openai("sora-2-pro", url_a, key_a),
            {  # a name the kit has no price for, priced by the gateway's operator
                **openai("sora-2-pro", url_a, key_a),
                "model_name": HOUSE_MODEL,
                "model_info": {
                    "mode": "video_generation",
                    "output_cost_per_video_per_second": 0.15,
                },
            },
            {
                "model_name": VEO_MODEL,
                "litellm_params": {
                    "model": f"gemini/{VEO_MODEL}",
                    "api_base": veo_url,
                    "api_key": veo_key,
                },
            },
        ],
        "router_settings": {"routing_strategy": "simple-shuffle"},
        "litellm_settings": {"drop_params": False},
        "general_settings": {"master_key": master_key},
    }


HOUSE_MODEL = "house-video"
"""A model name only this gateway knows (routed to sora-2-pro, which has one deployment), with
the operator's own price."""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def litellm_command(config: Path, port: int) -> list[str]:
    script = shutil.which("litellm", path=os.path.dirname(sys.executable)) or shutil.which(
        "litellm"
    )
    if script is None:
        raise SystemExit('the litellm command is missing: pip install "litellm[proxy]==1.108.7"')
    return [script, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]


def wait_ready(url: str, proxy: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            raise SystemExit(f"the proxy exited ({proxy.returncode}); see {log}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the proxy did not answer /health/liveliness in {READY_DEADLINE:.0f} s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--watch", type=int, required=True)
    args = parser.parse_args(argv)
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    emulator_keys = [f"sk-emu-a-{secrets.token_hex(8)}", f"sk-emu-b-{secrets.token_hex(8)}"]
    emulators = [
        serve_in_thread(job_seconds=1.0, api_key=key, data_dir=folder / "emulator-cache")
        for key in emulator_keys
    ]
    veo_key = f"veo-standin-{secrets.token_hex(8)}"
    veo = VeoStandIn(veo_key, folder / "veo-clips", job_seconds=1.0)
    master_key = f"sk-litellm-master-{secrets.token_hex(12)}"
    config = litellm_config(
        master_key,
        [(e.base_url, k) for e, k in zip(emulators, emulator_keys, strict=True)],
        (veo.url, veo_key),
    )
    config_path = folder / "config.yaml"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "proxy.log"
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
    with log.open("wb") as out:
        proxy = subprocess.Popen(
            litellm_command(config_path, port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=folder,
        )

    def stop(*_: object) -> None:
        proxy.terminate()
        try:
            proxy.wait(5)
        except subprocess.TimeoutExpired:
            proxy.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait_ready(url, proxy, log)
    state = {
        "url": url,
        "master_key": master_key,
        "emulators": [
            {"url": e.base_url, "key": k} for e, k in zip(emulators, emulator_keys, strict=True)
        ],
        "veo": {"url": veo.url, "key": veo_key, "model": VEO_MODEL},
        "supervisor_pid": os.getpid(),
        "proxy_pid": proxy.pid,
        "startup_seconds": round(time.monotonic() - started, 2),
        "config": config,
    }
    tmp = folder / "state.json.part"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(folder / "state.json")
    while alive(args.watch) and proxy.poll() is None:
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
