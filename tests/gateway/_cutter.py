"""A TCP relay on 127.0.0.1 that cuts one content download short, for the Range tests.

It forwards bytes both ways to a target (the LiteLLM proxy); the first response to a request whose
path holds ``/content`` is cut after ``cut_after`` bytes (headers included) by aborting the
connection, as a dropped network would. It records the request heads of content requests, so a
test can see whether the retry asked for a Range.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class CuttingRelay:
    """``url`` forwards to ``target`` (``http://host:port``); ``stop()`` ends it."""

    def __init__(self, target: str, cut_after: int) -> None:
        host, _, port = target.removeprefix("http://").rstrip("/").partition(":")
        self._target = (host, int(port))
        self._cut_after = cut_after
        self.cuts_left = 1
        self.content_requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="cutting-relay")
        self._thread.start()
        if not self._ready.wait(10) or self._server is None:
            raise RuntimeError("the relay did not start")
        port_number = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port_number}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        state: dict[str, Any] = {"content": False, "sent": 0}

        async def upstream() -> None:
            while data := await reader.read(65536):
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                if "/content" in head.split("\r\n", 1)[0]:
                    self.content_requests.append(head)
                    state["content"], state["sent"] = True, 0
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if state["content"] and self.cuts_left > 0:
                    room = self._cut_after - state["sent"]
                    if len(data) >= room:
                        self.cuts_left -= 1
                        writer.write(data[:room])
                        await writer.drain()
                        writer.transport.abort()
                        up_writer.close()
                        return
                    state["sent"] += len(data)
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            writer.transport.abort()
            up_writer.close()

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
