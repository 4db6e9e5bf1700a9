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

from pm_mcp.domain.edge import EdgeError, EdgeResult, compute_edge as edge_core
from pm_mcp.domain.fees import NO_FEES, kalshi_schedule, polymarket_schedule
from pm_mcp.domain.models import BookLevel, FeeSchedule
from pm_mcp.domain.money import MoneyError, normalize, pct, to_decimal, usd
from pm_mcp.domain.policy import RiskPolicy
from pm_mcp.domain.sizing import (CONFIDENCE_TIERS, DEFAULT_METHOD, RECOMMENDED_KELLY_FRACTIONS, SizingError,
                                  SizingMethod, SizingRequest, SizingResult, Tier, size_position as size_core)
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


class EdgeOut(EdgeResult):
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


def _policy(ctx: Context) -> tuple[RiskPolicy, Any]:
    """The policy in force for this session: the execution engine's (tightened by
    tighten_risk_policy, never loosened) when it runs, else the configured one."""
    state = ctx.request_context.lifespan_context
    engine = state.services.get("execution")
    session_policy = getattr(engine, "policy", None)
    if isinstance(session_policy, RiskPolicy):
        return session_policy, state
    return RiskPolicy.from_settings(state.settings), state


def _policy_line(pol: RiskPolicy) -> str:
    return (f"bankroll {usd(pol.bankroll)}, max order {usd(pol.max_order_usd)}, max per event "
            f"{usd(pol.max_event_usd)} ({pct(pol.max_event_fraction, 0)}), max daily {usd(pol.max_daily_usd)}, "
            f"Kelly fraction {_fraction_words(pol.kelly_fraction)}")


_RULE_WORDS = {"max_order_usd": "per-order cap", "max_event_usd": "single-event limit", "max_daily_usd": "daily cap",
               "bankroll": "bankroll", "kelly_fraction": "policy Kelly fraction", "confidence": "stated confidence",
               "full_kelly": "full Kelly", "absolute_cap": "absolute cap", "book_depth": "book depth",
               "venue_minimum": "venue minimum"}


def _size_text(r: SizingResult, pol: RiskPolicy) -> str:
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
        head += "; capped by " + ", ".join(_RULE_WORDS.get(c, c) for c in r.capped_by)
    lines = [head + ".", r.arithmetic]
    if r.warnings:
        lines.append("Warnings: " + "; ".join(r.warnings) + ".")
    return "\n".join(lines)


def _edge_text(r: EdgeOut) -> str:
    where = (f"{quote_inline(r.market_title)} [{r.venue}:{clean_inline(r.market_id, 100)}] " if r.market_title
             else (f"{r.venue} " if r.venue else ""))
    outcome = quote_label(r.outcome)
    warnings = [clean_inline(w, 300) for w in r.warnings]
    if r.filled_size == 0:
        return f"{where}{r.side} {outcome}: nothing fills. " + "; ".join(warnings)
    src = (f"avg ${normalize(r.average_price)} over {r.levels_used} level(s), worst ${normalize(r.worst_price)}"
           if r.source == "book" else f"at ${normalize(r.average_price)}")
    verdict = "edge" if (r.edge_pp or 0) > 0 else "NO edge"
    lines = [
        f"{where}{r.side.capitalize()} {normalize(r.filled_size)} {outcome} {src}; fees {usd(r.fees_usd)} -> "
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


async def _market_book(state: Any, venue: str | None, market: str, outcome: str, side: str):
    svc = state.services.get("markets")
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
            "How much to stake on one binary outcome, inside the risk policy (per-order, single-event, daily "
            "caps, bankroll). p = your probability of YES (0-1); side 'yes' buys YES, 'no' buys NO; price = "
            "price of the share you buy, or asks = its book. Methods: confidence_tiers (default), "
            "fractional_kelly, pm_kelly, kelly, execution_kelly (walks asks, fees), unit, flat, inverted_risk. "
            "amount_usd = unit size / flat stake / max loss / tier absolute cap. Returns USD stake, shares, "
            "caps hit and the arithmetic. Call before proposing an order."),
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
    ) -> Annotated[CallToolResult, SizeOut]:
        pol, _state = _policy(ctx)
        max_tier, max_tier_reason = None, None
        if assessment is not None:
            from pm_mcp.domain.scorecard import tier_cap_for

            clarity = _opt(rules_clarity, "rules_clarity")
            if clarity is not None and not (0 <= clarity <= 1):
                raise ToolError("rules_clarity must be in [0, 1] (parse_rules' clarity score)")
            cap = tier_cap_for(assessment, float(clarity) if clarity is not None else None)
            max_tier, max_tier_reason = cap.max_tier, cap.note
        fees, notes = _fees_for(venue, _opt(fee_rate, "fee_rate"))
        book = _levels(asks, "asks", ascending=True) if asks else None
        if asks is not None and not book:
            raise ToolError("asks is empty: there is nothing to buy; pass a price or a book with asks")
        amount = _opt(amount_usd, "amount_usd")
        method = SizingMethod(method)
        req = SizingRequest(
            p_yes=_p(p), side=side, price=_opt(price, "price"), book=book, fees=fees,
            size_step=VENUE_SIZE_STEP.get(venue or "", Decimal("0.01")),
            min_order_size=_opt(min_order_size, "min_order_size") or Decimal(0),
            event_exposure_usd=_dec(event_exposure_usd, "event_exposure_usd"),
            confidence=confidence, kelly_fraction=_opt(kelly_fraction, "kelly_fraction"), odds=_opt(odds, "odds"),
            units=_opt(units, "units"), stop_price=_opt(stop_price, "stop_price"),
            unit_usd=amount if method == SizingMethod.UNIT else None,
            flat_usd=amount if method == SizingMethod.FLAT else None,
            max_loss_usd=amount if method == SizingMethod.INVERTED_RISK else None,
            absolute_cap_usd=amount if method == SizingMethod.CONFIDENCE_TIERS else None,
            max_tier=max_tier, max_tier_reason=max_tier_reason,
        )
        try:
            r = size_core(pol, req, method)
        except (SizingError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        out = SizeOut(**r.model_dump(), fee_model=_fee_words(fees), policy=_policy_line(pol))
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
            m, index, label, ob, levels = await _market_book(state, venue, market, outcome, side)
            fees = m.fees
            venue_name = m.venue
            market_id, title, tick = m.id, m.title, ob.tick_size or m.tick_size
            min_size = ob.min_order_size or m.min_order_size
            win = p_yes if index == 0 else (Decimal(1) - p_yes if index == 1 and len(m.outcomes) == 2 else p_yes)
            outcome_label = label
            explicit_price = None
            step = VENUE_SIZE_STEP.get(m.venue, Decimal("0.01"))
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
        out = EdgeOut(**r.model_dump(), outcome=outcome_label, p_yes=p_yes, venue=venue_name, market_id=market_id,
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
