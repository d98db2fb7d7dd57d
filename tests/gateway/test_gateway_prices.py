"""The gateway's own price list (LiteLLM's /model/info) prices what the kit cannot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sora_widgets.api import ValidationError
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import JobStatus, Runner, generate, plan

from ..conftest import FAST_POLL
from ._stack import HOUSE_MODEL
from .conftest import Gateway


def test_a_model_only_the_gateway_prices_gets_the_gateways_price(
    gateway: Gateway, tmp_path: Path
) -> None:
    Runner.configure(poll_policy=FAST_POLL)  # a fresh Runner: no price list read yet
    settings = resolve_settings(
        base_url=gateway.base_url,
        api_key=gateway.master_key,
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        max_spend=50.0,
    )
    with pytest.raises(ValidationError, match="unknown"):  # nothing read yet: unpriced
        plan("a lantern", model=HOUSE_MODEL, size="1280x720", seconds=4, settings=settings)
    first = generate("a lantern", size="1280x720", seconds=4, settings=settings, wait=True)
    assert first.status == JobStatus.COMPLETED  # the first create on the gateway reads its list
    deadline = time.monotonic() + 30
    while True:
        try:
            priced = plan(
                "a lantern", model=HOUSE_MODEL, size="1280x720", seconds=4, settings=settings
            )
            break
        except ValidationError:
            assert time.monotonic() < deadline, "the gateway's price list was never read"
            time.sleep(0.1)
    assert priced.unit_cost == pytest.approx(0.6) and priced.cost_source == "gateway"
    job = generate("a lantern", model=HOUSE_MODEL, size="1280x720", seconds=4, settings=settings)
    job.wait(120)
    assert job.status == JobStatus.COMPLETED
    assert job.cost == pytest.approx(0.6)
