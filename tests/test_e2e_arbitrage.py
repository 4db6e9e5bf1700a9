"""End to end through the real pm-mcp process and the official MCP client, against the Polymarket
simulator with a Dutch book planted in synthetic books (routes/books added from this test; the
recorded fixtures are untouched):

find_arbitrage -> propose_bundle -> confirm_order (the person accepts in the elicitation dialog)
-> paper fills of every leg -> get_portfolio shows a position that pays the same in every outcome.
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from conftest import connect

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

EVENT_ID = "990001"
SLUG = "planted-dutch-book-2026"
MEMBERS = [  # (market id, name, yes token, no token, YES asks best-first, YES bids best-first)
    ("990011", "Alice", "71000000000000000000000000000000000000000000000000000000000000000001",
     "71000000000000000000000000000000000000000000000000000000000000000002",
     [("0.30", "100"), ("0.35", "200")], [("0.27", "100")]),
    ("990012", "Bob", "71000000000000000000000000000000000000000000000000000000000000000003",
     "71000000000000000000000000000000000000000000000000000000000000000004",
     [("0.30", "50"), ("0.32", "100")], [("0.28", "100")]),
    ("990013", "Other", "71000000000000000000000000000000000000000000000000000000000000000005",
     "71000000000000000000000000000000000000000000000000000000000000000006",
     [("0.30", "80"), ("0.40", "100")], [("0.25", "100")]),
]


def _plant(sim, *, fee_rate: str | None = None, event_id: str = EVENT_ID, slug: str = SLUG, augmented=False):
    from tools.sim.polymarket import add_market, set_book

    event = {"id": event_id, "slug": slug, "ticker": slug, "title": "Who wins the planted race?",
             "description": "Exactly one of the named outcomes resolves Yes; 'Other' covers anyone else.",
             "active": True, "closed": False, "negRisk": True, "enableNegRisk": True,
             "negRiskAugmented": augmented, "endDate": "2026-12-31T00:00:00Z", "tags": []}
    for mid, name, yes, no, asks, bids in MEMBERS:
        mid = f"{mid}{event_id[-1]}" if event_id != EVENT_ID else mid
        market = {
            "id": mid, "question": f"Will {name} win the planted race?", "slug": f"{slug}-{name.lower()}",
            "conditionId": "0x" + mid.rjust(64, "0"), "groupItemTitle": name,
            "description": f"This market resolves to \"Yes\" if {name} wins the planted race, announced by the "
                           "organiser on https://example.org/results by December 31, 2026. Otherwise \"No\".",
            "endDate": "2026-12-31T00:00:00Z", "outcomes": json.dumps(["Yes", "No"]),
            "outcomePrices": json.dumps([asks[0][0], str(1 - D(asks[0][0]))]),
            "clobTokenIds": json.dumps([yes + event_id[-1], no + event_id[-1]]),
            "active": True, "closed": False, "acceptingOrders": True, "enableOrderBook": True,
            "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": True,
            "negRiskMarketID": "0x" + event_id.rjust(64, "0"), "bestBid": float(bids[0][0]),
            "bestAsk": float(asks[0][0]), "updatedAt": "2026-09-01T00:00:00Z",
            "feesEnabled": fee_rate is not None,
            **({"feeSchedule": {"exponent": 1, "rate": float(fee_rate), "takerOnly": True, "rebateRate": 0}}
               if fee_rate is not None else {}),
        }
        add_market(sim, market, event)
        set_book(sim, yes + event_id[-1], bids, asks, market=market["conditionId"], neg_risk=True)
        # the NO token's book mirrors the YES book (NO ask = 1 - YES bid, NO bid = 1 - YES ask)
        set_book(sim, no + event_id[-1], [(str(1 - D(p)), s) for p, s in asks],
                 [(str(1 - D(p)), s) for p, s in bids], market=market["conditionId"], neg_risk=True)


async def _accept(context, params):
    from mcp.types import ElicitRequestURLParams, ElicitResult

    _accept.asked.append(params.message)
    if isinstance(params, ElicitRequestURLParams):
        return ElicitResult(action="accept")
    return ElicitResult(action="accept", content={"approve": True})


async def test_dutch_book_found_proposed_confirmed_filled_and_hedged(pm_env):
    from tools.sim import start_sim

    _accept.asked = []
    with start_sim("polymarket") as sim:
        _plant(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_CONFIRM": "auto"}
        async with connect(env, elicitation_callback=_accept) as client:
            progress: list[tuple[float, float | None, str | None]] = []

            async def on_progress(p, total, message):
                progress.append((p, total, message))

            r = await client.call_tool("find_arbitrage", {"markets": [SLUG], "kinds": ["dutch_book"]},
                                       progress_callback=on_progress)
            assert not r.is_error, r.content[0].text
            text = r.content[0].text
            out = r.structured_content
            assert out["total"] == 1, text
            opp = out["opportunities"][0]
            # the merged walk by hand (see tests/test_arbitrage.py::planted): best at 80, capacity 150
            assert opp["kind"] == "dutch_book" and opp["risk_free"] is True, text
            assert D(opp["size"]) == 80 and D(opp["capacity"]) == 150
            assert D(opp["profit"]) == D("7.4") and D(opp["cost"]) == D("72.6")
            assert {leg["market_title"] for leg in opp["legs"]} == {
                f"Will {n} win the planted race?" for _, n, *_ in MEMBERS}
            assert "RISK-FREE" in text and opp["id"] in text and "propose_bundle" in text
            assert progress and progress[-1][0] == progress[-1][1]  # books fetched, reported to the end

            r = await client.call_tool("propose_bundle", {"opportunity_id": opp["id"]})
            assert not r.is_error, r.content[0].text
            b = r.structured_content
            assert D(b["expected_profit"]) == D("7.4") and D(b["size"]) == 80
            intent = b["intent"]
            assert intent["status"] == "proposed" and len(intent["legs"]) == 3
            # proven risk-free: no confidence tier holds it ($72.60 is over every tier's cap of a $1,000 bankroll);
            # the policy caps do (pm_mcp.domain.discipline)
            assert not intent["tier_cap"]["applies"] and "risk-free" in intent["tier_cap"]["reason"], intent
            assert D(str(intent["worst_case_cost"])) > D("35") and intent["policy_ok"]
            assert all(leg["side"] == "buy" and D(leg["size"]) == 80 for leg in intent["legs"])
            # thinnest leg first: at its limit 0.30 Other's book holds exactly 80 (no spare depth),
            # Alice's 100 at 0.30, Bob's 150 up to 0.32
            assert [leg["market_title"].split()[1] for leg in intent["legs"]] == ["Other", "Alice", "Bob"]
            assert "confirm_order" in r.content[0].text

            r = await client.call_tool("confirm_order", {"intent_id": intent["intent_id"]})
            assert not r.is_error, r.content[0].text
            assert len(_accept.asked) == 1  # one dialog for the whole bundle
            done = r.structured_content
            assert done["intent"]["status"] == "executed", r.content[0].text
            orders = done["orders"]
            assert len(orders) == 3 and all(D(o["filled_size"]) == 80 for o in orders)

            r = await client.call_tool("get_portfolio", {})
            assert not r.is_error, r.content[0].text
            positions = [p for p in r.structured_content["positions"] if p["event_id"] == EVENT_ID]
            held = {p["market_id"]: D(p["size"]) for p in positions if p["outcome"] == "Yes"}
            assert held == {"990011": D(80), "990012": D(80), "990013": D(80)}
            cost = sum(D(p["cost_basis"]) for p in positions)
            assert cost == D("72.6")
            # simulate each outcome resolving: exactly one YES pays $1 a share
            for winner in held:
                payoff = sum(size for mid, size in held.items() if mid == winner)
                assert payoff == D(80)
                assert payoff - cost == D("7.4")


async def test_fees_that_remove_the_edge_and_augmented_sets(pm_env):
    from tools.sim import start_sim

    with start_sim("polymarket") as sim:
        # a 0.50 taker fee rate: about 0.5 x 0.3 x 0.7 = 0.105 per share on each of 3 legs > the 0.10 edge
        _plant(sim, fee_rate="0.5")
        _plant(sim, event_id="990002", slug="planted-augmented", augmented=True)
        env = {**pm_env, **sim.env()}
        async with connect(env) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [SLUG], "kinds": ["dutch_book"]})
            assert not r.is_error, r.content[0].text
            assert r.structured_content["total"] == 0
            assert "No opportunity survives fees" in r.content[0].text
            # an augmented neg-risk set is not proven exhaustive: buying every YES is not a Dutch book
            r = await client.call_tool("find_arbitrage", {"markets": ["planted-augmented"], "kinds": ["dutch_book"]})
            out = r.structured_content
            assert out["total"] == 0 and "No opportunity" in r.content[0].text, r.content[0].text
            # asked for as a basket it is shown, worst case first, never as profit
            r = await client.call_tool("find_arbitrage", {"markets": ["planted-augmented"], "kinds": ["basket"]})
            out, text = r.structured_content, r.content[0].text
            assert out["total"] == 1, text
            opp = out["opportunities"][0]
            assert opp["kind"] == "basket" and opp["risk_free"] is False and float(opp["profit"]) < 0
            line = next(ln for ln in text.splitlines() if ln.startswith("1. "))
            assert "NOT arbitrage" in line and "only if one of these 3 wins" in line and "loses" in line, line
            assert "profit" not in line.lower()
            # an unknown opportunity id and a bad cursor are readable errors, and the server stays up
            r = await client.call_tool("propose_bundle", {"opportunity_id": "du-nope"})
            assert r.is_error and "find_arbitrage" in r.content[0].text
            r = await client.call_tool("find_arbitrage", {"cursor": "garbage"})
            assert r.is_error and "cursor" in r.content[0].text
            r = await client.call_tool("find_arbitrage", {"markets": [SLUG], "kinds": ["dutch_book"]})
            assert not r.is_error


async def test_scan_all_kinds_finds_a_tail_trade_with_its_flags(pm_env):
    from datetime import UTC, datetime, timedelta

    from tools.sim import start_sim
    from tools.sim.polymarket import add_market, set_book

    end = (datetime.now(UTC) + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    yes, no = "72000000000000000000000000000000000000000000000000000000000000000001", \
        "72000000000000000000000000000000000000000000000000000000000000000002"
    tail = {"id": "991001", "question": "Will the planted incumbent keep the seat?", "slug": "planted-incumbent",
            "conditionId": "0x" + "991001".rjust(64, "0"),
            "description": "Resolves Yes if the incumbent keeps the seat, based on credible reporting, by the "
                           "end date. Otherwise No.",
            "endDate": end, "outcomes": json.dumps(["Yes", "No"]), "outcomePrices": json.dumps(["0.97", "0.03"]),
            "clobTokenIds": json.dumps([yes, no]), "active": True, "closed": False, "acceptingOrders": True,
            "enableOrderBook": True, "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": False,
            "bestBid": 0.96, "bestAsk": 0.97, "feesEnabled": False, "updatedAt": "2026-09-01T00:00:00Z"}
    with start_sim("polymarket") as sim:
        _plant(sim)
        add_market(sim, tail, {"id": "991000", "slug": "planted-incumbent-ev", "title": "Planted incumbent",
                               "negRisk": False, "active": True, "closed": False, "endDate": end})
        set_book(sim, yes, [("0.96", "300")], [("0.97", "200"), ("0.98", "100")])
        set_book(sim, no, [("0.03", "200")], [("0.04", "300")])
        env = {**pm_env, **sim.env()}
        async with connect(env) as client:
            r = await client.call_tool("find_arbitrage", {"query": "planted", "limit": 1})
            assert not r.is_error, r.content[0].text
            out = r.structured_content
            kinds = {o["kind"] for o in out["opportunities"]}
            assert out["total"] >= 2 and kinds == {"dutch_book"}  # risk-free first
            assert out["next_cursor"]
            r = await client.call_tool("find_arbitrage", {"cursor": out["next_cursor"], "limit": 5})
            rest = r.structured_content["opportunities"]
            (t,) = [o for o in rest if o["kind"] == "resolution"]
            assert t["risk_free"] is False and D(t["size"]) == 300
            assert t["payoff_by_state"] == {"as priced": "300.00", "upset": "0"}
            assert any("credible" in f for f in t["flags"]) and t["flags"][0].startswith("tail_risk")
            assert 5 < D(t["days_to_resolution"]) <= 6 and D(t["annualised_return"]) > 0


async def test_partly_filled_leg_stops_the_bundle_and_reports_the_exposure(pm_env):
    from tools.sim import start_sim
    from tools.sim.polymarket import set_book

    _accept.asked = []
    with start_sim("polymarket") as sim:
        _plant(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_CONFIRM": "auto"}
        async with connect(env, elicitation_callback=_accept) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [SLUG], "kinds": ["dutch_book"]})
            opp = r.structured_content["opportunities"][0]
            r = await client.call_tool("propose_bundle", {"opportunity_id": opp["id"]})
            intent = r.structured_content["intent"]
            assert [leg["market_title"].split()[1] for leg in intent["legs"]] == ["Other", "Alice", "Bob"]
            # before the person confirms, most of Alice's cheap asks are taken by someone else
            _, _, yes, _, _, bids = MEMBERS[0]
            set_book(sim, yes + EVENT_ID[-1], bids, [("0.30", "50"), ("0.45", "500")], neg_risk=True)
            r = await client.call_tool("confirm_order", {"intent_id": intent["intent_id"]})
            assert not r.is_error, r.content[0].text
            done = r.structured_content
            assert done["intent"]["status"] == "failed", r.content[0].text
            reason = done["intent"]["reason"]
            assert "stopped after leg 2" in reason and "exposure" in reason
            filled = {o["market_title"].split()[1]: D(o["filled_size"]) for o in done["orders"]}
            assert filled == {"Other": D(80), "Alice": D(50)}  # Bob's leg was never sent
            r = await client.call_tool("get_portfolio", {})
            held = {p["market_id"]: D(p["size"]) for p in r.structured_content["positions"]
                    if p["event_id"] == EVENT_ID}
            assert held == {"990013": D(80), "990011": D(50)}


async def test_kalshi_three_way_game_dutch_book_with_kalshi_fees(pm_env):
    """The recorded Kalshi EPL event (home / tie / away, mutually exclusive), re-dated into the future
    and given planted books: Kalshi sends bids only, so YES asks are derived from NO bids; whole
    contracts; the taker fee is rounded up to the cent per order."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from tools.sim import start_sim
    from tools.sim.kalshi import add_market, set_book

    recorded = json.loads((Path(__file__).parent / "fixtures" / "kalshi" /
                           "markets_array_epl_event_2026-03.json").read_text())
    close = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event_ticker = "KXEPLGAME-PLANTED"
    event = {"event_ticker": event_ticker, "series_ticker": "KXEPLGAME", "title": "Tottenham vs Nottingham Winner?",
             "sub_title": "Planted", "mutually_exclusive": True, "category": "Sports", "collateral_return_type": "MECNET"}
    # NO bids .64 / .75 / .70 -> YES asks .36 / .25 / .30 = 0.91
    no_bid = {"TOT": "0.64", "TIE": "0.75", "NFO": "0.70"}
    with start_sim("kalshi") as sim:
        for m in recorded:
            side = m["ticker"].rsplit("-", 1)[1]
            m = {**m, "ticker": f"{event_ticker}-{side}", "event_ticker": event_ticker, "close_time": close,
                 "expected_expiration_time": close, "expiration_time": close, "latest_expiration_time": close,
                 "status": "active", "yes_ask_dollars": str(1 - D(no_bid[side])), "no_bid_dollars": no_bid[side]}
            add_market(sim, m, event)
            set_book(sim, m["ticker"], [("0.20", "100")], [(no_bid[side], "100"), ("0.50", "100")])
        env = {**pm_env, **sim.env(), "PM_MCP_CONFIRM": "auto"}
        _accept.asked = []
        async with connect(env, elicitation_callback=_accept) as client:
            r = await client.call_tool("find_arbitrage", {"markets": [event_ticker], "kinds": ["dutch_book"]})
            assert not r.is_error, r.content[0].text
            out = r.structured_content
            assert out["total"] == 1, r.content[0].text
            opp = out["opportunities"][0]
            # after 100 every YES ask is 0.50: the profit stays positive up to 108 contracts (0.17 at 108)
            assert opp["risk_free"] is True and D(opp["size"]) == 100 and D(opp["capacity"]) == 108, r.content[0].text
            assert D(opp["profit_at_capacity"]) == D("0.17")
            # fees: ceil-to-cent(0.07 x 100 x p(1-p)) = 1.62 + 1.32 + 1.47
            assert D(opp["fees"]) == D("4.41") and D(opp["profit"]) == D(100) - D(91) - D("4.41")
            assert all(leg["derived_book"] for leg in opp["legs"])
            r = await client.call_tool("propose_bundle", {"opportunity_id": opp["id"]})
            assert not r.is_error, r.content[0].text
            r = await client.call_tool("confirm_order", {"intent_id": r.structured_content["intent"]["intent_id"]})
            assert not r.is_error, r.content[0].text
            done = r.structured_content
            assert done["intent"]["status"] == "executed", r.content[0].text
            assert sorted(D(o["filled_size"]) for o in done["orders"]) == [100, 100, 100]
            assert sum(D(o["fees_paid"]) for o in done["orders"]) == D("4.41")


async def test_cross_venue_same_contract_is_priced_but_flagged_for_different_oracles(pm_env):
    """A Polymarket and a Kalshi market that ask the same CPI question: matched by title, checked by
    compare_rules; same terms -> an opportunity, but UMA vs Kalshi settlement is flagged and the
    opportunity is never called risk-free."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from tools.sim import start_sims
    from tools.sim.kalshi import add_market as kalshi_add
    from tools.sim.kalshi import set_book as kalshi_book
    from tools.sim.polymarket import add_market as poly_add
    from tools.sim.polymarket import set_book as poly_book

    close = datetime.now(UTC) + timedelta(days=40)
    end = close.strftime("%Y-%m-%dT%H:%M:%SZ")
    long_date = f"{close:%B} {close.day}, {close.year}"
    pyes, pno = "73000000000000000000000000000000000000000000000000000000000000000001", \
        "73000000000000000000000000000000000000000000000000000000000000000002"
    poly = {"id": "993001", "question": "Will US CPI inflation be above 4% in November?", "slug": "planted-cpi",
            "conditionId": "0x" + "993001".rjust(64, "0"),
            "description": "This market will resolve to \"Yes\" if the year-over-year US CPI inflation for November, "
                           "as published by the Bureau of Labor Statistics (https://www.bls.gov), is above 4.0%. "
                           f"Otherwise \"No\". The market closes on {long_date}.",
            "endDate": end, "outcomes": json.dumps(["Yes", "No"]), "outcomePrices": json.dumps(["0.40", "0.60"]),
            "clobTokenIds": json.dumps([pyes, pno]), "active": True, "closed": False, "acceptingOrders": True,
            "enableOrderBook": True, "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": False,
            "bestBid": 0.38, "bestAsk": 0.40, "feesEnabled": False, "updatedAt": "2026-09-01T00:00:00Z"}
    recorded = json.loads((Path(__file__).parent / "fixtures" / "kalshi" / "market_object_epl_2026-03.json").read_text())
    kal = {**recorded, "ticker": "KXCPI-PLANTED-T4", "event_ticker": "KXCPI-PLANTED", "close_time": end,
           "expected_expiration_time": end, "expiration_time": end, "latest_expiration_time": end, "status": "active",
           "title": "CPI above 4% in November?", "yes_sub_title": "Above 4.0%", "no_sub_title": "Above 4.0%",
           "rules_primary": "If the year-over-year CPI inflation for November, as reported by the Bureau of Labor "
                            f"Statistics (https://www.bls.gov), is above 4.0%, then the market resolves to Yes. "
                            f"The market closes on {long_date}.",
           "rules_secondary": "", "yes_ask_dollars": "0.60", "yes_bid_dollars": "0.47", "no_bid_dollars": "0.40",
           "no_ask_dollars": "0.53"}
    with start_sims("polymarket", "kalshi") as sims:
        poly_add(sims["polymarket"], poly, {"id": "993000", "slug": "planted-cpi-ev", "title": "US CPI November",
                                            "negRisk": False, "active": True, "closed": False, "endDate": end})
        poly_book(sims["polymarket"], pyes, [("0.38", "100")], [("0.40", "100")])
        poly_book(sims["polymarket"], pno, [("0.60", "100")], [("0.62", "100")])
        kalshi_add(sims["kalshi"], kal, {"event_ticker": "KXCPI-PLANTED", "series_ticker": "KXCPI",
                                         "title": "CPI in November", "mutually_exclusive": False})
        kalshi_book(sims["kalshi"], "KXCPI-PLANTED-T4", [("0.47", "100")], [("0.40", "100")])  # YES ask 0.60, NO ask 0.53
        env = {**pm_env, **sims.env()}
        async with connect(env) as client:
            r = await client.call_tool("find_arbitrage", {"markets": ["planted-cpi", "KXCPI-PLANTED-T4"],
                                                          "kinds": ["cross_venue"]})
            assert not r.is_error, r.content[0].text
            out = r.structured_content
            text = r.content[0].text
            assert out["scanned"]["cross_venue_pairs"] == 1, text
            assert out["uncertain_pairs"] == [], text
            opps = [o for o in out["opportunities"] if o["kind"] == "cross_venue"]
            assert opps, text
            best = opps[0]
            # YES 0.40 on Polymarket (no fee) + NO 0.53 on Kalshi (+ Kalshi's taker fee) < 1
            assert sorted((l["venue"], l["outcome"]) for l in best["legs"]) == [("kalshi", "No"), ("polymarket", "Yes")]
            assert D(best["profit"]) > 0
            assert best["risk_free"] is False
            assert any(f.startswith("different_oracles") for f in best["flags"]), best["flags"]
            assert "oracle" in text
