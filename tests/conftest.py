"""Fixtures that start real emulators on 127.0.0.1 (reused by the client and job tests).

- ``emulator``: a fresh emulator (official ``openai`` profile, jobs take 1 s, any bearer key
  passes); yields its `EmulatorHandle` (``.base_url`` ends in ``/v1``; ``.state`` holds the jobs)
  and stops it afterwards.
- ``emulator_factory``: call it with `EmulatorSettings` fields, e.g.
  ``emulator_factory(profile="relay", max_running=1)``, to get more started handles; every one is
  stopped at teardown. Defaults are the same as ``emulator``'s unless overridden.
- ``emulator_cache``: the render cache folder shared by the whole session, so identical clips
  render once.

Every test's Runner polls on `FAST_POLL` (the emulator's jobs take about a second, so the default
two-second first poll would be most of each test); kernels and Jupyter servers started by the tests
inherit the same policy through ``SORA_POLL_POLICY``. Tests of the polling policy itself build their
own `PollPolicy`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sora_widgets.api import PollPolicy, register_model, registered_models, unregister_model
from sora_widgets.emulator import EmulatorHandle, serve_in_thread
from sora_widgets.jobs import Runner

EmulatorFactory = Callable[..., EmulatorHandle]

FAST_POLL_TEXT = "first_delay=0.2,min_interval=0.1,tail_interval=0.25"
FAST_POLL = PollPolicy(first_delay=0.2, min_interval=0.1, tail_interval=0.25)


@pytest.fixture(scope="session", autouse=True)
def fast_polling() -> Iterator[None]:
    """The tests' seam on the Runner: a fast poll policy here and in every kernel started."""
    previous = os.environ.get("SORA_POLL_POLICY")
    os.environ["SORA_POLL_POLICY"] = FAST_POLL_TEXT
    Runner.configure(poll_policy=FAST_POLL)
    yield
    Runner.shutdown()
    if previous is None:
        os.environ.pop("SORA_POLL_POLICY", None)
    else:
        os.environ["SORA_POLL_POLICY"] = previous


@pytest.fixture(autouse=True)
def model_registry_as_found() -> Iterator[None]:
    """The model registry is process-global and xdist runs many tests per process: whatever a
    test registers, or learns from a gateway (`%sora models`, a gateway's price list), is undone
    when it ends, so no later test on the same worker finds it."""
    before = dict(registered_models())
    yield
    for name, spec in registered_models().items():
        if before.get(name) != spec:
            unregister_model(name)
    for name, spec in before.items():
        if registered_models().get(name) != spec:
            register_model(spec)


@pytest.fixture(scope="session")
def emulator_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache for the whole run, shared by the xdist workers (renders are written
    atomically and named by a hash of their inputs, so workers can share them safely)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "emulator-cache"
        shared.mkdir(exist_ok=True)
        return shared
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
