"""Fixtures that start real emulators on 127.0.0.1 (reused by the client and job tests).

- ``emulator``: a fresh emulator (official ``openai`` profile, jobs take 1 s, any bearer key
  passes); yields its `EmulatorHandle` (``.base_url`` ends in ``/v1``; ``.state`` holds the jobs)
  and stops it afterwards.
- ``emulator_factory``: call it with `EmulatorSettings` fields, e.g.
  ``emulator_factory(profile="relay", max_running=1)``, to get more started handles; every one is
  stopped at teardown. Defaults are the same as ``emulator``'s unless overridden.
- ``emulator_cache``: the render cache folder shared by the whole session, so identical clips
  render once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sora_widgets.emulator import EmulatorHandle, serve_in_thread

EmulatorFactory = Callable[..., EmulatorHandle]


@pytest.fixture(scope="session")
def emulator_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulator-cache")


@pytest.fixture
def emulator_factory(emulator_cache: Path) -> Iterator[EmulatorFactory]:
    handles: list[EmulatorHandle] = []

    def start(**settings: Any) -> EmulatorHandle:
        settings.setdefault("job_seconds", 1.0)
        settings.setdefault("data_dir", emulator_cache)
        handle = serve_in_thread(**settings)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return emulator_factory()
