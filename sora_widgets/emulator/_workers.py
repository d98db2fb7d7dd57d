"""Run renders off the request path: a worker process (default), a thread pool, or inline.

The worker process is shared by every emulator in this Python process (started once, on first use,
restarted if it dies, stopped at exit), so starting many emulators in tests costs one interpreter start. Two
requests for the same render while it runs share one future; finished renders are cache hits on disk.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._render import RenderResult, RenderSpec, render_clip, warm_up

__all__ = ["RenderQueue"]

_pool_lock = threading.Lock()
_process_pool: _ProcessWorker | None = None


class _ProcessWorker(Executor):
    """One child interpreter that renders specs sent as JSON lines on its stdin.

    A plain subprocess rather than `multiprocessing`: spawning re-runs the parent's main script,
    which breaks scripts without a ``__main__`` guard. Renders run one at a time, in order.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "sora_widgets.emulator._workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        self._lock = threading.Lock()
        self._futures: dict[int, Future[Any]] = {}
        self._next = 0
        self._reader = threading.Thread(target=self._read, name="sora-render-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                future = self._futures.pop(answer["id"], None)
            if future is None:
                continue
            if answer.get("ok"):
                result = answer["result"]
                future.set_result(RenderResult(**result) if isinstance(result, dict) else result)
            else:
                future.set_exception(RuntimeError(answer.get("error", "render failed")))
        with self._lock:
            pending, self._futures = self._futures, {}
        for future in pending.values():
            future.set_exception(RuntimeError("the render process exited"))

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[Any] = Future()
        if fn is warm_up:
            message: dict[str, Any] = {"op": "warm"}
        else:
            spec, out_dir = args
            fields = dataclasses.asdict(spec)
            if spec.reference is not None:
                fields["reference"] = base64.b64encode(spec.reference).decode()
            message = {"op": "render", "spec": fields, "out_dir": out_dir}
        with self._lock:
            self._next += 1
            message["id"] = self._next
            self._futures[self._next] = future
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps(message).encode() + b"\n")
                self._proc.stdin.flush()
            except OSError as exc:
                self._futures.pop(self._next, None)
                future.set_exception(RuntimeError(f"the render process is gone: {exc}"))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5)
        if self._proc.poll() is None:
            self._proc.kill()


def _shared_process_pool(workers: int) -> _ProcessWorker:
    global _process_pool
    with _pool_lock:
        if _process_pool is None or not _process_pool.alive:
            _process_pool = _ProcessWorker()
        return _process_pool


def _reset_process_pool() -> None:
    global _process_pool
    with _pool_lock:
        _process_pool = None


@atexit.register
def _shutdown_process_pool() -> None:
    pool = _process_pool
    if pool is not None:
        pool.shutdown(wait=False)


def _worker_loop() -> None:
    """The child side: read JSON lines from stdin, render, answer on stdout."""
    # an interrupt meant for the parent (a kernel's stop button) must not kill the renderer;
    # the child ends when its stdin closes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write on the answer channel
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        answer: dict[str, Any] = {"id": message.get("id")}
        try:
            if message.get("op") == "warm":
                answer["result"] = warm_up()
            else:
                fields = message["spec"]
                if fields.get("reference") is not None:
                    fields["reference"] = base64.b64decode(fields["reference"])
                result = render_clip(RenderSpec(**fields), message["out_dir"])
                answer["result"] = dataclasses.asdict(result)
            answer["ok"] = True
        except Exception as exc:  # reported to the parent, which fails the job
            answer["ok"] = False
            answer["error"] = f"{type(exc).__name__}: {exc}"
        try:
            out.write(json.dumps(answer) + "\n")
            out.flush()
        except BrokenPipeError:  # the parent stopped (the emulator was shut down mid-render):
            # end quietly, with nothing left to flush into the closed pipe at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            return


class _InlineExecutor(Executor):
    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # reported through the future
            future.set_exception(exc)
        return future


class RenderQueue:
    """Submits `RenderSpec`s to the chosen executor; results land in ``out_dir``."""

    def __init__(self, out_dir: Path, mode: str = "process", workers: int = 1) -> None:
        self.out_dir = out_dir
        self.mode = mode
        self.workers = max(1, workers)
        self._own: Executor | None = None
        if mode == "thread":
            self._own = ThreadPoolExecutor(self.workers, thread_name_prefix="sora-render")
        elif mode == "inline":
            self._own = _InlineExecutor()
        elif mode != "process":
            raise ValueError(f"render mode {mode!r} is unknown (choose process, thread or inline)")
        self._lock = threading.Lock()
        self._pending: dict[str, Future[RenderResult]] = {}

    def _executor(self) -> Executor:
        return self._own if self._own is not None else _shared_process_pool(self.workers)

    def warm(self) -> None:
        """Start the worker process now, so the first job does not pay for it."""
        if self.mode == "process":
            self._executor().submit(warm_up)

    def submit(self, spec: RenderSpec) -> Future[RenderResult]:
        """A future of the render; concurrent submits of the same inputs share it."""
        key = spec.key()
        with self._lock:
            running = self._pending.get(key)
            if running is not None:
                return running
            future = self._executor().submit(render_clip, spec, str(self.out_dir))
            self._pending[key] = future

        def forget(_: Future[RenderResult]) -> None:
            with self._lock:
                self._pending.pop(key, None)

        future.add_done_callback(forget)
        return future

    def close(self) -> None:
        """Stop this queue's own threads (the shared process pool lives on)."""
        if self._own is not None:
            self._own.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    _worker_loop()
