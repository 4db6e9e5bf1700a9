"""pm_mcp.domain.discipline, the pure tier ceiling every proposal is held to (the end-to-end tests are in
tests/test_e2e_tier_cap.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pm_mcp.domain.discipline import TIER_NAMES, exempt, over_ceiling, tier_ceiling, with_binding
from pm_mcp.domain.sizing import CONFIDENCE_TIERS, tier_stake_cap

WHY = "assess_market says caution (thin book); caution: at most the medium tier"


def test_the_cap_is_the_tiers_fraction_of_the_bankroll():
    for t in CONFIDENCE_TIERS:
        assert tier_stake_cap(t.name, D(1000)) == t.cap_fraction * 1000
    assert tier_ceiling("medium", WHY, bankroll=D(1000)).cap == D(20)
    with pytest.raises(ValueError):
        tier_stake_cap("huge", D(1000))


def test_a_stated_confidence_lowers_the_tier_and_never_raises_it():
    for market in TIER_NAMES:
        for conf in TIER_NAMES[1:]:
            c = tier_ceiling(market, WHY, bankroll=D(1000), confidence=conf)
            assert TIER_NAMES.index(c.tier) == min(TIER_NAMES.index(market), TIER_NAMES.index(conf))
            assert c.market_tier == market and c.by_confidence == (c.tier != market)
    with pytest.raises(ValueError):
        tier_ceiling("medium", WHY, bankroll=D(1000), confidence="none")


def test_refused_only_above_the_cap_with_rule_cap_value_and_why():
    within = tier_ceiling("medium", WHY, bankroll=D(1000), stake=D("20"))
    assert over_ceiling(within) is None  # at the cap is within it
    over = within.model_copy(update={"stake": D("20.001")})
    msg = over_ceiling(over, price=D("0.43"))
    assert msg.startswith("tier cap: stake $20.01 (worst case incl. fees) is over the $20.00 cap of tier 'medium' "
                          "(2.0% of the $1,000.00 bankroll), the most assess_market allows for this market: " + WHY)
    assert "options.stake=20.00" in msg and "46 shares" in msg
    assert msg.count("'") == 2  # one quoted span: the error text clips a long one between two quote marks
    none = tier_ceiling("none", "assess_market says avoid; avoid: at most the none tier", bankroll=D(1000),
                        stake=D("1"))
    assert "No new position" in over_ceiling(none)
    mana = tier_ceiling("low", "settlement clarity 0.65 < 0.7: at most the low tier", bankroll=D(1000),
                        currency="MANA", stake=D(11))
    text = over_ceiling(mana)
    assert "M$10.00 cap" in text and "$" not in text.replace("M$", "") and "submit_reading" in text


def test_sells_and_risk_free_bundles_are_not_held_and_the_binding_limit_is_named():
    e = exempt("sells only", stake=D(500))
    assert over_ceiling(e) is None and e.line() == "tier cap: none (sells only)"
    c = tier_ceiling("high", WHY, bankroll=D(1000), stake=D(5))
    rooms = {"max_order_usd": D(100), "max_event_usd": D(150), "max_daily_usd": D(12), "bankroll": D(1000)}
    assert with_binding(c, rooms).binding == "max_daily_usd"
    assert with_binding(c, {**rooms, "max_daily_usd": D(500)}).binding == "tier_cap"
    assert "the tightest limit: the daily cap ($12.00 left)" in with_binding(c, rooms).line()
    assert with_binding(e, rooms).binding == "max_daily_usd"
