"""Decimal helpers: parsing, tick rounding, probabilities. Never float in anything that prices.

Tick-rounding direction (the safe side for the person):
- a BUY limit price is rounded DOWN to the tick: we never pay more than the person agreed;
- a SELL limit price is rounded UP to the tick: we never sell for less than the person agreed;
- a size (shares / contracts) is rounded DOWN to the venue's size step: we never buy more than
  the stake covers.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")


class MoneyError(ValueError):
    """A value that cannot be used as money, price, size or probability; the message says why."""


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Parse ints, decimal strings and Decimals exactly. Floats go through ``str`` (their shortest
    repr), so 0.1 becomes Decimal('0.1'), not 0.1000000000000000055...; NaN/inf are rejected."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise MoneyError(f"{what} must be a number or a decimal string (e.g. 0.62 or \"0.62\"), not the boolean "
                         f"{str(value).lower()}")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise MoneyError(f"{what} {value!r} is not a number") from None
    else:
        raise MoneyError(f"{what} must be a number, got {type(value).__name__}")
    if not d.is_finite():
        raise MoneyError(f"{what} must be finite, got {value!r}")
    return d


def decimal_or_none(value: object) -> Decimal | None:
    """Lenient parse of a venue's JSON value (decimal string, int, float via its shortest repr):
    None for blanks, booleans, garbage and non-finite values. For reading venue payloads, not user input."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return to_decimal(value)
    except MoneyError:
        return None


def probability(value: object, what: str = "probability") -> Decimal:
    d = to_decimal(value, what)
    if not (ZERO <= d <= ONE):
        raise MoneyError(f"{what} must be in [0, 1] (e.g. 0.62 for 62%), got {d}")
    return d


def price_in_open_unit(value: object, what: str = "price") -> Decimal:
    """A tradeable price: strictly between 0 and 1."""
    d = to_decimal(value, what)
    if not (ZERO < d < ONE):
        raise MoneyError(f"{what} must be strictly between 0 and 1 (USD per share), got {d}")
    return d


def round_to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """Round ``price`` to a multiple of ``tick`` in the given direction (ROUND_FLOOR / ROUND_CEILING /
    ROUND_HALF_EVEN) and return it quantized to the tick's exponent."""
    if tick <= 0:
        raise MoneyError(f"tick must be positive, got {tick}")
    steps = (price / tick).to_integral_value(rounding=rounding)
    return (steps * tick).quantize(tick)


def buy_limit_on_tick(price: Decimal, tick: Decimal) -> Decimal:
    """A BUY limit rounded DOWN to the tick (never pay more than agreed)."""
    return round_to_tick(price, tick, ROUND_FLOOR)


def sell_limit_on_tick(price: Decimal, tick: Decimal) -> Decimal:
    """A SELL limit rounded UP to the tick (never sell for less than agreed)."""
    return round_to_tick(price, tick, ROUND_CEILING)


def is_on_tick(price: Decimal, tick: Decimal) -> bool:
    return (price / tick) == (price / tick).to_integral_value()


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` <= value (sizes: never more than the stake covers)."""
    return round_to_tick(value, step, ROUND_FLOOR)


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return round_to_tick(value, step, ROUND_CEILING)


def floor_dp(value: Decimal, dp: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_DOWN if value >= 0 else ROUND_UP)


def ceil_dp(value: Decimal, dp: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_CEILING)


def usd(value: Decimal) -> str:
    """$12.34 for display (banker's rounding to the cent for display only)."""
    return in_currency(value, "USD")


# how amounts in each currency are written: Manifold's mana (play money) is M$, never $
CURRENCY_SYMBOLS = {"USD": "$", "MANA": "M$"}


def currency_symbol(currency: str) -> str:
    """'$' for USD, 'M$' for Manifold's mana."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")


def unit_name(currency: str = "USD") -> str:
    """How an error names the unit of an amount: 'USD', or 'M$' for Manifold's mana (never called dollars)."""
    c = currency.upper()
    return "USD" if c == "USD" else currency_symbol(c).strip()


def in_currency(value: Decimal, currency: str = "USD") -> str:
    """'$1,234.50' / 'M$12.00' / '-M$3.10' for display (banker's rounding to the cent, display only)."""
    q = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sym = currency_symbol(currency)
    return f"-{sym}{-q:,}" if q < 0 else f"{sym}{q:,}"


def pct(value: Decimal, dp: int = 1) -> str:
    return f"{(value * 100).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_EVEN)}%"


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (Decimal('1E+1') -> '10')."""
    n = value.normalize()
    return n.quantize(ONE) if n == n.to_integral_value() and n.as_tuple().exponent > 0 else n
