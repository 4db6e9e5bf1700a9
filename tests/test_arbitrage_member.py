"""A member against its event (domain): members of a set exclusive by the venue's structure whose YES bids
sum above 1 are bought as NOs; nothing where exclusivity is not the venue's own, where a member is a
placeholder, or where the part is the whole set (the every-NO Dutch book)."""

from __future__ import annotations

from decimal import Decimal as D

from test_arbitrage import NOW, binary, event_set

from pm_mcp.domain.arbitrage import ArbKind, detect_dutch_book, detect_member_vs_event
from pm_mcp.domain.fees import kalshi_schedule, order_fee


def _pope(bids, *, exclusive=True, labels=None, fees=None):
    labels = labels or [f"Cardinal {c}" for c in "ABCDEFG"[:len(bids)]]
    members = [binary(f"K-{i}", label, venue="kalshi", asks=[(D(b) + D("0.02"), 100)], bids=[(b, 100)], fees=fees)
               for i, (label, b) in enumerate(zip(labels, bids))]
    return event_set(members, title="Who will the next Pope be?", venue="kalshi", neg_risk=False,
                     exclusive=exclusive)


def test_two_members_priced_above_their_event_are_bought_as_nos_with_fees():
    s = _pope([".55", ".52", ".03", ".02", ".04"], fees=kalshi_schedule())
    (o,) = detect_member_vs_event(s, now=NOW)
    assert o.kind is ArbKind.MEMBER_VS_EVENT and o.risk_free
    assert sorted(leg.market_id for leg in o.legs) == ["K-0", "K-1"] and {leg.outcome for leg in o.legs} == {"No"}
    assert o.size == D(100) and o.capacity == D(100)
    # NO asks 1 - .55 and 1 - .52 (derived from the YES bids); one NO pays if either wins, both if neither
    fees = order_fee(kalshi_schedule(), [(D(100), D(".45"))]) + order_fee(kalshi_schedule(), [(D(100), D(".48"))])
    assert o.cost == D(93) + fees and o.fees == fees and o.profit == D(100) - o.cost
    assert o.payoff_by_state == {"A": D(100), "B": D(100), "none of these": D(200)}  # short names
    assert all(v - o.cost > 0 for v in o.payoff_by_state.values())


def test_only_the_venues_own_exclusivity_counts():
    assert detect_member_vs_event(_pope([".55", ".52", ".03"], exclusive=False), now=NOW) == []


def test_a_placeholder_member_could_be_anyone_so_nothing():
    s = _pope([".55", ".52", ".03"], labels=["Person A", "Cardinal B", "Cardinal C"])
    assert detect_member_vs_event(s, now=NOW) == []


def test_bids_in_order_give_nothing_and_the_whole_set_is_the_dutch_book():
    assert detect_member_vs_event(_pope([".45", ".40", ".10"]), now=NOW) == []
    whole = _pope([".60", ".50"])  # the part would be the whole set: the every-NO Dutch book says it
    assert detect_member_vs_event(whole, now=NOW) == []
    assert [o.kind for o in detect_dutch_book(whole, now=NOW)] == [ArbKind.DUTCH_BOOK]


def test_a_missing_quote_elsewhere_does_not_hide_it():
    s = _pope([".55", ".52", ".03"])
    s.members[2].best_bid = None  # the third member has no bid at all: the full every-NO book cannot be priced
    assert detect_dutch_book(s, now=NOW) == []
    (o,) = detect_member_vs_event(s, now=NOW)
    assert len(o.legs) == 2
