"""A false EQUIVALENT (QA, through the real server on the simulators' SYNTHETIC world): Polymarket's
"US recession in 2026?" (closes 2027-02-28) against Kalshi's "Will the US enter a recession in 2026?" (closes
2027-06-30) was called EQUIVALENT, "no source stated on either side". Which definition of a recession applies
(NBER's announcement, two quarters of falling GDP) is read on neither side, and the two close months apart:
a recession announced between the two dates pays on one market only. Never EQUIVALENT by default.
"""

from __future__ import annotations

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket", "kalshi", "manifold", world=True) as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket,kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "5"}


async def test_recession_markets_without_a_read_definition_are_not_equivalent(env):
    async with connect(env) as client:
        r = await client.call_tool("compare_rules", {"a": "polymarket:9920117", "b": "kalshi:KXRECSSNBER-26"})
        assert not r.is_error, r.content[0].text
        cmp, text = r.structured_content["comparison"], r.content[0].text
        assert cmp["verdict"] in ("uncertain", "not_equivalent"), text
        assert "EQUIVALENT" not in text.split("\n", 1)[0].replace("NOT EQUIVALENT", ""), text
        assert "the event itself decides" not in text, text
        details = " ".join(d["detail"] for d in cmp["differences"])
        # the source / measure is not read: the answer says what to check
        assert any(d["field"] in ("source", "unknown_field") and "source" in d["detail"] and d["core"]
                   for d in cmp["differences"]), text
        # the two markets close on different dates: both named, in words
        assert "February 28, 2027" in details and "June 30, 2027" in details, text
        assert text.startswith("Verdict: UNCERTAIN"), text

        # the same market against itself is still the same contract (the check is not "never equivalent")
        r = await client.call_tool("compare_rules", {"a": "polymarket:9920117", "b": "polymarket:9920117"})
        assert r.structured_content["comparison"]["verdict"] == "equivalent", r.content[0].text
