"""Strategy tools: size_position, compute_edge, get_risk_policy (the names are a contract).

Thin: parse the arguments (numbers or decimal strings -> Decimal), call the pure core in
pm_mcp.domain (sizing, edge, policy), return concise text first plus the structured model.
Read-only. size_position and get_risk_policy never touch the network; compute_edge does only when
it is given a market to look up (through the market-data service).
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from pm_mcp.domain.edge import EdgeError, EdgeResult
from pm_mcp.domain.edge import compute_edge as edge_core
from pm_mcp.domain.fees import NO_FEES, FeeRateNotTaken, formula_of
from pm_mcp.domain.models import BookLevel, FeeSchedule
from pm_mcp.domain.money import MoneyError, currency_symbol, in_currency, normalize, pct, to_decimal
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
from pm_mcp.surface.common import READ_LOCAL, READ_OPEN, app_state, grouped, split_venue, titled, to_tool_error
from pm_mcp.surface.common import VenueArg as VenueName
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import BRIEF, CHOICES, LEGACY, UNLISTED, Grouped
from pm_mcp.venues.registry import VENUES

# A number given as a JSON number or a decimal string ("0.45"); parsed exactly to Decimal in the body. bool is in
# the union (not in the schema) so a JSON true arrives as True and is refused by name, not coerced to 1 by pydantic.
Num = Annotated[bool | int | float | str, WithJsonSchema({"type": ["number", "string"]})]
OptNum = Annotated[bool | int | float | str | None, WithJsonSchema({"type": ["number", "string", "null"]})]

# The venues, as the tools' schemas name them (the registry's order).
DEFAULT_SIZE_STEP = Decimal("0.01")  # a what-if without a venue


class LevelIn(BaseModel):
    price: Num = Field(description="USD per share, 0-1")
    size: Num = Field(description="shares/contracts")


class BookIn(BaseModel):
    bids: list[LevelIn] = Field(default_factory=list)
    asks: list[LevelIn] = Field(default_factory=list)


class SizeWhatIf(Grouped):
    """size_position's what-if and method details (each also accepted at the top level, its old place)."""

    model_config = ConfigDict(extra="forbid")
    price: OptNum = None
    asks: list[LevelIn] | None = None
    fee_rate: OptNum = None
    min_order_size: OptNum = None
    event_exposure_usd: OptNum = None
    kelly_fraction: OptNum = None
    odds: OptNum = None
    units: OptNum = None
    stop_price: OptNum = None
    rules_clarity: OptNum = None
    confidence: Literal["low", "medium", "high", "very_high"] | None = None
    assessment: Literal["participate", "caution", "avoid"] | None = None
    amount_usd: OptNum = None
    venue: VenueName | None = None


class EdgeWhatIf(Grouped):
    """compute_edge's price sources other than a market (each also accepted at the top level)."""

    model_config = ConfigDict(extra="forbid")
    price: OptNum = None
    book: BookIn | None = None
    fee_rate: OptNum = None
    venue: VenueName | None = None


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
    currency: str = Field("USD", description="what the *_usd amounts and prices are in: USD, or MANA (play money)")


class PolicyLimitsOut(BaseModel):
    # the limits both policy answers lead with (get_risk_policy here, tighten_risk_policy in surface.orders);
    # no docstring: it would become the subclasses' schema description
    mode: str
    bankroll: Decimal
    max_order_usd: Decimal
    max_event_fraction: Decimal
    max_event_usd: Decimal
    max_daily_usd: Decimal
    kelly_fraction: Decimal

    @staticmethod
    def limits_of(pol: Any) -> dict[str, Decimal]:
        return {"bankroll": pol.bankroll, "max_order_usd": pol.max_order_usd,
                "max_event_fraction": pol.max_event_fraction, "max_event_usd": pol.max_event_usd,
                "max_daily_usd": pol.max_daily_usd, "kelly_fraction": pol.kelly_fraction}


class PolicyOut(PolicyLimitsOut):
    mode: Literal["paper", "live"]
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


def _venue_fees(venue: str) -> ModuleType:
    """The venue package's fee module (pm_mcp.venues.<name>.fees: its schedule and what-if defaults)."""
    return importlib.import_module(f"{VENUES[venue].package}.fees")


def _names(names: list[str], quote: bool = False) -> str:
    shown = [repr(n) if quote else n for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _what_if_terms(venue: str | None, fee_rate: Decimal | None) -> tuple[FeeSchedule, list[str], Decimal]:
    """(fees, notes, size step) when no market is given: the venue's defaults (its package says), else none."""
    v = (venue or "").strip().lower()
    try:
        if not v:
            if fee_rate is not None:
                raise FeeRateNotTaken("no venue")
            return NO_FEES, [], DEFAULT_SIZE_STEP
        if v not in VENUES:
            raise ToolError(f"unknown venue {venue!r}; use {_names(list(VENUES))}")
        fees, notes, step = _venue_fees(v).what_if_terms(fee_rate)
        return fees, list(notes), step
    except FeeRateNotTaken:
        takers = [n for n in VENUES if _venue_fees(n).TAKES_FEE_RATE]
        raise ToolError(f"fee_rate applies to venue={_names(takers, quote=True)}; set venue too") from None
    except ToolError:
        raise
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def _what_if_currency(venue: str | None) -> str:
    """What a what-if without a market is priced in: the venue's currency (Manifold: MANA), else USD."""
    v = (venue or "").strip().lower()
    return getattr(_venue_fees(v), "CURRENCY", "USD") if v in VENUES else "USD"


def _fee_words(s: FeeSchedule, venue: str | None) -> str:
    if formula_of(s) is None or venue not in VENUES:
        return "no trading fee"
    return _venue_fees(venue).fee_words(s)


def _fraction_words(k: Decimal) -> str:
    inv = Decimal(1) / k if k > 0 else Decimal(0)
    if k > 0 and inv == inv.to_integral_value():
        return f"1/{int(inv)}" if inv != 1 else "full"
    return f"{normalize(k)}"


async def _policy(ctx: Context, currency: str = "USD") -> tuple[RiskPolicy, Any]:
    """The policy in force for this person in ``currency``: the execution engine's (the settings under the
    tightenings they stored with tighten_risk_policy, never loosened) when it runs, else the configured one."""
    state = app_state(ctx)
    engine = state.execution
    policy_for = getattr(engine, "policy_for", None)
    if policy_for is not None:
        try:
            await engine.load_policies()
        except Exception as exc:  # noqa: BLE001 - an unreadable stored tightening: its sentence
            raise to_tool_error(exc) from None
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
                f"{currency_symbol(r.currency)}{normalize(r.price)}" + (f" (fees {usd(r.fee_usd)})" if r.fee_usd > 0 else ""))
        head += f"; expected profit {usd(r.expected_profit_usd)}"
    else:
        head = f"{label}: stake {currency_symbol(r.currency)}0 (no bet)"
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
    sym = currency_symbol(r.currency)  # $ or M$ (Manifold's play money): never mana shown as dollars
    money = lambda d: in_currency(d, r.currency)  # noqa: E731
    src = (f"avg {sym}{normalize(r.average_price)} over {r.levels_used} level(s), worst {sym}{normalize(r.worst_price)}"
           if r.source == "book" else f"at {sym}{normalize(r.average_price)}")
    verdict = "edge" if (r.edge_pp or 0) > 0 else "NO edge"
    lines = [
        f"{tag}{where}{r.side.capitalize()} {normalize(r.filled_size)} {outcome} {src}; fees {money(r.fees_usd)} -> "
        f"break-even {pct(r.break_even_probability or Decimal(0))}. Your P({outcome}) {pct(r.p)} -> {verdict} "
        f"{'+' if (r.edge_pp or 0) > 0 else ''}{r.edge_pp} pp after costs; EV {money(r.ev_total_usd)} total "
        f"({sym}{normalize(r.ev_per_contract.quantize(Decimal('0.0001')))}/share)"
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
    journal already has at stake on its event and today (in its currency), and the tier ceiling the market
    allows (pm_mcp.markets.assessment.market_ceiling: the same one every proposal is held to)."""
    from pm_mcp.markets.assessment import market_ceiling

    m, _index, label, ob, asks = await _market_book(state, venue, market, "yes" if side == "yes" else "no", "buy",
                                                    what="size")
    ceiling = await market_ceiling(state.require_markets(), state.store, m, {label: ob})
    exposure = daily = Decimal(0)
    engine = state.execution
    if engine is not None:
        exposure = await engine.exposure(m.event_id or m.id, currency=m.currency)
        daily = await engine.daily_spent(currency=m.currency)
    return {"market": m, "label": label, "asks": asks, "notes": list(ceiling.notes), "exposure": exposure,
            "daily": daily, "tier_cap": (ceiling.max_tier, ceiling.reason)}


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

SIZE_POSITION = "Stake for one outcome inside the risk policy, with caps hit and arithmetic."
COMPUTE_EDGE = "Edge after fees and depth at the executable price: EV, break-even, Kelly."
GET_RISK_POLICY = (
    "The risk limits every sizing and order must respect (no tool loosens them): bankroll, order, event and "
    "daily caps, Kelly fraction, venues, mode, sizing methods and tiers.")


@dataclass
class _SizingTerms:
    """What a sizing prices with: from the market when one is given, else the arguments (a what-if)."""

    fees: FeeSchedule
    notes: list[str]
    step: Decimal
    min_size: Decimal
    book: list[BookLevel] | None
    exposure: Decimal
    max_tier: str | None
    max_tier_reason: str | None
    currency: str = "USD"
    daily: Decimal = Decimal(0)
    extra: dict[str, Any] = field(default_factory=dict)


def _assessment_cap(assessment: str | None, rules_clarity: Any) -> tuple[str | None, str | None]:
    """The tier cap the caller's assess_market verdict (and rules clarity) allows: (max tier, why)."""
    if assessment is None:
        return None, None
    from pm_mcp.domain.scorecard import tier_cap_for

    clarity = _opt(rules_clarity, "rules_clarity")
    if clarity is not None and not (0 <= clarity <= 1):
        raise ToolError("rules_clarity must be in [0, 1] (parse_rules' clarity score)")
    cap = tier_cap_for(assessment, float(clarity) if clarity is not None else None)
    return cap.max_tier, cap.note


async def _market_sizing(state: Any, venue: str | None, market: str, side: str, fee_rate: Any,
                         explicit_price: Decimal | None, t: _SizingTerms) -> _SizingTerms:
    """The market decides: fees, size step, minimum, status, currency, and the assessment's tier cap."""
    if fee_rate is not None:
        raise ToolError("fee_rate is taken from the market; leave it out when you give market")
    ctx_m = await _sizing_context(state, venue, market, side)
    m = ctx_m["market"]
    t.fees, t.notes, t.currency = m.fees, list(ctx_m["notes"]), m.currency
    t.step, t.min_size = m.size_step, m.min_order_size
    if explicit_price is None and t.book is None:
        t.book = ctx_m["asks"]
        if not t.book:
            raise ToolError(f"the {ctx_m['label']} book on {m.venue} has no asks right now: nothing to buy")
    else:
        t.extra["what_if"] = True
        t.notes.append("what-if: the price/asks given were used, not the market's book")
    t.exposure = max(t.exposure, ctx_m["exposure"])
    t.daily = ctx_m["daily"]
    cap_tier, cap_note = ctx_m["tier_cap"]
    if t.max_tier is None or _tier_index(cap_tier) < _tier_index(t.max_tier):
        t.max_tier, t.max_tier_reason = cap_tier, cap_note
    t.extra.update(market_id=m.id, venue=m.venue, fees_from_market=True,
                   tier_cap=f"at most '{t.max_tier}': {t.max_tier_reason}")
    return t


def _what_if_sizing(venue: str | None, fee_rate: Any, min_order_size: Any, t: _SizingTerms) -> _SizingTerms:
    t.fees, t.notes, t.step = _what_if_terms(venue, _opt(fee_rate, "fee_rate"))
    t.currency = _what_if_currency(venue)
    t.min_size = _opt(min_order_size, "min_order_size") or Decimal(0)
    t.extra["what_if"] = True
    if t.max_tier is not None:
        t.extra["tier_cap"] = f"at most '{t.max_tier}': {t.max_tier_reason}"
    return t


async def size_position(
    ctx: Context,
    p: Annotated[Num, Field(description="P(YES) 0-1")],
    price: Annotated[OptNum, LEGACY] = None,
    side: Annotated[Literal["yes", "no"], CHOICES] = "yes",
    method: Annotated[SizingMethod, Field(description="or kelly, fractional_kelly, unit, flat, ..."),
                      UNLISTED] = DEFAULT_METHOD,
    asks: Annotated[list[LevelIn] | None, LEGACY] = None,
    venue: Annotated[VenueName | None, LEGACY] = None,
    fee_rate: Annotated[OptNum, LEGACY] = None,
    event_exposure_usd: Annotated[OptNum, LEGACY] = None,
    confidence: Annotated[Literal["low", "medium", "high", "very_high"] | None, LEGACY] = None,
    kelly_fraction: Annotated[OptNum, LEGACY] = None,
    amount_usd: Annotated[OptNum, LEGACY] = None,
    units: Annotated[OptNum, LEGACY] = None,
    stop_price: Annotated[OptNum, LEGACY] = None,
    odds: Annotated[OptNum, LEGACY] = None,
    min_order_size: Annotated[OptNum, LEGACY] = None,
    assessment: Annotated[Literal["participate", "caution", "avoid"] | None, LEGACY] = None,
    rules_clarity: Annotated[OptNum, LEGACY] = None,
    market: Annotated[str | None, Field(description="id or URL")] = None,
    what_if: Annotated[SizeWhatIf | None, Field(
        description="amount_usd (stake, max loss or cap), confidence, kelly_fraction, units, stop_price, venue; no "
                    "market: price, asks, fee_rate, ..."), BRIEF] = None,
) -> Annotated[CallToolResult, SizeOut]:
    w = grouped(what_if, "what_if", price=price, asks=asks, fee_rate=fee_rate, min_order_size=min_order_size,
                event_exposure_usd=event_exposure_usd, kelly_fraction=kelly_fraction, odds=odds, units=units,
                stop_price=stop_price, rules_clarity=rules_clarity, confidence=confidence, assessment=assessment,
                amount_usd=amount_usd, venue=venue)
    confidence, assessment, amount_usd, venue = w.confidence, w.assessment, w.amount_usd, w.venue
    market, venue = split_venue(market, venue)
    price, asks, fee_rate, min_order_size, rules_clarity = w.price, w.asks, w.fee_rate, w.min_order_size, \
        w.rules_clarity
    event_exposure_usd = 0 if w.event_exposure_usd is None else w.event_exposure_usd
    kelly_fraction, odds, units, stop_price = w.kelly_fraction, w.odds, w.units, w.stop_price
    state = app_state(ctx)
    max_tier, max_tier_reason = _assessment_cap(assessment, rules_clarity)
    amount = _opt(amount_usd, "amount_usd")
    method = SizingMethod(method)
    explicit_price = _opt(price, "price")
    book = _levels(asks, "asks", ascending=True) if asks else None
    if asks is not None and not book:
        raise ToolError("asks is empty: there is nothing to buy; pass a price or a book with asks")
    t = _SizingTerms(fees=NO_FEES, notes=[], step=DEFAULT_SIZE_STEP, min_size=Decimal(0), book=book,
                     exposure=_dec(event_exposure_usd, "event_exposure_usd"), max_tier=max_tier,
                     max_tier_reason=max_tier_reason)
    if market is not None and market.strip():
        t = await _market_sizing(state, venue, market.strip(), side, fee_rate, explicit_price, t)
    else:
        t = _what_if_sizing(venue, fee_rate, min_order_size, t)
    pol, _state = await _policy(ctx, t.currency)
    req = SizingRequest(
        p_yes=_p(p), side=side, price=explicit_price, book=t.book, fees=t.fees,
        size_step=t.step, min_order_size=t.min_size, event_exposure_usd=t.exposure, daily_spent_usd=t.daily,
        confidence=confidence, kelly_fraction=_opt(kelly_fraction, "kelly_fraction"), odds=_opt(odds, "odds"),
        units=_opt(units, "units"), stop_price=_opt(stop_price, "stop_price"),
        unit_usd=amount if method == SizingMethod.UNIT else None,
        flat_usd=amount if method == SizingMethod.FLAT else None,
        max_loss_usd=amount if method == SizingMethod.INVERTED_RISK else None,
        absolute_cap_usd=amount if method == SizingMethod.CONFIDENCE_TIERS else None,
        max_tier=t.max_tier, max_tier_reason=t.max_tier_reason, currency=t.currency,
    )
    try:
        r = size_core(pol, req, method)
    except (SizingError, ValueError) as exc:
        raise ToolError(str(exc)) from None
    out = SizeOut(**r.model_dump(), fee_model=_fee_words(t.fees, t.extra.get("venue") or venue),
                  policy=_policy_line(pol), mode=state.settings.mode,
                  confidence_used=confidence or "default (medium)", **t.extra)
    out.warnings.extend(t.notes)
    return tool_result(out, _size_text(out, pol))


@dataclass
class _EdgeTerms:
    """What an edge is priced with: the market's book and fees, or the price/book given (a what-if)."""

    win: Decimal  # the probability that the outcome traded wins
    outcome_label: str
    fees: FeeSchedule
    step: Decimal
    venue: str | None
    levels: list[BookLevel] | None = None
    price: Decimal | None = None
    market_id: str | None = None
    title: str | None = None
    tick: Decimal | None = None
    min_size: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    currency: str = "USD"  # the market's: USD, or MANA (Manifold's play money, written M$)


async def _market_edge(state: Any, venue: str | None, market: str, outcome: str, side: str, fee_rate: Any,
                       p_yes: Decimal) -> _EdgeTerms:
    if fee_rate is not None:
        raise ToolError("fee_rate is taken from the market; leave it out when you give market")
    m, index, label, ob, levels = await _market_book(state, venue, market, outcome, side, what="price")
    win = p_yes if index == 0 else (Decimal(1) - p_yes if index == 1 and len(m.outcomes) == 2 else p_yes)
    if not levels:
        raise ToolError(f"the {label} book on {m.venue} has no {'asks' if side == 'buy' else 'bids'} right "
                        "now: nothing to trade at any price")
    return _EdgeTerms(win=win, outcome_label=label, fees=m.fees, step=m.size_step, venue=m.venue, levels=levels,
                      market_id=m.id, title=m.title, tick=ob.tick_size or m.tick_size,
                      min_size=ob.min_order_size or m.min_order_size, currency=m.currency)


def _what_if_edge(venue: str | None, fee_rate: Any, outcome: str, side: str, p_yes: Decimal, price: Any,
                  book: BookIn | None) -> _EdgeTerms:
    fees, notes, step = _what_if_terms(venue, _opt(fee_rate, "fee_rate"))
    o = outcome.strip().lower()
    if o not in ("yes", "no"):
        raise ToolError("without a market, outcome must be 'yes' or 'no' (p is the probability of YES)")
    t = _EdgeTerms(win=p_yes if o == "yes" else Decimal(1) - p_yes, outcome_label=o.upper(), fees=fees, step=step,
                   venue=venue, price=_opt(price, "price"), notes=notes, currency=_what_if_currency(venue))
    if book is not None:
        raw = book.asks if side == "buy" else book.bids
        t.levels = _levels(raw, "book.asks" if side == "buy" else "book.bids", ascending=side == "buy")
        if not t.levels:
            raise ToolError(f"book has no {'asks' if side == 'buy' else 'bids'}: nothing to {side}; "
                            f"a {side} walks the {'asks' if side == 'buy' else 'bids'}")
    return t


async def compute_edge(
    ctx: Context,
    p: Annotated[Num, Field(description="P(YES/1st outcome)")],
    outcome: Annotated[str, Field(description="yes|no|label")] = "yes",
    side: Annotated[Literal["buy", "sell"], CHOICES] = "buy",
    price: Annotated[OptNum, LEGACY] = None,
    book: Annotated[BookIn | None, LEGACY] = None,
    size: Annotated[OptNum, Field(description="shares (1)")] = None,
    budget: Annotated[OptNum, Field(description="USD (buy)")] = None,
    venue: Annotated[VenueName | None, LEGACY] = None,
    market: Annotated[str | None, Field(description="id or URL")] = None,
    fee_rate: Annotated[OptNum, LEGACY] = None,
    what_if: Annotated[EdgeWhatIf | None, Field(
        description="venue; no market: price|book {bids,asks:[{price,size}]}, fee_rate"), BRIEF] = None,
) -> Annotated[CallToolResult, EdgeOut]:
    w = grouped(what_if, "what_if", price=price, book=book, fee_rate=fee_rate, venue=venue)
    price, book, fee_rate, venue = w.price, w.book, w.fee_rate, w.venue
    market, venue = split_venue(market, venue)
    p_yes = _p(p)
    sources = sum(x is not None for x in (price, book, market))
    if sources != 1:
        raise ToolError("give exactly one price source: price, book {bids, asks}, or market (+ venue)")
    size_d, budget_d = _opt(size, "size"), _opt(budget, "budget")
    state = app_state(ctx)
    if market is not None:
        t = await _market_edge(state, venue, market, outcome, side, fee_rate, p_yes)
    else:
        t = _what_if_edge(venue, fee_rate, outcome, side, p_yes, price, book)
    try:
        r = edge_core(t.win, side=side, price=t.price, levels=t.levels, size=size_d, budget=budget_d,
                      fees=t.fees, size_step=t.step, min_order_size=t.min_size or Decimal(0), currency=t.currency)
    except (EdgeError, ValueError) as exc:
        raise ToolError(str(exc)) from None
    out = EdgeOut(**r.model_dump(), mode=state.settings.mode, outcome=t.outcome_label, p_yes=p_yes, venue=t.venue,
                  market_id=t.market_id, market_title=t.title, fee_model=_fee_words(t.fees, t.venue),
                  tick_size=t.tick, min_order_size=t.min_size, currency=t.currency)
    out.warnings.extend(t.notes)
    return tool_result(out, _edge_text(out))


async def get_risk_policy(ctx: Context) -> Annotated[CallToolResult, PolicyOut]:
    pol, state = await _policy(ctx)
    out = PolicyOut(
        mode=state.settings.mode, **PolicyLimitsOut.limits_of(pol),
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


def register(mcp: MCPServer) -> None:
    mcp.tool(name="size_position", title="Size a position", annotations=titled(READ_LOCAL, "Size a position"),
             description=SIZE_POSITION)(size_position)
    mcp.tool(name="compute_edge", title="Compute edge after costs",
             annotations=titled(READ_OPEN, "Compute edge after costs"), description=COMPUTE_EDGE)(compute_edge)
    mcp.tool(name="get_risk_policy", title="Get the risk policy",
             annotations=titled(READ_LOCAL, "Get the risk policy"), description=GET_RISK_POLICY)(get_risk_policy)
