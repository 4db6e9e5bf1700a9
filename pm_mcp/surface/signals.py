"""Signal tools: get_market_holders (a market's largest holders, concentration, and with signal=true the net
position of holders with a proven record and what it may do to a confidence tier) and get_wallet_record
(a wallet's record: resolved P&L apart from unrealised marks, calibration, bot likelihood).

Thin: fetch through the venue's Data API client (imported on the first call), compute with
pm_mcp.domain.signals, write the text. Wallet addresses are public data, shown as addresses only.
"""

# No `from __future__ import annotations` here (see pm_mcp.surface.rules).

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from pm_mcp.domain.models import Market
from pm_mcp.domain.money import in_currency
from pm_mcp.domain.signals import (
    Holder,
    HolderSignal,
    OutcomeHolders,
    TierMove,
    WalletRecord,
    age_days,
    holder_signal,
    summarize_holders,
    wallet_record,
)
from pm_mcp.domain.signals import (
    tier_move as move_tier,
)
from pm_mcp.domain.untrusted import quote_label
from pm_mcp.surface.common import READ_OPEN, VenueArg, app_state, grouped, markets_of, titled, to_tool_error
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import BRIEF, LEGACY
from pm_mcp.venues.registry import display_name

if TYPE_CHECKING:
    from pm_mcp.venues.polymarket.data import Page, PolymarketData

__all__ = ["get_market_holders", "get_wallet_record", "register", "short"]

log = logging.getLogger(__name__)

TierArg = Literal["none", "low", "medium", "high", "very_high"]
SIGNAL_WALLETS = 10  # records checked for the signal: the largest holders, across outcomes
RECORD_POSITIONS = 500  # closed (and open) positions read per holder for the signal
RECORD_ACTIVITY = 500
CONCURRENCY = 4

HOLDERS_DESCRIPTION = (
    "Largest holders per outcome; signal: what proven holders hold and the sizing-tier move (one step at "
    "most).")
RECORD_DESCRIPTION = (
    "A wallet's record: P&L on resolved markets, how many stand behind it (< 20 is no record), calibration, "
    "bot likelihood, first and last activity.")


class TierMoveIn(BaseModel):
    """get_market_holders' tier question (each also accepted at the top level, its old place)."""

    model_config = ConfigDict(extra="forbid")
    side: Annotated[str | None, Field(max_length=80)] = None
    tier: TierArg | None = None
    max_tier: TierArg | None = None


class MarketRef(BaseModel):
    venue: str
    id: str
    title: str
    condition_id: str | None = None
    url: str | None = None


class HoldersOut(BaseModel):
    market: MarketRef
    outcomes: list[OutcomeHolders]
    signal: HolderSignal | None = None
    tier_move: TierMove | None = None
    requests: int = Field(0, description="Data API pages read for this answer")
    notes: list[str] = Field(default_factory=list)
    as_of: datetime


class WalletOut(BaseModel):
    record: WalletRecord
    requests: int = 0
    notes: list[str] = Field(default_factory=list)
    as_of: datetime


def short(wallet: str) -> str:
    """0x1b5c…6c0f: a wallet's short form for the text (the full address is in the structured answer)."""
    return f"{wallet[:6]}…{wallet[-4:]}" if len(wallet) > 12 else wallet


def _api(ctx: Context) -> "PolymarketData":
    from pm_mcp.venues.polymarket import data

    return data.data_api(app_state(ctx))


def _usd(d: Decimal | None) -> str:
    return in_currency(d, "USD") if d is not None else "?"


# --- get_wallet_record ----------------------------------------------------------------------------------------
def _check_wallet(wallet: str) -> str:
    from pm_mcp.venues.polymarket.data import WALLET

    w = (wallet or "").strip()
    if not WALLET.match(w):
        raise ToolError(f"wallet {w[:60]!r} is not a wallet address: pass the 0x-prefixed 40-hex proxy/deposit "
                        "wallet shown on the Polymarket profile.")
    return w.lower()


async def _read(what: str, coro, notes: list[str]):
    """A piece of the answer, or None with a note saying why it is missing (a partial answer, never invented)."""
    from pm_mcp.venues.base import VenueError

    try:
        return await coro
    except VenueError as exc:
        notes.append(f"{what} could not be read: {exc.message}")
        return None


async def read_record(api: "PolymarketData", wallet: str, max_positions: int, max_activity: int = RECORD_ACTIVITY,
                      *, with_value: bool = True) -> tuple[WalletRecord | None, int, list[str], list]:
    """(record, pages read, notes, open positions); the record is None when nothing at all could be read."""
    notes: list[str] = []
    parts = await asyncio.gather(
        _read("open positions", api.positions(wallet, status="OPEN", max_items=max_positions), notes),
        _read("closed positions", api.positions(wallet, status="CLOSED", max_items=max_positions), notes),
        _read("activity", api.activity(wallet, max_items=max_activity), notes),
        _read("portfolio value", api.value(wallet), notes) if with_value else _none())
    opened, closed, act, value = parts
    pages: list[Page] = [p for p in (opened, closed, act) if p is not None]
    requests = sum(p.pages for p in pages) + (1 if with_value and value is not None else 0)
    for p, what in ((opened, "open positions"), (closed, "closed positions"), (act, "activity")):
        if p is not None:
            notes += p.notes(what)
    if opened is None and closed is None and act is None:
        return None, requests, notes, []
    cut = list(notes)
    record = wallet_record(wallet, opened.items if opened else [], closed.items if closed else [],
                           act.items if act else [], portfolio_value=value, cut=cut)
    if closed is None:
        record.verdict, record.follow_worthy = "no_record", False
        record.verdict_reason = "closed positions could not be read: no record can be judged"
    return record, requests, notes, opened.items if opened else []


async def _none():
    return None


def record_text(r: WalletRecord, requests: int) -> str:
    lines = [f"Wallet {r.wallet} (Polymarket proxy wallet; public data)"]
    if not (r.open_positions or r.closed_positions) and r.first_activity is None:
        lines.append("No positions or activity found: an unknown wallet, or the signing key's address instead of "
                     "the proxy/deposit wallet shown on the profile.")
    lines.append(f"Record: {r.verdict} ({r.verdict_reason})")
    lines.append(f"Resolved markets: {r.resolved_markets} ({r.resolved_won} won, {r.resolved_lost} lost); P&L on "
                 f"them {_usd(r.pnl_resolved_usd)} (realised)")
    lines.append(f"Realised before resolution: {_usd(r.pnl_realised_unresolved_usd)}; unrealised marks on "
                 f"{r.open_positions} open: {_usd(r.pnl_unrealised_usd)} (not a record); open value "
                 f"{_usd(r.open_value_usd)}" + (f"; portfolio value {_usd(r.portfolio_value_usd)}"
                                                  if r.portfolio_value_usd is not None else ""))
    c = r.calibration
    if c:
        lines.append(f"Calibration over {c.positions} resolved positions: won {c.win_rate:.0%} at a mean entry "
                     f"{c.mean_entry_price:.2f} (excess {c.excess:+.2f}, z {c.z:+.1f}); Brier of the prices it paid "
                     f"{c.brier:.3f} (0.25 = coin flip)")
    b = r.bot
    lines.append(f"Bot / market-maker likelihood: {b.likelihood} over {b.trades_seen} trades" +
                 (": " + "; ".join(b.reasons) if b.reasons else ""))
    if r.first_activity:
        lines.append(f"Activity: first {r.first_activity:%Y-%m-%d}, last {r.last_activity:%Y-%m-%d %H:%M} UTC")
    for p in r.largest_open[:3]:
        lines.append(f"  open: {quote_label(p.title, 70)} {quote_label(p.outcome)} {p.size:,.0f} sh at "
                     f"{p.avg_price} -> {p.current_price} ({_usd(p.value_usd)}, mark {_usd(p.unrealized_pnl_usd)})")
    lines += [f"cut: {n}" for n in r.cut]
    lines.append(f"Follow-worthy: {'yes' if r.follow_worthy else 'no'}; {requests} Data API requests.")
    return "\n".join(lines)


async def get_wallet_record(
    wallet: Annotated[str, Field(description="0x proxy wallet on the profile", max_length=80)],
    ctx: Context,
    max_positions: Annotated[int, Field(ge=1, le=5000, description="positions read at most")] = 1000,
) -> Annotated[CallToolResult, WalletOut]:
    w = _check_wallet(wallet)
    try:
        record, requests, notes, _ = await read_record(_api(ctx), w, max_positions)
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="read the wallet's record") from None
    if record is None:
        raise ToolError(f"{display_name(_data_venue())} Data API: nothing could be read for {w} ("
                        + "; ".join(notes) + "); try again shortly.")
    out = WalletOut(record=record, requests=requests, notes=notes, as_of=datetime.now(UTC))
    return tool_result(out, record_text(record, requests))


# --- get_market_holders ---------------------------------------------------------------------------------------
def _data_venue() -> str:
    from pm_mcp.venues.polymarket.data import VENUE

    return VENUE


async def _market(ctx: Context, ref: str, venue: str | None) -> Market:
    if not ref or not ref.strip():
        raise ToolError("market is missing: pass a market id, slug, condition id or URL.")
    try:
        m = await markets_of(ctx).get_market(ref.strip(), venue)
    except Exception as exc:  # noqa: BLE001
        raise to_tool_error(exc, action="get the market") from None
    if m.venue != _data_venue() or not m.condition_id:
        raise ToolError(f"market {ref.strip()[:80]!r} is on {m.venue_name or display_name(m.venue)}: holders and "
                        f"wallet records come from {display_name(_data_venue())}'s public Data API only.")
    return m


def _label_of(m: Market, token: str, holders: list[Holder], i: int) -> str:
    for o in m.outcomes:
        if o.token_id and o.token_id == token:
            return o.label
    idx = next((h.outcome_index for h in holders if h.outcome_index is not None), i)
    return m.outcomes[idx].label if 0 <= idx < len(m.outcomes) else f"outcome {idx}"


async def _signal(api: "PolymarketData", m: Market, groups: list[tuple[str, list[Holder]]],
                  now: datetime) -> tuple[HolderSignal, int]:
    everyone = sorted(((h.value_usd or h.shares, h.wallet) for _, hs in groups for h in hs), reverse=True)
    wallets = list(dict.fromkeys(w for _, w in everyone))[:SIGNAL_WALLETS]
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(w: str):
        async with sem:
            return await read_record(api, w, RECORD_POSITIONS, with_value=False)

    results = await asyncio.gather(*(one(w) for w in wallets))
    records: dict[str, WalletRecord] = {}
    skipped: list[str] = []
    ages: dict[tuple[str, str], float | None] = {}
    requests = 0
    cid = (m.condition_id or "").lower()
    for w, (rec, n, notes, opened) in zip(wallets, results, strict=True):
        requests += n
        if rec is None or rec.verdict_reason.startswith("closed positions could not be read"):
            skipped.append(f"{short(w)}: " + ("; ".join(notes) or "no data"))
            continue
        records[w] = rec
        for p in opened:  # days since this holder's position in this market last changed
            if p.condition_id == cid:
                ages[(w, _label_of(m, p.token_id, [], p.outcome_index or 0))] = age_days(p.last_event_at, now)
    prices = {o.label: o.price for o in m.outcomes}
    outcomes = [(_label_of(m, t, hs, i), hs) for i, (t, hs) in enumerate(groups)]
    return holder_signal(outcomes, records, ages, prices, skipped=skipped), requests


def holders_text(m: Market, out: HoldersOut) -> str:
    lines = [f"Holders of {quote_label(m.title, 90)} ({display_name(m.venue)}, {m.condition_id}); shares; "
             "wallets are public addresses"]
    for o in out.outcomes:
        lines.append(f"{quote_label(o.outcome)}: {o.concentration} (HHI {o.hhi}, top 1 {o.top1_share:.0%}, top 5 "
                     f"{o.top5_share:.0%} of {o.listed_shares:,.0f} listed shares)")
        for h in o.holders:
            oi = f", {h.share_of_open_interest:.1%} of OI" if h.share_of_open_interest is not None else ""
            at = f" at {h.avg_price}" if h.avg_price is not None else ""
            lines.append(f"  {short(h.wallet)} {h.shares:,.0f} sh ({h.share_of_listed:.0%}{oi}){at}")
    s = out.signal
    if s is not None:
        lines.append(f"Signal: {s.note}. Checked {s.checked_wallets} wallets; proven {s.proven_wallets}.")
        for x in s.holdings:
            age = f"{x.age_days:.0f} d old" if x.age_days is not None else "age unknown"
            lines.append(f"  {short(x.wallet)} {quote_label(x.outcome)} {x.shares:,.0f} sh ({_usd(x.value_usd)}), "
                         f"{age}, weight {x.weight}")
        lines += [f"  skipped {k}" for k in s.skipped]
    t = out.tier_move
    if t is not None:
        lines.append(f"Tier for {quote_label(t.side)}: {t.tier_before} -> {t.tier_after} ({t.steps:+d}; cap "
                     f"{t.cap or 'not given'}): {t.reason}. Your probability is unchanged.")
    lines += [f"note: {n}" for n in out.notes]
    lines.append(f"{out.requests} Data API requests; as of {out.as_of:%Y-%m-%d %H:%M} UTC.")
    return "\n".join(lines)


def _side(m: Market, side: str | None) -> str | None:
    if side is None:
        return None
    try:
        return m.outcome(side).label
    except KeyError as exc:
        raise ToolError(f"side {side[:40]!r}: {exc.args[0]}") from None


async def get_market_holders(
    market: Annotated[str, Field(description="id or URL", max_length=300)],
    ctx: Context,
    venue: Annotated[VenueArg | None, Field(description="venue")] = None,
    limit: Annotated[int, Field(ge=1, le=20, description="holders")] = 10,
    signal: Annotated[bool, Field(description="check records")] = False,
    side: Annotated[str | None, Field(max_length=80), LEGACY] = None,
    tier: Annotated[TierArg | None, LEGACY] = None,
    max_tier: Annotated[TierArg | None, LEGACY] = None,
    tier_move: Annotated[TierMoveIn | None, Field(
        description="side, tier, max_tier (none|low|medium|high|very_high)"),
        BRIEF] = None,
) -> Annotated[CallToolResult, HoldersOut]:
    t = grouped(tier_move, "tier_move", side=side, tier=tier, max_tier=max_tier)
    side, tier, max_tier = t.side, t.tier, t.max_tier
    m = await _market(ctx, market, venue)
    label = _side(m, side)
    if tier is not None and label is None:
        raise ToolError("side is missing: a tier move needs the outcome you would buy (side).")
    api = _api(ctx)
    now = datetime.now(UTC)
    try:
        groups = await api.holders(m.condition_id or "", limit=20)
    except Exception as exc:  # noqa: BLE001
        raise to_tool_error(exc, action="read the market's holders") from None
    summaries = [summarize_holders(hs, _label_of(m, t, hs, i), t, limit=limit, open_interest=m.open_interest)
                 for i, (t, hs) in enumerate(groups)]
    out = HoldersOut(market=MarketRef(venue=m.venue, id=m.id, title=m.title, condition_id=m.condition_id, url=m.url),
                     outcomes=summaries, requests=1, as_of=now)
    if not groups:
        out.notes.append("the Data API lists no holders for this market")
    if signal or tier is not None:
        sig, n = await _signal(api, m, groups, now)
        out.signal, out.requests = sig, out.requests + n
        if sig.checked_wallets == 0 and sig.skipped:
            out.notes.append("no record could be read: no signal (not a neutral one)")
        if tier is not None and label is not None:
            out.tier_move = move_tier(sig if sig.checked_wallets else None, label, tier, max_tier)
    return tool_result(out, holders_text(m, out))


# --- registration ----------------------------------------------------------------------------------------------
def register(mcp: MCPServer) -> None:
    mcp.tool(name="get_market_holders", title="Market holders and the holder signal", description=HOLDERS_DESCRIPTION,
             annotations=titled(READ_OPEN, "Market holders and the holder signal"))(get_market_holders)
    mcp.tool(name="get_wallet_record", title="Wallet record", description=RECORD_DESCRIPTION,
             annotations=titled(READ_OPEN, "Wallet record"))(get_wallet_record)
