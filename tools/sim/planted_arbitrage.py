"""Planted arbitrage cases on the recorded data of the simulators (tests and demos say which they use).

Each plant changes only order books of recorded markets (the markets and events stay as recorded); the
books are SYNTHETIC.

- :func:`plant_member_vs_event` (Kalshi): the recorded next-Pope event KXNEWPOPE-70, which Kalshi declares
  mutually exclusive (``mutually_exclusive: true``, collateral MECNET), with two candidates' YES bids lifted
  to 0.55 (Parolin) and 0.52 (Tagle): together above 1, though at most one of them can be the next Pope.
  Buying both NOs (asks 0.45 + 0.48) pays at least $1 whatever happens.
- :func:`plant_member_lookalike` (Kalshi): a SYNTHETIC copy of that event (KXNEWPOPE-LOOKALIKE, the same
  markets and the same planted books) that Kalshi does NOT declare exclusive (``mutually_exclusive: false``,
  no MECNET), as Kalshi publishes the recorded KXRAMPBREX-40 "Will Ramp or Brex IPO first?": titles that
  read exclusive prove nothing, so no opportunity may be found there.
"""

from __future__ import annotations

from decimal import Decimal

from tools.sim.base import Sim
from tools.sim.kalshi import add_market, set_book

POPE_EVENT = "KXNEWPOPE-70"
POPE_HIGH = {"KXNEWPOPE-70-PPAR": "0.55", "KXNEWPOPE-70-LANT": "0.52"}  # lifted YES bids (sum 1.07)
LOOKALIKE_EVENT = "KXNEWPOPE-LOOKALIKE"


def _quoted_book(sim: Sim, ticker: str, yes_bid: str | None = None) -> None:
    """A book around the market's recorded quotes (100 contracts a side), the YES bid replaced if given."""
    m = sim.state["markets"][ticker]
    bid = yes_bid or m.get("yes_bid_dollars") or "0.01"
    ask = m.get("yes_ask_dollars") or "0.99"
    if yes_bid is not None:
        ask = str(min(Decimal("0.99"), Decimal(yes_bid) + Decimal("0.02")))
    no_bid = str(1 - Decimal(ask))
    set_book(sim, ticker, [(bid, "100")], [(no_bid, "100")])


def plant_member_vs_event(sim: Sim) -> None:
    for ticker in sim.state["by_event"][POPE_EVENT]:
        _quoted_book(sim, ticker, POPE_HIGH.get(ticker))


def plant_member_lookalike(sim: Sim) -> None:
    st = sim.state
    event = {**st["events"][POPE_EVENT], "event_ticker": LOOKALIKE_EVENT, "mutually_exclusive": False,
             "collateral_return_type": ""}
    for ticker in list(st["by_event"][POPE_EVENT]):
        copy_ticker = ticker.replace(POPE_EVENT, LOOKALIKE_EVENT)
        add_market(sim, {**st["markets"][ticker], "ticker": copy_ticker, "event_ticker": LOOKALIKE_EVENT}, event)
        _quoted_book(sim, copy_ticker, POPE_HIGH.get(ticker))
