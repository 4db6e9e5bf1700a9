"""Position arithmetic, pure: what one fill does to a position, and which event an order counts against.

Average cost includes fees (a buy's fee raises the cost basis); a sell realises ``size * (price -
avg_cost) - fee`` and never takes the position below zero."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


def event_key(event_id: str | None, market_id: str) -> str:
    """The key single-event exposure is counted under: the event, or the market when it has none."""
    return event_id or market_id


@dataclass(frozen=True)
class PositionState:
    size: Decimal = ZERO
    avg_cost: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def after_fill(self, side: str, price: Decimal, size: Decimal, fee: Decimal) -> PositionState:
        """The position after one fill of ``size`` shares at ``price`` paying ``fee`` (side 'buy' or 'sell')."""
        if side == "buy":
            new_size = self.size + size
            if new_size <= 0:
                return self
            avg = (self.size * self.avg_cost + size * price + fee) / new_size
            return PositionState(size=new_size, avg_cost=avg, realized_pnl=self.realized_pnl)
        if side == "sell":
            realized = self.realized_pnl + size * (price - self.avg_cost) - fee
            return PositionState(size=max(ZERO, self.size - size), avg_cost=self.avg_cost, realized_pnl=realized)
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
