"""Order intents: frozen, fully priced proposals that only the person can turn into orders.

An :class:`Intent` is what the person is asked to approve. It carries one or more
:class:`OrderLeg` (a single order is the common case; a bundle of legs is one intent confirmed once
and executed leg by leg), every number the person needs (limit price on the venue's tick, size on
the venue's step, worst-case cost incl. fees, worst-case loss, payout), the policy verdict, the
expiry and ``order_hash``: sha256 over a canonical serialisation of exactly the order fields.
A confirmation is bound to that hash and used once; any change to an order is a new intent.

Pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pm_mcp.domain.discipline import TierCeiling
from pm_mcp.domain.fees import fee_per_share_upper_bound, trade_fee
from pm_mcp.domain.models import FeeSchedule, Market, MarketStatus
from pm_mcp.domain.money import (
    CURRENCY_SYMBOLS,
    ONE,
    ZERO,
    MoneyError,
    buy_limit_on_tick,
    ceil_dp,
    floor_dp,
    floor_to,
    is_on_tick,
    normalize,
    sell_limit_on_tick,
    to_decimal,
    unit_name,
)
from pm_mcp.domain.policy import PolicyCheck

TIME_IN_FORCE = ("GTC", "GTD", "FOK", "FAK")


class IntentError(ValueError):
    """The proposal cannot be priced as asked; the message says what to change."""


class IntentStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for the person
    CONFIRMED = "confirmed"  # the person approved; execution starts
    REJECTED = "rejected"  # the person declined, the policy refused, or it was cancelled before approval
    EXPIRED = "expired"  # not approved in time
    EXECUTING = "executing"  # orders journaled / being sent
    EXECUTED = "executed"  # every leg reached the venue (resting or filled)
    FAILED = "failed"  # a re-check or the venue refused; the reason is recorded
    # standing orders (an intent with a trigger; pm_mcp.execution.standing)
    ARMED = "armed"  # the person approved a standing order: it waits for its condition until valid_until
    TRIGGERED = "triggered"  # its condition held: one execution (a child intent) is under way
    CANCELLED = "cancelled"  # the person cancelled an armed standing order


TERMINAL_STATUSES = frozenset({IntentStatus.REJECTED, IntentStatus.EXPIRED, IntentStatus.EXECUTED,
                               IntentStatus.FAILED, IntentStatus.CANCELLED})


# intents, orders and positions journaled before amounts carried their currency: Manifold's were mana
_LEGACY_CURRENCY = {"manifold": "MANA"}


def stored_currency(data: dict | None, venue: str) -> str:
    """The currency of a journaled record: its own ``currency``, else (rows from before) its venue's."""
    cur = (data or {}).get("currency")
    return str(cur).upper() if cur else _LEGACY_CURRENCY.get(venue, "USD")


def currency(currency_or_venue: str) -> str:
    """The symbol amounts are written with: '$' for USD, 'M$' for mana. Takes a currency code (what markets
    and legs carry) or, for older callers, a venue name (read as the currency its records had before they
    carried one)."""
    code = (currency_or_venue or "").upper()
    if code not in CURRENCY_SYMBOLS:
        code = _LEGACY_CURRENCY.get(currency_or_venue, "USD")
    return CURRENCY_SYMBOLS[code]


def money(amount: Decimal, venue: str = "", *, up: bool = False) -> str:
    """'$52.80' / 'M$12.00'; ``up`` rounds a cost up to the cent (never understate what you pay)."""
    q = ceil_dp(amount, 2) if up else floor_dp(amount, 2) if amount >= 0 else ceil_dp(amount, 2)
    sign = "-" if q < 0 else ""
    return f"{sign}{currency(venue)}{abs(q):,.2f}"


def price_text(price: Decimal, venue: str = "") -> str:
    """A limit price exactly as it goes to the venue, at least 2 decimals: '$0.43', '$0.435'."""
    n = normalize(price)
    if n.as_tuple().exponent > -2:
        n = n.quantize(Decimal("0.01"))
    return f"{currency(venue)}{format(n, 'f')}"


def _num(d: Decimal) -> str:
    """Canonical decimal text: no exponent, no trailing zeros ('0.43', '120')."""
    n = normalize(d)
    return format(n, "f")


class OrderLeg(BaseModel):
    """One fully priced order. ``order_fields()`` is exactly what the order hash covers."""

    model_config = ConfigDict(frozen=True)

    venue: str
    market_id: str
    market_title: str
    event_id: str | None = None
    event_title: str | None = None
    outcome: str = Field(description="Outcome LABEL as the venue shows it (never an index).")
    outcome_ref: str | None = Field(None, description="Venue id of the outcome: token id, ticker/side, answer id.")
    side: Literal["buy", "sell"]
    limit_price: Decimal = Field(description="On the venue tick: buy rounded down, sell rounded up.")
    size: Decimal = Field(description="Shares / contracts, on the venue's size step.")
    time_in_force: Literal["GTC", "GTD", "FOK", "FAK"] = "GTC"
    tick_size: Decimal
    min_order_size: Decimal
    size_step: Decimal
    fee_schedule: FeeSchedule
    gross: Decimal = Field(description="limit_price x size.")
    fees: Decimal = Field(description="Taker fee if the whole size fills at the limit.")
    worst_case_cost: Decimal = Field(description="Cash out at worst: buy = gross + fees; sell = fees.")
    worst_case_loss: Decimal = Field(description="Most you can lose on this leg.")
    payout_if_wins: Decimal = Field(description="Buy: what the shares pay if the outcome wins. Sell: least you receive.")
    rules_hash: str | None = None
    close_time: datetime | None = None
    plain: str = Field(description="The order in plain words.")
    notes: list[str] = Field(default_factory=list, description="What was adjusted (tick/step rounding) and why.")
    currency: str = Field("USD", description="USD, or MANA (Manifold's play money): amounts never mix.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_currency(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("currency"):
            data = {**data, "currency": _LEGACY_CURRENCY.get(str(data.get("venue", "")), "USD")}
        return data

    def order_fields(self) -> dict[str, str]:
        return {"venue": self.venue, "market_id": self.market_id, "outcome": self.outcome, "side": self.side,
                "limit_price": _num(self.limit_price), "size": _num(self.size),
                "time_in_force": self.time_in_force}


# --- standing orders -------------------------------------------------------------------------------------
TRIGGER_KINDS = ("price_below", "price_above")
TRIGGER_SIDES = ("ask", "bid", "mid")
MAX_VALIDITY = timedelta(days=30)
MAX_REPEAT = 10


class StandingTerms(BaseModel):
    """A standing order's condition and validity, as the person confirms them (the order hash covers them).

    ``kind`` on ``price_side`` of ``outcome``'s book against ``level``; the order is sent at most ``repeat``
    times (once per crossing), never after ``valid_until``."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["price_below", "price_above"]
    level: Decimal
    price_side: Literal["ask", "bid", "mid"]
    outcome: str
    valid_until: datetime
    repeat: int = 1

    def hash_fields(self) -> dict[str, str]:
        return {"kind": self.kind, "level": _num(self.level), "side": self.price_side, "outcome": self.outcome,
                "valid_until": self.valid_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "repeat": str(self.repeat)}

    def condition(self, currency: str = "USD") -> str:
        """'the Yes ask is at or below $0.40'."""
        how = "at or below" if self.kind == "price_below" else "at or above"
        return f"the {self.outcome} {self.price_side} is {how} {price_text(self.level, currency)}"

    def until_text(self) -> str:
        return self.valid_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def times_text(self) -> str:
        return "at most once" if self.repeat == 1 else f"at most {self.repeat} times (once per crossing)"

    def sentence(self, currency: str = "USD") -> str:
        return (f"STANDING ORDER, sent only if {self.condition(currency)} (checked by pm-mcp's runner), "
                f"{self.times_text()}, valid until {self.until_text()}")


def standing_terms(*, kind: object, level: object, side: object, outcome: str, order_side: str,
                   valid_until: datetime | None, repeat: object, now: datetime) -> StandingTerms:
    """The terms of a standing order, checked (IntentError names the argument, the value and what is allowed)."""
    k = str(kind or "").strip().lower()
    if k not in TRIGGER_KINDS:
        raise IntentError(f"trigger.kind must be one of {', '.join(TRIGGER_KINDS)}, got {kind!r}")
    lv = _positive(level, "trigger.level", "a price strictly between 0 and 1")
    if not lv < ONE:
        raise IntentError(f"trigger.level must be a price strictly between 0 and 1, got {_num(lv)}")
    sd = str(side).strip().lower() if side else ("bid" if str(order_side).lower() == "sell" else "ask")
    if sd not in TRIGGER_SIDES:
        raise IntentError(f"trigger.side must be one of {', '.join(TRIGGER_SIDES)}, got {side!r}")
    if valid_until is None:
        raise IntentError("valid_until is missing: a standing order needs the time it stops (at most "
                          f"{MAX_VALIDITY.days} days ahead), stated to the person and confirmed")
    until = valid_until if valid_until.tzinfo is not None else valid_until.replace(tzinfo=UTC)
    until = until.astimezone(UTC).replace(microsecond=0)
    if until <= now:
        raise IntentError(f"valid_until {until.isoformat()} is in the past; give a future time")
    if until - now > MAX_VALIDITY:
        raise IntentError(f"valid_until {until.isoformat()} is more than {MAX_VALIDITY.days} days away; a standing "
                          f"order lasts at most {MAX_VALIDITY.days} days")
    try:
        n = int(str(1 if repeat is None else repeat))
    except ValueError:
        raise IntentError(f"repeat must be a whole number from 1 to {MAX_REPEAT}, got {repeat!r}") from None
    if not 1 <= n <= MAX_REPEAT:
        raise IntentError(f"repeat must be from 1 to {MAX_REPEAT} (executions the person confirms), got {n}")
    return StandingTerms(kind=k, level=lv, price_side=sd, outcome=outcome, valid_until=until,  # type: ignore[arg-type]
                         repeat=n)


class Intent(BaseModel):
    """A frozen, fully priced proposal. Status lives in the store; this object never changes."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    expires_at: datetime
    mode: Literal["paper", "live"]
    legs: list[OrderLeg]
    order_hash: str
    worst_case_cost: Decimal
    fees: Decimal
    worst_case_loss: Decimal
    payout_if_wins: Decimal
    policy: PolicyCheck
    forecast_p: Decimal | None = None
    forecast_source: str | None = None
    plain: str
    standing: StandingTerms | None = None  # a standing order: its trigger and validity (the hash covers them)
    parent_id: str | None = None  # one execution of the standing order ``parent_id`` (same legs, same hash)
    # the tier cap the proposal was checked against and the limit that binds (pm_mcp.domain.discipline); None on
    # intents stored before it was recorded. Shown to the person; not an order field (the hash does not cover it).
    tier_cap: TierCeiling | None = None

    @property
    def is_bundle(self) -> bool:
        return len(self.legs) > 1

    @property
    def venue(self) -> str:
        return self.legs[0].venue

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def hash_matches(self) -> bool:
        """True when ``order_hash`` still equals the hash of the legs (detects any tampering)."""
        return self.order_hash == compute_order_hash(self.mode, self.legs, self.standing)


def compute_order_hash(mode: str, legs: list[OrderLeg], standing: StandingTerms | None = None) -> str:
    """sha256 over the canonical JSON of exactly the order fields (mode + every leg in order; a standing
    order's trigger, validity and repeat count too)."""
    payload: dict[str, Any] = {"v": 1, "mode": mode, "legs": [leg.order_fields() for leg in legs]}
    if standing is not None:
        payload["standing"] = standing.hash_fields()
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def _outcome_ref(market: Market, label: str) -> str | None:
    o = market.outcome(label)
    if o.token_id:
        return o.token_id
    if o.ticker:
        return f"{o.ticker}:{o.side}" if o.side else o.ticker
    return o.answer_id or o.side


def leg_cost(side: str, schedule: FeeSchedule, size: Decimal, limit: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(gross, fees, worst-case cost) of ``size`` at ``limit`` as a taker."""
    gross = limit * size
    fees = trade_fee(schedule, size, limit)
    return gross, fees, (gross + fees) if side == "buy" else fees


def price_leg(market: Market, *, outcome: str, side: str, limit_price: object, size: object = None,
              stake: object = None, time_in_force: str = "GTC", rules_hash: str | None = None,
              now: datetime | None = None) -> OrderLeg:
    """Price one order exactly as the venue will take it. Raises :class:`IntentError` with advice."""
    side = str(side).strip().lower()
    if side not in ("buy", "sell"):
        raise IntentError(f"side must be 'buy' or 'sell', got {side!r}")
    tif = str(time_in_force).strip().upper()
    if tif not in TIME_IN_FORCE:
        raise IntentError(f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}, got {time_in_force!r}")
    try:
        o = market.outcome(outcome)
    except KeyError as exc:
        raise IntentError(str(exc.args[0])) from None
    if market.status in (MarketStatus.CLOSED, MarketStatus.RESOLVED, MarketStatus.PAUSED):
        raise IntentError(f"market {market.id!r} is {market.status.value}: it does not accept orders")
    if now is not None and market.close_time is not None and market.close_time <= now:
        raise IntentError(f"market {market.id!r} closed for trading at {market.close_time.isoformat()}")
    try:
        raw_limit = to_decimal(limit_price, "limit_price")
    except MoneyError as exc:
        raise IntentError(str(exc)) from None
    if not (ZERO < raw_limit < ONE):
        raise IntentError(f"limit_price must be strictly between 0 and 1 ({unit_name(market.currency)} per share), "
                          f"got {raw_limit}")
    tick = market.tick_size
    notes: list[str] = []
    if not is_on_tick(raw_limit, tick):
        # never moved silently: rounding a buy down can leave it resting below the ask, a sell up above the bid
        near = [p for p in (buy_limit_on_tick(raw_limit, tick), sell_limit_on_tick(raw_limit, tick))
                if tick <= p <= ONE - tick]
        which = (f"the nearest valid prices are {_num(near[0])} and {_num(near[1])}" if len(near) == 2 else
                 f"the nearest valid price is {_num(near[0])}" if near else
                 f"valid prices are {_num(tick)}..{_num(ONE - tick)}")
        raise IntentError(f"limit_price {_num(raw_limit)} is not on this market's {_num(tick)} tick; {which}: propose "
                          "again with one of them")
    limit = raw_limit
    if not (tick <= limit <= ONE - tick):
        raise IntentError(f"limit_price {_num(limit)} is outside the tradeable range {_num(tick)}..{_num(ONE - tick)} "
                          f"on this market's {_num(tick)} tick")
    step = market.size_step
    schedule = market.fees
    if (size is None) == (stake is None):
        raise IntentError(f"give exactly one of size (shares) or stake ({unit_name(market.currency)} to spend incl. "
                          "fees)")
    if size is not None:
        want = _positive(size, "size", "positive (shares)")
        qty = floor_to(want, step)
        if qty != want:
            notes.append(f"size {_num(want)} floored to the venue's {_num(step)} step: {_num(qty)}")
    else:
        if side != "buy":
            raise IntentError(f"a stake ({unit_name(market.currency)} to spend) only applies to a buy; give the number of "
                              "shares to sell as size")
        budget = _positive(stake, "stake", "a positive amount")
        unit = limit + _unit_fee(schedule, limit)
        qty = floor_to(budget / unit, step)
        while qty > 0 and leg_cost(side, schedule, qty, limit)[2] > budget:
            qty = floor_to(qty - step, step)
        notes.append(f"stake {money(budget, market.currency)} buys {_num(qty)} shares at up to {_num(limit)} incl. fees")
    min_size = market.min_order_size
    if qty <= 0 or qty < min_size:
        need = max(min_size, step)
        need_cost = leg_cost(side, schedule, need, limit)[2] if side == "buy" else None
        extra = f" (about {money(need_cost, market.currency, up=True)} at this limit)" if need_cost is not None else ""
        raise IntentError(f"size {_num(qty)} is below this market's minimum of {_num(need)} shares{extra}; "
                          "increase the size or stake")
    gross, fees, cost = leg_cost(side, schedule, qty, limit)
    if side == "buy":
        loss = cost
        payout = qty
    else:
        loss = qty - gross + fees  # you hand over shares worth up to $1 each for the limit price
        payout = gross - fees
    venue_name = market.venue_name or market.venue  # every adapter sets the display name
    shown_size = _num(qty)
    if side == "buy":
        plain = (f"Buy {shown_size} {o.label} shares of '{market.title}' on {venue_name} at no more than "
                 f"{price_text(limit, market.currency)} each; worst-case cost {money(cost, market.currency, up=True)} incl. "
                 f"{money(fees, market.currency, up=True)} fees; you win {money(payout, market.currency)} if {o.label}")
    else:
        plain = (f"Sell {shown_size} {o.label} shares of '{market.title}' on {venue_name} at no less than "
                 f"{price_text(limit, market.currency)} each; you receive at least {money(payout, market.currency)} after up to "
                 f"{money(fees, market.currency, up=True)} fees; you give up {money(qty, market.currency)} if {o.label}")
    return OrderLeg(venue=market.venue, market_id=market.id, market_title=market.title, event_id=market.event_id,
                    event_title=market.event_title, outcome=o.label, outcome_ref=_outcome_ref(market, o.label),
                    side=side, limit_price=limit, size=qty, time_in_force=tif, tick_size=tick,
                    min_order_size=min_size, size_step=step, fee_schedule=schedule, gross=gross, fees=fees,
                    worst_case_cost=cost, worst_case_loss=loss, payout_if_wins=payout, rules_hash=rules_hash,
                    close_time=market.close_time, plain=plain, notes=notes, currency=market.currency)


def _positive(value: object, what: str, must_be: str) -> Decimal:
    """``value`` as a Decimal above zero, or an IntentError naming ``what`` ("size must be positive ...")."""
    try:
        d = to_decimal(value, what)
    except MoneyError as exc:
        raise IntentError(str(exc)) from None
    if d <= 0:
        raise IntentError(f"{what} must be {must_be}, got {d}")
    return d


def _unit_fee(schedule: FeeSchedule, price: Decimal) -> Decimal:
    return fee_per_share_upper_bound(schedule, price)


def build_intent(legs: list[OrderLeg], *, intent_id: str, mode: str, policy: PolicyCheck, now: datetime,
                 ttl_s: int, forecast_p: object = None, forecast_source: str | None = None,
                 standing: StandingTerms | None = None, tier_cap: TierCeiling | None = None) -> Intent:
    """Freeze priced legs into an intent (hash, totals, plain words, expiry; the tier cap it was checked against)."""
    if not legs:
        raise IntentError("an intent needs at least one order leg")
    if mode not in ("paper", "live"):
        raise IntentError(f"mode must be 'paper' or 'live', got {mode!r}")
    if ttl_s <= 0:
        raise IntentError("the intent lifetime must be positive")
    p: Decimal | None = None
    if forecast_p is not None:
        try:
            p = to_decimal(forecast_p, "forecast_p")
        except MoneyError as exc:
            raise IntentError(str(exc)) from None
        if not (ZERO <= p <= ONE):
            raise IntentError(f"forecast_p must be a probability in [0, 1] for the outcome you trade, got {p}")
    currencies = {leg.currency for leg in legs}
    if len(currencies) > 1:
        raise IntentError("one intent cannot mix currencies (" + ", ".join(sorted(currencies)) + "): Manifold's "
                          "mana is play money and never adds into USD; propose the legs separately")
    cost = sum((leg.worst_case_cost for leg in legs), ZERO)
    fees = sum((leg.fees for leg in legs), ZERO)
    loss = sum((leg.worst_case_loss for leg in legs), ZERO)
    payout = sum((leg.payout_if_wins for leg in legs), ZERO)
    if len(legs) == 1:
        plain = legs[0].plain
    else:
        venue = legs[0].currency
        plain = (f"A bundle of {len(legs)} orders, confirmed once and sent leg by leg (stops at the first leg that "
                 f"does not fill completely); worst-case cost {money(cost, venue, up=True)} incl. "
                 f"{money(fees, venue, up=True)} fees:\n"
                 + "\n".join(f"  {i}. {leg.plain}" for i, leg in enumerate(legs, 1)))
    expires = now + timedelta(seconds=ttl_s)
    if standing is not None:
        if len(legs) != 1:
            raise IntentError("a standing order (trigger) is one order; a bundle cannot have a trigger")
        if standing.valid_until <= now:
            raise IntentError(f"valid_until {standing.valid_until.isoformat()} is in the past; give a future time")
        expires = min(expires, standing.valid_until)  # the person approves within the usual window
        plain = standing.sentence(legs[0].currency) + ": " + plain
    return Intent(id=intent_id, created_at=now, expires_at=expires, mode=mode,  # type: ignore[arg-type]
                  legs=legs, order_hash=compute_order_hash(mode, legs, standing), worst_case_cost=cost, fees=fees,
                  worst_case_loss=loss, payout_if_wins=payout, policy=policy, forecast_p=p,
                  forecast_source=(forecast_source or None), plain=plain, standing=standing, tier_cap=tier_cap)


class FreshCheck(BaseModel):
    """The outcome of re-checking one leg against the market as the venue shows it now."""

    ok: bool
    problems: list[str] = Field(default_factory=list)


def recheck_leg(leg: OrderLeg, market: Market, *, rules_hash: str | None, now: datetime) -> FreshCheck:
    """At the moment of execution: market still open, rules unchanged, tick and minimum still satisfied."""
    problems: list[str] = []
    if market.status in (MarketStatus.CLOSED, MarketStatus.RESOLVED, MarketStatus.PAUSED):
        problems.append(f"market {market.id!r} is now {market.status.value}")
    if market.close_time is not None and market.close_time <= now:
        problems.append(f"market {market.id!r} closed at {market.close_time.isoformat()}")
    if leg.rules_hash is not None and rules_hash is not None and rules_hash != leg.rules_hash:
        problems.append("the market's rule text changed since the proposal (rules hash differs); read the new "
                        "rules and propose again")
    if not is_on_tick(leg.limit_price, market.tick_size):
        problems.append(f"the tick size is now {_num(market.tick_size)}: limit {_num(leg.limit_price)} is not on it")
    if leg.size < market.min_order_size:
        problems.append(f"the minimum order is now {_num(market.min_order_size)} shares; this order has {_num(leg.size)}")
    try:
        market.outcome(leg.outcome)
    except KeyError:
        problems.append(f"outcome {leg.outcome!r} is no longer listed on this market")
    return FreshCheck(ok=not problems, problems=problems)
