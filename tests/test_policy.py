from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_mcp.domain.policy import RiskPolicy, check_order, order_headroom
from pm_mcp.settings import Settings


def policy(**kw) -> RiskPolicy:
    base = dict(bankroll=D(1000), max_order_usd=D(100), max_event_fraction=D("0.15"), max_daily_usd=D(500),
                kelly_fraction=D("0.25"), allowed_venues=["polymarket", "kalshi"], live_enabled=False)
    base.update(kw)
    return RiskPolicy(**base)


def test_from_settings(tmp_path, monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("PM_MCP_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PM_MCP_HOME", str(tmp_path))
    monkeypatch.setenv("PM_MCP_BANKROLL", "2000")
    monkeypatch.setenv("PM_MCP_MAX_EVENT_FRACTION", "0.1")
    monkeypatch.setenv("PM_MCP_VENUES", "kalshi")
    monkeypatch.setenv("PM_MCP_MODE", "live")
    p = RiskPolicy.from_settings(Settings())
    assert p.bankroll == D(2000)
    assert p.max_event_usd == D(200)
    assert p.allowed_venues == ["kalshi"]
    assert p.live_enabled is True
    assert p.kelly_fraction == D("0.25")


def test_frozen():
    p = policy()
    with pytest.raises(Exception):
        p.bankroll = D(5)  # type: ignore[misc]


def test_tightened_accepts_stricter_and_equal():
    p = policy()
    t = p.tightened(max_order_usd=D(50), kelly_fraction="0.1", allowed_venues=["kalshi"], live_enabled=False,
                    bankroll=D(1000))
    assert t.max_order_usd == D(50) and t.kelly_fraction == D("0.1") and t.allowed_venues == ["kalshi"]
    assert p.max_order_usd == D(100)  # the original is untouched


@pytest.mark.parametrize("name,value", [
    ("max_order_usd", D(101)), ("bankroll", D(5000)), ("max_event_fraction", D("0.5")),
    ("max_daily_usd", D(501)), ("kelly_fraction", D(1)), ("allowed_venues", ["manifold"]),
])
def test_tightened_refuses_to_loosen(name, value):
    with pytest.raises(ValueError, match=name):
        policy().tightened(**{name: value})


def test_tightened_refuses_live_when_paper_and_unknown_names():
    with pytest.raises(ValueError, match="live_enabled"):
        policy().tightened(live_enabled=True)
    with pytest.raises(ValueError, match="not a risk limit"):
        policy().tightened(max_leverage=D(2))
    with pytest.raises(ValueError):
        policy().tightened(max_order_usd=D(-1))  # still validated


def test_check_order_ok():
    c = check_order(policy(), venue="polymarket", mode="paper", order_cost=D(100),
                    event_exposure_before=D(50), daily_spent_before=D(400))
    assert c.ok and c.violations == []


def test_check_order_each_rule():
    p = policy()
    c = check_order(p, venue="polymarket", mode="paper", order_cost=D("100.01"))
    assert [v.rule for v in c.violations] == ["max_order_usd"]
    c = check_order(p, venue="polymarket", mode="paper", order_cost=D(60), event_exposure_before=D(100))
    assert [v.rule for v in c.violations] == ["max_event_usd"]
    assert "$160.00" in c.violations[0].message and "$150.00" in c.violations[0].message
    c = check_order(p, venue="polymarket", mode="paper", order_cost=D(60), daily_spent_before=D(450))
    assert [v.rule for v in c.violations] == ["max_daily_usd"]
    c = check_order(p, venue="manifold", mode="paper", order_cost=D(1))
    assert [v.rule for v in c.violations] == ["venue_not_allowed"]
    c = check_order(p, venue="kalshi", mode="live", order_cost=D(1))
    assert [v.rule for v in c.violations] == ["live_disabled"]
    assert check_order(policy(live_enabled=True), venue="kalshi", mode="live", order_cost=D(1)).ok
    small = policy(bankroll=D(50), max_event_fraction=D(1))
    c = check_order(small, venue="kalshi", mode="paper", order_cost=D(60))
    assert {v.rule for v in c.violations} == {"max_event_usd", "bankroll"}


def test_zero_cost_never_violates_money_caps():
    c = check_order(policy(), venue="kalshi", mode="paper", order_cost=D(0), event_exposure_before=D(200),
                    daily_spent_before=D(900))
    assert c.ok


def test_check_order_reports_all_and_invalid():
    c = check_order(policy(), venue="manifold", mode="live", order_cost=D(1000), daily_spent_before=D(0))
    assert {v.rule for v in c.violations} == {"venue_not_allowed", "live_disabled", "max_order_usd",
                                              "max_event_usd", "max_daily_usd"}
    assert not check_order(policy(), venue="kalshi", mode="paper", order_cost=D(-1)).ok
    assert not check_order(policy(), venue="kalshi", mode="sim", order_cost=D(1)).ok


money = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300)
@given(cost=money, exposure=money, spent=money)
def test_headroom_is_exactly_the_money_boundary(cost, exposure, spent):
    p = policy()
    h = order_headroom(p, event_exposure_before=exposure, daily_spent_before=spent)
    ok = check_order(p, venue="kalshi", mode="paper", order_cost=cost, event_exposure_before=exposure,
                     daily_spent_before=spent).ok
    assert ok == (cost <= h.max_cost)
    assert h.max_cost >= 0
