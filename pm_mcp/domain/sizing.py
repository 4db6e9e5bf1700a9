"""Position sizing: how many USD (and shares/contracts) to put on one binary outcome.

Every method returns a :class:`SizingResult` with the stake (USD, fees included), the contracts
(floored to the venue's size step), which limits capped it and the arithmetic in words. Every
method respects the :class:`~pm_mcp.domain.policy.RiskPolicy`: per-order cap, single-event cap
(given the current exposure to the event), daily cap, bankroll; and no method stakes anything
without an edge after fees.

Conventions
- ``p_yes`` is the probability that the market resolves YES (its first outcome). ``side`` says which
  share is bought: ``yes`` wins with probability p, ``no`` with 1 - p (the mirror).
- ``price`` is the price of the share bought (for ``no``: the NO share's price), USD per share in (0, 1).
- Fees: the effective price per share is ``price + fee per share`` (the venue's taker formula); the
  edge, Kelly fractions and break-even use it.
- With a book, a stake that walks past the best ask is sized again on the average it pays (fees included):
  the edge there is no larger, so the stake is no larger and pays at most that average; the edge every cap
  used never overstates what the stake gets (``execution_kelly`` already prices each share it walks).

Methods
- ``kelly`` (classic): f* = (b·p - q) / b with net odds b (from ``odds``, or b = (1 - c)/c at the
  effective price c), q = 1 - p.
- ``pm_kelly`` (prediction-market Kelly): f* = (p - c) / (1 - c) for YES; for NO the mirror
  f* = ((1 - p) - c_no) / (1 - c_no). Identical to classic Kelly at b = (1 - c)/c.
- ``fractional_kelly``: pm_kelly x fraction. The fraction defaults to the policy's
  PM_MCP_KELLY_FRACTION (0.25) and may only be lowered; the usual range is 1/10 to 1/4.
- Full-Kelly methods are still multiplied by the policy's Kelly fraction: PM_MCP_KELLY_FRACTION is a
  policy limit ("kelly_fraction" appears in ``capped_by`` when it binds); set it to 1 to allow full Kelly.
- ``confidence_tiers`` (the DEFAULT): discrete tiers by edge after fees, each with a cap as a fraction of
  bankroll (see ``CONFIDENCE_TIERS``); the tier is also limited by the stated confidence; the stake is
  min(tier cap, full Kelly, absolute cap). Monotone in confidence and in edge.
- ``unit``: units x unit size (default unit = 1% of bankroll).
- ``flat``: the same stake every bet (default 1% of bankroll).
- ``inverted_risk``: size from the maximum tolerable loss. Without a stop, a bought share can lose its
  whole cost, so contracts = max_loss / (price + fee); with a stop price, loss per share =
  price - stop + entry and exit fees (a stop is not guaranteed: gaps can lose more).
- ``execution_kelly``: maximise expected log growth p·ln(W - C(n) + n) + (1 - p)·ln(W - C(n)) over
  the share count n on the size step, where C(n) is the cost of walking the book for n shares,
  fees included; then scaled by the Kelly fraction (as budget).
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import NO_FEES, fee_per_share_upper_bound, trade_fee
from pm_mcp.domain.models import BookLevel, FeeSchedule
from pm_mcp.domain.money import currency_symbol, floor_to, in_currency, normalize, pct
from pm_mcp.domain.policy import RiskPolicy, order_headroom

ZERO = Decimal(0)
ONE = Decimal(1)
FRACTION_Q = Decimal("0.000001")
PRICE_Q = Decimal("0.000001")

Side = Literal["yes", "no"]


class SizingMethod(StrEnum):
    CONFIDENCE_TIERS = "confidence_tiers"
    KELLY = "kelly"
    PM_KELLY = "pm_kelly"
    FRACTIONAL_KELLY = "fractional_kelly"
    UNIT = "unit"
    FLAT = "flat"
    INVERTED_RISK = "inverted_risk"
    EXECUTION_KELLY = "execution_kelly"


DEFAULT_METHOD = SizingMethod.CONFIDENCE_TIERS
RECOMMENDED_KELLY_FRACTIONS = (Decimal("0.1"), Decimal("0.25"))  # documented range: 1/10 .. 1/4
DEFAULT_UNIT_FRACTION = Decimal("0.01")  # unit / flat default: 1% of bankroll


class Tier(BaseModel):
    name: str
    min_edge: Decimal  # edge after fees, probability points (0.05 = 5pp)
    cap_fraction: Decimal  # stake cap as a fraction of bankroll


# Discrete tiers by signal strength (edge after fees). Each has a cap as a fraction of bankroll.
CONFIDENCE_TIERS: tuple[Tier, ...] = (
    Tier(name="none", min_edge=ZERO, cap_fraction=ZERO),
    Tier(name="low", min_edge=Decimal("0.02"), cap_fraction=Decimal("0.01")),
    Tier(name="medium", min_edge=Decimal("0.05"), cap_fraction=Decimal("0.02")),
    Tier(name="high", min_edge=Decimal("0.10"), cap_fraction=Decimal("0.035")),
    Tier(name="very_high", min_edge=Decimal("0.15"), cap_fraction=Decimal("0.05")),
)
CONFIDENCE_LEVELS = ("low", "medium", "high", "very_high")
Confidence = Literal["low", "medium", "high", "very_high"]
DEFAULT_CONFIDENCE: Confidence = "medium"


def tier_stake_cap(tier: str, bankroll: Decimal) -> Decimal:
    """The most one position may stake at ``tier``: its cap fraction of the bankroll (the one place this is
    computed: sizing caps with it, and pm_mcp.domain.discipline refuses a proposal above it)."""
    for t in CONFIDENCE_TIERS:
        if t.name == tier:
            return t.cap_fraction * bankroll
    raise ValueError(f"unknown tier {tier!r}; tiers are " + ", ".join(t.name for t in CONFIDENCE_TIERS))


class SizingRequest(BaseModel):
    """What to size. Give ``price`` or ``book`` (asks of the share bought, best first), or both
    (then the price is only the reference and the book decides what the stake buys)."""

    p_yes: Decimal
    side: Side = "yes"
    price: Decimal | None = None
    book: list[BookLevel] | None = None
    fees: FeeSchedule = NO_FEES
    size_step: Decimal = Decimal("0.01")
    min_order_size: Decimal = ZERO
    event_exposure_usd: Decimal = ZERO
    daily_spent_usd: Decimal = ZERO
    # method parameters
    kelly_fraction: Decimal | None = None
    odds: Decimal | None = None  # classic Kelly: net odds b (decimal odds - 1)
    confidence: Confidence | None = None
    absolute_cap_usd: Decimal | None = None
    units: Decimal | None = None
    unit_usd: Decimal | None = None
    flat_usd: Decimal | None = None
    max_loss_usd: Decimal | None = None
    stop_price: Decimal | None = None
    # the highest tier the market's assessment allows (assess_market: participate -> high, caution ->
    # medium, avoid or unclear rules -> lower / none): a cap on every method's stake
    max_tier: Literal["none", "low", "medium", "high", "very_high"] | None = None
    max_tier_reason: str | None = None
    # what the amounts are in (the market's currency): "USD", or "MANA" (written M$); the policy must be in it
    currency: str = "USD"


class SizingResult(BaseModel):
    method: SizingMethod
    side: Side
    p_yes: Decimal
    win_probability: Decimal = Field(description="p for YES, 1 - p for NO")
    price: Decimal | None = Field(description="average price per share paid (from the book walk if a book was given)")
    effective_price: Decimal | None = Field(description="price + fee per share: the break-even probability")
    edge: Decimal = Field(description="win probability - effective price (0.05 = 5 percentage points)")
    full_kelly_fraction: Decimal | None = Field(description="full Kelly fraction of bankroll at this price (<=0: no bet)")
    kelly_multiplier: Decimal | None = None
    tier: str | None = None
    stake_usd: Decimal = Field(description="cash out for the contracts, fees included (USD)")
    contracts: Decimal = Field(description="shares/contracts, floored to the size step")
    fee_usd: Decimal
    max_loss_usd: Decimal = Field(description="loss if the share pays 0 (= stake for a buy)")
    expected_profit_usd: Decimal
    target_stake_usd: Decimal = Field(description="what the method asked for before any cap")
    capped_by: list[str] = Field(default_factory=list)
    headroom_usd: Decimal = Field(description="largest order cost the policy allows right now")
    arithmetic: str
    warnings: list[str] = Field(default_factory=list)
    currency: str = Field("USD", description="what the *_usd amounts are in: USD, or MANA (Manifold's play money)")


class SizingError(ValueError):
    """A request that cannot be sized as given; the message says what to fix."""


# ----------------------------------------------------------------------------------------------
# formulas


def win_probability(p_yes: Decimal, side: Side) -> Decimal:
    return p_yes if side == "yes" else ONE - p_yes


def classic_kelly(p: Decimal, b: Decimal) -> Decimal:
    """f* = (b·p - q) / b for a bet paying b per 1 staked with win probability p."""
    if b <= 0:
        raise SizingError("net odds b must be positive")
    return (b * p - (ONE - p)) / b


def pm_kelly(p_yes: Decimal, price: Decimal, side: Side = "yes") -> Decimal:
    """Prediction-market Kelly for buying one side at ``price`` (that side's share price):
    YES: (p - price) / (1 - price); NO: ((1 - p) - price) / (1 - price)."""
    if not (ZERO < price < ONE):
        raise SizingError(f"price must be strictly between 0 and 1, got {price}")
    w = win_probability(p_yes, side)
    return (w - price) / (ONE - price)


def tier_for(edge: Decimal, confidence: Confidence | None = None) -> Tier:
    """The highest tier whose minimum edge is met, limited by the stated confidence."""
    by_edge = CONFIDENCE_TIERS[0]
    for t in CONFIDENCE_TIERS:
        if edge >= t.min_edge and (t.min_edge > 0 or edge > 0):
            by_edge = t
    if by_edge.name == "none":
        return by_edge
    conf = confidence or DEFAULT_CONFIDENCE
    max_index = CONFIDENCE_LEVELS.index(conf) + 1  # CONFIDENCE_TIERS[0] is "none"
    return CONFIDENCE_TIERS[min(CONFIDENCE_TIERS.index(by_edge), max_index)]


# ----------------------------------------------------------------------------------------------
# helpers


def _q(d: Decimal, q: Decimal = FRACTION_Q) -> Decimal:
    return d.quantize(q, rounding=ROUND_HALF_EVEN)


def _pp(edge: Decimal) -> str:
    """Probability points: 0.053 -> '+5.3 pp'."""
    v = (edge * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{'+' if v > 0 else ''}{v} pp"


def _frac(d: Decimal) -> str:
    return f"{_q(d, Decimal('0.0001'))}"


def _multiplier(policy: RiskPolicy, requested: Decimal | None) -> Decimal:
    if requested is None:
        return policy.kelly_fraction
    if requested <= 0:
        raise SizingError("kelly_fraction must be positive (e.g. 0.25 for quarter Kelly)")
    if requested > policy.kelly_fraction:
        raise SizingError(f"kelly_fraction {requested} is above the policy's {policy.kelly_fraction} "
                          "(PM_MCP_KELLY_FRACTION); the policy can only be tightened. Use a smaller fraction.")
    return requested


def _validate(req: SizingRequest, policy: RiskPolicy) -> None:
    if not (ZERO <= req.p_yes <= ONE):
        raise SizingError(f"p must be a probability in [0, 1] (use 0.62 for 62%), got {req.p_yes}")
    if req.price is None and not req.book:
        raise SizingError("give a price (USD per share, 0-1) or a book with asks")
    if req.price is not None and not (ZERO < req.price < ONE):
        raise SizingError(f"price must be strictly between 0 and 1 (USD per share), got {req.price}")
    if req.size_step <= 0:
        raise SizingError("size_step must be positive")
    for name in ("event_exposure_usd", "daily_spent_usd", "min_order_size"):
        if getattr(req, name) < 0:
            raise SizingError(f"{name} must be >= 0")
    for name in ("units", "unit_usd", "flat_usd", "max_loss_usd", "absolute_cap_usd", "odds"):
        v = getattr(req, name)
        if v is not None and v <= 0:
            raise SizingError(f"{name} must be positive")
    if req.absolute_cap_usd is not None and req.absolute_cap_usd > policy.max_order_usd:
        raise SizingError(f"absolute_cap_usd {req.absolute_cap_usd} is above the per-order cap "
                          f"{policy.max_order_usd} (PM_MCP_MAX_ORDER_USD); it can only tighten it")
    if req.stop_price is not None:
        ref = req.price if req.price is not None else (req.book[0].price if req.book else None)
        if not (ZERO <= req.stop_price < (ref or ONE)):
            raise SizingError("stop_price must be >= 0 and below the entry price")


class _Fill(BaseModel):
    contracts: Decimal
    cost: Decimal  # before fees
    fee: Decimal
    avg_price: Decimal | None
    unfilled_budget: bool = False  # the book ran out before the budget


def _positive_levels(req: SizingRequest, win: Decimal) -> list[BookLevel]:
    """Ask levels worth buying at all: price below the win probability."""
    assert req.book is not None
    return [lv for lv in req.book if lv.price < win and lv.size > 0]


def _buy_with_budget(req: SizingRequest, budget: Decimal, win: Decimal) -> _Fill:
    """What ``budget`` USD (fees included) buys: from the book if given, else at the fixed price."""
    if budget <= 0:
        return _Fill(contracts=ZERO, cost=ZERO, fee=ZERO, avg_price=None)
    if req.book:
        levels = _positive_levels(req, win)
        w = walk_book(levels, budget=budget, fees=req.fees, size_step=req.size_step)
        exhausted = w.filled_size >= sum((lv.size for lv in levels), ZERO)
        return _Fill(contracts=w.filled_size, cost=w.cost, fee=w.fees, avg_price=w.average_price,
                     unfilled_budget=exhausted and w.unspent_budget > 0)
    assert req.price is not None
    price = req.price
    unit = price + fee_per_share_upper_bound(req.fees, price)
    n = floor_to(budget / unit, req.size_step)
    while n > 0 and n * price + trade_fee(req.fees, n, price) > budget:
        n = floor_to(n - req.size_step, req.size_step) if n > req.size_step else ZERO
    fee = trade_fee(req.fees, n, price)
    return _Fill(contracts=n, cost=n * price, fee=fee, avg_price=price if n > 0 else None)


def _cost_of(req: SizingRequest, n: Decimal, levels: list[BookLevel] | None) -> tuple[Decimal, Decimal] | None:
    """(cost before fees, fee) of buying n shares, or None if the book cannot fill n."""
    if levels is not None:
        w = walk_book(levels, size=n, fees=req.fees)
        if w.unfilled_size > 0:
            return None
        return w.cost, w.fees
    assert req.price is not None
    return n * req.price, trade_fee(req.fees, n, req.price)


def _reference_price(req: SizingRequest) -> Decimal:
    if req.book:
        return req.book[0].price
    assert req.price is not None
    return req.price


# ----------------------------------------------------------------------------------------------
# the one entry point


def _money_in(currency: str):
    return lambda d: in_currency(d, currency)


def size_position(policy: RiskPolicy, req: SizingRequest, method: SizingMethod | str = DEFAULT_METHOD) -> SizingResult:
    """Size one buy with ``method`` inside ``policy``. Raises SizingError for bad input."""
    try:
        method = SizingMethod(method)
    except ValueError:
        raise SizingError(f"unknown sizing method {method!r}; use one of: "
                          + ", ".join(m.value for m in SizingMethod)) from None
    _validate(req, policy)
    if req.currency.upper() != policy.currency.upper():
        raise SizingError(f"the market trades in {req.currency} but the policy given is in {policy.currency}: "
                          "size mana against the mana policy (amounts never mix)")
    first, fill = _size_at(policy, req, method, None)
    if not req.book or method == SizingMethod.EXECUTION_KELLY or fill.contracts <= 0:
        return first  # a fixed price, or a method that already prices every share it walks
    avg, fee_ps = fill.cost / fill.contracts, fill.fee / fill.contracts
    if avg <= _reference_price(req):
        return first  # the stake fills at the best ask: nothing to re-price
    # On a thin book the stake pays more than the best ask: size again on the average it pays. The edge there is
    # no larger, so tier, Kelly and the stake are no larger, and the smaller stake pays at most that average:
    # the edge every cap used is never above what the stake gets (one re-pricing suffices).
    again, _fill = _size_at(policy, req, method, (avg, fee_ps))
    return again


def _size_at(policy: RiskPolicy, req: SizingRequest, method: SizingMethod,
             sized_on: tuple[Decimal, Decimal] | None) -> tuple[SizingResult, "_Fill"]:
    """One sizing pass: at the best ask (or the price), or ``sized_on`` = (average price, fee per share) that a
    walk of the book pays. Returns the result and the fill it bought."""
    usd = _money_in(req.currency)  # noqa: F841 - shadows the module's USD formatter in this function
    sym = currency_symbol(req.currency)  # per-share prices and zero stakes in the market's currency ($ or M$)
    win = win_probability(req.p_yes, req.side)
    best = _reference_price(req)
    if sized_on is None:
        ref_price = best
        fee_ps = fee_per_share_upper_bound(req.fees, ref_price)
    else:
        ref_price, fee_ps = sized_on
    eff = ref_price + fee_ps
    edge = win - eff
    f_full = (win - eff) / (ONE - eff) if eff < ONE else ZERO
    head = order_headroom(policy, event_exposure_before=req.event_exposure_usd,
                          daily_spent_before=req.daily_spent_usd)
    B = policy.bankroll
    side_word = req.side.upper()
    steps: list[str] = []
    capped: list[str] = []
    warnings: list[str] = []
    multiplier: Decimal | None = None
    tier_name: str | None = None

    steps.append(f"{side_word} wins with probability {_frac(win)}"
                 + (f" (1 - p, p = {_frac(req.p_yes)})" if req.side == "no" else "")
                 + (f"; best ask {sym}{normalize(_q(best, PRICE_Q))}, but the stake walks the book: sized on the "
                    f"average {sym}{normalize(_q(ref_price, PRICE_Q))} it pays" if sized_on is not None else
                    f"; {'best ask' if req.book else 'price'} {sym}{normalize(_q(ref_price, PRICE_Q))}")
                 + (f" + fee {_frac(fee_ps)}/share = break-even {_frac(eff)}" if fee_ps > 0 else "")
                 + f"; edge {_pp(edge)}.")

    no_edge = edge <= 0 or (req.book is not None and not _positive_levels(req, win))
    target = ZERO
    asked: Decimal | None = None  # what the method asked for, when a policy multiplier then reduced it
    if no_edge:
        steps.append(f"No edge after fees: stake {sym}0.")
    elif method in (SizingMethod.KELLY, SizingMethod.PM_KELLY, SizingMethod.FRACTIONAL_KELLY):
        if method == SizingMethod.KELLY:
            b = req.odds if req.odds is not None else (ONE - eff) / eff
            f = classic_kelly(win, b)
            steps.append(f"Classic Kelly f* = (b·p - q)/b = ({_frac(b)} x {_frac(win)} - {_frac(ONE - win)}) / "
                         f"{_frac(b)} = {_frac(f)}" + ("" if req.odds is not None else " (b = (1 - c)/c at the break-even price c)")
                         + ".")
            if req.odds is not None:
                warnings.append("odds given: the Kelly fraction uses them, the contracts use the price")
        else:
            f = f_full
            steps.append(f"Prediction-market Kelly f* = (p - c)/(1 - c) = ({_frac(win)} - {_frac(eff)}) / "
                         f"(1 - {_frac(eff)}) = {_frac(f)}.")
        if f <= 0:
            steps.append(f"Kelly fraction <= 0: stake {sym}0.")
            no_edge = True
        else:
            k = _multiplier(policy, req.kelly_fraction) if method == SizingMethod.FRACTIONAL_KELLY else policy.kelly_fraction
            multiplier = k
            if method == SizingMethod.FRACTIONAL_KELLY:
                target = f * k * B
                steps.append(f"Fractional Kelly: {_frac(f)} x {_frac(k)} x bankroll {usd(B)} = {usd(target)}.")
            else:
                full = f * B
                target = asked = full
                steps.append(f"Full Kelly stake {_frac(f)} x {usd(B)} = {usd(full)}.")
                if k < ONE:
                    target = full * k
                    capped.append("kelly_fraction")
                    steps.append(f"Policy Kelly fraction {_frac(k)} (PM_MCP_KELLY_FRACTION) -> {usd(target)}.")
    elif method == SizingMethod.CONFIDENCE_TIERS:
        tier = tier_for(edge, req.confidence)
        by_edge = tier_for(edge, "very_high")
        tier_name = tier.name
        conf = req.confidence or DEFAULT_CONFIDENCE
        tier_cap = tier.cap_fraction * B
        kelly_cap = f_full * B
        abs_cap = req.absolute_cap_usd if req.absolute_cap_usd is not None else policy.max_order_usd
        steps.append(f"Edge {_pp(edge)} -> tier '{by_edge.name}'" +
                     (f", limited to '{tier.name}' by confidence '{conf}'" if by_edge.name != tier.name else
                      f" (confidence '{conf}')") +
                     f": cap {pct(tier.cap_fraction)} of {usd(B)} = {usd(tier_cap)}.")
        target = tier_cap
        if by_edge.name != tier.name:
            capped.append("confidence")
        if kelly_cap < target:
            target = kelly_cap
            capped.append("full_kelly")
            steps.append(f"Never more than full Kelly ({_frac(f_full)} x {usd(B)} = {usd(kelly_cap)}).")
        if abs_cap < target:
            target = abs_cap
            capped.append("absolute_cap")
            steps.append(f"Absolute cap {usd(abs_cap)}.")
    elif method == SizingMethod.UNIT:
        unit = req.unit_usd if req.unit_usd is not None else DEFAULT_UNIT_FRACTION * B
        units = req.units if req.units is not None else ONE
        target = units * unit
        steps.append(f"Unit system: {normalize(units)} unit(s) x {usd(unit)} = {usd(target)}"
                     + ("" if req.unit_usd is not None else " (unit = 1% of bankroll)") + ".")
    elif method == SizingMethod.FLAT:
        target = req.flat_usd if req.flat_usd is not None else DEFAULT_UNIT_FRACTION * B
        steps.append(f"Flat bet: {usd(target)} every time" + ("" if req.flat_usd is not None else " (1% of bankroll)") + ".")
    elif method == SizingMethod.INVERTED_RISK:
        max_loss = req.max_loss_usd if req.max_loss_usd is not None else DEFAULT_UNIT_FRACTION * B
        if req.stop_price is None:
            target = max_loss
            steps.append(f"Inverted risk: a bought share can lose all it cost, so the stake is the tolerable loss "
                         f"{usd(max_loss)}" + ("" if req.max_loss_usd is not None else " (1% of bankroll)") + ".")
        else:
            exit_fee = fee_per_share_upper_bound(req.fees, req.stop_price)
            loss_ps = ref_price - req.stop_price + fee_ps + exit_fee
            n = floor_to(max_loss / loss_ps, req.size_step)
            target = n * eff
            steps.append(f"Inverted risk with a stop at {sym}{normalize(req.stop_price)}: loss per share "
                         f"{_frac(loss_ps)} (price - stop + fees); {usd(max_loss)} / {_frac(loss_ps)} = "
                         f"{normalize(n)} shares ~ {usd(target)}.")
            warnings.append("a stop is not guaranteed: if the price gaps to 0 the loss is the whole stake")
    elif method == SizingMethod.EXECUTION_KELLY:
        k = _multiplier(policy, req.kelly_fraction)
        multiplier = k
        n_star, g_cost = _execution_kelly(req, win, B)
        if n_star <= 0:
            steps.append(f"Execution-aware Kelly: no share count raises expected log growth: stake {sym}0.")
            no_edge = True
        else:
            steps.append(f"Execution-aware Kelly: maximising p·ln(W - C(n) + n) + q·ln(W - C(n)) over the "
                         f"{'walked book' if req.book else 'price'} with fees, W = {usd(B)}: n* = "
                         f"{normalize(n_star)} shares costing {usd(g_cost)}.")
            target = g_cost * k
            if k < ONE:
                steps.append(f"x Kelly fraction {_frac(k)} -> {usd(target)}.")

    # ---- the market assessment's tier cap (unclear rules lower the tier) -------------------------
    if req.max_tier is not None and not no_edge and target > 0:
        cap_tier = next(t for t in CONFIDENCE_TIERS if t.name == req.max_tier)
        tier_cap_usd = tier_stake_cap(cap_tier.name, B)
        if tier_cap_usd < target:
            target = tier_cap_usd
            capped.append("assessment")
            why = f" ({req.max_tier_reason})" if req.max_tier_reason else ""
            steps.append(f"Market assessment allows at most the '{cap_tier.name}' tier{why}: "
                         f"{pct(cap_tier.cap_fraction)} of {usd(B)} = {usd(tier_cap_usd)}.")
            if target <= 0:
                no_edge = True
                steps.append(f"No new position on this market: stake {sym}0.")

    # ---- the policy caps ------------------------------------------------------------------------
    stake_cap = target
    if not no_edge and target > 0:
        if head.max_cost < target:
            stake_cap = head.max_cost
            for rule, room in head.by_rule.items():
                if room < target:
                    capped.append(rule)
            labels = {"max_order_usd": f"per-order cap ({usd(policy.max_order_usd)})",
                      "max_event_usd": f"single-event limit ({usd(policy.max_event_usd)}"
                                       + (f", {usd(req.event_exposure_usd)} already on this event)"
                                          if req.event_exposure_usd > 0 else ")"),
                      "max_daily_usd": f"daily cap ({usd(policy.max_daily_usd)}"
                                       + (f", {usd(req.daily_spent_usd)} spent today)" if req.daily_spent_usd > 0 else ")"),
                      "bankroll": f"bankroll ({usd(policy.bankroll)})"}
            steps.append(f"Capped by the {labels[head.binding]}: {usd(stake_cap)}.")
    fill = _buy_with_budget(req, stake_cap if not no_edge else ZERO, win)
    if fill.unfilled_budget:
        capped.append("book_depth")
        warnings.append("the book (levels priced below your probability) ran out before the stake was spent")
    contracts = fill.contracts
    if contracts > 0 and contracts < req.min_order_size:
        warnings.append(f"{normalize(contracts)} is below the venue minimum of {normalize(req.min_order_size)}: "
                        f"stake {sym}0 (a bigger stake is outside this method or policy)")
        capped.append("venue_minimum")
        fill = _Fill(contracts=ZERO, cost=ZERO, fee=ZERO, avg_price=None)
        contracts = ZERO
    stake = fill.cost + fill.fee
    avg = fill.avg_price
    if contracts > 0:
        steps.append(f"{usd(stake)} buys {normalize(contracts)} {side_word} shares at "
                     f"{'an average ' if req.book and avg != best else ''}{sym}{normalize(_q(avg or ref_price, PRICE_Q))}"
                     + (f" plus {usd(fill.fee)} fees" if fill.fee > 0 else "")
                     + f" (floored to the {normalize(req.size_step)} step).")
    elif not no_edge and target > 0:
        if not any("venue minimum" in w for w in warnings):
            warnings.append("the stake is too small to buy one size step")
    if f_full > 0 and f_full * B < stake:
        warnings.append("the stake is above full Kelly")
    if head.max_cost <= 0 and not no_edge:
        warnings.append(f"no room left under the policy ({head.binding})")
    ev = win * contracts - stake
    if sized_on is not None:
        warnings.append(f"thin book: the edge, tier and Kelly use the average {sym}{normalize(_q(ref_price, PRICE_Q))} "
                        f"the stake pays walking the book, not the best ask {sym}{normalize(_q(best, PRICE_Q))}"
                        + (f" (the smaller stake sized on it pays {sym}{normalize(_q(avg, PRICE_Q))})"
                           if avg is not None and avg < ref_price else ""))
    return SizingResult(currency=req.currency.upper(),
        method=method, side=req.side, p_yes=req.p_yes, win_probability=win,
        price=_q(avg, PRICE_Q) if avg is not None else _q(ref_price, PRICE_Q),
        effective_price=_q(eff, PRICE_Q), edge=_q(edge), full_kelly_fraction=_q(f_full),
        kelly_multiplier=multiplier, tier=tier_name, stake_usd=stake, contracts=contracts, fee_usd=fill.fee,
        max_loss_usd=stake, expected_profit_usd=_q(ev), target_stake_usd=_q(asked if asked is not None else target, Decimal("0.01")),
        capped_by=list(dict.fromkeys(capped)), headroom_usd=head.max_cost,
        arithmetic=" ".join(steps), warnings=warnings), fill


def _execution_kelly(req: SizingRequest, win: Decimal, bankroll: Decimal) -> tuple[Decimal, Decimal]:
    """(n*, cost incl. fees) maximising expected log growth of the bankroll, searching n on the size
    step over what the bankroll can buy from the book (levels priced below the win probability).
    Concave in n (the cost of walking a book is convex), so a ternary search plus a local scan.
    The policy caps are applied afterwards, like for every method."""
    levels = _positive_levels(req, win) if req.book else None
    budget_fill = _buy_with_budget(req, bankroll, win)
    n_max_steps = int(budget_fill.contracts / req.size_step)
    if n_max_steps <= 0:
        return ZERO, ZERO
    lose = ONE - win

    def growth(k: int) -> Decimal | None:
        n = req.size_step * k
        c = _cost_of(req, n, levels)
        if c is None:
            return None
        total = c[0] + c[1]
        if total >= bankroll:
            return None
        return win * (bankroll - total + n).ln() + lose * (bankroll - total).ln()

    cache: dict[int, Decimal] = {}

    def g(k: int) -> Decimal:
        if k not in cache:
            v = growth(k)
            cache[k] = v if v is not None else Decimal("-Infinity")
        return cache[k]

    lo, hi = 0, n_max_steps
    while hi - lo > 8:
        m1 = lo + (hi - lo) // 3
        m2 = hi - (hi - lo) // 3
        if g(m1) < g(m2):
            lo = m1 + 1
        else:
            hi = m2 - 1 if g(m1) > g(m2) else m2
    best = max(range(max(0, lo - 8), min(n_max_steps, hi + 8) + 1), key=lambda k: (g(k), -k))
    if best <= 0 or g(best) <= g(0):
        return ZERO, ZERO
    n = req.size_step * best
    c = _cost_of(req, n, levels)
    assert c is not None
    return n, c[0] + c[1]
