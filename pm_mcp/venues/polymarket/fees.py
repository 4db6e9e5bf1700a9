"""Polymarket's fees (CLOB V2, operator-set at match time), built from the generic formula in
pm_mcp.domain.fees.

fee = shares x rate x (p x (1 - p)) ** exponent, charged to takers only (makers pay 0 and receive a rebate)
unless the schedule says otherwise. The rate and exponent are per market (Gamma ``feeSchedule``;
``feesEnabled: false`` = 0). docs.polymarket.com/trading/fees: "Fees are rounded to 5 decimal places. The
smallest fee charged is 0.00001 pUSD. Anything smaller rounds to zero". The direction is not documented: we
round to the nearest 0.00001, half up (it differs from any other choice by at most $0.00001).
"""

from __future__ import annotations

from decimal import Decimal

from pm_mcp.domain.fees import NO_FEES, pq_fee, pq_formula, pq_schedule
from pm_mcp.domain.models import FeeSchedule
from pm_mcp.domain.money import normalize

FORMULA = pq_formula("0.00001", "half_up")
# The kind our schedules carry: the legacy alias of FORMULA (pm_mcp.domain.fees.LEGACY_KINDS), which readers
# of FeeSchedule.kind still compare; it becomes FORMULA.kind once none does.
KIND = "polymarket"
SIZE_STEP = Decimal("0.01")  # shares, when no market says otherwise
TAKES_FEE_RATE = True  # a what-if without a market takes the market's feeSchedule rate as fee_rate


def polymarket_schedule(rate: Decimal, exponent: Decimal = Decimal(1), taker_only: bool = True) -> FeeSchedule:
    return pq_schedule(FORMULA, rate, Decimal(0) if taker_only else rate, exponent=exponent,
                       taker_only=taker_only, kind=KIND)


def polymarket_fee(shares: Decimal, price: Decimal, rate: Decimal, exponent: Decimal = Decimal(1)) -> Decimal:
    """shares x rate x (p(1-p))^exponent, rounded to 0.00001 pUSD (half up)."""
    return pq_fee(FORMULA, shares, price, rate, exponent)


def what_if_terms(fee_rate: Decimal | None) -> tuple[FeeSchedule, list[str], Decimal]:
    """(fee schedule, notes, size step) for a what-if on Polymarket without a market: the rate given, else no
    fee (and a note saying so). Raises ValueError for a rate that is not a fraction."""
    if fee_rate is None:
        return NO_FEES, ["no fee_rate given: assumed a fee-free Polymarket market; pass the market's "
                         "feeSchedule rate (e.g. 0.04) to include taker fees"], SIZE_STEP
    if not (Decimal(0) <= fee_rate < Decimal(1)):
        raise ValueError(f"fee_rate must be a fraction like 0.04, got {fee_rate}")
    return polymarket_schedule(fee_rate), [], SIZE_STEP


def fee_words(s: FeeSchedule) -> str:
    return f"Polymarket taker shares x {normalize(s.taker_rate)} x p(1-p)" + (
        f"^{normalize(s.exponent)}" if s.exponent != 1 else "")


__all__ = ["FORMULA", "KIND", "SIZE_STEP", "TAKES_FEE_RATE", "polymarket_schedule", "polymarket_fee",
           "what_if_terms", "fee_words"]
