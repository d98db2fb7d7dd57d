"""The relay profile: watermark, references as URL strings (fetched locally) and data URLs."""

from __future__ import annotations

import base64
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from ._emulator_helpers import PROMPT, assert_video, client, png, wait_terminal


def _image_server() -> Any:
    import threading

    import uvicorn

    from sora_widgets.emulator._server import bind_socket

    async def image(request: Any) -> Response:
        return Response(png(720, 1280, (20, 20, 200)), media_type="image/png")

    async def small(request: Any) -> Response:
        return Response(png(10, 10), media_type="image/png")

    app = Starlette(routes=[Route("/ref.png", image), Route("/small.png", small)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    sock = bind_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_relay_takes_url_strings_data_urls_watermark_and_integer_seconds(
    emulator_factory: Any,
) -> None:
    server, thread, images = _image_server()
    try:
        relay = emulator_factory(profile="relay")
        with client(relay) as http:
            by_url = http.post(
                "/videos",
                json={
                    "prompt": PROMPT,
                    "seconds": 4,
                    "input_reference": f"{images}/ref.png",
                    "watermark": False,
                },
            )
            assert by_url.status_code == 200, by_url.text
            assert by_url.json()["watermark"] is False and by_url.json()["seconds"] == "4"
            data_url = "data:image/png;base64," + base64.b64encode(png(720, 1280)).decode()
            by_form = http.post(
                "/videos",
                files={
                    "prompt": (None, PROMPT),
                    "input_reference": (None, data_url),
                    "watermark": (None, "true"),
                },
            )
            assert by_form.status_code == 200, by_form.text
            wrong_size = http.post(
                "/videos", json={"prompt": PROMPT, "input_reference": f"{images}/small.png"}
            )
            assert wrong_size.json()["error"]["message"] == (
                "Inpaint image must match the requested width and height"
            )
            missing = http.post(
                "/videos", json={"prompt": PROMPT, "input_reference": f"{images}/nope.png"}
            )
            assert missing.status_code == 400 and "404" in missing.json()["error"]["message"]
            done = wait_terminal(http, by_url.json()["id"])
            assert done["status"] == "completed"
            assert_video(http.get(f"/videos/{done['id']}/content").content, "720x1280", "4")
            assert http.post("/videos", json={"prompt": PROMPT, "seconds": "10"}).status_code == 200
    finally:
        server.should_exit = True
        thread.join(5)


def test_extended_profile_offers_longer_clips_and_1080p_on_pro(emulator_factory: Any) -> None:
    extended = emulator_factory(profile="extended")
    strict = emulator_factory()
    body = {"prompt": PROMPT, "model": "sora-2-pro", "size": "1920x1080", "seconds": "20"}
    with client(extended) as http:
        assert http.post("/videos", json=body).status_code == 200
    with client(strict) as http:
        assert http.post("/videos", json=body).status_code == 400
