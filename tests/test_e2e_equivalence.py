"""Equivalence that knows what is being bet on, through the real server on the recorded markets.

Members of one Polymarket neg-risk event share their rule template (the candidate lives only in the question
and the member's label); Kalshi candidates of one event and strikes of one ladder share their rules; two
Manifold markets on consecutive FOMC meetings differ by the date alone. None of them is the same bet, and
the answer says why in plain words. Identical contracts (a market against its own rule text) still are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CORPUS = {e["id"]: e for e in json.loads((Path(__file__).parent / "fixtures/rules/corpus.json").read_text())}


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket", "kalshi", "manifold") as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket,kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def compare(client, **args) -> tuple[dict, str]:
    r = await client.call_tool("compare_rules", args)
    assert not r.is_error, r.content[0].text
    return r.structured_content["comparison"], r.content[0].text


def hard(cmp: dict, field: str) -> list[str]:
    return [d["detail"] for d in cmp["differences"] if d["severity"] == "hard" and d["field"] == field]


async def test_different_candidates_strikes_and_meetings_are_not_the_same_bet(env):
    async with connect(env) as client:
        # two members of the 2028 Democratic nomination neg-risk event (one rule template)
        cmp, text = await compare(client, a="559652", a_venue="polymarket", b="559659", b_venue="polymarket")
        assert cmp["verdict"] == "not_equivalent" and cmp["mapping"] == "unknown", text
        assert cmp["a_hash"] != cmp["b_hash"]
        assert any("Newsom" in d and "Whitmer" in d for d in hard(cmp, "subject")), text
        assert text.startswith("Verdict: NOT EQUIVALENT")

        # two Pope candidates on Kalshi
        cmp, text = await compare(client, a="KXNEWPOPE-70-PPAR", a_venue="kalshi", b="KXNEWPOPE-70-LANT",
                                  b_venue="kalshi")
        assert cmp["verdict"] == "not_equivalent", text
        assert any("Parolin" in d and "Tagle" in d for d in hard(cmp, "subject")), text

        # two strikes of one Kalshi ladder: cut 25 bps vs cut more than 25 bps
        cmp, text = await compare(client, a="KXFEDDECISION-26SEP-C25", a_venue="kalshi",
                                  b="KXFEDDECISION-26SEP-C26", b_venue="kalshi")
        assert cmp["verdict"] == "not_equivalent", text

        # consecutive FOMC meetings on Manifold (Sept. 16 vs Oct. 28, 2026)
        cmp, text = await compare(client, a="lqtROphAhp", a_venue="manifold", b="udAUupudlE", b_venue="manifold")
        assert cmp["verdict"] == "not_equivalent", text
        assert any("September" in d and "October" in d for d in hard(cmp, "period")), text

        # a Manifold October-meeting market against Kalshi's September ladder: named as months, not a threshold
        cmp, text = await compare(client, a="udAUupudlE", a_venue="manifold", b="KXFEDDECISION-26SEP-C25",
                                  b_venue="kalshi")
        assert cmp["verdict"] == "not_equivalent", text
        assert any("October" in d and "September" in d for d in hard(cmp, "period")), text

        # two pasted texts that differ only by the name
        cmp, text = await compare(client, a_text="Resolves YES if Alice wins the 2026 club chess championship.",
                                  b_text="Resolves YES if Bob wins the 2026 club chess championship.")
        assert cmp["verdict"] == "not_equivalent" and cmp["mapping"] == "unknown", text
        assert any("Alice" in d and "Bob" in d for d in hard(cmp, "subject")), text


async def test_identical_contracts_are_still_equivalent(env):
    async with connect(env) as client:
        tot = "KXEPLGAME-26MAR22TOTNFO-TOT"
        cmp, text = await compare(client, a=tot, a_venue="kalshi", b_text=CORPUS["kx-epl-tot"]["text"])
        assert cmp["verdict"] == "equivalent" and cmp["mapping"] == "same", text
        cmp, text = await compare(client, a="559652", a_venue="polymarket", b="559652", b_venue="polymarket")
        assert cmp["verdict"] == "equivalent", text
        # inverted wording of one contract: equivalent, YES on A is NO on B
        cmp, text = await compare(
            client,
            a_text="Resolves YES if US CPI inflation for November 2026, as published by the Bureau of Labor "
                   "Statistics, is below 3.0%.",
            b_text="Resolves YES if US CPI inflation for November 2026, as published by the Bureau of Labor "
                   "Statistics, is 3.0% or higher.")
        assert cmp["mapping"] == "inverted" and cmp["verdict"] != "not_equivalent", text


MATCH = ("This market refers to the Counter-Strike match between FaZe and illwill, scheduled for April 5 at 11:00AM "
         "ET.\n\nThis market will resolve to \"FaZe\" if FaZe win the match against illwill.\n\nThis market will "
         "resolve to \"illwill\" if illwill win the match against FaZe.\n\nIf the match is canceled, this market will "
         "resolve to 50-50. The resolution source for this market will be official information from https://hltv.org.")
NOMINATION_RULES = ("This market will resolve to \"Yes\" if Tom Steyer finishes in 1st place in the 2026 California "
                    "Governor primary election. Otherwise, this market will resolve to \"No\".")
ADVANCE_RULES = ("The top two candidates in this election by number of votes won will advance to the general election "
                 "for Governor of California. This market will resolve to \"Yes\" if Tom Steyer advances from the "
                 "2026 California Governor primary to the general election. Otherwise, this market will resolve to "
                 "\"No\".")


async def test_the_bet_is_an_outcome_and_what_counts_as_yes_is_read(env):
    async with connect(env) as client:
        # a market that settles to names has no YES of its own: UNCERTAIN until the outcome is named
        cmp, text = await compare(client, a_text=MATCH, b_text=MATCH)
        assert cmp["verdict"] == "uncertain" and "say which one is the bet" in text, text
        cmp, text = await compare(client, a_text=MATCH, b_text=MATCH, a_outcome="FaZe")
        assert cmp["verdict"] == "uncertain" and "B settles to named outcomes" in text, text
        # the two outcomes of one two-outcome market are each other's NO
        cmp, text = await compare(client, a_text=MATCH, b_text=MATCH, a_outcome="FaZe", b_outcome="illwill")
        assert cmp["verdict"] == "equivalent" and cmp["mapping"] == "inverted", text
        cmp, text = await compare(client, a_text=MATCH, b_text=MATCH, a_outcome="FaZe", b_outcome="FaZe")
        assert cmp["verdict"] == "equivalent" and cmp["mapping"] == "same", text
        # the NO side of the same binary contract flips the mapping
        cmp, text = await compare(client, a_text=NOMINATION_RULES, b_text=NOMINATION_RULES, b_outcome="No")
        assert cmp["mapping"] == "inverted", text
        # finishing first is not advancing (top two): a different bet, named as such
        cmp, text = await compare(client, a_text=NOMINATION_RULES, b_text=ADVANCE_RULES)
        assert cmp["verdict"] == "not_equivalent", text
        assert any("1st place" in d and "top-2" in d for d in hard(cmp, "quantity")), text
        # an outcome argument that is not plain text is refused, naming the argument
        r = await client.call_tool("compare_rules", {"a_text": MATCH, "b_text": MATCH, "a_outcome": "Fa\u202eZe"})
        assert r.is_error and "a_outcome" in r.content[0].text


# The Kalshi side of pair p013 (tests/fixtures/rules/pairs/pairs.json): SYNTHETIC, written for the corpus in Kalshi's
# style after the recorded Polymarket market 1812085 ("Russia x Ukraine ceasefire by end of 2027?"). It is put in
# the Kalshi simulator as a market of its own, so both sides go through the venues' clients and parsers.
CEASEFIRE_RULES = (
    "If Russia and Ukraine officially agree to a general ceasefire before Jan 1, 2028, then the market resolves to "
    "Yes.")
CEASEFIRE_SECONDARY = (
    "A ceasefire is a publicly announced, mutually agreed halt in military engagement that applies to the conflict "
    "generally; an agreement counts once it is reached, even if the ceasefire starts later. Partial ceasefires (for "
    "example covering only energy infrastructure or the Black Sea), humanitarian pauses and informal agreements do "
    "not count. The market resolves on official announcements by Russia and Ukraine or a consensus of credible "
    "media reporting.")


def _plant_ceasefire(kalshi, ticker: str, year: int) -> None:
    from tools.sim.kalshi import add_market

    base = dict(kalshi.state["markets"]["KXELONMARS-99"])
    event = f"{ticker}-EV"
    base.update(ticker=ticker, event_ticker=event, title=f"Will Russia and Ukraine agree to a ceasefire before "
                f"{year + 1}?", yes_sub_title=f"Before {year + 1}", no_sub_title=f"Before {year + 1}",
                rules_primary=CEASEFIRE_RULES.replace("2028", str(year + 1)), rules_secondary=CEASEFIRE_SECONDARY,
                close_time=f"{year}-12-31T23:59:00Z", early_close_condition="")
    add_market(kalshi, base, event={"event_ticker": event, "series_ticker": "KXCEASEFIRE", "mutually_exclusive": False,
                                    "title": base["title"], "sub_title": f"Before {year + 1}", "category": "World",
                                    "settlement_sources": []})


async def test_the_same_bet_on_two_venues_is_equivalent_and_look_alikes_are_not(pm_env):
    with start_sims("polymarket", "kalshi", "manifold") as group:
        _plant_ceasefire(group["kalshi"], "KXCEASEFIRE-27", 2027)
        _plant_ceasefire(group["kalshi"], "KXCEASEFIRE-26", 2026)  # a year earlier: another deadline
        env = {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket,kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "3"}
        async with connect(env) as client:
            # the recorded Polymarket ceasefire market and its Kalshi counterpart: the same bet
            cmp, text = await compare(client, a="1812085", a_venue="polymarket", b="KXCEASEFIRE-27", b_venue="kalshi")
            assert cmp["verdict"] == "equivalent" and cmp["mapping"] == "same", text
            assert text.startswith("Verdict: EQUIVALENT")
            # what differs outside the normal case comes first, in words
            assert text.splitlines()[1].startswith("Same bet in the normal case") and "Kalshi" in text.splitlines()[1]
            assert cmp["edge"].startswith("Same bet in the normal case"), text
            # who settles it differs, and the answer says so (listed, not blocking)
            assert any(d["field"] == "oracle" and not d["core"] for d in cmp["differences"]), text
            assert not [d for d in cmp["differences"] if d["core"] and d["severity"] != "info"], text
            # the same words with another year: not the same bet
            cmp, text = await compare(client, a="1812085", a_venue="polymarket", b="KXCEASEFIRE-26", b_venue="kalshi")
            assert cmp["verdict"] == "not_equivalent", text
            # recorded near-misses across venues: another meeting, another strike
            cmp, text = await compare(client, a="udAUupudlE", a_venue="manifold", b="KXFEDDECISION-26SEP-C25",
                                      b_venue="kalshi")
            assert cmp["verdict"] == "not_equivalent", text
            cmp, text = await compare(client, a="lqtROphAhp", a_venue="manifold", b="KXFEDDECISION-26SEP-H25",
                                      b_venue="kalshi")
            assert cmp["verdict"] == "not_equivalent", text
            cmp, text = await compare(client, a="lqtROphAhp", a_venue="manifold", b="KXFEDDECISION-26SEP-C25",
                                      b_venue="kalshi")
            assert cmp["verdict"] != "equivalent", text  # "at least 25" is not "exactly 25"
