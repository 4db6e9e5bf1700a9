"""A game priced on two venues, through the real server: Polymarket names the teams by nickname and settles to
them ("Seahawks" / "Cowboys"), Kalshi lists one market per team by city ("Seattle"). The texts are the recorded
pair p026 of tests/fixtures/rules/pairs/pairs.json (dev split; both from tests/fixtures/rules/heldout/heldout.json,
ids pm-nfl-sea-dal and kx-nfl-sea-dal), planted in the simulators as markets of their own so both sides go through
the venues' clients and parsers. The same team is the same bet, the other team its inverse, another game date is
not the same bet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

HELD = {e["id"]: e for e in json.loads((Path(__file__).parent / "fixtures/rules/heldout/heldout.json").read_text())}


def _plant_polymarket(pm) -> None:
    from tools.sim.polymarket import add_market, load

    m = load("gamma_market_sports_moneyline_closed.json")
    m.update(id="9900026", slug="nfl-sea-dal-2026-08-15", question="Seahawks vs. Cowboys", groupItemTitle="",
             description=HELD["pm-nfl-sea-dal"]["text"], outcomes='["Seahawks", "Cowboys"]',
             outcomePrices='["0.55", "0.45"]', clobTokenIds='["99000260001", "99000260002"]',
             conditionId="0x" + "26" * 32, questionID="0x" + "62" * 32, closed=False, active=True,
             acceptingOrders=True, endDate="2026-08-16T03:00:00Z", endDateIso="2026-08-16", resolutionSource="",
             events=None, sportsMarketType="moneyline")
    add_market(pm, m)


def _plant_kalshi(kalshi, ticker: str, day: str) -> None:
    from tools.sim.kalshi import add_market

    primary, secondary = HELD["kx-nfl-sea-dal"]["text"].split("\n\n", 1)
    base = dict(kalshi.state["markets"]["KXELONMARS-99"])
    event = ticker.rsplit("-", 1)[0]
    base.update(ticker=ticker, event_ticker=event, title="Dallas vs Seattle Winner?", yes_sub_title="Seattle",
                no_sub_title="Seattle", rules_primary=primary.replace("Aug 15, 2026", day),
                rules_secondary=secondary.replace("Aug 15, 2026", day), close_time="2026-08-30T03:00:00Z",
                early_close_condition="")
    add_market(kalshi, base, event={"event_ticker": event, "series_ticker": "KXNFLGAME", "mutually_exclusive": True,
                                    "title": base["title"], "sub_title": day, "category": "Sports",
                                    "settlement_sources": []})


async def compare(client, **args) -> tuple[dict, str]:
    r = await client.call_tool("compare_rules", args)
    assert not r.is_error, r.content[0].text
    return r.structured_content["comparison"], r.content[0].text


def _only_the_unread_source_blocks(cmp: dict) -> bool:
    blocking = [d for d in cmp["differences"] if d["core"] and d["severity"] != "info"]
    return [d["field"] for d in blocking] == ["source"] and "no source stated on either side" in blocking[0]["detail"]


async def test_one_game_by_nickname_and_by_city_is_one_bet_and_the_other_team_its_inverse(pm_env):
    with start_sims("polymarket", "kalshi") as group:
        _plant_polymarket(group["polymarket"])
        _plant_kalshi(group["kalshi"], "KXNFLGAME-26AUG15DALSEA-SEA", "Aug 15, 2026")
        _plant_kalshi(group["kalshi"], "KXNFLGAME-26AUG22DALSEA-SEA", "Aug 22, 2026")  # another game date
        env = {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket,kalshi", "PM_MCP_HTTP_TIMEOUT_S": "3"}
        async with connect(env) as client:
            sea = dict(a="9900026", a_venue="polymarket", b="KXNFLGAME-26AUG15DALSEA-SEA", b_venue="kalshi")
            # the same game and the right mapping; but neither side says who decides the result, so UNCERTAIN
            # for that alone (never EQUIVALENT by default), and the answer says what to check
            cmp, text = await compare(client, **sea, a_outcome="Seahawks")
            assert cmp["verdict"] == "uncertain" and cmp["mapping"] == "same", text
            assert _only_the_unread_source_blocks(cmp), text
            cmp, text = await compare(client, **sea, a_outcome="Cowboys")
            assert cmp["verdict"] == "uncertain" and cmp["mapping"] == "inverted", text
            assert _only_the_unread_source_blocks(cmp), text
            # what differs off the normal path is listed (postponement, tie), not hidden
            assert any(d["field"] == "edge_case" for d in cmp["differences"]), text
            # no outcome named on the side that settles to names: not read as either
            cmp, text = await compare(client, **sea)
            assert cmp["verdict"] == "uncertain", text
            # the same teams a week later: another game
            cmp, text = await compare(client, a="9900026", a_venue="polymarket", b="KXNFLGAME-26AUG22DALSEA-SEA",
                                      b_venue="kalshi", a_outcome="Seahawks")
            assert cmp["verdict"] == "not_equivalent", text
