"""Order tools: propose_order, confirm_order, cancel_order, get_order, list_orders, get_portfolio,
get_track_record, tighten_risk_policy, doctor. Thin: they call the execution engine
(``state.execution``). Only the person can confirm an order (approval page, elicitation
dialog, or the host's own prompt when PM_MCP_CONFIRM=host)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from pm_mcp.domain.discipline import TierCeiling
from pm_mcp.domain.intents import IntentStatus, money, price_text, stored_currency
from pm_mcp.domain.money import in_currency, normalize
from pm_mcp.domain.untrusted import clean_inline, quote_inline, quote_label
from pm_mcp.execution import LegSpec, confirmation_instructions
from pm_mcp.execution.doctor import CheckOut
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError, mode_mismatch
from pm_mcp.execution.journal import IntentRecord, OrderRecord
from pm_mcp.execution.portfolio import PortfolioSnapshot, TrackRecord, portfolio, track_record
from pm_mcp.execution.runner import sync_age
from pm_mcp.execution.summary import condition_line, tier_line
from pm_mcp.surface.common import READ_OPEN, app_state, engine_of_ctx, grouped, split_venue, titled, to_tool_error
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import BRIEF, CHOICES, LEGACY, Grouped
from pm_mcp.surface.strategy import PolicyLimitsOut, VenueName

PROPOSE = ToolAnnotations(title="Propose an order (places nothing)", read_only_hint=False, destructive_hint=False,
                          idempotent_hint=False, open_world_hint=True)
CONFIRM = ToolAnnotations(title="Confirm an order intent", read_only_hint=False, destructive_hint=True,
                          idempotent_hint=False, open_world_hint=True)
CANCEL = ToolAnnotations(title="Cancel an order or proposal", read_only_hint=False, destructive_hint=True,
                         idempotent_hint=True, open_world_hint=True)
TIGHTEN = ToolAnnotations(title="Tighten the risk policy (kept)", read_only_hint=False, destructive_hint=False,
                          idempotent_hint=True, open_world_hint=False)


T = TypeVar("T")


def _n(d: Decimal | None) -> Decimal | None:
    return None if d is None else normalize(d)


# --- output models ------------------------------------------------------------------------------
class ViolationOut(BaseModel):
    rule: str
    limit: str
    value: str
    message: str


class LegOut(BaseModel):
    venue: str
    market_id: str
    market_title: str
    event_id: str | None
    outcome: str
    side: str
    limit_price: Decimal
    size: Decimal
    time_in_force: str
    worst_case_cost: Decimal
    fees: Decimal
    payout_if_wins: Decimal
    plain: str
    notes: list[str]


class OrderOut(BaseModel):
    order_id: str
    intent_id: str | None
    status: str
    mode: str
    venue: str
    market_id: str
    market_title: str
    outcome: str
    side: str
    limit_price: Decimal
    size: Decimal
    filled_size: Decimal
    avg_price: Decimal | None
    fees_paid: Decimal
    client_order_id: str
    venue_order_id: str | None
    message: str | None
    created_at: datetime
    updated_at: datetime


class IntentOut(BaseModel):
    mode: str = Field(description="paper (simulated fills against live books) or live (real money).")
    intent_id: str
    status: str
    plain: str = Field(description="The order in plain words.")
    legs: list[LegOut]
    worst_case_cost: Decimal
    fees: Decimal
    worst_case_loss: Decimal
    payout_if_wins: Decimal
    policy_ok: bool
    policy_violations: list[ViolationOut]
    expires_at: datetime
    order_hash: str
    forecast_p: Decimal | None
    forecast_source: str | None
    reason: str | None = None
    confirm_channel: str | None = None
    approval_url: str | None = None
    how_to_confirm: str | None = None
    orders: list[OrderOut] = Field(default_factory=list)
    tier_cap: TierCeiling | None = Field(None, description="The tier cap it was held to (assess_market's verdict and "
                                                           "the rule clarity) and the limit that binds.")


class OrderLookupOut(BaseModel):
    mode: str
    intent: IntentOut | None = None
    orders: list[OrderOut] = Field(default_factory=list)
    last_sync_at: datetime | None = Field(None, description="when the background sync last refreshed orders")


class OrderListOut(BaseModel):
    mode: str
    orders: list[OrderOut]
    total: int
    next_cursor: str | None = None
    last_sync_at: datetime | None = Field(None, description="when the background sync last refreshed orders")


class PolicyOut(PolicyLimitsOut):
    allowed_venues: list[str]
    live_enabled: bool
    changed: list[str] = Field(default_factory=list)


class DoctorOut(BaseModel):
    mode: str
    checks: list[CheckOut]


# --- conversions ------------------------------------------------------------------------------
def order_out(o: OrderRecord) -> OrderOut:
    return OrderOut(order_id=o.id, intent_id=o.intent_id, status=o.status, mode=o.mode, venue=o.venue,
                    market_id=o.market_id, market_title=o.market_title, outcome=o.outcome, side=o.side,
                    limit_price=_n(o.limit_price), size=_n(o.size), filled_size=_n(o.filled_size),
                    avg_price=_n(o.avg_price.quantize(Decimal("0.000001")) if o.avg_price is not None else None),
                    fees_paid=_n(o.fees_paid), client_order_id=o.client_order_id, venue_order_id=o.venue_order_id,
                    message=o.message, created_at=o.created_at, updated_at=o.updated_at)


def intent_out(rec: IntentRecord, orders: list[OrderRecord] = (), how: dict[str, Any] | None = None) -> IntentOut:
    it = rec.intent
    return IntentOut(
        mode=it.mode, intent_id=it.id, status=rec.status.value, plain=it.plain,
        legs=[LegOut(venue=leg.venue, market_id=leg.market_id, market_title=leg.market_title, event_id=leg.event_id,
                     outcome=leg.outcome, side=leg.side, limit_price=_n(leg.limit_price), size=_n(leg.size),
                     time_in_force=leg.time_in_force, worst_case_cost=_n(leg.worst_case_cost), fees=_n(leg.fees),
                     payout_if_wins=_n(leg.payout_if_wins), plain=leg.plain, notes=leg.notes) for leg in it.legs],
        worst_case_cost=_n(it.worst_case_cost), fees=_n(it.fees), worst_case_loss=_n(it.worst_case_loss),
        payout_if_wins=_n(it.payout_if_wins), policy_ok=it.policy.ok,
        policy_violations=[ViolationOut(rule=v.rule, limit=v.limit, value=v.value, message=v.message)
                           for v in it.policy.violations],
        expires_at=it.expires_at, order_hash=it.order_hash, forecast_p=it.forecast_p,
        forecast_source=it.forecast_source, reason=rec.reason,
        confirm_channel=(how or {}).get("channel"), approval_url=(how or {}).get("approval_url"),
        how_to_confirm=(how or {}).get("instructions"), orders=[order_out(o) for o in orders], tier_cap=it.tier_cap)


def _tag(mode: str) -> str:
    return "[PAPER]" if mode == "paper" else "[LIVE]"


# Titles and outcome labels in our text follow pm_mcp.domain.untrusted: titles quoted, capped, one line;
# labels bare only when one plain word; venue messages cleaned to one capped line.
ORDER_TITLE_CHARS = 80


def order_line(o: OrderRecord) -> str:
    filled = f"filled {normalize(o.filled_size)}/{normalize(o.size)}"
    if o.avg_price is not None and o.filled_size > 0:
        filled += f" @ avg {o.avg_price.quantize(Decimal('0.0001'))}"
    if o.fees_paid:
        filled += f", fees {money(o.fees_paid, stored_currency(o.data, o.venue), up=True)}"
    msg = f" ({clean_inline(o.message, 200)})" if o.message else ""
    return (f"{o.id} {o.status}: {o.side} {normalize(o.size)} {quote_label(o.outcome)} of "
            f"{quote_inline(o.market_title, ORDER_TITLE_CHARS)} at {price_text(o.limit_price, stored_currency(o.data, o.venue))}; {filled}{msg}")


def leg_plain(leg: Any) -> str:
    """A leg's plain words (the intent's own sentence) with the venue's title quoted and its label shown by
    the convention; a sentence of another shape is shown as one cleaned line with the title quoted."""
    p, label, title = leg.plain, leg.outcome, leg.market_title
    mid, tail = f" {label} shares of '{title}' on ", f" if {label}"
    i = p.find(mid)
    if i >= 0 and p.endswith(tail):
        shown = quote_label(label)
        return (clean_inline(p[:i], 0) + f" {shown} shares of {quote_inline(title)} on "
                + clean_inline(p[i + len(mid):len(p) - len(tail)], 0) + f" if {shown}")
    return clean_inline(p.replace(f"'{title}'", quote_inline(title)), 600)


def intent_plain(it: Any) -> str:
    if len(it.legs) == 1:
        return leg_plain(it.legs[0])
    head = clean_inline(it.plain.split("\n", 1)[0], 400)
    return head + "".join(f"\n  {i}. {leg_plain(leg)}" for i, leg in enumerate(it.legs, 1))


def intent_text(rec: IntentRecord, orders: list[OrderRecord], how: dict[str, Any] | None = None) -> str:
    it = rec.intent
    status = rec.status.value.upper()
    resting = [o for o in orders if o.status in ("open", "partially_filled")]
    if rec.status == IntentStatus.EXECUTED and resting:
        # sent is not filled: say what rests and what filled
        status += " (RESTING: " + "; ".join(f"{normalize(o.filled_size)} of {normalize(o.size)} filled"
                                            for o in resting) + ")"
    lines = [f"{_tag(it.mode)} intent {it.id} {status}: {intent_plain(it)}"]
    cond = condition_line(it)
    if cond:
        lines.append(cond + ".")
        if rec.status == IntentStatus.ARMED:
            lines.append("Armed: pm-mcp's runner sends it when the condition holds, while the server or `pm-mcp "
                         "watch` runs on this data directory.")
    currency = it.legs[0].currency
    if it.policy.ok:
        lines.append(f"Risk policy: within limits. Worst-case loss {money(it.worst_case_loss, currency, up=True)}.")
    else:
        lines.append("Risk policy REFUSES it: " + "; ".join(
            f"{clean_inline(v.message, 300)} [rule {v.rule}, limit {v.limit}, value {v.value}]"
            for v in it.policy.violations))
    tier = tier_line(it)
    if tier:
        lines.append(tier + ".")
    for leg in it.legs:
        for note in leg.notes:
            lines.append(f"Note: {clean_inline(note, 300)}.")
    if rec.reason and it.policy.ok:
        lines.append(f"Reason: {clean_inline(rec.reason, 300)}")
    if rec.status == IntentStatus.PROPOSED:
        lines.append(f"Expires {it.expires_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}.")
    if how and how.get("instructions"):
        lines.append("To confirm: " + how["instructions"])
    for o in orders:
        lines.append("Order " + order_line(o))
    return "\n".join(lines)


# --- helpers --------------------------------------------------------------------------------
async def _ready_engine(ctx: Context) -> ExecutionEngine:
    engine = engine_of_ctx(ctx)
    await engine.ready()
    return engine


def client_can_elicit(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    el = caps.elicitation if caps is not None else None
    return el is not None and (el.form is not None or el.url is None)


def _order_error(exc: BaseException) -> ToolError:
    """The order tools' failures, through the one translator (the engine's and the venues' refusals are
    sentences already; anything else says what the person can check)."""
    return to_tool_error(exc, action="complete this order call",
                         after="check get_order or list_orders before trying again")


execution_tool_error = _order_error  # the name surface.arbitrage imports


async def _attempt(call: Awaitable[T]) -> T:
    try:
        return await call
    except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence (internals only in the log)
        raise _order_error(exc) from None


def _elicitation_message(rec: IntentRecord) -> str:
    """Derived from the STORED intent only (never from tool arguments), and stable across rounds. Our own
    numbers lead (mode, side, size, limit, worst-case cost and loss, venue, expiry, order hash); the venue's
    words follow, cleaned, capped and quoted (pm_mcp.execution.summary)."""
    from pm_mcp.execution.summary import dialog_text

    return dialog_text(rec.intent)


class TriggerIn(BaseModel):
    kind: Literal["price_below", "price_above"]
    level: Annotated[Decimal, Field(description="Price 0-1.")]
    side: Annotated[Literal["ask", "bid", "mid"] | None, Field(description="Default: ask (buy), bid (sell).")] = None


class StandingIn(Grouped):
    """A standing order's terms (each also accepted at propose_order's top level, its old place)."""

    model_config = ConfigDict(extra="forbid")
    trigger: TriggerIn | None = None
    valid_until: datetime | None = None
    repeat: int | None = None


class OrderOptions(Grouped):
    """propose_order's less used terms (each also accepted at the top level, its old place)."""

    stake: Decimal | None = None
    time_in_force: Literal["GTC", "FOK", "FAK"] | None = None
    forecast_p: Decimal | None = None
    forecast_source: str | None = None
    standing: StandingIn | None = None
    # lowers the tier cap (never raises it): unstated, the highest tier the market allows is the bound
    confidence: Literal["low", "medium", "high", "very_high"] | None = None


class ApproveOrder(BaseModel):
    approve: bool = Field(description="Place this order?")


class NoDialog(BaseModel):
    reason: Literal["host", "page", "not_proposed", "no_capability"]


async def ask_person(intent_id: str, ctx: Context) -> Elicit[ApproveOrder] | NoDialog:
    setting = app_state(ctx).settings.confirm
    if setting == "host":
        return NoDialog(reason="host")
    if setting == "page":
        return NoDialog(reason="page")
    engine = engine_of_ctx(ctx)
    try:
        rec = await engine.get_intent(intent_id)
    except ExecutionError as exc:
        raise ToolError(str(exc)) from None
    if rec.status == IntentStatus.PROPOSED and rec.intent.mode != engine.mode:
        # never show the person a dialog for an order of the other mode (a PAPER proposal in a LIVE server)
        await engine.reject(rec.intent.id, via="elicitation",
                            reason="cancelled: " + mode_mismatch(rec.intent.mode, engine.mode))
        raise ToolError(mode_mismatch(rec.intent.mode, engine.mode))
    if rec.status != IntentStatus.PROPOSED or not rec.intent.policy.ok:
        return NoDialog(reason="not_proposed")
    if rec.intent.standing is not None and rec.intent.mode == "live":
        return NoDialog(reason="page")  # a LIVE standing order: the page with the person's PIN or passkey only
    if not client_can_elicit(ctx):
        return NoDialog(reason="no_capability")
    return Elicit(_elicitation_message(rec), ApproveOrder)


def _names_a_venue(market: str) -> bool:
    """A pasted venue URL says which venue it is (a bare id does not: an order names its venue)."""
    from pm_mcp.markets.service import venue_of_url

    return venue_of_url(market) is not None


async def propose_order(
    ctx: Context,
    market: Annotated[str, Field(description="URL or venue:id")],
    outcome: Annotated[str, Field(description="label")],
    side: Annotated[Literal["buy", "sell"], CHOICES],
    limit_price: Annotated[Decimal, Field(description="worst USD/share")],
    venue: Annotated[VenueName | None, LEGACY] = None,
    size: Annotated[Decimal | None, Field(description="shares")] = None,
    stake: Annotated[Decimal | None, LEGACY] = None,
    forecast_p: Annotated[Decimal | None, LEGACY] = None,
    forecast_source: Annotated[str | None, LEGACY] = None,
    time_in_force: Annotated[Literal["GTC", "FOK", "FAK"] | None, LEGACY] = None,
    trigger: Annotated[TriggerIn | None, LEGACY] = None,
    valid_until: Annotated[datetime | None, LEGACY] = None,
    repeat: Annotated[int | None, LEGACY] = None,
    standing: Annotated[StandingIn | None, LEGACY] = None,
    options: Annotated[OrderOptions | None, Field(
        description="stake, confidence, time_in_force, forecast_p, forecast_source, standing "
                    "(stop/take-profit)"), BRIEF] = None,
) -> Annotated[CallToolResult, IntentOut]:
    """Price an order the PERSON approves (assess_market first). Places nothing; you cannot confirm it."""
    o = grouped(options, "options", stake=stake, time_in_force=time_in_force, forecast_p=forecast_p,
                forecast_source=forecast_source, standing=standing, confidence=None)
    stake, forecast_p, forecast_source, time_in_force = o.stake, o.forecast_p, o.forecast_source, o.time_in_force
    w = grouped(o.standing, "standing", trigger=trigger, valid_until=valid_until, repeat=repeat)
    trigger, valid_until, repeat = w.trigger, w.valid_until, w.repeat
    market, venue = split_venue(market, venue)
    if venue is None and not _names_a_venue(market):
        raise ToolError(f"argument 'market': {clean_inline(market, 80)!r} does not name a venue; give it as venue:id "
                        "(polymarket:559652, kalshi:<ticker>, manifold:<id>) or as the URL of the market")
    engine = await _ready_engine(ctx)
    can = client_can_elicit(ctx)
    try:
        rec = await engine.propose([LegSpec(market=market, venue=venue, outcome=outcome, side=side,
                                            limit_price=limit_price, size=size, stake=stake,
                                            time_in_force=time_in_force or "GTC")],
                                   forecast_p=forecast_p, forecast_source=forecast_source,
                                   channel="elicitation" if can else "page",
                                   trigger=trigger.model_dump() if trigger is not None else None,
                                   valid_until=valid_until, repeat=repeat, confidence=o.confidence)
    except Exception as exc:  # noqa: BLE001
        raise _order_error(exc) from None
    page_only = rec.intent.standing is not None and rec.intent.mode == "live"  # PIN / passkey on the page
    how = await confirmation_instructions(app_state(ctx), rec, client_can_elicit=can and not page_only)
    return tool_result(intent_out(rec, [], how), intent_text(rec, [], how))


async def _not_placed(state: Any, engine: ExecutionEngine, intent_id: str, reason: str) -> CallToolResult:
    """No dialog was shown (the page confirms, or the client cannot show one): nothing is placed; say why and
    how the person approves (or that the intent is no longer waiting)."""
    rec = await engine.get_intent(intent_id)
    orders = await engine.journal.orders_for_intent(rec.intent.id)
    if rec.status != IntentStatus.PROPOSED:
        text = (f"{_tag(rec.intent.mode)} Nothing to confirm: intent {rec.intent.id} is "
                f"{rec.status.value}" + (f" ({rec.reason})" if rec.reason else "") + ".")
        return tool_result(OrderLookupOut(mode=engine.mode, intent=intent_out(rec, orders),
                                          orders=[order_out(o) for o in orders]),
                           text + "".join("\nOrder " + order_line(o) for o in orders))
    how = await confirmation_instructions(state, rec, client_can_elicit=False)
    why = ("this client cannot show a confirmation dialog" if reason == "no_capability"
           else "confirmation is by the approval page (PM_MCP_CONFIRM=page)")
    text = (f"{_tag(rec.intent.mode)} Not placed: {why}; only the person can approve. "
            + (how.get("instructions") or ""))
    return tool_result(OrderLookupOut(mode=engine.mode, intent=intent_out(rec, orders, how)), text)


async def confirm_order(
    intent_id: Annotated[str, Field(description="from propose_order")],
    ctx: Context,
    decision: Annotated[ElicitationResult[ApproveOrder], Resolve(ask_person)],
) -> Annotated[CallToolResult, OrderLookupOut]:
    """Ask the person to approve an intent: only their Accept in the dialog (or the host's prompt) places it;
    otherwise places nothing and repeats how they approve."""
    engine = engine_of_ctx(ctx)
    try:
        match decision:
            case AcceptedElicitation(data=NoDialog(reason="host")):
                rec = await engine.get_intent(intent_id)
                rec = await engine.confirm(rec.intent.id, via="host", order_hash=rec.intent.order_hash)
            case AcceptedElicitation(data=NoDialog(reason=reason)):
                return await _not_placed(app_state(ctx), engine, intent_id, reason)
            case AcceptedElicitation(data=ApproveOrder(approve=True)):
                rec = await engine.get_intent(intent_id)
                rec = await engine.confirm(rec.intent.id, via="elicitation", order_hash=rec.intent.order_hash)
            case _:
                rec = await engine.reject(intent_id, via="elicitation",
                                          reason=f"the person answered no in the dialog ({decision.action})")
    except Exception as exc:  # noqa: BLE001
        raise _order_error(exc) from None
    orders = await engine.journal.orders_for_intent(rec.intent.id)
    return tool_result(OrderLookupOut(mode=engine.mode, intent=intent_out(rec, orders),
                                      orders=[order_out(o) for o in orders]), intent_text(rec, orders))


async def cancel_order(
    ctx: Context,
    ref: Annotated[str, Field(description="order (o-) or intent (i-) id")],
) -> Annotated[CallToolResult, OrderLookupOut]:
    """Cancel an unapproved proposal, or the resting orders of an intent or one order (fills stay)."""
    engine = await _ready_engine(ctx)
    try:
        rec, orders = await engine.cancel(ref)
    except Exception as exc:  # noqa: BLE001
        raise _order_error(exc) from None
    lines = [f"{_tag(engine.mode)} " + (f"intent {rec.intent.id} is {rec.status.value}." if rec else "")]
    lines += ["Order " + order_line(o) for o in orders]
    return tool_result(OrderLookupOut(mode=engine.mode, intent=intent_out(rec) if rec else None,
                                      orders=[order_out(o) for o in orders]), "\n".join(lines).strip())


async def get_order(
    ctx: Context,
    ref: Annotated[str, Field(description="intent (i-) or order (o-) id")],
) -> Annotated[CallToolResult, OrderLookupOut]:
    """Status of an intent or order: fills verified at the venue, average price, fees, as of the last sync."""
    engine = await _ready_engine(ctx)
    try:
        ref = ref.strip()
        if ref.startswith("i-"):
            rec = await engine.get_intent(ref)
            orders = await engine.journal.orders_for_intent(rec.intent.id)
            if rec.intent.standing is not None and rec.intent.parent_id is None:
                orders = await engine.child_orders(rec.intent.id)  # its executions' orders
            how = None
            if rec.status == IntentStatus.PROPOSED:
                how = await confirmation_instructions(app_state(ctx), rec, client_can_elicit=client_can_elicit(ctx))
            return tool_result(OrderLookupOut(mode=engine.mode, intent=intent_out(rec, orders, how),
                                              orders=[order_out(o) for o in orders],
                                              last_sync_at=engine.last_sync_at),
                               intent_text(rec, orders, how) + (f"\n({sync_age(engine)})" if orders else ""))
        o = await engine.journal.load_order(ref)
        if o is None:
            raise ToolError(f"no order or intent {ref!r}; ids look like 'o-...' or 'i-...' (see list_orders)")
    except Exception as exc:  # noqa: BLE001
        raise _order_error(exc) from None
    return tool_result(OrderLookupOut(mode=engine.mode, orders=[order_out(o)], last_sync_at=engine.last_sync_at),
                       f"{_tag(engine.mode)} Order {order_line(o)} ({sync_age(engine)})")


async def list_orders(
    ctx: Context,
    status: Annotated[Literal["all", "open", "filled", "partially_filled", "cancelled", "rejected", "unknown"],
                      Field(description="filter")] = "all",
    limit: Annotated[int, Field(ge=1, le=100, description="page size")] = 20,
    cursor: Annotated[str | None, Field(description="next_cursor")] = None,
) -> Annotated[CallToolResult, OrderListOut]:
    """Orders in the current mode, newest first."""
    engine = await _ready_engine(ctx)
    try:
        offset = int(cursor) if cursor else 0
        if not 0 <= offset <= 10**9:
            raise ValueError(offset)
    except ValueError:
        raise ToolError("cursor must be the next_cursor value from a previous list_orders call") from None
    orders, total = await engine.journal.list_orders(engine.mode, status=None if status == "all" else status,
                                                     offset=max(0, offset), limit=limit)
    nxt = str(offset + len(orders)) if offset + len(orders) < total else None
    head = (f"{_tag(engine.mode)} {total} order(s)" + (f" with status {status}" if status != "all" else "")
            + f" ({sync_age(engine)})")
    text = "\n".join([head + (f"; showing {offset + 1}-{offset + len(orders)}" if orders else ".")]
                     + [order_line(o) for o in orders] + ([f"More: cursor='{nxt}'"] if nxt else []))
    return tool_result(OrderListOut(mode=engine.mode, orders=[order_out(o) for o in orders], total=total,
                                    next_cursor=nxt, last_sync_at=engine.last_sync_at), text)


async def get_portfolio(ctx: Context) -> Annotated[CallToolResult, PortfolioSnapshot]:
    """Positions (size, cost, mark, unrealised and realised P&L), exposure per event and today's spend against
    the caps."""
    engine = await _ready_engine(ctx)
    snap = await _attempt(portfolio(engine))
    return tool_result(snap, portfolio_text(snap, sync_age(engine)))


def portfolio_text(snap: PortfolioSnapshot, synced: str) -> str:
    amt = in_currency
    lines = []
    for code, t in sorted(snap.by_currency.items(), key=lambda kv: kv[0] != "USD"):
        if code != "USD" and not any(p.currency == code for p in snap.positions) and not t.daily_spent:
            continue
        what = "portfolio" if code == "USD" else f"{code} (play money, never added to USD)"
        lines.append(f"{_tag(snap.mode) + ' ' if not lines else ''}{what}: cost basis {amt(t.cost_basis, code)}, "
                     f"value {amt(t.market_value, code)}, unrealised {amt(t.unrealized_pnl, code)}, realised "
                     f"{amt(t.realized_pnl, code)}; spent today {amt(t.daily_spent, code)} of "
                     f"{amt(t.daily_cap, code)}" + (f"; {snap.open_orders} open order(s)." if code == "USD" else "."))
    for p in snap.positions:
        if p.status == "open":
            mark = f"mark {p.mark_price.quantize(Decimal('0.0001'))} ({p.mark_source})" if p.mark_price is not None \
                else "no mark"
            upnl = amt(p.unrealized_pnl, p.currency) if p.unrealized_pnl is not None else "?"
            lines.append(f"- {normalize(p.size)} {quote_label(p.outcome)} of {quote_inline(p.title, ORDER_TITLE_CHARS)} "
                         f"({p.venue} {clean_inline(p.market_id, 100)}) avg cost "
                         f"{p.avg_cost.quantize(Decimal('0.0001'))}, {mark}, unrealised {upnl}")
        else:
            lines.append(f"- {p.status}: {quote_label(p.outcome)} of {quote_inline(p.title, ORDER_TITLE_CHARS)} "
                         f"realised {amt(p.realized_pnl, p.currency)}"
                         + (f" (resolved {quote_label(p.settled_outcome)})" if p.settled_outcome else ""))
    for e in snap.exposure:
        lines.append(f"Event {clean_inline(e.event_id, 100)}: exposure {amt(e.exposure, e.currency)} of cap "
                     f"{amt(e.cap, e.currency)}")
    lines += [f"Warning: {clean_inline(w, 300)}" for w in snap.warnings]
    lines.append(f"({synced})")
    return "\n".join(lines)


async def get_track_record(ctx: Context) -> Annotated[CallToolResult, TrackRecord]:
    """Forecasts (propose_order's forecast_p) that led to fills, their outcomes, and the Brier score per source."""
    tr = await _attempt(track_record(await _ready_engine(ctx)))
    lines = [f"{_tag(tr.mode)} {len(tr.forecasts)} forecast(s) led to trades."]
    for s in tr.by_source:
        brier = f"Brier {s.brier.quantize(Decimal('0.0001'))}" if s.brier is not None else "no resolved yet"
        lines.append(f"- {s.source}: {s.trades} trade(s), {s.resolved} resolved, {brier}")
    for f in tr.forecasts[:20]:
        res = (f"resolved {f.resolved_outcome}, Brier {f.brier.quantize(Decimal('0.0001'))}" if f.resolved
               else "unresolved")
        lines.append(f"  {f.intent_id}: p={f.forecast_p} {quote_label(f.outcome)} of "
                     f"{quote_inline(f.title, ORDER_TITLE_CHARS)} ({clean_inline(f.source, 60)}): {res}")
    return tool_result(tr, "\n".join(lines))


async def tighten_risk_policy(
    ctx: Context,
    max_order_usd: Annotated[Decimal | None, Field(description="USD per order")] = None,
    max_event_fraction: Annotated[Decimal | None, Field(description="of bankroll per event")] = None,
    max_daily_usd: Annotated[Decimal | None, Field(description="USD per day")] = None,
    bankroll: Annotated[Decimal | None, Field(description="USD")] = None,
    kelly_fraction: Annotated[Decimal | None, Field(description="multiplier")] = None,
    allowed_venues: Annotated[list[str] | None, Field(description="subset of enabled")] = None,
) -> Annotated[CallToolResult, PolicyOut]:
    """Make your risk limits stricter, kept across restarts (a looser value is refused); no arguments: read them."""
    engine = engine_of_ctx(ctx)
    limits = {k: v for k, v in dict(max_order_usd=max_order_usd, max_event_fraction=max_event_fraction,
                                    max_daily_usd=max_daily_usd, bankroll=bankroll, kelly_fraction=kelly_fraction,
                                    allowed_venues=allowed_venues).items() if v is not None}
    before = (await _attempt(engine.load_policies()))[0]
    try:
        p = await engine.tighten(**limits)
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    changed = [k for k in limits if getattr(before, k) != getattr(p, k)]
    if changed:
        await engine.journal.log("policy.tightened", None, {k: str(getattr(p, k)) for k in changed})
    out = PolicyOut(mode=engine.mode, **PolicyLimitsOut.limits_of(p), allowed_venues=p.allowed_venues,
                    live_enabled=p.live_enabled, changed=changed)
    text = (f"{_tag(engine.mode)} risk policy ({'tightened: ' + ', '.join(changed) if changed else 'unchanged'}): "
            f"per order ${p.max_order_usd}, per event {normalize(p.max_event_fraction * 100)}% of "
            f"${p.bankroll} = ${p.max_event_usd.quantize(Decimal('0.01'))}, daily ${p.max_daily_usd}, "
            f"Kelly x{p.kelly_fraction}, venues {', '.join(p.allowed_venues)}.")
    return tool_result(out, text)


async def doctor(ctx: Context) -> Annotated[CallToolResult, DoctorOut]:
    """Checks why an order would fail: mode, confirmation channel, credentials and wallet type, venue
    reachability/geoblock, balances and allowances (live), each pass / fail / could_not_check with what to do.
    Never shows a secret."""
    from pm_mcp.execution.doctor import run_checks

    engine = engine_of_ctx(ctx)
    checks = await run_checks(app_state(ctx), engine, client_can_elicit=client_can_elicit(ctx))
    lines = [f"{_tag(engine.mode)} doctor:"]
    for c in checks:
        lines.append(f"[{c.status}] {c.name}: {c.detail}" + (f" -> {c.advice}" if c.advice and c.status != "pass"
                                                              else ""))
    return tool_result(DoctorOut(mode=engine.mode, checks=checks), "\n".join(lines))


def _wire_doc(fn: Any) -> str:
    """The tool's description: its docstring as the wire has always carried it (written when the tools were
    functions nested in register(), continuation lines indented 8 spaces; tools/list is a contract)."""
    return fn.__doc__.replace("\n    ", "\n        ")


def register(mcp: MCPServer) -> None:
    for fn, preset in ((propose_order, PROPOSE), (confirm_order, CONFIRM), (cancel_order, CANCEL),
                       (get_order, titled(READ_OPEN, "Get an order")), (list_orders, titled(READ_OPEN, "List orders")),
                       (get_portfolio, titled(READ_OPEN, "Get the portfolio")),
                       (get_track_record, titled(READ_OPEN, "Get the forecast track record")),
                       (tighten_risk_policy, TIGHTEN),
                       (doctor, titled(READ_OPEN, "Why would an order fail?"))):
        mcp.tool(title=preset.title, annotations=preset, description=_wire_doc(fn))(fn)
