"""Positions marked to the current books, settlement on resolution, exposure per event, track record.

Everything here is the running principal's (pm_mcp.principal): their positions, spend, exposure and forecasts.
Settlement is background work over every owner's positions, each saved as its owner's."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from pm_mcp import principal
from pm_mcp.domain.intents import stored_currency
from pm_mcp.domain.models import Market, MarketStatus
from pm_mcp.execution.engine import ExecutionEngine
from pm_mcp.execution.journal import EVERYONE, PositionRecord, iso, now_utc

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class MarkedPosition(BaseModel):
    venue: str
    market_id: str
    title: str
    outcome: str
    event_id: str | None
    size: Decimal
    avg_cost: Decimal
    cost_basis: Decimal
    mark_price: Decimal | None
    mark_source: str
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal
    status: str  # open | closed | settled
    settled_outcome: str | None = None
    currency: str = "USD"  # USD, or MANA (Manifold's play money)


class EventExposure(BaseModel):
    event_id: str
    exposure: Decimal
    cap: Decimal
    headroom: Decimal
    currency: str = "USD"


class CurrencyTotals(BaseModel):
    """Totals in one currency: mana (play money) never adds into USD."""

    currency: str
    cost_basis: Decimal = ZERO
    market_value: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    daily_spent: Decimal = ZERO
    daily_cap: Decimal = ZERO


class PortfolioSnapshot(BaseModel):
    mode: str
    positions: list[MarkedPosition] = Field(default_factory=list)
    exposure: list[EventExposure] = Field(default_factory=list)
    cost_basis: Decimal = ZERO
    market_value: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    daily_spent: Decimal = ZERO
    daily_cap: Decimal = ZERO
    open_orders: int = 0
    warnings: list[str] = Field(default_factory=list)
    # the totals above are USD only; every currency held (USD, MANA) has its own totals here
    by_currency: dict[str, CurrencyTotals] = Field(default_factory=dict)
    last_sync_at: datetime | None = Field(None, description="when the background runner last synced orders")


async def _market(engine: ExecutionEngine, market_id: str, venue: str, cache: dict, warnings: list[str]) -> Market | None:
    key = (venue, market_id)
    if key not in cache:
        try:
            cache[key] = await engine.markets.get_market(market_id, venue=venue)
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"{venue} {market_id}: could not refresh ({exc})")
            cache[key] = None
    return cache[key]


async def settle_resolved(engine: ExecutionEngine, cache: dict, warnings: list[str]) -> None:
    """A position on a market the venue reports resolved is paid out: $1 a share for the winning outcome (every
    owner's positions: the background sync)."""
    for pos in await engine.journal.positions(engine.mode, owner=EVERYONE):
        if pos.size <= 0:
            continue
        market = await _market(engine, pos.market_id, pos.venue, cache, warnings)
        if market is None or market.status != MarketStatus.RESOLVED or not market.resolved_outcome:
            continue
        won = market.resolved_outcome.strip().lower() == pos.outcome.strip().lower()
        payout = pos.size if won else ZERO
        pos.realized_pnl += payout - pos.size * pos.avg_cost
        pos.data = {**pos.data, "settled": {"outcome": market.resolved_outcome, "payout": str(payout),
                                            "size": str(pos.size), "at": iso(now_utc())}}
        pos.size = ZERO
        with principal.use(principal.as_owner(pos.owner)):
            await engine.journal.save_position(pos)
            await engine.journal.log("position.settled", f"{pos.venue}:{pos.market_id}:{pos.outcome}",
                                     {"won": won, "payout": str(payout)})


async def _mark(engine: ExecutionEngine, pos: PositionRecord, market: Market | None) -> tuple[Decimal | None, str]:
    if market is None:
        return None, "unavailable"
    try:
        book = await engine.markets.get_order_book(market, pos.outcome)
        if book.mid is not None:
            return book.mid, "book mid"
        if book.best_bid is not None:
            return book.best_bid, "best bid"
    except Exception as exc:  # noqa: BLE001
        log.info("mark %s: %s", pos.market_id, type(exc).__name__)
    try:
        price = market.outcome(pos.outcome).price
    except KeyError:
        price = None
    return (price, "last price") if price is not None else (None, "unavailable")


async def portfolio(engine: ExecutionEngine) -> PortfolioSnapshot:
    """Read-only: positions as the journal holds them (the background runner fills resting orders and
    settles resolved markets), marked to the current books."""
    warnings: list[str] = list(engine.notices)  # what start-up reconciliation did (mode switch, not sent)
    cache: dict = {}
    positions = await engine.journal.positions(engine.mode)
    await asyncio.gather(*(_market(engine, p.market_id, p.venue, cache, warnings) for p in positions if p.size > 0))
    snap = PortfolioSnapshot(mode=engine.mode, warnings=warnings, last_sync_at=engine.last_sync_at)
    marked: list[MarkedPosition] = []
    for pos in await engine.journal.positions(engine.mode):
        settled = pos.data.get("settled")
        market = cache.get((pos.venue, pos.market_id)) if pos.size > 0 else None
        mark, source = await _mark(engine, pos, market) if pos.size > 0 else (None, "closed")
        basis = pos.size * pos.avg_cost
        value = pos.size * mark if mark is not None else None
        marked.append(MarkedPosition(
            venue=pos.venue, market_id=pos.market_id, title=str(pos.data.get("title", "")), outcome=pos.outcome,
            event_id=pos.event_id, size=pos.size, avg_cost=pos.avg_cost, cost_basis=basis, mark_price=mark,
            mark_source=source, market_value=value, unrealized_pnl=(value - basis) if value is not None else None,
            realized_pnl=pos.realized_pnl,
            status="open" if pos.size > 0 else ("settled" if settled else "closed"),
            settled_outcome=settled.get("outcome") if settled else None,
            currency=stored_currency(pos.data, pos.venue)))
    snap.positions = marked
    open_orders = await engine.journal.open_orders(engine.mode)
    snap.open_orders = len(open_orders)
    currencies = {"USD"} | {p.currency for p in marked} | {stored_currency(o.data, o.venue) for o in open_orders}
    await engine.load_policies()
    for cur in sorted(currencies):
        mine = [p for p in marked if p.currency == cur]
        policy = engine.policy_for(cur)
        snap.by_currency[cur] = CurrencyTotals(
            currency=cur, cost_basis=sum((p.cost_basis for p in mine), ZERO),
            market_value=sum((p.market_value or ZERO for p in mine), ZERO),
            unrealized_pnl=sum((p.unrealized_pnl or ZERO for p in mine), ZERO),
            realized_pnl=sum((p.realized_pnl for p in mine), ZERO),
            daily_spent=await engine.daily_spent(currency=cur), daily_cap=policy.max_daily_usd)
        keys = {p.event_id or p.market_id for p in mine if p.size > 0}
        keys |= {o.event_id or o.market_id for o in open_orders
                 if o.side == "buy" and stored_currency(o.data, o.venue) == cur}
        cap = policy.max_event_usd
        for key in sorted(keys):
            exp = await engine.exposure(key, currency=cur)
            snap.exposure.append(EventExposure(event_id=key, exposure=exp, cap=cap, headroom=max(ZERO, cap - exp),
                                               currency=cur))
    usd = snap.by_currency["USD"]
    snap.cost_basis, snap.market_value = usd.cost_basis, usd.market_value
    snap.unrealized_pnl, snap.realized_pnl = usd.unrealized_pnl, usd.realized_pnl
    snap.daily_spent, snap.daily_cap = usd.daily_spent, usd.daily_cap
    return snap


class ForecastRecord(BaseModel):
    intent_id: str
    source: str
    forecast_p: Decimal
    venue: str
    market_id: str
    title: str
    outcome: str
    side: str
    filled_size: Decimal
    resolved: bool
    resolved_outcome: str | None = None
    hit: bool | None = None
    brier: Decimal | None = None


class SourceScore(BaseModel):
    source: str
    trades: int
    resolved: int
    brier: Decimal | None  # mean over resolved forecasts; lower is better (0 perfect, 0.25 = always 50%)


class TrackRecord(BaseModel):
    mode: str
    forecasts: list[ForecastRecord] = Field(default_factory=list)
    by_source: list[SourceScore] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


async def track_record(engine: ExecutionEngine) -> TrackRecord:
    """Every forecast that led to a fill, its outcome when known, and the Brier score per source.
    The forecast p is for the outcome traded (leg 1); Brier = (p - 1{that outcome won})^2."""
    warnings: list[str] = []
    cache: dict = {}
    out: list[ForecastRecord] = []
    for rec in await engine.journal.intents_with_forecast(engine.mode):
        orders = await engine.journal.orders_for_intent(rec.intent.id)
        filled = sum((o.filled_size for o in orders), ZERO)
        if filled <= 0:
            continue
        leg = rec.intent.legs[0]
        market = await _market(engine, leg.market_id, leg.venue, cache, warnings)
        resolved = bool(market is not None and market.status == MarketStatus.RESOLVED and market.resolved_outcome)
        fr = ForecastRecord(intent_id=rec.intent.id, source=rec.intent.forecast_source or "unspecified",
                            forecast_p=rec.intent.forecast_p or ZERO, venue=leg.venue, market_id=leg.market_id,
                            title=leg.market_title, outcome=leg.outcome, side=leg.side, filled_size=filled,
                            resolved=resolved)
        if resolved:
            assert market is not None and market.resolved_outcome is not None
            fr.resolved_outcome = market.resolved_outcome
            fr.hit = market.resolved_outcome.strip().lower() == leg.outcome.strip().lower()
            o = Decimal(1) if fr.hit else ZERO
            fr.brier = (fr.forecast_p - o) ** 2
        out.append(fr)
    scores: dict[str, list[ForecastRecord]] = {}
    for f in out:
        scores.setdefault(f.source, []).append(f)
    by_source = []
    for source, items in sorted(scores.items()):
        res = [f.brier for f in items if f.brier is not None]
        by_source.append(SourceScore(source=source, trades=len(items), resolved=len(res),
                                     brier=(sum(res, ZERO) / len(res)) if res else None))
    return TrackRecord(mode=engine.mode, forecasts=out, by_source=by_source, warnings=warnings)
