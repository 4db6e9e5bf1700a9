"""End-to-end: the assistant's reading of a market's rules, verified and stored by the real `pm-mcp` process (official
MCP client, the Polymarket simulator on 127.0.0.1), changes what assess_market and compare_rules answer; a rejected
reading stores nothing; a changed rule text retires the stored reading."""

from __future__ import annotations

import pytest

from conftest import connect
from tools.sim import start_sims
from tools.sim.control import set_rules

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
# SYNTHETIC rule text for the recorded market: a source the parser has no cue for, a moment that is not fixed,
# a deadline without a time of day (clarity 0.85; the source is not read, so the tier cap is lowered to low)
RULES = ('This market will resolve to "Yes" if Gavin Newsom is the nominee that the Democratic National Convention '
         'confirms for the 2028 presidential election. Otherwise it resolves to "No". The market closes on '
         'August 31, 2028. The nomination counts once it is official.')
# the same contract with the source named the way the parser knows
RULES_B = RULES.replace("the nominee that the Democratic National Convention confirms",
                        "the nominee, according to the Democratic National Convention,")
READING = [
    {"field": "source", "quote": "the Democratic National Convention", "value": "Democratic National Convention"},
    {"field": "vague_phrase", "quote": "once it is official", "value": "unfixed_moment: confirmed? certified?"},
    {"field": "deadline", "quote": "August 31, 2028", "value": "2028-08-31"},
]
MKT = {"market": NEWSOM, "venue": "polymarket"}


@pytest.fixture
def sims():
    with start_sims("polymarket") as group:
        set_rules(group["polymarket"], NEWSOM, RULES)
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def ok(client, tool, args):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def err(client, tool, args) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


def _source_unknown(cmp: dict) -> bool:
    # unknown, or inferred from the other side (compare_rules reads the body A's text names as B's source)
    return any((d["field"] == "unknown_field" and "source" in d["detail"]) or
               (d["field"] == "source" and "names the same body" in d["detail"]) for d in cmp["differences"])


async def test_a_verified_reading_changes_assess_market_and_compare_rules(env, sims):
    async with connect(env) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        t = tools["submit_reading"]
        assert len(t.description) <= 600 and t.annotations.read_only_hint is False
        before, before_text = await ok(client, "assess_market", MKT)
        card = before["scorecard"]
        assert card["clarity"] == 0.85 and "resolution source" in before["analysis"]["review"]
        assert card["tier_cap"]["max_tier"] == "low" and "Verified reading" not in before_text
        sized, _ = await ok(client, "size_position", {**MKT, "p": "0.45", "side": "yes",
                                                      "method": "confidence_tiers", "confidence": "high"})
        assert "'low'" in sized["tier_cap"]
        before_stake = sized["stake_usd"]
        cmp_before, _ = await ok(client, "compare_rules", {"a": NEWSOM, "a_venue": "polymarket", "b_text": RULES_B})
        assert _source_unknown(cmp_before["comparison"])

        # rejected readings store nothing: an invented quote, a date that contradicts its quote, a wrong offset
        msg = await err(client, "submit_reading", {**MKT, "reading": [READING[0], {
            "field": "source", "quote": "the Associated Press", "value": "AP"}]})
        assert "item 2 (source)" in msg and "not in the rule text or the title" in msg and "nothing stored" in msg
        msg = await err(client, "submit_reading", {**MKT, "reading": [{
            "field": "deadline", "quote": "August 31, 2028", "value": "2028-09-01"}]})
        assert "item 1 (deadline)" in msg and "contradicts its quote" in msg and "2028-08-31" in msg
        msg = await err(client, "submit_reading", {**MKT, "reading": [{**READING[0], "at": 10_000}]})
        assert "past the end" in msg
        msg = await err(client, "submit_reading", {**MKT, "reading": [{"field": "odds", "quote": "the nominee"}]})
        assert "reading" in msg and "odds" in msg
        same, _ = await ok(client, "assess_market", MKT)
        assert same["scorecard"]["clarity"] == 0.85

        out, text = await ok(client, "submit_reading", {**MKT, "reading": READING})
        verdicts = [i["verdict"] for i in out["reading"]["items"]]
        assert verdicts == ["adds", "adds", "agree"] and out["stored"] is True
        # the source given back (+0.10), the vague phrase charged (-0.15): clarity falls, the tier cap rises
        assert out["clarity_before"] == 0.85 and out["clarity_after"] == 0.8
        span = out["reading"]["items"][0]["span"]
        assert RULES[span["start"]:span["end"]] == READING[0]["quote"] and span["part"] == "rules"
        assert "source [adds]" in text and "0.85 -> 0.8" in text

        after, after_text = await ok(client, "assess_market", MKT)
        card = after["scorecard"]
        assert card["clarity"] == 0.8 and card["tier_cap"]["max_tier"] == "medium"
        # sizing caps the tier with the same reading
        sized, sized_text = await ok(client, "size_position", {**MKT, "p": "0.45", "side": "yes",
                                                                "method": "confidence_tiers", "confidence": "high"})
        assert "'medium'" in sized["tier_cap"] and sized["stake_usd"] != before_stake, sized_text
        assert "verified reading" in sized_text
        assert "resolution source" not in after["analysis"]["review"]
        assert any("once it is official" in r for r in after["analysis"]["review"])
        assert "Democratic National Convention" in [i["name"] for i in after["analysis"]["sources"]["items"]]
        assert "Verified reading: source [adds]" in after_text and "settlement clarity 0.8" in after_text
        cmp_after, cmp_text = await ok(client, "compare_rules", {"a": NEWSOM, "a_venue": "polymarket",
                                                                 "b_text": RULES_B})
        assert not _source_unknown(cmp_after["comparison"])
        assert cmp_after["a"]["clarity"] == 0.8 and "A verified reading: source [adds]" in cmp_text

        # a disagreement: the reading quotes another clause as the condition; shown as review, never chosen
        out, text = await ok(client, "submit_reading", {**MKT, "reading": [
            *READING, {"field": "condition", "quote": "The nomination counts once it is official"}]})
        assert out["reading"]["items"][-1]["verdict"] == "review" and "REVIEW" in text
        after, after_text = await ok(client, "assess_market", MKT)
        assert after["scorecard"]["clarity"] == 0.7
        assert any(r.startswith("condition: the verified reading says") for r in after["analysis"]["review"])
        assert after["analysis"]["condition"]["yes_span"]["quote"] == cmp_before["a"]["condition"]["yes_span"]["quote"]
        assert "condition [REVIEW]" in after_text
        cmp_rev, _ = await ok(client, "compare_rules", {"a": NEWSOM, "a_venue": "polymarket", "b_text": RULES_B})
        assert any(d["detail"].startswith("A: the verified reading says") for d in cmp_rev["comparison"]["differences"])

        # the venue changes the rules: the stored reading no longer applies
        set_rules(sims["polymarket"], NEWSOM, RULES.replace("August 31, 2028", "September 30, 2028"))
        changed, changed_text = await ok(client, "assess_market", MKT)
        assert changed["scorecard"]["clarity"] == 0.85
        assert "earlier version of these rules" in changed_text and "submit_reading again" in changed_text
