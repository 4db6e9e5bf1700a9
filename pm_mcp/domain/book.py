"""Walking an order book: what a taker order of a given size or budget would really get."""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel

from pm_mcp.domain.fees import NO_FEES, raw_fee, round_fee
from pm_mcp.domain.models import BookLevel, FeeSchedule


class BookWalk(BaseModel):
    """The result of taking liquidity level by level (best first)."""

    requested_size: Decimal | None = None
    requested_budget: Decimal | None = None
    filled_size: Decimal
    cost: Decimal  # sum of price x size over the levels used, before fees
    fees: Decimal
    average_price: Decimal | None  # cost / filled_size
    worst_price: Decimal | None  # the last level touched
    levels_used: int
    unfilled_size: Decimal  # for a size request: size that the book (or the limit) could not fill
    unspent_budget: Decimal  # for a budget request

    @property
    def total_cost(self) -> Decimal:
        return self.cost + self.fees


def walk_book(levels: Sequence[BookLevel], *, size: Decimal | None = None, budget: Decimal | None = None,
              limit_price: Decimal | None = None, side: str = "buy", fees: FeeSchedule | None = None,
              size_step: Decimal = Decimal("0.01")) -> BookWalk:
    """Take liquidity from ``levels`` (best first: asks ascending for a buy, bids descending for a sell).

    Exactly one of ``size`` (shares) or ``budget`` (USD incl. fees; buys only) must be given. A limit
    price stops the walk at levels worse than it. With a budget the walk buys the largest multiple of
    ``size_step`` whose cost plus fees fits the budget. Never fills more than the levels hold. Fees
    are the order's fee: the raw fees of the levels summed and rounded once, as the venue charges one
    order (see fees.py).
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    if (size is None) == (budget is None):
        raise ValueError("give exactly one of size or budget")
    if size is not None and size < 0:
        raise ValueError("size must be >= 0")
    if budget is not None:
        if budget < 0:
            raise ValueError("budget must be >= 0")
        if side != "buy":
            raise ValueError("a budget (USD to spend) only applies to a buy; give a size to sell")
    if size_step <= 0:
        raise ValueError("size_step must be positive")
    buying = side == "buy"
    _check_levels(levels, buying)
    if budget is not None:
        return _walk_budget(levels, budget, limit_price, fees, size_step)
    assert size is not None
    schedule = fees or NO_FEES
    remaining = size
    filled = Decimal(0)
    cost = Decimal(0)
    raw_fees = Decimal(0)
    used = 0
    worst: Decimal | None = None
    for level in levels:
        if remaining <= 0:
            break
        if level.size <= 0:
            continue
        if limit_price is not None and ((buying and level.price > limit_price) or
                                        (not buying and level.price < limit_price)):
            break
        take = min(level.size, remaining)
        filled += take
        cost += take * level.price
        raw_fees += raw_fee(schedule, take, level.price)
        used += 1
        worst = level.price
        remaining -= take
    fee_total = round_fee(schedule, raw_fees)
    avg = (cost / filled) if filled > 0 else None
    return BookWalk(requested_size=size, requested_budget=None, filled_size=filled, cost=cost, fees=fee_total,
                    average_price=avg, worst_price=worst, levels_used=used, unfilled_size=remaining,
                    unspent_budget=Decimal(0))


def _walk_budget(levels: Sequence[BookLevel], budget: Decimal, limit_price: Decimal | None,
                 fees: FeeSchedule | None, step: Decimal) -> BookWalk:
    """The largest n = k x step with cost(n) + fee(n) <= budget (cost is increasing in n: bisect on k)."""
    eligible = [lv for lv in levels if lv.size > 0 and (limit_price is None or lv.price <= limit_price)]
    depth = sum((lv.size for lv in eligible), Decimal(0))
    if not eligible or budget <= 0:
        hi = 0
    else:
        hi = int(min(depth, budget / eligible[0].price) / step)

    def walk(k: int) -> BookWalk:
        return walk_book(eligible, size=step * k, fees=fees)

    lo = 0
    while lo < hi:  # invariant: k = lo fits
        mid = (lo + hi + 1) // 2
        w = walk(mid)
        if w.unfilled_size == 0 and w.cost + w.fees <= budget:
            lo = mid
        else:
            hi = mid - 1
    w = walk(lo)
    return w.model_copy(update={"requested_size": None, "requested_budget": budget, "unfilled_size": Decimal(0),
                                "unspent_budget": budget - w.cost - w.fees})


def _check_levels(levels: Sequence[BookLevel], buying: bool) -> None:
    prev: Decimal | None = None
    for level in levels:
        if not (Decimal(0) < level.price < Decimal(1)):
            raise ValueError(f"book price {level.price} must be strictly between 0 and 1")
        if level.size < 0:
            raise ValueError(f"book size {level.size} must be >= 0")
        if prev is not None and ((buying and level.price < prev) or (not buying and level.price > prev)):
            raise ValueError("book levels must be best first: asks by ascending price for a buy, "
                             "bids by descending price for a sell")
        prev = level.price
