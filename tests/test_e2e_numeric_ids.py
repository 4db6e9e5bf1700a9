"""Inputs as clients send them: a Polymarket id sent as a JSON number (the MCP Inspector CLI does this) is the
id it stands for, on every tool that takes a market, an order or an intent reference (real server,
Polymarket simulator with its recorded markets)."""

from __future__ import annotations

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = 559652


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket") as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket"}


async def test_numeric_ids_are_accepted(env):
    async with connect(env) as client:
        for tool, args in [("get_market", {"market": NEWSOM, "venue": "polymarket"}),
                           ("parse_rules", {"market": NEWSOM, "venue": "polymarket"}),
                           ("assess_market", {"market": NEWSOM, "venue": "polymarket"}),
                           ("compare_rules", {"a": NEWSOM, "a_venue": "polymarket", "b": NEWSOM,
                                              "b_venue": "polymarket"}),
                           ("find_arbitrage", {"markets": [NEWSOM], "kinds": ["yes_no"]})]:
            r = await client.call_tool(tool, args)
            assert not r.is_error, (tool, r.content[0].text)
        r = await client.call_tool("get_order", {"ref": 12345})
        assert r.is_error and "'12345'" in r.content[0].text and "validation" not in r.content[0].text.lower()
        # a number where a number belongs is untouched, and a wrong type still gets a readable error
        r = await client.call_tool("size_position", {"p": 0.6, "price": 0.45})
        assert not r.is_error, r.content[0].text
        r = await client.call_tool("get_market", {"market": {"id": NEWSOM}})
        assert r.is_error and "market" in r.content[0].text
