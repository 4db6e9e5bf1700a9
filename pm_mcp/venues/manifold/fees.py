"""Manifold's fees: none on bets (amounts are mana, play money)."""

from __future__ import annotations

from decimal import Decimal

from pm_mcp.domain.fees import NO_FEES, FeeRateNotTaken
from pm_mcp.domain.models import FeeSchedule

SIZE_STEP = Decimal("0.01")  # mana, when no market says otherwise
TAKES_FEE_RATE = False


CURRENCY = "MANA"  # what a what-if on Manifold is priced in: play money (M$), never USD


def what_if_terms(fee_rate: Decimal | None) -> tuple[FeeSchedule, list[str], Decimal]:
    """(fee schedule, notes, size step) for a what-if on Manifold: no fee. A fee_rate is refused."""
    if fee_rate is not None:
        raise FeeRateNotTaken("Manifold charges no trading fee")
    return NO_FEES, [], SIZE_STEP


def fee_words(s: FeeSchedule) -> str:
    return "no trading fee"


__all__ = ["CURRENCY", "SIZE_STEP", "TAKES_FEE_RATE", "what_if_terms", "fee_words"]
