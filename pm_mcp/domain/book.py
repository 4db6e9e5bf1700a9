"""Walking an order book: what a taker order of a given size or budget would really get."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel

from pm_mcp.domain.fees import trade_fee
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

    Exactly one of ``size`` (shares) or ``budget`` (USD incl. fees for a buy) must be given. A limit
    price stops the walk at levels worse than it. Sizes bought with a budget are floored to
    ``size_step``. Never fills more than the levels hold.
    """
    if (size is None) == (budget is None):
        raise ValueError("give exactly one of size or budget")
    if size is not None and size < 0:
        raise ValueError("size must be >= 0")
    if budget is not None and budget < 0:
        raise ValueError("budget must be >= 0")
    buying = side == "buy"
    remaining_size = size
    remaining_budget = budget
    filled = Decimal(0)
    cost = Decimal(0)
    fee_total = Decimal(0)
    used = 0
    worst: Decimal | None = None
    for level in levels:
        if level.size <= 0:
            continue
        if limit_price is not None and ((buying and level.price > limit_price) or
                                        (not buying and level.price < limit_price)):
            break
        if remaining_size is not None:
            if remaining_size <= 0:
                break
            take = min(level.size, remaining_size)
        else:
            assert remaining_budget is not None
            if remaining_budget <= 0:
                break
            unit = level.price + (_unit_fee(fees, level.price) if fees else Decimal(0))
            if unit <= 0:
                break
            take = min(level.size, (remaining_budget / unit).quantize(size_step, rounding=ROUND_FLOOR))
            # exact fee rounding may push the cost over the budget by a hair: step back until it fits
            while take > 0 and take * level.price + (trade_fee(fees, take, level.price) if fees else 0) > remaining_budget:
                take -= size_step
            if take <= 0:
                break
        fee = trade_fee(fees, take, level.price) if fees else Decimal(0)
        filled += take
        cost += take * level.price
        fee_total += fee
        used += 1
        worst = level.price
        if remaining_size is not None:
            remaining_size -= take
        else:
            remaining_budget -= take * level.price + fee
            if take < level.size:
                break
    avg = (cost / filled) if filled > 0 else None
    return BookWalk(requested_size=size, requested_budget=budget, filled_size=filled, cost=cost, fees=fee_total,
                    average_price=avg, worst_price=worst, levels_used=used,
                    unfilled_size=remaining_size if remaining_size is not None else Decimal(0),
                    unspent_budget=remaining_budget if remaining_budget is not None else Decimal(0))


def _unit_fee(fees: FeeSchedule, price: Decimal) -> Decimal:
    from pm_mcp.domain.fees import fee_per_share_upper_bound

    return fee_per_share_upper_bound(fees, price)
