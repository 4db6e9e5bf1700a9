"""The watch runner's per-venue request budget (pm_mcp.execution.watches.RequestBudget): full at the start, then
no faster than its rate; a batch that costs more than one token (Kalshi bills batch items one by one) waits for
all of them. Each venue package declares its budget at half its documented limit."""

from __future__ import annotations

import time

import pytest

from pm_mcp.execution.watches import RequestBudget

pytestmark = pytest.mark.anyio


async def test_the_budget_spends_its_burst_then_keeps_to_its_rate():
    b = RequestBudget(5, 0.5)  # 5 requests per half second = 10/s
    t0 = time.monotonic()
    for _ in range(5):
        await b.take(1)
    assert time.monotonic() - t0 < 0.1  # the burst
    for _ in range(5):
        await b.take(1)
    assert time.monotonic() - t0 >= 0.45  # five more at 10/s
    await b.take(3)
    assert time.monotonic() - t0 >= 0.7
    assert b.spent_and_reset() == 13 and b.spent == 0


def test_each_venue_declares_half_its_documented_limit():
    from pm_mcp.venues.kalshi.client import POLL_BUDGET as K
    from pm_mcp.venues.manifold.client import POLL_BUDGET as M
    from pm_mcp.venues.polymarket.client import POLL_BUDGET as P

    assert P[0] / P[1] <= 300 / 10 / 2  # Gamma /markets 300 per 10 s (the tighter of the two it reads)
    assert K[0] / K[1] <= 20 / 2  # Basic tier: 20 reads a second
    assert M[0] / M[1] <= 500 / 60 / 2  # 500 a minute
