"""Kalshi's fees, built from the generic formula in pm_mcp.domain.fees.

fee = M x rate x C x P x (1 - P), rate 0.07 for takers, 0.0175 for makers on series that charge makers
(else 0), M the series fee multiplier (default 1). For a retail (non-direct) account the fee of an order is
rounded UP to the cent; across several partial fills Kalshi's fee accumulator refunds the over-rounding so
the order's total converges to the single-fill fee (docs: getting_started/fee_rounding). So the fee of a
multi-level fill is ceil_to_cent(sum of the raw fees), not the sum of per-level ceilings. Published examples
at 100 contracts: P=0.50 -> $1.75, P=0.10 -> $0.63, P=0.01 -> raw 0.0693 -> $0.07.
"""

from __future__ import annotations

from decimal import Decimal

from pm_mcp.domain.fees import pq_fee, pq_formula, pq_schedule
from pm_mcp.domain.models import FeeSchedule
from pm_mcp.domain.money import normalize

FORMULA = pq_formula("0.01", "ceiling")
# The kind our schedules carry: the legacy alias of FORMULA (pm_mcp.domain.fees.LEGACY_KINDS), which readers
# of FeeSchedule.kind still compare; it becomes FORMULA.kind once none does.
KIND = "kalshi"
TAKER_RATE = Decimal("0.07")
MAKER_RATE = Decimal("0.0175")
SIZE_STEP = Decimal(1)  # whole contracts
TAKES_FEE_RATE = False  # the rate is Kalshi's own: a fee_rate argument is ignored


def kalshi_schedule(maker_fees: bool = False, multiplier: Decimal = Decimal(1)) -> FeeSchedule:
    return pq_schedule(FORMULA, TAKER_RATE * multiplier, (MAKER_RATE * multiplier) if maker_fees else Decimal(0),
                       taker_only=not maker_fees, kind=KIND)


def kalshi_fee(contracts: Decimal, price: Decimal, rate: Decimal = TAKER_RATE) -> Decimal:
    """rate x C x P x (1-P), rounded UP to the cent (retail account)."""
    return pq_fee(FORMULA, contracts, price, rate)


def what_if_terms(fee_rate: Decimal | None) -> tuple[FeeSchedule, list[str], Decimal]:
    """(fee schedule, notes, size step) for a what-if on Kalshi without a market: the standard taker fee."""
    notes = [] if fee_rate is None else ["fee_rate is ignored for Kalshi (0.07 x C x P x (1-P) taker formula)"]
    return kalshi_schedule(), notes, SIZE_STEP


def fee_words(s: FeeSchedule) -> str:
    return f"Kalshi taker {normalize(s.taker_rate)} x C x P x (1-P), rounded up to the cent"


__all__ = ["FORMULA", "KIND", "TAKER_RATE", "MAKER_RATE", "SIZE_STEP", "TAKES_FEE_RATE", "kalshi_schedule",
           "kalshi_fee", "what_if_terms", "fee_words"]
