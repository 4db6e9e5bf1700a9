"""pm_mcp.surface.market's text helpers read venue facts from the market model, never from its venue's name."""

from __future__ import annotations

from decimal import Decimal as D

from pm_mcp.domain.fees import NO_FEES, pq_formula, pq_schedule
from pm_mcp.domain.models import FeeSchedule, Market
from pm_mcp.surface.market import fees_text, market_text, money_short, venue_label
from pm_mcp.venues.registry import VENUES


def test_volume_is_written_in_the_markets_volume_unit():
    assert money_short(D("1234567"), "USD") == "$1.2M"
    assert money_short(D("3400"), "contracts") == "3.4k contracts"
    assert money_short(D("950"), "MANA") == "950 mana"
    assert money_short(None, "USD") == "–"


def test_the_display_name_comes_from_the_market_else_the_registry():
    assert venue_label(Market(id="1", venue="somewhere", title="t", venue_name="Somewhere Exchange")) == \
        "Somewhere Exchange"
    for name, entry in VENUES.items():
        assert venue_label(Market(id="1", venue=name, title="t")) == (entry.display_name or name)


def test_fee_text_follows_the_formula_not_the_venue():
    cent_up = pq_schedule(pq_formula("0.01", "ceiling"), D("0.07"))
    assert fees_text(cent_up) == "fee = ceil_cent(0.07 x C x P(1-P)) taker, makers free"
    fine = pq_schedule(pq_formula("0.00001", "half_up"), D("0.04"), exponent=D(2))
    assert fees_text(fine) == "fee = shares x 0.04 x (p(1-p))^2, takers only"
    assert fees_text(NO_FEES) == "no trading fee"
    assert fees_text(FeeSchedule(kind="mystery", taker_rate=D("0.01"))) == "mystery: taker 0.01, maker 0"


def test_market_text_names_the_venue_and_its_units():
    m = Market(id="X-1", venue="elsewhere", title="Will it rain?", venue_name="Elsewhere", volume=D(2500),
               volume_unit="contracts")
    text = market_text(m, [], None)
    assert "Elsewhere market id=X-1" in text and "Volume 2.5k contracts" in text
