"""Trading fees, per venue, exactly as the venues compute them.

Polymarket (CLOB V2, operator-set at match time): fee = shares x rate x (p x (1 - p)) ** exponent,
charged to takers only (makers pay 0 and receive a rebate) unless the schedule says otherwise.
The rate and exponent are per market (Gamma ``feeSchedule``; ``feesEnabled: false`` = 0). The fee is
in pUSD, which has 6 decimals: we round it UP to 0.000001 (the conservative side for a cost).

Kalshi: fee = M x rate x C x P x (1 - P), rate 0.07 for takers, 0.0175 for makers on series that charge
makers (else 0), M the series fee multiplier (default 1). The trade fee is rounded UP to the cent for a
retail account (docs: fee_rounding; at 100 contracts, P=0.50 -> $1.75, P=0.10 -> $0.63,
P=0.01 -> raw 0.0693 -> $0.07).

Manifold: no trading fee on bets (mana).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from pm_mcp.domain.models import FeeSchedule

KALSHI_TAKER_RATE = Decimal("0.07")
KALSHI_MAKER_RATE = Decimal("0.0175")
POLYMARKET_FEE_QUANTUM = Decimal("0.000001")
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


def polymarket_fee(shares: Decimal, price: Decimal, rate: Decimal, exponent: Decimal = Decimal(1)) -> Decimal:
    if shares <= 0 or rate <= 0:
        return Decimal(0)
    base = _pq(price)
    factor = base if exponent == 1 else base ** exponent
    return (shares * rate * factor).quantize(POLYMARKET_FEE_QUANTUM, rounding=ROUND_CEILING)


def kalshi_fee(contracts: Decimal, price: Decimal, rate: Decimal = KALSHI_TAKER_RATE) -> Decimal:
    if contracts <= 0 or rate <= 0:
        return Decimal(0)
    return (rate * contracts * _pq(price)).quantize(KALSHI_FEE_QUANTUM, rounding=ROUND_CEILING)


def trade_fee(schedule: FeeSchedule, size: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
    """The fee in USD for one fill of ``size`` shares/contracts at ``price`` under ``schedule``."""
    rate = schedule.maker_rate if maker else schedule.taker_rate
    if schedule.kind == "polymarket":
        return polymarket_fee(size, price, rate, schedule.exponent)
    if schedule.kind == "kalshi":
        return kalshi_fee(size, price, rate)
    return Decimal(0)


def fee_per_share_upper_bound(schedule: FeeSchedule, price: Decimal) -> Decimal:
    """Unrounded fee per share at ``price`` for a taker (for break-even maths)."""
    rate = schedule.taker_rate
    if schedule.kind == "polymarket":
        return rate * (_pq(price) if schedule.exponent == 1 else _pq(price) ** schedule.exponent)
    if schedule.kind == "kalshi":
        return rate * _pq(price)
    return Decimal(0)
