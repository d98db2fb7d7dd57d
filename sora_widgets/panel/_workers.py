"""The few threads every panel shares for slow local work: resolving settings, fitting a
reference, reading the ledger. Network work is the jobs layer's and never runs here."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

from ._widgets import describe

__all__ = ["done", "spawn"]

T = TypeVar("T")

_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _background() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="sora-panel"
            )
        return _pool


def spawn(
    work: Callable[[], T], on_error: Callable[[str], None] | None = None
) -> concurrent.futures.Future[T]:
    """Run ``work`` on a panel worker thread. Its error stays in the Future and, with
    ``on_error``, is also passed on as a user-facing line."""

    def run() -> T:
        try:
            return work()
        except Exception as exc:
            if on_error is not None:
                on_error(describe(exc))
            raise

    return _background().submit(run)


def done(value: T) -> concurrent.futures.Future[T]:
    """A Future that already holds ``value``."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    future.set_result(value)
    return future
