"""Trading fees, per venue, exactly as the venues compute them.

Polymarket (CLOB V2, operator-set at match time): fee = shares x rate x (p x (1 - p)) ** exponent,
charged to takers only (makers pay 0 and receive a rebate) unless the schedule says otherwise.
The rate and exponent are per market (Gamma ``feeSchedule``; ``feesEnabled: false`` = 0).
docs.polymarket.com/trading/fees: "Fees are rounded to 5 decimal places. The smallest fee charged is
0.00001 pUSD. Anything smaller rounds to zero". The direction is not documented: we round to the
nearest 0.00001, half up (it differs from any other choice by at most $0.00001).

Kalshi: fee = M x rate x C x P x (1 - P), rate 0.07 for takers, 0.0175 for makers on series that charge
makers (else 0), M the series fee multiplier (default 1). For a retail (non-direct) account the fee of
an order is rounded UP to the cent; across several partial fills Kalshi's fee accumulator refunds the
over-rounding so the order's total converges to the single-fill fee (docs: getting_started/fee_rounding).
So the fee of a multi-level fill is ceil_to_cent(sum of the raw fees), not the sum of per-level ceilings.
Published examples at 100 contracts: P=0.50 -> $1.75, P=0.10 -> $0.63, P=0.01 -> raw 0.0693 -> $0.07.

Manifold: no trading fee on bets (mana).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from pm_mcp.domain.models import FeeSchedule

KALSHI_TAKER_RATE = Decimal("0.07")
KALSHI_MAKER_RATE = Decimal("0.0175")
POLYMARKET_FEE_QUANTUM = Decimal("0.00001")
KALSHI_FEE_QUANTUM = Decimal("0.01")

NO_FEES = FeeSchedule(kind="none")


def polymarket_schedule(rate: Decimal, exponent: Decimal = Decimal(1), taker_only: bool = True) -> FeeSchedule:
    return FeeSchedule(kind="polymarket", taker_rate=rate, maker_rate=Decimal(0) if taker_only else rate,
                       exponent=exponent, taker_only=taker_only)


def kalshi_schedule(maker_fees: bool = False, multiplier: Decimal = Decimal(1)) -> FeeSchedule:
    return FeeSchedule(kind="kalshi", taker_rate=KALSHI_TAKER_RATE * multiplier,
                       maker_rate=(KALSHI_MAKER_RATE * multiplier) if maker_fees else Decimal(0),
                       taker_only=not maker_fees)


def _pq(price: Decimal) -> Decimal:
    return price * (1 - price)


def _factor(price: Decimal, exponent: Decimal) -> Decimal:
    base = _pq(price)
    return base if exponent == 1 else base ** exponent


def polymarket_fee(shares: Decimal, price: Decimal, rate: Decimal, exponent: Decimal = Decimal(1)) -> Decimal:
    """shares x rate x (p(1-p))^exponent, rounded to 0.00001 pUSD (half up)."""
    if shares <= 0 or rate <= 0:
        return Decimal(0)
    return (shares * rate * _factor(price, exponent)).quantize(POLYMARKET_FEE_QUANTUM, rounding=ROUND_HALF_UP)


def kalshi_fee(contracts: Decimal, price: Decimal, rate: Decimal = KALSHI_TAKER_RATE) -> Decimal:
    """rate x C x P x (1-P), rounded UP to the cent (retail account)."""
    if contracts <= 0 or rate <= 0:
        return Decimal(0)
    return (rate * contracts * _pq(price)).quantize(KALSHI_FEE_QUANTUM, rounding=ROUND_CEILING)


def _rate(schedule: FeeSchedule, maker: bool) -> Decimal:
    return schedule.maker_rate if maker else schedule.taker_rate


def raw_fee(schedule: FeeSchedule, size: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
    """The unrounded fee for ``size`` at ``price`` (sum these over the fills of one order, then
    :func:`round_fee` once)."""
    rate = _rate(schedule, maker)
    if size <= 0 or rate <= 0:
        return Decimal(0)
    if schedule.kind == "polymarket":
        return size * rate * _factor(price, schedule.exponent)
    if schedule.kind == "kalshi":
        return rate * size * _pq(price)
    return Decimal(0)


def round_fee(schedule: FeeSchedule, raw: Decimal) -> Decimal:
    """Round a (summed) raw fee the way the venue charges it."""
    if raw <= 0:
        return Decimal(0)
    if schedule.kind == "polymarket":
        return raw.quantize(POLYMARKET_FEE_QUANTUM, rounding=ROUND_HALF_UP)
    if schedule.kind == "kalshi":
        return raw.quantize(KALSHI_FEE_QUANTUM, rounding=ROUND_CEILING)
    return Decimal(0)


def trade_fee(schedule: FeeSchedule, size: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
    """The fee in USD for one fill of ``size`` shares/contracts at ``price`` under ``schedule``."""
    return round_fee(schedule, raw_fee(schedule, size, price, maker=maker))


def order_fee(schedule: FeeSchedule, fills: Iterable[tuple[Decimal, Decimal]], *, maker: bool = False) -> Decimal:
    """The fee of one order filled as ``(size, price)`` pieces: the raw fees summed, rounded once."""
    return round_fee(schedule, sum((raw_fee(schedule, s, p, maker=maker) for s, p in fills), Decimal(0)))


def fee_per_share_upper_bound(schedule: FeeSchedule, price: Decimal) -> Decimal:
    """Unrounded taker fee per share at ``price`` (for break-even maths and budget estimates)."""
    return raw_fee(schedule, Decimal(1), price)
