"""Edge after costs: what a probability is worth against the executable price, fees and depth.

For a probability ``p`` that the traded outcome pays $1, a side and a size (or a budget for a buy):
- the executable average price comes from walking the book (asks for a buy, bids for a sell), or is
  an explicit price;
- fees use the venue's schedule (fees.py), rounded as the venue charges one order;
- effective price = average price + fee per share for a buy (- for a sell): the break-even probability;
- EV per contract = p - effective price (buy) or effective price - p (sell); total = x filled size;
- edge in percentage points = EV per contract x 100;
- ROI = EV / cash at risk (buy: the cost incl. fees; sell: the expected value given up, p x size);
- Kelly fraction at that price: buy (p - c)/(1 - c); sell (c - p)/c (selling YES at c is buying NO at 1 - c).
Pure: no I/O.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import NO_FEES
from pm_mcp.domain.models import BookLevel, FeeSchedule
from pm_mcp.domain.money import in_currency, normalize, unit_name

ZERO = Decimal(0)
ONE = Decimal(1)
Q6 = Decimal("0.000001")


class EdgeError(ValueError):
    """Bad input for an edge computation; the message says what to fix."""


class EdgeResult(BaseModel):
    p: Decimal = Field(description="probability that the traded outcome pays $1")
    side: Literal["buy", "sell"]
    requested_size: Decimal | None = None
    requested_budget: Decimal | None = None
    filled_size: Decimal = Field(description="shares/contracts the price (or book) fills")
    unfilled_size: Decimal = Field(description="part of the requested size the book could not fill")
    average_price: Decimal | None
    worst_price: Decimal | None
    levels_used: int
    cost_usd: Decimal = Field(description="buy: price x size paid; sell: price x size received (before fees)")
    fees_usd: Decimal
    fee_per_share: Decimal
    effective_price: Decimal | None = Field(description="price incl. fees per share = break-even probability")
    break_even_probability: Decimal | None
    ev_per_contract: Decimal | None = Field(description="USD per share/contract (1 share pays $1)")
    ev_total_usd: Decimal
    edge_pp: Decimal | None = Field(description="edge after costs in percentage points")
    roi: Decimal | None = Field(description="EV / cash at risk (0.1 = 10%)")
    kelly_fraction: Decimal | None = Field(description="full Kelly fraction of bankroll at this price (<= 0: no bet)")
    source: Literal["price", "book"]
    warnings: list[str] = Field(default_factory=list)


def _q(d: Decimal) -> Decimal:
    return d.quantize(Q6, rounding=ROUND_HALF_EVEN)


def compute_edge(p: Decimal, *, side: Literal["buy", "sell"] = "buy", price: Decimal | None = None,
                 levels: Sequence[BookLevel] | None = None, size: Decimal | None = None,
                 budget: Decimal | None = None, fees: FeeSchedule | None = None,
                 size_step: Decimal = Decimal("0.01"), min_order_size: Decimal = ZERO,
                 currency: str = "USD") -> EdgeResult:
    """Edge of trading the outcome with probability ``p`` at an explicit ``price`` or by walking
    ``levels`` (best first: asks for a buy, bids for a sell). Give a ``size`` (shares) or, for a
    buy, a ``budget`` (in ``currency`` incl. fees: USD, or MANA for Manifold's play money, written M$);
    neither means one share."""
    unit = unit_name(currency)
    if not (ZERO <= p <= ONE):
        raise EdgeError(f"p must be a probability in [0, 1] (use 0.62 for 62%), got {p}")
    if side not in ("buy", "sell"):
        raise EdgeError(f"side must be 'buy' or 'sell', got {side!r}")
    if (price is None) == (levels is None):
        raise EdgeError("give exactly one of an explicit price or a book")
    if size is not None and budget is not None:
        raise EdgeError(f"give a size (shares) or a budget ({unit}), not both")
    if size is not None and size <= 0:
        raise EdgeError("size must be positive (shares/contracts)")
    if budget is not None:
        if budget <= 0:
            raise EdgeError(f"budget must be a positive {unit} amount")
        if side == "sell":
            raise EdgeError("a budget only applies to a buy; give the size (shares) you would sell")
    if price is not None and not (ZERO < price < ONE):
        raise EdgeError(f"price must be strictly between 0 and 1 ({unit} per share), got {price}")
    schedule = fees or NO_FEES
    warnings: list[str] = []
    if size is None and budget is None:
        size = ONE

    if price is not None:
        book: list[BookLevel] = [BookLevel(price=price, size=Decimal("1e18"))]
        source: Literal["price", "book"] = "price"
    else:
        book = list(levels or [])
        source = "book"
        if not book:
            raise EdgeError(f"the book has no {'asks' if side == 'buy' else 'bids'}: nothing to {side} at any price")
    try:
        walk = walk_book(book, size=size, budget=budget, side=side, fees=schedule, size_step=size_step)
    except ValueError as exc:
        raise EdgeError(str(exc)) from None

    n = walk.filled_size
    if source == "book" and size is not None and walk.unfilled_size > 0:
        warnings.append(f"book too thin: only {normalize(n)} of {normalize(size)} fill; "
                        f"{normalize(walk.unfilled_size)} unfilled")
    if source == "book" and budget is not None and n > 0 and walk.unspent_budget > 0 \
            and n >= sum((lv.size for lv in book), ZERO) - size_step:
        warnings.append(f"book too thin: it is used up with {in_currency(walk.unspent_budget, currency)} "
                        "of the budget unspent")
    if n == 0:
        warnings.append("nothing fills: the budget is below one size step" if budget is not None
                        else "nothing fills")
        return EdgeResult(p=p, side=side, requested_size=size, requested_budget=budget, filled_size=ZERO,
                          unfilled_size=walk.unfilled_size, average_price=None, worst_price=None, levels_used=0,
                          cost_usd=ZERO, fees_usd=ZERO, fee_per_share=ZERO, effective_price=None,
                          break_even_probability=None, ev_per_contract=None, ev_total_usd=ZERO, edge_pp=None,
                          roi=None, kelly_fraction=None, source=source, warnings=warnings)
    if min_order_size > 0 and n < min_order_size:
        warnings.append(f"{normalize(n)} is below the venue minimum order of {normalize(min_order_size)}")
    avg = walk.cost / n
    fee_ps = walk.fees / n
    if side == "buy":
        eff = avg + fee_ps
        ev_ps = p - eff
        at_risk = walk.cost + walk.fees
        kelly = (p - eff) / (ONE - eff) if eff < ONE else Decimal(-1)
    else:
        eff = avg - fee_ps
        ev_ps = eff - p
        at_risk = p * n
        kelly = (eff - p) / eff if eff > 0 else Decimal(-1)
    ev_total = ev_ps * n
    roi = (ev_total / at_risk) if at_risk > 0 else None
    if ev_ps <= 0:
        warnings.append("no edge after costs at this size" if side == "buy" else
                        "selling here gives up expected value: your probability is above the effective bid")
    if p in (ZERO, ONE):
        warnings.append("p of exactly 0 or 1 claims certainty; the Kelly fraction is extreme")
    return EdgeResult(
        p=p, side=side, requested_size=size if budget is None else None, requested_budget=budget,
        filled_size=n, unfilled_size=walk.unfilled_size, average_price=_q(avg), worst_price=walk.worst_price,
        levels_used=walk.levels_used if source == "book" else 0, cost_usd=walk.cost, fees_usd=walk.fees,
        fee_per_share=_q(fee_ps), effective_price=_q(eff), break_even_probability=_q(eff),
        ev_per_contract=_q(ev_ps), ev_total_usd=_q(ev_total), edge_pp=(ev_ps * 100).quantize(Decimal("0.01")),
        roi=_q(roi) if roi is not None else None, kelly_fraction=_q(kelly), source=source, warnings=warnings)

