"""Risk assembly: what the journal says is already at stake, put against the session policy.

The pure rules live in ``pm_mcp.domain.policy`` (``check_order``); this module gathers their inputs from
the journal for one mode: today's spend, one event's exposure (positions at cost plus open buy orders'
remaining worst case), the shares a sell can use. ``exclude`` everywhere: journaled orders that are the
legs being checked (a delayed send after a restart), so they are not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pm_mcp.domain.intents import OrderLeg, stored_currency
from pm_mcp.domain.policy import PolicyCheck, PolicyViolation, RiskPolicy, check_order, order_headroom
from pm_mcp.domain.positions import event_key
from pm_mcp.execution.journal import Journal, now_utc

ZERO = Decimal(0)
NONE: frozenset[str] = frozenset()


class RiskBook:
    def __init__(self, journal: Journal, mode: str, policy: Callable[[str], RiskPolicy]) -> None:
        self.journal = journal
        self.mode = mode
        self._policy = policy  # currency -> the session policy in it as it is now (only ever tightened)

    async def sell_problems(self, legs: list[OrderLeg], exclude: frozenset[str] = NONE) -> list[str]:
        """A sell needs the shares: the position minus what open sells already promise."""
        out = []
        for leg in legs:
            if leg.side != "sell":
                continue
            pos = await self.journal.position(self.mode, leg.venue, leg.market_id, leg.outcome)
            held = pos.size if pos else ZERO
            promised = sum((o.remaining for o in await self.journal.open_orders(self.mode)
                            if o.side == "sell" and o.market_id == leg.market_id and o.outcome == leg.outcome
                            and o.id not in exclude), ZERO)
            if leg.size > held - promised:
                out.append(f"you hold {held - promised} {leg.outcome} shares of {leg.market_id} available to sell "
                           f"({self.mode} mode), not {leg.size}")
        return out

    async def exposure(self, key: str, exclude: frozenset[str] = NONE, currency: str = "USD") -> Decimal:
        """Cash at risk on one event, in one currency: positions' cost basis plus open buy orders' remaining
        worst case (mana never adds into USD)."""
        return await self._at_stake(lambda x: event_key(x.event_id, x.market_id) == key,
                                    await self.journal.open_buy_orders_for_event(self.mode, key), currency, exclude)

    async def market_stake(self, markets: set[tuple[str, str]], currency: str = "USD",
                           exclude: frozenset[str] = NONE) -> Decimal:
        """Cash already at risk on these (venue, market id) markets, in one currency, counted as :meth:`exposure`
        counts an event's (what the tier cap holds beside a new order on the same market)."""
        return await self._at_stake(lambda x: (x.venue, x.market_id) in markets,
                                    await self.journal.open_orders(self.mode), currency, exclude)

    async def _at_stake(self, on: Callable[[Any], bool], orders: list, currency: str,
                        exclude: frozenset[str]) -> Decimal:
        """Positions ``on`` the thing, at cost, plus the remaining worst case of the open buy ``orders`` on it."""
        total = ZERO
        for p in await self.journal.positions(self.mode):
            if on(p) and p.size > 0 and stored_currency(p.data, p.venue) == currency:
                total += p.size * p.avg_cost
        for o in orders:
            if o.side == "buy" and on(o) and o.id not in exclude and stored_currency(o.data, o.venue) == currency:
                total += o.committed_cost() - ((o.avg_price or ZERO) * o.filled_size + o.fees_paid)
        return total

    async def daily_spent(self, now: datetime | None = None, exclude: frozenset[str] = NONE,
                          currency: str = "USD") -> Decimal:
        """Everything bought today (UTC), in one currency."""
        now = now or now_utc()
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return sum((o.committed_cost() for o in await self.journal.buy_orders_since(self.mode, start)
                    if o.id not in exclude and stored_currency(o.data, o.venue) == currency), ZERO)

    async def check(self, legs: list[OrderLeg], exclude: frozenset[str] = NONE) -> PolicyCheck:
        """The legs against the session policy: the per-order cap on the whole intent, the daily cap on
        everything spent today plus this, and per event that event's exposure plus this."""
        currency = legs[0].currency if legs else "USD"  # an intent never mixes currencies (build_intent)
        policy = self._policy(currency)
        total = sum((leg.worst_case_cost for leg in legs), ZERO)
        daily = await self.daily_spent(exclude=exclude, currency=currency)
        by_event: dict[str, Decimal] = {}
        for leg in legs:
            if leg.side == "buy":
                key = event_key(leg.event_id, leg.market_id)
                by_event[key] = by_event.get(key, ZERO) + leg.worst_case_cost
        venues = sorted({leg.venue for leg in legs})
        violations: list[PolicyViolation] = []
        seen: set[tuple[str, str]] = set()

        def add(check: PolicyCheck) -> None:
            for v in check.violations:
                if (v.rule, v.value) not in seen:
                    seen.add((v.rule, v.value))
                    violations.append(v)

        for venue in venues:
            add(check_order(policy, venue=venue, mode=self.mode, order_cost=total, daily_spent_before=daily))
        for key, cost in by_event.items():
            ev = check_order(policy, venue=venues[0], mode=self.mode, order_cost=cost,
                             event_exposure_before=await self.exposure(key, exclude, currency))
            add(PolicyCheck(ok=ev.ok, violations=[v for v in ev.violations if v.rule == "max_event_usd"]))
        return PolicyCheck(ok=not violations, violations=violations)

    async def rooms(self, legs: list[OrderLeg], exclude: frozenset[str] = NONE) -> dict[str, Decimal]:
        """How much one order on these legs' events may cost under each money cap before it (the tightest event
        for a bundle): pm_mcp.domain.policy.order_headroom's ``by_rule``."""
        currency = legs[0].currency if legs else "USD"
        policy = self._policy(currency)
        daily = await self.daily_spent(exclude=exclude, currency=currency)
        keys = {event_key(leg.event_id, leg.market_id) for leg in legs if leg.side == "buy"}
        exposure = max([await self.exposure(k, exclude, currency) for k in keys], default=ZERO)
        return dict(order_headroom(policy, event_exposure_before=exposure, daily_spent_before=daily).by_rule)
