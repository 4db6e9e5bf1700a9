"""Trading fees: generic formulas, named by what they compute. Each venue package builds its own schedule
(``pm_mcp.venues.<name>.fees``: its rates, its rounding, where its formula is documented); this module only
computes.

One formula covers the venues we trade: fee = size x rate x (p x (1 - p)) ** exponent, the rate the taker's
or the maker's, and the fee of one order (its fills' raw fees summed) rounded once to the formula's quantum
in its rounding direction. Its kind names both: ``pq:<rounding>:<quantum>``, e.g. ``pq:ceiling:0.01``
(rounded up to the cent) or ``pq:half_up:0.00001`` (to the nearest 0.00001, half up). ``none``: no fee.

Schedules stored before the formulas had names (the catalog cache, journaled intents) carry the kind of the
venue that built them; :data:`LEGACY_KINDS` reads them as the formula they always meant, so they compute
exactly the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from functools import lru_cache

from pm_mcp.domain.models import FeeSchedule

NO_FEES = FeeSchedule(kind="none")


class FeeRateNotTaken(ValueError):
    """A fee rate was given for a venue whose fees are not set by one."""

PQ = "pq"  # size x rate x (p(1-p))^exponent

_ROUNDINGS = {"half_up": ROUND_HALF_UP, "ceiling": ROUND_CEILING, "floor": ROUND_FLOOR,
              "half_even": ROUND_HALF_EVEN, "up": ROUND_UP, "down": ROUND_DOWN}


@dataclass(frozen=True, slots=True)
class FeeFormula:
    """How a schedule's fee is computed: the p(1-p) proportional fee, rounded to ``quantum`` (``rounding``:
    a name of :data:`_ROUNDINGS`) once per order."""

    quantum: Decimal
    rounding: str
    name: str = PQ

    @property
    def kind(self) -> str:
        return f"{self.name}:{self.rounding}:{self.quantum}"

    def round(self, raw: Decimal) -> Decimal:
        return raw.quantize(self.quantum, rounding=_ROUNDINGS[self.rounding])


def pq_formula(quantum: Decimal | str, rounding: str) -> FeeFormula:
    if rounding not in _ROUNDINGS:
        raise ValueError(f"unknown fee rounding {rounding!r}; one of {', '.join(_ROUNDINGS)}")
    return FeeFormula(Decimal(quantum), rounding)


# Kinds stored before the formulas had names: read as the formula their venue always used.
_OLD_POLYMARKET_KIND, _OLD_KALSHI_KIND = "polymarket", "kalshi"
LEGACY_KINDS: dict[str, FeeFormula] = {
    _OLD_POLYMARKET_KIND: pq_formula("0.00001", "half_up"),
    _OLD_KALSHI_KIND: pq_formula("0.01", "ceiling"),
}


@lru_cache(maxsize=64)
def _parse_kind(kind: str) -> FeeFormula | None:
    legacy = LEGACY_KINDS.get(kind)
    if legacy is not None:
        return legacy
    parts = kind.split(":")
    if len(parts) != 3 or parts[0] != PQ or parts[1] not in _ROUNDINGS:
        return None  # "none", or a kind this version does not know: no fee (as before)
    try:
        return pq_formula(parts[2], parts[1])
    except ArithmeticError:
        return None


def formula_of(schedule: FeeSchedule) -> FeeFormula | None:
    """The formula a schedule computes with (None: it charges nothing)."""
    return _parse_kind(schedule.kind)


def pq_schedule(formula: FeeFormula, taker_rate: Decimal, maker_rate: Decimal = Decimal(0), *,
                exponent: Decimal = Decimal(1), taker_only: bool = True, kind: str | None = None) -> FeeSchedule:
    """A schedule of the p(1-p) formula. ``kind`` defaults to the formula's name; a venue may still label
    its schedules with its legacy kind (an alias of the same formula in :data:`LEGACY_KINDS`)."""
    name = kind or formula.kind
    if _parse_kind(name) != formula:
        raise ValueError(f"fee kind {name!r} does not compute {formula.kind}")
    return FeeSchedule(kind=name, taker_rate=taker_rate, maker_rate=maker_rate, exponent=exponent,
                       taker_only=taker_only)


def _factor(price: Decimal, exponent: Decimal) -> Decimal:
    base = price * (1 - price)
    return base if exponent == 1 else base ** exponent


def pq_fee(formula: FeeFormula, size: Decimal, price: Decimal, rate: Decimal,
           exponent: Decimal = Decimal(1)) -> Decimal:
    """size x rate x (p(1-p))^exponent, rounded by ``formula``."""
    if size <= 0 or rate <= 0:
        return Decimal(0)
    return formula.round(size * rate * _factor(price, exponent))


def _rate(schedule: FeeSchedule, maker: bool) -> Decimal:
    return schedule.maker_rate if maker else schedule.taker_rate


def raw_fee(schedule: FeeSchedule, size: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
    """The unrounded fee for ``size`` at ``price`` (sum these over the fills of one order, then
    :func:`round_fee` once)."""
    rate = _rate(schedule, maker)
    if size <= 0 or rate <= 0 or formula_of(schedule) is None:
        return Decimal(0)
    return size * rate * _factor(price, schedule.exponent)


def round_fee(schedule: FeeSchedule, raw: Decimal) -> Decimal:
    """Round a (summed) raw fee the way the venue charges it."""
    formula = formula_of(schedule)
    if raw <= 0 or formula is None:
        return Decimal(0)
    return formula.round(raw)


def trade_fee(schedule: FeeSchedule, size: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
    """The fee in the market's currency for one fill of ``size`` shares/contracts at ``price``."""
    return round_fee(schedule, raw_fee(schedule, size, price, maker=maker))


def order_fee(schedule: FeeSchedule, fills: Iterable[tuple[Decimal, Decimal]], *, maker: bool = False) -> Decimal:
    """The fee of one order filled as ``(size, price)`` pieces: the raw fees summed, rounded once."""
    return round_fee(schedule, sum((raw_fee(schedule, s, p, maker=maker) for s, p in fills), Decimal(0)))


def fee_per_share_upper_bound(schedule: FeeSchedule, price: Decimal) -> Decimal:
    """Unrounded taker fee per share at ``price`` (for break-even maths and budget estimates)."""
    return raw_fee(schedule, Decimal(1), price)


# --- compatibility: the venue packages own these (pm_mcp.venues.polymarket.fees, pm_mcp.venues.kalshi.fees).
# Kept for the modules that still import them from here (the venues' parse modules, tests, tools/bench);
# tests/test_fees.py checks they build exactly the venue packages' schedules.
def polymarket_schedule(rate: Decimal, exponent: Decimal = Decimal(1), taker_only: bool = True) -> FeeSchedule:
    return pq_schedule(LEGACY_KINDS[_OLD_POLYMARKET_KIND], rate, Decimal(0) if taker_only else rate,
                       exponent=exponent, taker_only=taker_only, kind=_OLD_POLYMARKET_KIND)


def kalshi_schedule(maker_fees: bool = False, multiplier: Decimal = Decimal(1)) -> FeeSchedule:
    return pq_schedule(LEGACY_KINDS[_OLD_KALSHI_KIND], Decimal("0.07") * multiplier,
                       (Decimal("0.0175") * multiplier) if maker_fees else Decimal(0),
                       taker_only=not maker_fees, kind=_OLD_KALSHI_KIND)
