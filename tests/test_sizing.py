from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pm_mcp.domain.fees import NO_FEES, kalshi_schedule, polymarket_schedule
from pm_mcp.domain.models import BookLevel
from pm_mcp.domain.policy import RiskPolicy
from pm_mcp.domain.sizing import (
    CONFIDENCE_LEVELS,
    CONFIDENCE_TIERS,
    SizingError,
    SizingMethod,
    SizingRequest,
    classic_kelly,
    pm_kelly,
    size_position,
    tier_for,
)


def policy(**kw) -> RiskPolicy:
    base = dict(bankroll=D(1000), max_order_usd=D(100), max_event_fraction=D("0.15"), max_daily_usd=D(500),
                kelly_fraction=D("0.25"), allowed_venues=["polymarket", "kalshi"], live_enabled=False)
    base.update(kw)
    return RiskPolicy(**base)


LOOSE = dict(max_order_usd=D(1000), max_event_fraction=D(1), max_daily_usd=D(10000))


def test_formulas():
    assert pm_kelly(D("0.62"), D("0.45")) == (D("0.62") - D("0.45")) / D("0.55")
    # mirror for NO: P(YES)=0.30, NO at 0.55 -> (0.70 - 0.55)/0.45
    assert pm_kelly(D("0.30"), D("0.55"), "no") == (D("0.70") - D("0.55")) / D("0.45")
    assert pm_kelly(D("0.30"), D("0.55"), "no") == pm_kelly(D("0.70"), D("0.55"), "yes")
    # classic Kelly at b = (1-c)/c is the prediction-market formula
    c = D("0.45")
    assert abs(classic_kelly(D("0.62"), (1 - c) / c) - pm_kelly(D("0.62"), c)) < D("1e-20")
    assert classic_kelly(D("0.6"), D(1)) == D("0.2")  # even money, 60%: 20%


def test_example_quarter_kelly_in_words():
    # f* = (0.5325 - 0.45)/0.55 = 0.15; x 1/4 x $1000 = $37.50 -> 83 shares (step 1) = $37.35
    r = size_position(policy(), SizingRequest(p_yes=D("0.5325"), price=D("0.45"), size_step=D(1)),
                      "fractional_kelly")
    assert r.full_kelly_fraction == D("0.15") and r.target_stake_usd == D("37.50")
    assert r.contracts == 83 and r.stake_usd == D("37.35") and r.capped_by == []
    assert "0.1500 x 0.2500" in r.arithmetic and "83 YES shares" in r.arithmetic


def test_full_kelly_methods_are_capped_by_policy_fraction_and_limits():
    r = size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45")), "pm_kelly")
    # full Kelly $309.09 x 0.25 = $77.27, under the $100 order cap
    assert r.capped_by == ["kelly_fraction"] and r.target_stake_usd == D("309.09")
    assert r.stake_usd <= D("77.28")
    r = size_position(policy(kelly_fraction=D(1)), SizingRequest(p_yes=D("0.62"), price=D("0.45")), "kelly")
    assert "max_order_usd" in r.capped_by and r.stake_usd <= 100 and r.stake_usd > D("99.5")


def test_single_event_limit_with_exposure():
    r = size_position(policy(), SizingRequest(p_yes=D("0.30"), side="no", price=D("0.55"),
                                              event_exposure_usd=D(120)), "pm_kelly")
    assert "max_event_usd" in r.capped_by and r.stake_usd <= 30
    assert "single-event limit ($150.00" in r.arithmetic
    assert r.win_probability == D("0.70")


def test_fractional_kelly_fraction_can_only_tighten():
    r = size_position(policy(**LOOSE), SizingRequest(p_yes=D("0.62"), price=D("0.45"), kelly_fraction=D("0.1")),
                      "fractional_kelly")
    assert r.kelly_multiplier == D("0.1") and r.stake_usd <= D("30.91")
    with pytest.raises(SizingError, match="PM_MCP_KELLY_FRACTION"):
        size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45"), kelly_fraction=D("0.5")),
                      "fractional_kelly")


def test_tiers_default_and_table():
    assert [t.name for t in CONFIDENCE_TIERS] == ["none", "low", "medium", "high", "very_high"]
    caps = [t.cap_fraction for t in CONFIDENCE_TIERS]
    assert caps == sorted(caps)
    assert tier_for(D("0.01")).name == "none"
    assert tier_for(D("0.03")).name == "low"
    assert tier_for(D("0.30")).name == "medium"  # default confidence: medium
    assert tier_for(D("0.30"), "very_high").name == "very_high"
    assert tier_for(D("0.12"), "very_high").name == "high"
    r = size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45")))  # default method
    assert r.method == SizingMethod.CONFIDENCE_TIERS and r.tier == "medium" and r.stake_usd <= 20
    r = size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45"), confidence="very_high",
                                              absolute_cap_usd=D(30)))
    assert r.tier == "very_high" and "absolute_cap" in r.capped_by and r.stake_usd <= 30
    with pytest.raises(SizingError, match="absolute_cap_usd"):
        size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45"), absolute_cap_usd=D(101)))


def test_tier_never_above_full_kelly():
    # price 0.97, p 0.995: edge 2.5pp (tier low = 1% = $10) but full Kelly = 0.025/0.03 -> big; at price 0.50 p 0.53
    # edge 3pp: full Kelly 6% -> tier cap 1% binds. Construct a case where Kelly < tier cap: price 0.03, p 0.06
    r = size_position(policy(), SizingRequest(p_yes=D("0.06"), price=D("0.03"), confidence="very_high"))
    kelly_usd = (D("0.06") - D("0.03")) / D("0.97") * 1000
    assert r.stake_usd <= kelly_usd


def test_unit_flat_inverted():
    req = dict(p_yes=D("0.62"), price=D("0.45"), size_step=D(1))
    r = size_position(policy(), SizingRequest(**req, units=D(3), unit_usd=D(10)), "unit")
    assert r.contracts == 66 and r.stake_usd == D("29.70")
    r = size_position(policy(), SizingRequest(**req), "flat")
    assert r.contracts == 22 and r.stake_usd == D("9.90")  # default flat: 1% of bankroll
    r = size_position(policy(), SizingRequest(**req, max_loss_usd=D(20)), "inverted_risk")
    assert r.max_loss_usd <= 20 and r.contracts == 44
    r = size_position(policy(), SizingRequest(**req, max_loss_usd=D(20), stop_price=D("0.35")), "inverted_risk")
    assert r.contracts == 200 and r.contracts * (D("0.45") - D("0.35")) <= 20  # $0.10 risk per share
    assert any("not guaranteed" in w for w in r.warnings)
    with pytest.raises(SizingError, match="stop_price"):
        size_position(policy(), SizingRequest(**req, max_loss_usd=D(20), stop_price=D("0.5")), "inverted_risk")


def test_venue_minimum_and_step():
    r = size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45"), min_order_size=D(50)), "flat")
    assert r.contracts == 0 and r.stake_usd == 0 and "venue_minimum" in r.capped_by
    r = size_position(policy(), SizingRequest(p_yes=D("0.62"), price=D("0.45"), size_step=D(5)), "flat")
    assert r.contracts == 20


def test_execution_kelly_matches_closed_form_on_a_fixed_price():
    r = size_position(policy(**LOOSE, kelly_fraction=D(1)), SizingRequest(p_yes=D("0.62"), price=D("0.45")),
                      "execution_kelly")
    full = (D("0.62") - D("0.45")) / D("0.55") * 1000
    assert abs(r.stake_usd - full) <= D("0.45") * D("0.02")


def test_a_thin_book_is_sized_on_the_average_the_stake_pays_not_the_best_ask():
    """Best ask 0.40 x 10 then 0.55: a quarter-Kelly stake at 0.40's edge (~M$83) would pay ~0.54 a share. The
    sizing is redone at that average, so the stake shrinks and what it pays is no worse than the price sized on."""
    asks = [BookLevel(price=D("0.40"), size=D(10)), BookLevel(price=D("0.55"), size=D(10000))]
    req = SizingRequest(p_yes=D("0.60"), book=asks, fees=NO_FEES, size_step=D("0.01"))
    r = size_position(policy(**LOOSE), req, "fractional_kelly")
    at_best = (D("0.60") - D("0.40")) / D("0.60") * D("0.25") * 1000  # what the best ask alone would size
    assert r.effective_price > D("0.40") and r.edge == D("0.60") - r.effective_price
    assert 0 < r.stake_usd < at_best * D("0.5")
    expected = (D("0.60") - r.effective_price) / (1 - r.effective_price) * D("0.25") * 1000
    assert abs(r.stake_usd - expected) <= D("0.55") * D("0.01") + D("0.01")
    assert r.price < r.effective_price  # the smaller stake pays less than the average it was sized on
    assert any("not the best ask" in w for w in r.warnings) and "walks the book" in r.arithmetic
    # one level deep enough: nothing is re-priced
    deep = [BookLevel(price=D("0.40"), size=D(10000))]
    flat = size_position(policy(**LOOSE), SizingRequest(p_yes=D("0.60"), book=deep, fees=NO_FEES), "fractional_kelly")
    assert flat.effective_price == D("0.40") and not any("best ask" in w for w in flat.warnings)


def test_execution_kelly_walks_the_book_and_stops_before_no_edge_levels():
    asks = [BookLevel(price=D("0.45"), size=D(50)), BookLevel(price=D("0.48"), size=D(100)),
            BookLevel(price=D("0.63"), size=D(10000))]
    r = size_position(policy(**LOOSE, kelly_fraction=D(1)),
                      SizingRequest(p_yes=D("0.62"), book=asks, fees=kalshi_schedule(), size_step=D(1)),
                      "execution_kelly")
    assert 0 < r.contracts <= 150  # never into the 0.63 level (above p)
    # log growth at n* beats n* +- 1
    from pm_mcp.domain.book import walk_book

    def g(n):
        w = walk_book(asks[:2], size=D(n), fees=kalshi_schedule())
        c = w.cost + w.fees
        return D("0.62") * (1000 - c + n).ln() + D("0.38") * (1000 - c).ln()
    n = int(r.contracts)
    assert g(n) >= g(n - 1) and (n == 150 or g(n) >= g(n + 1))


@pytest.mark.parametrize("bad,msg", [
    (dict(p_yes=D(62), price=D("0.45")), "0.62 for 62%"),
    (dict(p_yes=D("0.6")), "give a price"),
    (dict(p_yes=D("0.6"), price=D(45)), "strictly between 0 and 1"),
    (dict(p_yes=D("0.6"), price=D("0.4"), units=D(-1)), "units must be positive"),
])
def test_bad_requests(bad, msg):
    with pytest.raises(SizingError, match=msg):
        size_position(policy(), SizingRequest(**bad), "unit")


def test_unknown_method():
    with pytest.raises(SizingError, match="unknown sizing method"):
        size_position(policy(), SizingRequest(p_yes=D("0.6"), price=D("0.4")), "martingale")


# ---- properties ---------------------------------------------------------------------------------

probs = st.decimals(min_value=D("0"), max_value=D("1"), places=3)
prices = st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)
money = st.decimals(min_value=D("0"), max_value=D("2000"), places=2)
methods = st.sampled_from(list(SizingMethod))
fees = st.sampled_from([NO_FEES, kalshi_schedule(), polymarket_schedule(D("0.04"))])
policies = st.builds(
    lambda b, o, e, d, k: policy(bankroll=b, max_order_usd=o, max_event_fraction=e, max_daily_usd=d, kelly_fraction=k),
    st.decimals(min_value=D(10), max_value=D(100000), places=2), st.decimals(min_value=D(1), max_value=D(5000), places=2),
    st.decimals(min_value=D("0.01"), max_value=D(1), places=2), st.decimals(min_value=D(1), max_value=D(10000), places=2),
    st.decimals(min_value=D("0.01"), max_value=D(1), places=2))
books = st.lists(st.tuples(prices, st.decimals(min_value=D(0), max_value=D(2000), places=2)), min_size=1, max_size=5).map(
    lambda ls: [BookLevel(price=p, size=s) for p, s in sorted(ls)])


@settings(max_examples=300, deadline=None)
@given(pol=policies, p=probs, price=prices, side=st.sampled_from(["yes", "no"]), method=methods, fee=fees,
       exposure=money, spent=money, step=st.sampled_from([D("0.01"), D(1)]), book=st.one_of(st.none(), books))
def test_stake_never_exceeds_caps(pol, p, price, side, method, fee, exposure, spent, step, book):
    req = SizingRequest(p_yes=p, side=side, price=None if book else price, book=book, fees=fee, size_step=step,
                        event_exposure_usd=exposure, daily_spent_usd=spent)
    r = size_position(pol, req, method)
    assert r.stake_usd >= 0 and r.contracts >= 0
    assert r.stake_usd <= pol.max_order_usd
    assert r.stake_usd <= max(D(0), pol.max_event_usd - exposure)
    assert r.stake_usd <= max(D(0), pol.max_daily_usd - spent)
    assert r.stake_usd <= pol.bankroll
    assert r.contracts % step == 0
    assert r.stake_usd == r.max_loss_usd
    if r.contracts > 0:
        assert r.edge > 0  # zero stake without edge


@settings(max_examples=300, deadline=None)
@given(pol=policies, p=probs, price=prices, side=st.sampled_from(["yes", "no"]), method=methods, fee=fees)
def test_no_edge_no_stake(pol, p, price, side, method, fee):
    win = p if side == "yes" else 1 - p
    assume(win <= price)  # no edge even before fees
    r = size_position(pol, SizingRequest(p_yes=p, side=side, price=price, fees=fee), method)
    assert r.stake_usd == 0 and r.contracts == 0


@settings(max_examples=200, deadline=None)
@given(pol=policies, p=probs, price=prices, fee=fees)
def test_kelly_is_zero_without_edge_and_fractional_below_full(pol, p, price, fee):
    full = size_position(pol.tightened(kelly_fraction=pol.kelly_fraction), SizingRequest(p_yes=p, price=price, fees=fee),
                         "pm_kelly")
    frac = size_position(pol, SizingRequest(p_yes=p, price=price, fees=fee, kelly_fraction=pol.kelly_fraction / 2),
                         "fractional_kelly")
    if p <= price:
        assert full.stake_usd == 0 and frac.stake_usd == 0
    assert frac.stake_usd <= full.stake_usd
    if full.stake_usd > 0:
        from pm_mcp.domain.fees import fee_per_share_upper_bound
        eff = price + fee_per_share_upper_bound(fee, price)
        exact_f = (p - eff) / (1 - eff)  # the result's full_kelly_fraction is rounded to 6 dp for display
        assert full.stake_usd <= exact_f * pol.bankroll * pol.kelly_fraction + D("0.01")


@settings(max_examples=300, deadline=None)
@given(pol=policies, p=probs, price=prices, fee=fees, exposure=money)
def test_tiers_monotone_in_confidence(pol, p, price, fee, exposure):
    stakes = [size_position(pol, SizingRequest(p_yes=p, price=price, fees=fee, confidence=c, event_exposure_usd=exposure),
                            "confidence_tiers").stake_usd for c in CONFIDENCE_LEVELS]
    assert stakes == sorted(stakes)


@settings(max_examples=200, deadline=None)
@given(pol=policies, p1=probs, p2=probs, price=prices, conf=st.sampled_from(CONFIDENCE_LEVELS))
def test_tiers_monotone_in_edge(pol, p1, p2, price, conf):
    lo, hi = sorted([p1, p2])
    a = size_position(pol, SizingRequest(p_yes=lo, price=price, confidence=conf), "confidence_tiers")
    b = size_position(pol, SizingRequest(p_yes=hi, price=price, confidence=conf), "confidence_tiers")
    assert a.stake_usd <= b.stake_usd


def test_assessment_tier_caps_every_method_and_avoid_means_no_position():
    pol = RiskPolicy(bankroll=D(1000), max_order_usd=D(500), max_event_fraction=D("0.5"), max_daily_usd=D(1000),
                     kelly_fraction=D("0.25"), allowed_venues=["polymarket"], live_enabled=False)
    strong = SizingRequest(p_yes=D("0.80"), price=D("0.50"), confidence="very_high")
    free = size_position(pol, strong, "confidence_tiers")
    assert free.stake_usd > D(20)  # a 30-point edge reaches the top tier (5% = $50)
    capped = size_position(pol, strong.model_copy(update={"max_tier": "low", "max_tier_reason": "unclear"}),
                           "confidence_tiers")
    assert capped.stake_usd <= D(10) and "assessment" in capped.capped_by  # low tier = 1% of 1000
    kelly = size_position(pol, strong.model_copy(update={"max_tier": "medium"}), "pm_kelly")
    assert kelly.stake_usd <= D(20) and "assessment" in kelly.capped_by
    avoid = size_position(pol, strong.model_copy(update={"max_tier": "none"}), "flat")
    assert avoid.stake_usd == 0 and avoid.contracts == 0
