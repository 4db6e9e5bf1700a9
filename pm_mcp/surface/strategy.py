"""Strategy tools: size_position, compute_edge, get_risk_policy (the names are a contract).

Thin: parse the arguments (numbers or decimal strings -> Decimal), call the pure core in
pm_mcp.domain (sizing, edge, policy), return concise text first plus the structured model.
Read-only. size_position and get_risk_policy never touch the network; compute_edge does only when
it is given a market to look up (through the market-data service).
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

from decimal import Decimal
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field, WithJsonSchema

from pm_mcp.domain.edge import EdgeError, EdgeResult
from pm_mcp.domain.edge import compute_edge as edge_core
from pm_mcp.domain.fees import NO_FEES, kalshi_schedule, polymarket_schedule
from pm_mcp.domain.models import BookLevel, FeeSchedule
from pm_mcp.domain.money import MoneyError, in_currency, normalize, pct, to_decimal, usd
from pm_mcp.domain.policy import RiskPolicy
from pm_mcp.domain.sizing import (
    CONFIDENCE_TIERS,
    DEFAULT_METHOD,
    RECOMMENDED_KELLY_FRACTIONS,
    SizingError,
    SizingMethod,
    SizingRequest,
    SizingResult,
    Tier,
)
from pm_mcp.domain.sizing import size_position as size_core
from pm_mcp.domain.untrusted import clean_inline, quote_inline, quote_label
from pm_mcp.surface.render import ToolError, tool_result

# A number given as a JSON number or a decimal string ("0.45"); parsed exactly to Decimal in the body.
Num = Annotated[int | float | str, WithJsonSchema({"type": ["number", "string"]})]
OptNum = Annotated[int | float | str | None, WithJsonSchema({"type": ["number", "string", "null"]})]

READ_ONLY_LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                  open_world_hint=False)
VENUE_SIZE_STEP = {"kalshi": Decimal(1), "polymarket": Decimal("0.01"), "manifold": Decimal("0.01")}


class LevelIn(BaseModel):
    price: Num = Field(description="USD per share, 0-1")
    size: Num = Field(description="shares/contracts")


class BookIn(BaseModel):
    bids: list[LevelIn] = Field(default_factory=list)
    asks: list[LevelIn] = Field(default_factory=list)


class SizeOut(SizingResult):
    fee_model: str = Field(description="fee schedule used")
    policy: str = Field(description="the policy limits in one line")
    mode: str = "paper"
    market_id: str | None = None
    venue: str | None = None
    fees_from_market: bool = Field(False, description="fees, tick, size step and minimum were read from the market")
    tier_cap: str | None = Field(None, description="the highest tier allowed and why (assess_market, rule clarity)")
    confidence_used: str = Field("default (medium)", description="the confidence stated, or 'default (medium)'")
    what_if: bool = Field(False, description="an explicit price/fee was used instead of the market's")


class EdgeOut(EdgeResult):
    mode: str = "paper"
    outcome: str
    p_yes: Decimal = Field(description="the p you gave: probability of YES / the market's first outcome")
    venue: str | None = None
    market_id: str | None = None
    market_title: str | None = None
    fee_model: str
    tick_size: Decimal | None = None
    min_order_size: Decimal | None = None


class PolicyOut(BaseModel):
    mode: Literal["paper", "live"]
    bankroll: Decimal
    max_order_usd: Decimal
    max_event_fraction: Decimal
    max_event_usd: Decimal
    max_daily_usd: Decimal
    kelly_fraction: Decimal
    recommended_kelly_range: list[Decimal]
    allowed_venues: list[str]
    live_enabled: bool
    default_method: str
    methods: list[str]
    tiers: list[Tier]
    note: str


# ----------------------------------------------------------------------------------------------
# parsing helpers


def _dec(value: Any, what: str) -> Decimal:
    try:
        return to_decimal(value, what)
    except MoneyError as exc:
        raise ToolError(str(exc)) from None


def _opt(value: Any, what: str) -> Decimal | None:
    return None if value is None else _dec(value, what)


def _p(value: Any) -> Decimal:
    d = _dec(value, "p")
    if not (Decimal(0) <= d <= Decimal(1)):
        raise ToolError(f"p must be a probability in [0, 1]: use 0.62 for 62% (got {value})")
    return d


def _levels(raw: list[LevelIn], what: str, *, ascending: bool) -> list[BookLevel]:
    out = []
    for i, lv in enumerate(raw):
        price = _dec(lv.price, f"{what}[{i}].price")
        size = _dec(lv.size, f"{what}[{i}].size")
        if not (Decimal(0) < price < Decimal(1)):
            raise ToolError(f"{what}[{i}].price must be strictly between 0 and 1 (USD per share), got {price}")
        if size < 0:
            raise ToolError(f"{what}[{i}].size must be >= 0, got {size}")
        out.append(BookLevel(price=price, size=size))
    out.sort(key=lambda lv: lv.price, reverse=not ascending)
    return out


def _fees_for(venue: str | None, fee_rate: Decimal | None) -> tuple[FeeSchedule, list[str]]:
    notes: list[str] = []
    v = (venue or "").strip().lower()
    if v == "kalshi":
        if fee_rate is not None:
            notes.append("fee_rate is ignored for Kalshi (0.07 x C x P x (1-P) taker formula)")
        return kalshi_schedule(), notes
    if v == "polymarket":
        if fee_rate is None:
            notes.append("no fee_rate given: assumed a fee-free Polymarket market; pass the market's "
                         "feeSchedule rate (e.g. 0.04) to include taker fees")
            return NO_FEES, notes
        if not (Decimal(0) <= fee_rate < Decimal(1)):
            raise ToolError(f"fee_rate must be a fraction like 0.04, got {fee_rate}")
        return polymarket_schedule(fee_rate), notes
    if v in ("", "manifold"):
        if fee_rate is not None:
            raise ToolError("fee_rate applies to venue='polymarket'; set venue too")
        return NO_FEES, notes
    raise ToolError(f"unknown venue {venue!r}; use polymarket, kalshi or manifold")


def _fee_words(s: FeeSchedule) -> str:
    if s.kind == "kalshi":
        return f"Kalshi taker {normalize(s.taker_rate)} x C x P x (1-P), rounded up to the cent"
    if s.kind == "polymarket":
        return f"Polymarket taker shares x {normalize(s.taker_rate)} x p(1-p)" + (
            f"^{normalize(s.exponent)}" if s.exponent != 1 else "")
    return "no trading fee"


def _fraction_words(k: Decimal) -> str:
    inv = Decimal(1) / k if k > 0 else Decimal(0)
    if k > 0 and inv == inv.to_integral_value():
        return f"1/{int(inv)}" if inv != 1 else "full"
    return f"{normalize(k)}"


def _policy(ctx: Context, currency: str = "USD") -> tuple[RiskPolicy, Any]:
    """The policy in force for this session in ``currency``: the execution engine's (tightened by
    tighten_risk_policy, never loosened) when it runs, else the configured one."""
    state = ctx.request_context.lifespan_context
    engine = state.execution
    policy_for = getattr(engine, "policy_for", None)
    if policy_for is not None:
        pol = policy_for(currency)
        if isinstance(pol, RiskPolicy):
            return pol, state
    return RiskPolicy.from_settings(state.settings, currency=currency), state


def _tag(state: Any) -> str:
    return "[LIVE]" if state.settings.mode == "live" else "[PAPER]"


_NOT_TRADING = ("closed", "resolved", "paused")


def _refuse_if_not_trading(m: Any, what: str) -> None:
    """A closed, resolved or halted market is refused for sizing, edge and proposals, with the reason."""
    from datetime import UTC, datetime

    if m.status.value in _NOT_TRADING:
        raise ToolError(f"market {m.id} on {m.venue} is {m.status.value}: it does not trade, so there is nothing to "
                        f"{what}" + (f" (resolved {m.resolved_outcome})" if m.resolved_outcome else ""))
    if m.close_time is not None and m.close_time <= datetime.now(UTC):
        raise ToolError(f"market {m.id} on {m.venue} closed for trading at {m.close_time.isoformat()}: nothing to "
                        f"{what}")


def _amount(d: Decimal, currency: str = "USD") -> str:
    return in_currency(d, currency)


def _policy_line(pol: RiskPolicy) -> str:
    a = lambda d: _amount(d, pol.currency)  # noqa: E731
    return (f"bankroll {a(pol.bankroll)}, max order {a(pol.max_order_usd)}, max per event "
            f"{a(pol.max_event_usd)} ({pct(pol.max_event_fraction, 0)}), max daily {a(pol.max_daily_usd)}, "
            f"Kelly fraction {_fraction_words(pol.kelly_fraction)}")


_RULE_WORDS = {"max_order_usd": "per-order cap", "max_event_usd": "single-event limit", "max_daily_usd": "daily cap",
               "bankroll": "bankroll", "kelly_fraction": "policy Kelly fraction", "confidence": "stated confidence",
               "full_kelly": "full Kelly", "absolute_cap": "absolute cap", "book_depth": "book depth",
               "venue_minimum": "venue minimum", "assessment": "the market assessment's tier cap"}


def _size_text(r: SizeOut, pol: RiskPolicy) -> str:
    usd = lambda d: _amount(d, r.currency)  # noqa: E731 - amounts in the market's currency
    m = r.method
    if m == SizingMethod.FRACTIONAL_KELLY or m == SizingMethod.EXECUTION_KELLY:
        label = ("Execution-aware Kelly" if m == SizingMethod.EXECUTION_KELLY else "Kelly") + \
            f" ({_fraction_words(r.kelly_multiplier or pol.kelly_fraction)})"
    elif m == SizingMethod.CONFIDENCE_TIERS:
        label = f"Confidence tiers ({r.tier})"
    else:
        label = {"kelly": "Classic Kelly", "pm_kelly": "Prediction-market Kelly", "unit": "Unit system",
                 "flat": "Flat bet", "inverted_risk": "Inverted risk"}[m.value]
    if r.contracts > 0:
        head = (f"{label}: stake {usd(r.stake_usd)} = {normalize(r.contracts)} {r.side.upper()} shares at "
                f"${normalize(r.price)}" + (f" (fees {usd(r.fee_usd)})" if r.fee_usd > 0 else ""))
        head += f"; expected profit {usd(r.expected_profit_usd)}"
    else:
        head = f"{label}: stake $0 (no bet)"
    if r.capped_by:
        words = [_RULE_WORDS.get(c, c) for c in r.capped_by]
        if "confidence" in r.capped_by and r.confidence_used.startswith("default"):
            words = ["the default confidence (medium; none was stated)" if c == "confidence" else w
                     for c, w in zip(r.capped_by, words)]
        head += "; capped by " + ", ".join(words)
    where = f"{r.venue}:{clean_inline(r.market_id, 80)} " if r.market_id else ""
    lines = [f"{'[LIVE]' if r.mode == 'live' else '[PAPER]'} {where}{head}.", r.arithmetic]
    if r.tier_cap:
        lines.append(f"Tier cap: {clean_inline(r.tier_cap, 200)}.")
    if r.fees_from_market:
        lines.append(f"Fees, tick, size step and minimum from the market ({r.fee_model}); confidence "
                     f"{r.confidence_used}.")
    elif r.what_if:
        lines.append(f"What-if: the numbers given were used ({r.fee_model}); pass market=... to price it as it "
                     "trades.")
    if r.warnings:
        lines.append("Warnings: " + "; ".join(r.warnings) + ".")
    return "\n".join(lines)


def _edge_text(r: EdgeOut) -> str:
    tag = "[LIVE] " if r.mode == "live" else "[PAPER] "
    where = (f"{quote_inline(r.market_title)} [{r.venue}:{clean_inline(r.market_id, 100)}] " if r.market_title
             else (f"{r.venue} " if r.venue else ""))
    outcome = quote_label(r.outcome)
    warnings = [clean_inline(w, 300) for w in r.warnings]
    if r.filled_size == 0:
        return f"{tag}{where}{r.side} {outcome}: nothing fills. " + "; ".join(warnings)
    src = (f"avg ${normalize(r.average_price)} over {r.levels_used} level(s), worst ${normalize(r.worst_price)}"
           if r.source == "book" else f"at ${normalize(r.average_price)}")
    verdict = "edge" if (r.edge_pp or 0) > 0 else "NO edge"
    lines = [
        f"{tag}{where}{r.side.capitalize()} {normalize(r.filled_size)} {outcome} {src}; fees {usd(r.fees_usd)} -> "
        f"break-even {pct(r.break_even_probability or Decimal(0))}. Your P({outcome}) {pct(r.p)} -> {verdict} "
        f"{'+' if (r.edge_pp or 0) > 0 else ''}{r.edge_pp} pp after costs; EV {usd(r.ev_total_usd)} total "
        f"(${normalize(r.ev_per_contract.quantize(Decimal('0.0001')))}/share)"
        + (f", ROI {pct(r.roi)}" if r.roi is not None else "")
        + f"; Kelly fraction at this price {pct(r.kelly_fraction or Decimal(0))}.",
        f"Fees: {r.fee_model}.",
    ]
    if warnings:
        lines.append("Warnings: " + "; ".join(warnings) + ".")
    return "\n".join(lines)


async def _market_book(state: Any, venue: str | None, market: str, outcome: str, side: str, *, what: str):
    svc = state.markets
    if svc is None:
        raise ToolError("market lookup is not available in this server (no market-data service is running); "
                        "pass price=... or book={bids, asks} instead")
    from pm_mcp.venues.base import VenueError

    try:
        m = await svc.get_market(market, venue)
    except (ValueError, KeyError) as exc:
        raise ToolError(str(exc.args[0]) if exc.args else str(exc)) from None
    except VenueError as exc:
        raise ToolError(f"could not get market {market!r} from {venue or 'the venues'}: {exc}. Check the id/URL, "
                        "or pass an explicit price or book instead") from None
    _refuse_if_not_trading(m, what)
    index, label = _outcome_index(m, outcome)
    try:
        ob = await svc.get_order_book(m, label)
    except KeyError as exc:
        raise ToolError(str(exc.args[0]) if exc.args else str(exc)) from None
    except VenueError as exc:
        raise ToolError(f"could not get the {label} order book from {m.venue}: {exc}. Try again later, or pass "
                        "an explicit price or book instead") from None
    levels = ob.asks if side == "buy" else ob.bids
    return m, index, label, ob, list(levels)


_TIERS = ("none", "low", "medium", "high", "very_high")


def _tier_index(name: str | None) -> int:
    return _TIERS.index(name) if name in _TIERS else len(_TIERS)


async def _sizing_context(state: Any, venue: str | None, market: str, side: str) -> dict[str, Any]:
    """What sizing takes from a market: the market (open, or refused), the asks of the share bought, what the
    journal already has at stake on its event and today (in its currency), and assess_market's tier cap."""
    import asyncio
    from datetime import UTC, datetime

    from pm_mcp.domain.rules import market_rule_text, parse_rules
    from pm_mcp.domain.scorecard import assess_market as score_market

    m, _index, label, ob, asks = await _market_book(state, venue, market, "yes" if side == "yes" else "no", "buy",
                                                    what="size")
    svc = state.require_markets()
    notes: list[str] = []

    async def book(lbl: str):
        if lbl == label:
            return ob
        try:
            return await svc.get_order_book(m, lbl)
        except Exception:  # noqa: BLE001 - the scorecard goes on without it (and says so)
            notes.append(f"the {lbl} book could not be read for the assessment")
            return None

    books = [b for b in await asyncio.gather(*(book(o.label) for o in m.outcomes[:2])) if b is not None]
    card = score_market(m, books, parse_rules(market_rule_text(m), venue=m.venue, market=m), datetime.now(UTC))
    exposure = daily = Decimal(0)
    engine = state.execution
    if engine is not None:
        exposure = await engine.exposure(m.event_id or m.id, currency=m.currency)
        daily = await engine.daily_spent(currency=m.currency)
    return {"market": m, "label": label, "asks": asks, "notes": notes, "exposure": exposure, "daily": daily,
            "tier_cap": (card.tier_cap.max_tier, f"assess_market says {card.verdict}; {card.tier_cap.note}")}


def _outcome_index(m: Any, outcome: str) -> tuple[int, str]:
    want = outcome.strip().lower()
    for i, o in enumerate(m.outcomes):
        if o.label.lower() == want:
            return i, o.label
    if want in ("yes", "no") and len(m.outcomes) == 2:
        i = 0 if want == "yes" else 1
        return i, m.outcomes[i].label
    raise ToolError(f"no outcome {outcome!r}; this market's outcomes are: "
                    + ", ".join(repr(o.label) for o in m.outcomes))


# ----------------------------------------------------------------------------------------------
# tools


def register(mcp: MCPServer) -> None:
    @mcp.tool(
        name="size_position",
        title="Size a position",
        annotations=ToolAnnotations(title="Size a position", **READ_ONLY_LOCAL.model_dump(exclude={"title"})),
        description=(
            "How much to stake on one binary outcome, inside the risk policy. p = your probability of YES "
            "(0-1); side 'yes' buys YES, 'no' buys NO. Give market (id/URL): its book, fees, size step, minimum, "
            "status, currency and assess_market tier cap are used; price/asks alone is a what-if. Methods: "
            "confidence_tiers (default), fractional_kelly, pm_kelly, kelly, execution_kelly, unit, flat, "
            "inverted_risk; amount_usd = unit / flat stake / max loss / absolute cap. Returns stake, shares, caps "
            "hit and the arithmetic."),
    )
    async def size_position(
        ctx: Context,
        p: Annotated[Num, Field(description="probability of YES, 0-1 (0.62 = 62%)")],
        price: Annotated[OptNum, Field(description="USD per share of the side bought")] = None,
        side: Literal["yes", "no"] = "yes",
        method: SizingMethod = DEFAULT_METHOD,
        asks: Annotated[list[LevelIn] | None, Field(description="asks of the share bought")] = None,
        venue: Annotated[Literal["polymarket", "kalshi", "manifold"] | None,
                         Field(description="for fees and size step")] = None,
        fee_rate: Annotated[OptNum, Field(description="Polymarket feeSchedule rate, e.g. 0.04")] = None,
        event_exposure_usd: Annotated[Num, Field(description="already at risk on this event")] = 0,
        confidence: Literal["low", "medium", "high", "very_high"] | None = None,
        kelly_fraction: Annotated[OptNum, Field(description="<= policy fraction")] = None,
        amount_usd: OptNum = None,
        units: OptNum = None,
        stop_price: OptNum = None,
        odds: Annotated[OptNum, Field(description="kelly: net odds b")] = None,
        min_order_size: OptNum = None,
        assessment: Annotated[Literal["participate", "caution", "avoid"] | None,
                              Field(description="assess_market verdict: caps the tier")] = None,
        rules_clarity: Annotated[OptNum, Field(description="parse_rules clarity 0-1")] = None,
        market: Annotated[str | None, Field(description="id/URL: fees, step, minimum, status, tier cap from it")] = None,
    ) -> Annotated[CallToolResult, SizeOut]:
        state = ctx.request_context.lifespan_context
        max_tier, max_tier_reason = None, None
        if assessment is not None:
            from pm_mcp.domain.scorecard import tier_cap_for

            clarity = _opt(rules_clarity, "rules_clarity")
            if clarity is not None and not (0 <= clarity <= 1):
                raise ToolError("rules_clarity must be in [0, 1] (parse_rules' clarity score)")
            cap = tier_cap_for(assessment, float(clarity) if clarity is not None else None)
            max_tier, max_tier_reason = cap.max_tier, cap.note
        amount = _opt(amount_usd, "amount_usd")
        method = SizingMethod(method)
        explicit_price = _opt(price, "price")
        book = _levels(asks, "asks", ascending=True) if asks else None
        if asks is not None and not book:
            raise ToolError("asks is empty: there is nothing to buy; pass a price or a book with asks")
        exposure = _dec(event_exposure_usd, "event_exposure_usd")
        daily = Decimal(0)
        currency = "USD"
        extra: dict[str, Any] = {}
        if market is not None and market.strip():
            # the market decides: fees, size step, minimum, status, currency, and the assessment's tier cap
            if fee_rate is not None:
                raise ToolError("fee_rate is taken from the market; leave it out when you give market")
            ctx_m = await _sizing_context(state, venue, market.strip(), side)
            m = ctx_m["market"]
            fees, notes = m.fees, list(ctx_m["notes"])
            currency = m.currency
            step, min_size = m.size_step, m.min_order_size
            if explicit_price is None and book is None:
                book = ctx_m["asks"]
                if not book:
                    raise ToolError(f"the {ctx_m['label']} book on {m.venue} has no asks right now: nothing to buy")
            else:
                extra["what_if"] = True
                notes.append("what-if: the price/asks given were used, not the market's book")
            exposure = max(exposure, ctx_m["exposure"])
            daily = ctx_m["daily"]
            cap_tier, cap_note = ctx_m["tier_cap"]
            if max_tier is None or _tier_index(cap_tier) < _tier_index(max_tier):
                max_tier, max_tier_reason = cap_tier, cap_note
            extra.update(market_id=m.id, venue=m.venue, fees_from_market=True,
                         tier_cap=f"at most '{max_tier}': {max_tier_reason}")
        else:
            fees, notes = _fees_for(venue, _opt(fee_rate, "fee_rate"))
            step = VENUE_SIZE_STEP.get(venue or "", Decimal("0.01"))
            min_size = _opt(min_order_size, "min_order_size") or Decimal(0)
            extra["what_if"] = True
            if max_tier is not None:
                extra["tier_cap"] = f"at most '{max_tier}': {max_tier_reason}"
        pol, _state = _policy(ctx, currency)
        req = SizingRequest(
            p_yes=_p(p), side=side, price=explicit_price, book=book, fees=fees,
            size_step=step, min_order_size=min_size, event_exposure_usd=exposure, daily_spent_usd=daily,
            confidence=confidence, kelly_fraction=_opt(kelly_fraction, "kelly_fraction"), odds=_opt(odds, "odds"),
            units=_opt(units, "units"), stop_price=_opt(stop_price, "stop_price"),
            unit_usd=amount if method == SizingMethod.UNIT else None,
            flat_usd=amount if method == SizingMethod.FLAT else None,
            max_loss_usd=amount if method == SizingMethod.INVERTED_RISK else None,
            absolute_cap_usd=amount if method == SizingMethod.CONFIDENCE_TIERS else None,
            max_tier=max_tier, max_tier_reason=max_tier_reason, currency=currency,
        )
        try:
            r = size_core(pol, req, method)
        except (SizingError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        out = SizeOut(**r.model_dump(), fee_model=_fee_words(fees), policy=_policy_line(pol), mode=state.settings.mode,
                      confidence_used=confidence or "default (medium)", **extra)
        out.warnings.extend(notes)
        return tool_result(out, _size_text(out, pol))

    @mcp.tool(
        name="compute_edge",
        title="Compute edge after costs",
        annotations=ToolAnnotations(title="Compute edge after costs", read_only_hint=True, destructive_hint=False,
                                    idempotent_hint=True, open_world_hint=True),
        description=(
            "Is a trade worth it at the executable price? For your probability p (YES / the market's first "
            "outcome, 0-1) and a side (buy/sell) of outcome (yes/no or a label): average fill price, fees, "
            "EV per share and total, edge in percentage points after costs, break-even probability, ROI and "
            "the Kelly fraction. Price source: price, or book {bids, asks} of that outcome, or venue+market "
            "(fetches the live book and the market's fees). size in shares or budget in USD (buys); default 1 share."),
    )
    async def compute_edge(
        ctx: Context,
        p: Annotated[Num, Field(description="probability of YES / first outcome, 0-1")],
        outcome: Annotated[str, Field(description="yes, no, or an outcome label")] = "yes",
        side: Literal["buy", "sell"] = "buy",
        price: Annotated[OptNum, Field(description="USD per share of outcome")] = None,
        book: Annotated[BookIn | None, Field(description="order book of outcome")] = None,
        size: Annotated[OptNum, Field(description="shares")] = None,
        budget: Annotated[OptNum, Field(description="USD incl. fees (buy)")] = None,
        venue: Literal["polymarket", "kalshi", "manifold"] | None = None,
        market: Annotated[str | None, Field(description="id, slug, ticker or URL")] = None,
        fee_rate: Annotated[OptNum, Field(description="Polymarket rate, with price/book")] = None,
    ) -> Annotated[CallToolResult, EdgeOut]:
        p_yes = _p(p)
        sources = sum(x is not None for x in (price, book, market))
        if sources != 1:
            raise ToolError("give exactly one price source: price, book {bids, asks}, or market (+ venue)")
        size_d, budget_d = _opt(size, "size"), _opt(budget, "budget")
        state = ctx.request_context.lifespan_context
        notes: list[str] = []
        market_id = title = None
        tick = min_size = None
        if market is not None:
            if fee_rate is not None:
                raise ToolError("fee_rate is taken from the market; leave it out when you give market")
            m, index, label, ob, levels = await _market_book(state, venue, market, outcome, side, what="price")
            fees = m.fees
            venue_name = m.venue
            market_id, title, tick = m.id, m.title, ob.tick_size or m.tick_size
            min_size = ob.min_order_size or m.min_order_size
            win = p_yes if index == 0 else (Decimal(1) - p_yes if index == 1 and len(m.outcomes) == 2 else p_yes)
            outcome_label = label
            explicit_price = None
            step = m.size_step
            if not levels:
                raise ToolError(f"the {label} book on {m.venue} has no {'asks' if side == 'buy' else 'bids'} right "
                                "now: nothing to trade at any price")
        else:
            fees, notes = _fees_for(venue, _opt(fee_rate, "fee_rate"))
            venue_name = venue
            o = outcome.strip().lower()
            if o not in ("yes", "no"):
                raise ToolError("without a market, outcome must be 'yes' or 'no' (p is the probability of YES)")
            win = p_yes if o == "yes" else Decimal(1) - p_yes
            outcome_label = o.upper()
            step = VENUE_SIZE_STEP.get(venue or "", Decimal("0.01"))
            explicit_price = _opt(price, "price")
            levels = None
            if book is not None:
                raw = book.asks if side == "buy" else book.bids
                levels = _levels(raw, "book.asks" if side == "buy" else "book.bids", ascending=side == "buy")
                if not levels:
                    raise ToolError(f"book has no {'asks' if side == 'buy' else 'bids'}: nothing to {side}; "
                                    f"a {side} walks the {'asks' if side == 'buy' else 'bids'}")
        try:
            r = edge_core(win, side=side, price=explicit_price, levels=levels, size=size_d, budget=budget_d,
                          fees=fees, size_step=step, min_order_size=min_size or Decimal(0))
        except (EdgeError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        out = EdgeOut(**r.model_dump(), mode=state.settings.mode, outcome=outcome_label, p_yes=p_yes, venue=venue_name, market_id=market_id,
                      market_title=title, fee_model=_fee_words(fees), tick_size=tick, min_order_size=min_size)
        out.warnings.extend(notes)
        return tool_result(out, _edge_text(out))

    @mcp.tool(
        name="get_risk_policy",
        title="Get the risk policy",
        annotations=ToolAnnotations(title="Get the risk policy", **READ_ONLY_LOCAL.model_dump(exclude={"title"})),
        description=(
            "The risk limits every sizing and order must respect (from the server configuration; no tool can "
            "loosen them): bankroll, per-order, single-event and daily caps in USD, the Kelly fraction, "
            "enabled venues, paper/live mode, and the sizing methods with the confidence-tier table."),
    )
    async def get_risk_policy(ctx: Context) -> Annotated[CallToolResult, PolicyOut]:
        pol, state = _policy(ctx)
        out = PolicyOut(
            mode=state.settings.mode, bankroll=pol.bankroll, max_order_usd=pol.max_order_usd,
            max_event_fraction=pol.max_event_fraction, max_event_usd=pol.max_event_usd,
            max_daily_usd=pol.max_daily_usd, kelly_fraction=pol.kelly_fraction,
            recommended_kelly_range=list(RECOMMENDED_KELLY_FRACTIONS), allowed_venues=pol.allowed_venues,
            live_enabled=pol.live_enabled, default_method=DEFAULT_METHOD.value,
            methods=[m.value for m in SizingMethod], tiers=list(CONFIDENCE_TIERS),
            note="Set by PM_MCP_BANKROLL, PM_MCP_MAX_ORDER_USD, PM_MCP_MAX_EVENT_FRACTION, PM_MCP_MAX_DAILY_USD, "
                 "PM_MCP_KELLY_FRACTION, PM_MCP_VENUES, PM_MCP_MODE.")
        tiers = ", ".join(f"{t.name} (edge >= {pct(t.min_edge, 0)}: up to {pct(t.cap_fraction)})"
                          for t in CONFIDENCE_TIERS[1:])
        text = (f"Risk policy ({state.settings.mode} mode{'; live orders allowed' if pol.live_enabled else ''}): "
                f"{_policy_line(pol)}. Venues: {', '.join(pol.allowed_venues) or 'none'}.\n"
                f"Default sizing: confidence tiers by edge after fees: {tiers} of bankroll, never above full Kelly "
                f"or the per-order cap. Kelly fractions: usually 1/10 to 1/4; at most {_fraction_words(pol.kelly_fraction)}.")
        return tool_result(out, text)
