"""Standing orders, the pure parts: the terms and their refusals, the order hash covers the trigger, validity and
repeat count (an ordinary order's hash is unchanged), the approval window, and the words the dialog and the
approval page lead with."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from pm_mcp.domain.intents import (
    Intent,
    IntentError,
    build_intent,
    compute_order_hash,
    price_leg,
    standing_terms,
)
from pm_mcp.domain.models import Market, MarketStatus, Outcome
from pm_mcp.domain.policy import PolicyCheck
from pm_mcp.execution.summary import condition_line, dialog_text, order_lines
from pm_mcp.venues.polymarket.fees import polymarket_schedule

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OK = PolicyCheck(ok=True)


def market() -> Market:
    return Market(id="5123", venue="polymarket", venue_name="Polymarket", title="Will it rain?", event_id="ev1",
                  outcomes=[Outcome(label="Yes", token_id="111"), Outcome(label="No", token_id="222")],
                  status=MarketStatus.OPEN, tick_size=D("0.01"), min_order_size=D(5),
                  fees=polymarket_schedule(D("0")))


def terms(**kw):
    base = dict(kind="price_below", level="0.40", side=None, outcome="Yes", order_side="buy",
                valid_until=NOW + timedelta(days=3), repeat=None, now=NOW)
    base.update(kw)
    return standing_terms(**base)


def intent(standing=None, ttl_s: int = 300) -> Intent:
    leg = price_leg(market(), outcome="Yes", side="buy", limit_price="0.40", size=50)
    return build_intent([leg], intent_id="i-abc", mode="paper", policy=OK, now=NOW, ttl_s=ttl_s, standing=standing)


def test_terms_defaults_and_refusals():
    t = terms()
    assert (t.kind, t.level, t.price_side, t.repeat) == ("price_below", D("0.40"), "ask", 1)
    assert terms(order_side="sell").price_side == "bid"  # a stop-loss watches the bid
    assert terms(valid_until=datetime(2026, 11, 2, 9, 30, 15, 999)).valid_until == datetime(2026, 11, 2, 9, 30, 15,
                                                                                           tzinfo=UTC)
    for kw, words in ((dict(kind="move"), "trigger.kind"), (dict(level="1"), "trigger.level"),
                      (dict(level="0"), "trigger.level"), (dict(level="abc"), "trigger.level"),
                      (dict(side="last"), "trigger.side"), (dict(valid_until=None), "valid_until is missing"),
                      (dict(valid_until=NOW - timedelta(seconds=1)), "in the past"),
                      (dict(valid_until=NOW + timedelta(days=30, seconds=1)), "at most 30 days"),
                      (dict(repeat=0), "repeat"), (dict(repeat=11), "repeat"), (dict(repeat="x"), "repeat")):
        with pytest.raises(IntentError, match=words):
            terms(**kw)
    assert terms(valid_until=NOW + timedelta(days=30)).repeat == 1


def test_the_order_hash_covers_trigger_validity_and_repeat():
    plain = intent()
    assert plain.order_hash == compute_order_hash("paper", plain.legs)  # ordinary orders: unchanged hash
    base = intent(terms())
    assert base.hash_matches() and base.order_hash != plain.order_hash
    others = [intent(terms(level="0.39")), intent(terms(kind="price_above")), intent(terms(side="mid")),
              intent(terms(valid_until=NOW + timedelta(days=3, seconds=1))), intent(terms(repeat=2))]
    assert len({base.order_hash, *(o.order_hash for o in others)}) == 6
    forged = base.model_copy(update={"standing": terms(level="0.45")})
    assert not forged.hash_matches()  # another condition under the approved hash is caught


def test_approval_window_and_words():
    t = terms()
    it = intent(t)
    assert it.expires_at == NOW + timedelta(seconds=300)  # approve within the usual window
    short = intent(terms(valid_until=NOW + timedelta(seconds=60)))
    assert short.expires_at == NOW + timedelta(seconds=60)  # never approvable after it stops
    assert it.plain.startswith("STANDING ORDER, sent only if the Yes ask is at or below $0.40")
    line = condition_line(it)
    assert line == ("STANDING ORDER: NOT sent now. Sent only IF the YES ask is at or below $0.40, at most once, "
                    "until 2026-11-04 12:00 UTC; re-checked when it triggers; cancel_order stops it")
    lines = order_lines(it)
    assert lines[0] == "Approve this PAPER standing order (simulated)?" and lines[2] == line
    assert "approve by 12:05:00 UTC" in lines[-1]
    assert line in dialog_text(it)
    twice = intent(terms(repeat=2))
    assert "at most 2 times, once per crossing (up to $40.00 in all)" in condition_line(twice)
    assert condition_line(intent()) is None and "STANDING" not in "\n".join(order_lines(intent()))


def test_a_bundle_cannot_stand():
    leg = price_leg(market(), outcome="Yes", side="buy", limit_price="0.40", size=50)
    with pytest.raises(IntentError, match="bundle"):
        build_intent([leg, leg], intent_id="i-b", mode="paper", policy=OK, now=NOW, ttl_s=300, standing=terms())
