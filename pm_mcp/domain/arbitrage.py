"""Arbitrage that survives fees, depth and the fine print. Pure: no I/O, no clock (pass ``now``).

The kinds:

- ``dutch_book``: a mutually exclusive and exhaustive set (Polymarket neg-risk event, Kalshi mutually
  exclusive event, Manifold multiple choice). Buy every YES when the walked asks sum below 1 after
  fees (one share of each pays exactly $1 whatever happens), or buy every NO when the YES bids sum
  above 1 (n-1 of the n NO shares pay, so the bundle pays $n-1 whatever happens).
- ``yes_no``: one binary market across its two books: buy YES and NO when the asks sum below 1; sell
  both (a complete set minted for $1) when the bids sum above 1.
- ``cross_venue``: the same contract on two venues, after the rules were found equivalent: buy YES on
  one and NO on the other (YES and YES when the mapping is inverted).
- ``ladder``: two rungs of one ladder priced out of order (P(above 3.50%) > P(above 3.25%)).
- ``member_vs_event``: members of a set exclusive by the venue's structure whose YES bids sum above 1 (each
  priced above what the rest of its event leaves it): their NOs pay at least $(k-1) for k legs.
- ``resolution``: an outcome priced >= 0.95 shortly before its deadline (the tail-risk trade; NOT
  risk-free: the whole stake is lost if the outcome does not happen).

A Dutch book needs a set proven exclusive AND exhaustive (see :func:`assess_exhaustive`): the venue's own
structure (a non-augmented neg-risk event, a multiple-choice market with every answer) or its members (a
game's two sides and a tie, a catch-all member). Kalshi's ``mutually_exclusive`` says at most one wins, not
that one will. Buying every YES of a set that is not proven exhaustive is a ``basket``, never arbitrage: it
pays only if one of the listed outcomes wins, and its ``profit`` is its worst case (the loss when none
does). Buying every NO needs exclusivity only (at most one wins: n-1 of n NO shares pay, all n if none
does), so it stays a Dutch book with its guaranteed (lowest) payout. ``risk_free`` means the payoff after
fees and depth is positive in every outcome of a proven set.

The engine (:func:`bundle_curve`) merges the books of every leg level by level: on each stretch of
bundle size where every leg's price is constant the marginal profit of one more bundle is constant,
so the profit curve is piecewise linear and one pass over the merged levels gives the size with the
highest profit and the capacity (the largest size whose profit stays positive). The chosen sizes are
then re-priced exactly with :func:`pm_mcp.domain.book.walk_book` (the venue's fee rounding included),
which is what the person would pay.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter

from pydantic import BaseModel, Field

from pm_mcp.domain.book import walk_book
from pm_mcp.domain.fees import fee_per_share_upper_bound
from pm_mcp.domain.models import BookLevel, Event, FeeSchedule, Market, MarketStatus, OrderBook
from pm_mcp.domain.money import floor_to, in_currency

ZERO = Decimal(0)
ONE = Decimal(1)
DAYS_PER_YEAR = Decimal(365)
SECONDS_PER_DAY = Decimal(86400)


class ArbKind(StrEnum):
    DUTCH_BOOK = "dutch_book"
    YES_NO = "yes_no"
    CROSS_VENUE = "cross_venue"
    RESOLUTION = "resolution"
    # two contracts of one ladder whose prices break the logical order (P(above 3.50%) > P(above 3.25%),
    # P(by June) > P(by December)): buy YES of the weaker and NO of the stronger, paid at least $1 whatever
    LADDER = "ladder"
    # a member against its event: in an event the venue declares exclusive (at most one member wins), the YES
    # bids of a few members sum above 1 (each priced above what the others leave it): buy their NOs, paid at
    # least $(k-1) for k legs whatever happens
    MEMBER_VS_EVENT = "member_vs_event"
    # NOT arbitrage: every YES of a set that is not proven exhaustive (pays only if one listed outcome wins);
    # listed only when asked for, its headline is its worst case
    BASKET = "basket"


# ---------------------------------------------------------------------------------------------
# Output models


class ArbLeg(BaseModel):
    """One order of a bundle. ``pays_in``: the states in which one share of this token pays $1."""

    venue: str
    market_id: str
    market_title: str
    outcome: str  # the token's label on its market ("Yes" / "No" / an answer)
    side: str  # "buy" | "sell"
    limit_price: Decimal  # the worst level the walk touches at ``size``: a limit order there fills it
    size: Decimal
    average_price: Decimal
    cost: Decimal  # price x size over the levels (proceeds for a sell), before fees
    fees: Decimal
    pays_in: list[str]
    derived_book: bool = False  # the book was derived from the other side's (e.g. NO asks from YES bids)


class Opportunity(BaseModel):
    id: str
    kind: ArbKind
    title: str
    venues: list[str]
    legs: list[ArbLeg]
    size: Decimal  # bundle units at which the profit is highest (what the legs are sized to)
    capacity: Decimal  # largest bundle size whose profit stays positive after walking every book
    cost: Decimal  # cash out at ``size``: buys + fees + $1 per complete set minted
    fees: Decimal
    payout: Decimal  # guaranteed cash in at ``size``: the payout whatever happens + sale proceeds
    # (for ``resolution``: the payout if it resolves as priced)
    profit: Decimal  # payout - cost: guaranteed for risk-free kinds
    return_pct: Decimal  # profit / cost
    profit_at_capacity: Decimal | None = None
    risk_free: bool  # True only when the payoff is the same in every outcome and the set is exhaustive
    states: list[str]  # the outcomes the bundle was evaluated over
    payoff_by_state: dict[str, Decimal]  # payout at ``size`` in each state
    complete_sets_minted: Decimal = ZERO  # for sell bundles: $1 complete sets split before selling
    worst_case_one_leg_fails: Decimal  # lowest P&L if the other legs fill and this one does not
    worst_failing_leg: str | None = None
    resolves_at: datetime | None = None
    days_to_resolution: Decimal | None = None
    annualised_return: Decimal | None = None  # simple: return_pct x 365 / days
    flags: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # for a basket: "pays $X only if one of these N wins; loses $Y if none does" (its worst case first)
    headline: str = ""
    currency: str = "USD"  # every amount above is in it (M$ for Manifold's mana); one bundle never mixes two


class UncertainPair(BaseModel):
    """A cross-venue look-alike whose rules could not be shown equivalent: NOT an opportunity."""

    a_venue: str
    a_market_id: str
    a_title: str
    b_venue: str
    b_market_id: str
    b_title: str
    verdict: str  # "uncertain" | "not_equivalent"
    match_score: Decimal | None = None
    differences: list[str] = Field(default_factory=list)
    indicative_edge: Decimal | None = None  # best-price edge IF they were the same contract


# ---------------------------------------------------------------------------------------------
# The engine: bundles of legs walked together


@dataclass(frozen=True, slots=True)
class LegBook:
    """A token to buy or sell with the book side it takes (best first) and its payoff states."""

    venue: str
    market_id: str
    market_title: str
    outcome: str
    side: str  # "buy" takes asks; "sell" takes bids
    levels: tuple[BookLevel, ...]
    fees: FeeSchedule
    pays_in: frozenset[str]
    min_size: Decimal = ONE
    size_step: Decimal = Decimal("0.01")
    derived: bool = False
    currency: str = "USD"  # what the venue trades in (mana is play money: never summed with dollars)


@dataclass(frozen=True, slots=True)
class BundleCurve:
    best_size: Decimal  # size with the highest (unrounded-fee) profit
    best_profit: Decimal
    capacity: Decimal  # largest size with profit > 0 (0 when there is none)
    depth: Decimal  # the most every leg can fill together


def unit_value(legs: Sequence[LegBook], states: Sequence[str], minted: Decimal = ZERO) -> tuple[Decimal, dict[str, Decimal]]:
    """Payoff of one bundle unit in each state, and its minimum (the guaranteed part)."""
    payoff: dict[str, Decimal] = {}
    for s in states:
        v = minted
        for leg in legs:
            if s in leg.pays_in:
                v += ONE if leg.side == "buy" else -ONE
        payoff[s] = v
    return (min(payoff.values()) if payoff else ZERO), payoff


def _leg_margins(leg: LegBook) -> list[tuple[Decimal, Decimal]]:
    """(size, marginal cash per share) of each usable level: -(p + fee) for a buy, p - fee for a sell."""
    out = []
    buying = leg.side == "buy"
    for lvl in leg.levels:
        if lvl.size <= 0:
            continue
        f = fee_per_share_upper_bound(leg.fees, lvl.price) if leg.fees.kind != "none" else ZERO
        out.append((lvl.size, -(lvl.price + f) if buying else (lvl.price - f)))
    return out


def _concave(legs: Sequence[LegBook]) -> bool:
    # p + r*p(1-p) is increasing in p for r < 1 (exponent 1), so walking worse prices only lowers the
    # marginal profit: the curve is concave and the walk may stop once it turns negative.
    return all(leg.fees.exponent == 1 and leg.fees.taker_rate < 1 for leg in legs)


def bundle_curve(legs: Sequence[LegBook], value_per_unit: Decimal, *, max_size: Decimal | None = None) -> BundleCurve:
    """Walk every leg's book together (an incremental merge of their levels, not a search over sizes).

    ``value_per_unit``: the guaranteed payoff of one bundle minus the $1 per minted complete set.
    Profit(q) = q * value_per_unit + sum over legs of their marginal cash; it is piecewise linear with
    breakpoints where any leg moves to its next level.
    """
    margins = [_leg_margins(leg) for leg in legs]
    if not legs or any(not m for m in margins):
        return BundleCurve(ZERO, ZERO, ZERO, ZERO)
    concave = _concave(legs)
    n = len(legs)
    idx = [0] * n
    left = [m[0][0] for m in margins]
    cur = [m[0][1] for m in margins]
    q = ZERO
    profit = ZERO
    best_q = ZERO
    best_p = ZERO
    cap = ZERO
    while True:
        seg = min(left)
        if max_size is not None and q + seg > max_size:
            seg = max_size - q
            if seg <= 0:
                break
        m = value_per_unit + sum(cur)
        end_profit = profit + m * seg
        if m > 0:
            q += seg
            profit = end_profit
            best_q, best_p, cap = q, profit, q
        else:
            if end_profit > 0:
                cap = q + seg
            elif profit > 0 and m < 0:
                cap = q + profit / (-m)
            if concave and end_profit <= 0:
                q += seg
                profit = end_profit
                break
            q += seg
            profit = end_profit
        if max_size is not None and q >= max_size:
            break
        exhausted = False
        for i in range(n):
            left[i] -= seg
            if left[i] <= 0:
                idx[i] += 1
                if idx[i] >= len(margins[i]):
                    exhausted = True
                    continue
                left[i], cur[i] = margins[i][idx[i]]
        if exhausted:
            break
    depth = min(sum(s for s, _ in m) for m in margins)
    return BundleCurve(best_size=best_q, best_profit=best_p, capacity=cap, depth=depth)


@dataclass(slots=True)
class _Priced:
    legs: list[ArbLeg]
    spent: Decimal  # buys + all fees + $1 per complete set minted
    proceeds: Decimal  # sale proceeds
    fees: Decimal

    @property
    def cash(self) -> Decimal:  # net cash out
        return self.spent - self.proceeds


def price_bundle(legs: Sequence[LegBook], size: Decimal, minted: Decimal = ZERO) -> _Priced | None:
    """Exact price of ``size`` bundle units with the venues' fee rounding; None if a book is too thin."""
    out: list[ArbLeg] = []
    spent = minted * size
    proceeds = ZERO
    fees = ZERO
    for leg in legs:
        w = walk_book(leg.levels, size=size, side=leg.side, fees=leg.fees)
        if w.unfilled_size > 0 or w.filled_size <= 0:
            return None
        fees += w.fees
        spent += w.fees
        if leg.side == "buy":
            spent += w.cost
        else:
            proceeds += w.cost
        out.append(ArbLeg(venue=leg.venue, market_id=leg.market_id, market_title=leg.market_title,
                          outcome=leg.outcome, side=leg.side, limit_price=w.worst_price or ZERO, size=size,
                          average_price=w.average_price or ZERO, cost=w.cost, fees=w.fees,
                          pays_in=sorted(leg.pays_in), derived_book=leg.derived))
    return _Priced(out, spent, proceeds, fees)


def _common_step(legs: Sequence[LegBook]) -> Decimal:
    return max(leg.size_step for leg in legs)


def _min_size(legs: Sequence[LegBook]) -> Decimal:
    return max(leg.min_size for leg in legs)


@dataclass(slots=True)
class BundleResult:
    size: Decimal
    capacity: Decimal
    priced: _Priced
    payout: Decimal
    profit: Decimal
    profit_at_capacity: Decimal | None
    payoff_by_state: dict[str, Decimal]


def solve_bundle(legs: Sequence[LegBook], states: Sequence[str], *, minted: Decimal = ZERO,
                 max_size: Decimal | None = None) -> BundleResult | None:
    """The most profitable executable size of the bundle (exact fees), its capacity, or None."""
    guaranteed, payoff = unit_value(legs, states, minted)
    value = guaranteed - minted
    curve = bundle_curve(legs, value, max_size=max_size)
    if curve.best_profit <= 0:
        return None
    step = _common_step(legs)
    min_size = _min_size(legs)
    cap = floor_to(curve.capacity, step)
    size = floor_to(curve.best_size, step)
    if size < min_size:
        size = min_size
    if size > cap or size <= 0:
        return None

    priced_at: dict[str, tuple[Decimal, _Priced] | None] = {}

    def exact_profit(q: Decimal) -> tuple[Decimal, _Priced] | None:
        # each size is priced once (the capacity is asked for again after the size and the search); keyed
        # by its text, so 5 and 5.00 stay apart as they would be priced apart
        key = str(q)
        if key not in priced_at:
            p = price_bundle(legs, q, minted)
            priced_at[key] = None if p is None else (q * guaranteed - p.cash, p)
        return priced_at[key]

    got = exact_profit(size)
    if got is None or got[0] <= 0:
        # the venues' fee rounding ate a thin edge at this size; a larger size (up to the capacity)
        # spreads the rounding: try it before giving up
        got2 = exact_profit(cap) if cap != size else None
        if got2 is None or got2[0] <= 0:
            return None
        size, got = cap, got2
    profit, priced = got
    # capacity with exact fees: the unrounded capacity, stepped back while rounding makes it unprofitable
    cap_exact = exact_profit(cap) if cap != size else got
    if cap_exact is None or cap_exact[0] <= 0:
        lo, hi = size, cap  # profit(lo) > 0; find the largest step multiple in [lo, hi] with profit > 0
        while hi - lo > step:
            mid = floor_to((lo + hi) / 2, step)
            if mid <= lo:
                break
            r = exact_profit(mid)
            if r is not None and r[0] > 0:
                lo = mid
            else:
                hi = mid
        cap = lo
        cap_exact = exact_profit(cap)
    return BundleResult(size=size, capacity=cap, priced=priced, payout=size * guaranteed, profit=profit,
                        profit_at_capacity=cap_exact[0] if cap_exact else None,
                        payoff_by_state={s: v * size for s, v in payoff.items()})


def worst_case_one_leg_fails(legs: Sequence[ArbLeg], states: Sequence[str], minted: Decimal = ZERO,
                             size: Decimal = ZERO) -> tuple[Decimal, str | None]:
    """If every leg but one fills (at its priced cost) and that one does not: the lowest P&L over
    states, minimised over which leg fails. Linear in the legs: the payoff of the whole bundle less the
    missing leg's (every leg has the bundle's size), and the cash of the legs before it plus the legs
    after it (the same exact Decimal sum, with the same exponent, as adding up the other legs one by one)."""
    base = minted * size
    pay_all = dict.fromkeys(states, base)
    cash: list[Decimal] = []
    taken: list[tuple[Decimal, frozenset[str]]] = []
    for leg in legs:
        cash.append((leg.cost + leg.fees) if leg.side == "buy" else (leg.fees - leg.cost))
        paid = leg.size if leg.side == "buy" else -leg.size
        pays = frozenset(leg.pays_in).intersection(pay_all)
        for s in pays:
            pay_all[s] += paid
        taken.append((paid, pays))
    after: list[Decimal | None] = [None] * len(legs)  # the cash of the legs after leg j (None: no leg after it)
    run: Decimal | None = None
    for j in range(len(legs) - 1, -1, -1):
        after[j] = run
        run = cash[j] if run is None else cash[j] + run
    worst: Decimal | None = None
    which: str | None = None
    before = base
    for j, missing in enumerate(legs):
        paid, pays = taken[j]
        rest = after[j]
        others = before if rest is None else before + rest
        pnl = min((v - paid if s in pays else v) for s, v in pay_all.items()) - others
        if worst is None or pnl < worst:
            worst, which = pnl, f"{missing.venue} {missing.market_title} {missing.outcome} ({missing.side})"
        before += cash[j]
    return (worst if worst is not None else ZERO), which


def bundle_payoff(opp: Opportunity, state: str) -> Decimal:
    """What the bundle's legs pay if ``state`` happens (complete sets minted included)."""
    total = opp.complete_sets_minted
    for leg in opp.legs:
        if state in leg.pays_in:
            total += leg.size if leg.side == "buy" else -leg.size
    return total


def _opp_id(kind: str, legs: Iterable[LegBook | ArbLeg]) -> str:
    key = kind + "|" + "|".join(sorted(f"{l.venue}:{l.market_id}:{l.outcome}:{l.side}" for l in legs))
    return kind[:2] + "-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _time_terms(resolves_at: datetime | None, now: datetime, return_pct: Decimal) -> tuple[Decimal | None, Decimal | None]:
    if resolves_at is None:
        return None, None
    days = Decimal(str(round((resolves_at - now).total_seconds()))) / SECONDS_PER_DAY
    days = days.quantize(Decimal("0.001"))
    if days <= 0:
        return days, None
    return days, (return_pct * DAYS_PER_YEAR / days).quantize(Decimal("0.0001"))


def build_opportunity(kind: ArbKind, title: str, legs: Sequence[LegBook], states: Sequence[str], *, now: datetime,
                      resolves_at: datetime | None, minted_per_unit: Decimal = ZERO, risk_free: bool = True,
                      flags: Sequence[str] = (), notes: Sequence[str] = (),
                      max_size: Decimal | None = None) -> Opportunity | None:
    """Solve the bundle and wrap it as an Opportunity (None when no size makes a profit after fees)."""
    currencies = {l.currency for l in legs}
    if len(currencies) != 1:
        return None  # dollars and play money: no payoff can be summed across them, so no bundle
    res = solve_bundle(legs, states, minted=minted_per_unit, max_size=max_size)
    if res is None:
        return None
    minted = minted_per_unit * res.size
    cost = res.priced.spent
    ret = (res.profit / cost).quantize(Decimal("0.0001")) if cost > 0 else ZERO
    days, ann = _time_terms(resolves_at, now, ret)
    worst, which = worst_case_one_leg_fails(res.priced.legs, states, minted_per_unit, res.size)
    all_flags = list(flags)
    payoffs = set(res.payoff_by_state.values())
    if len(payoffs) != 1:
        risk_free = False
        all_flags.append("unequal_payoff: the bundle does not pay the same in every outcome")
    return Opportunity(
        id=_opp_id(kind.value, legs), kind=kind, title=title, venues=sorted({l.venue for l in legs}),
        legs=res.priced.legs, size=res.size, capacity=res.capacity, cost=cost, fees=res.priced.fees,
        payout=res.payout + res.priced.proceeds, profit=res.profit, return_pct=ret, profit_at_capacity=res.profit_at_capacity,
        risk_free=risk_free and not flags, states=list(states), payoff_by_state=res.payoff_by_state,
        complete_sets_minted=minted, worst_case_one_leg_fails=worst, worst_failing_leg=which,
        resolves_at=resolves_at, days_to_resolution=days, annualised_return=ann, flags=all_flags, notes=list(notes),
        currency=next(iter(currencies)))


# ---------------------------------------------------------------------------------------------
# Books: sides, complements


def complement_levels(levels: Sequence[BookLevel]) -> tuple[BookLevel, ...]:
    """The other token's book side implied by this one: YES bids at p are NO asks at 1 - p (and
    YES asks at p are NO bids at 1 - p). Best-first order is preserved."""
    return tuple(BookLevel(price=ONE - l.price, size=l.size) for l in levels if ZERO < l.price < ONE)


def _side_levels(book: OrderBook | None, side: str, complement: OrderBook | None = None) -> tuple[tuple[BookLevel, ...], bool]:
    """Levels to take for ``side`` on a token: from its own book, else derived from the complement's."""
    if book is not None:
        lv = book.asks if side == "buy" else book.bids
        if lv:
            return tuple(lv), book.derived
    if complement is not None:
        lv = complement.bids if side == "buy" else complement.asks
        if lv:
            return complement_levels(lv), True
    return (), False


def can_mint(market: Market) -> bool:
    """A complete set (one YES + one NO for $1) can be split from collateral: the market is a conditional-token
    condition (it has a condition id)."""
    return market.condition_id is not None


def own_books(market: Market) -> bool:
    """Every outcome is a token with its own order book (a conditional token id), so the YES and NO books can
    cross each other; a NO book mirrored from the YES book never can."""
    return bool(market.outcomes) and all(o.token_id for o in market.outcomes)


def size_step_for(market: Market) -> Decimal:
    """Size granularity: the market's own step (Kalshi whole contracts; Polymarket shares to 0.01)."""
    return market.size_step


def yes_no_labels(market: Market) -> tuple[str, str] | None:
    """The labels of a binary market's YES-like and NO-like outcomes, or None if it is not binary."""
    if len(market.outcomes) != 2:
        return None
    a, b = market.outcomes
    la, lb = a.label.strip().lower(), b.label.strip().lower()
    if la == "no" and lb == "yes":
        return b.label, a.label
    if (a.side or "").lower() == "no" and (b.side or "").lower() == "yes":
        return b.label, a.label
    return a.label, b.label


def _leg(market: Market, outcome: str, side: str, levels: tuple[BookLevel, ...], pays_in: Iterable[str],
         derived: bool) -> LegBook:
    return LegBook(venue=market.venue, market_id=market.id, market_title=market.title, outcome=outcome, side=side,
                   levels=levels, fees=market.fees, pays_in=frozenset(pays_in), min_size=market.min_order_size,
                   size_step=size_step_for(market), derived=derived, currency=market.currency)


def _resolves_at(markets: Iterable[Market]) -> datetime | None:
    times = [m.resolution_time or m.close_time for m in markets]
    times = [t for t in times if t is not None]
    return max(times) if times else None


# ---------------------------------------------------------------------------------------------
# Dutch book


class Exhaustiveness(StrEnum):
    EXHAUSTIVE = "exhaustive"
    NOT_EXHAUSTIVE = "not_exhaustive"
    UNVERIFIED = "unverified"


_CATCH_ALL = re.compile(r"^\s*(other|others|any other\b.*|someone else|something else|none of the above|none|"
                        r"no one|nobody|field|the field|all others|anyone else|not listed.*)\s*$", re.I)
_TIE = re.compile(r"^\s*(tie|draw|tied)\s*$", re.I)
_PLACEHOLDER = re.compile(r"^\s*((person|player|candidate|team|option|company|country|party|individual)\s+"
                          r"[a-z]{1,2}|other\s+[a-z]|placeholder.*)\s*$", re.I)
# A standard neg-risk event whose every YES can be bought for less than this is not taken as exhaustive on
# the venue's flag alone: a real one is arbitraged to within a few cents of $1, so a wide gap says members
# are missing from what was read (or the event is not what its flag says).
_NEG_RISK_PRICED_FLOOR = Decimal("0.90")
_VERSUS = re.compile(r"\bvs\.?\b|\bversus\b|\bv\.?\s", re.I)


@dataclass(slots=True)
class SetMember:
    """One outcome of a mutually exclusive set: its own binary market (or a Manifold answer)."""

    market: Market
    label: str  # what this member is ("Gavin Newsom", "Tie")
    yes_outcome: str  # the token label paying if this member happens
    no_outcome: str | None  # the complementary token's label (None for a Manifold answer)
    yes_book: OrderBook | None
    no_book: OrderBook | None = None
    # top of the YES book (from the books, or quotes from the local catalog when there are no books yet)
    best_ask: Decimal | None = None
    best_bid: Decimal | None = None

    def __post_init__(self) -> None:
        yb, nb = self.yes_book, self.no_book
        if self.best_ask is None:
            if yb is not None and yb.asks:
                self.best_ask = yb.asks[0].price
            elif nb is not None and nb.bids:
                self.best_ask = ONE - nb.bids[0].price
        if self.best_bid is None:
            if yb is not None and yb.bids:
                self.best_bid = yb.bids[0].price
            elif nb is not None and nb.asks:
                self.best_bid = ONE - nb.asks[0].price


@dataclass(slots=True)
class ExclusiveSet:
    key: str
    venue: str
    title: str
    members: list[SetMember]
    neg_risk: bool = False
    # Polymarket "augmented" neg-risk (placeholders, an Other whose meaning shifts as names are added);
    # None = the data does not say
    augmented: bool | None = False
    declared_exclusive: bool = True
    rule_text: str = ""
    flags: list[str] = field(default_factory=list)
    # the members are the answers of ONE market that resolves to one of them (a multiple-choice market whose
    # answers sum to one), not separate markets grouped by an event
    one_market: bool = False


def assess_exhaustive(s: ExclusiveSet) -> tuple[Exhaustiveness, list[str]]:
    """Does exactly one member always happen? Only then is buying every YES risk-free."""
    reasons: list[str] = []
    labels = [m.label for m in s.members]
    placeholders = [l for l in labels if _PLACEHOLDER.match(l)]
    has_catch_all = any(_CATCH_ALL.match(l) for l in labels)
    if s.augmented:
        reasons.append("augmented neg-risk event: new outcomes can be added and 'Other' changes meaning "
                       "when they are, so the listed outcomes may not cover the winner")
    if placeholders:
        reasons.append("placeholder outcomes (" + ", ".join(placeholders[:3]) + ") stand for names not yet "
                       "assigned")
    if not s.declared_exclusive:
        reasons.append("the venue does not declare these outcomes mutually exclusive")
    if reasons:
        return Exhaustiveness.NOT_EXHAUSTIVE, reasons
    if len(s.members) < 2:
        return Exhaustiveness.NOT_EXHAUSTIVE, ["fewer than two outcomes"]
    if any(_TIE.match(l) for l in labels) and _VERSUS.search(s.title) and len(labels) == 3:
        return Exhaustiveness.EXHAUSTIVE, ["two sides and a tie of one game"]
    if s.neg_risk and s.augmented is None:
        return Exhaustiveness.UNVERIFIED, ["the data does not say whether this neg-risk event is augmented "
                                           "(outcomes added later; 'Other' changes meaning): check the event"]
    if has_catch_all:
        return Exhaustiveness.EXHAUSTIVE, ["a catch-all outcome covers everything not listed"]
    if s.neg_risk:
        asks = [m.best_ask for m in s.members]
        if all(a is not None for a in asks) and sum(asks, ZERO) < _NEG_RISK_PRICED_FLOOR:
            total = sum(asks, ZERO)
            return Exhaustiveness.UNVERIFIED, [
                f"the listed outcomes cost {total:f} together at the best asks: the market prices a "
                f"{(ONE - total) * 100:.0f}% chance that none of them wins, so the event may not list every "
                "outcome (check its full list, or whether an 'Other' is missing)"]
        return Exhaustiveness.EXHAUSTIVE, ["standard neg-risk event: exactly one market resolves YES"]
    if s.one_market and s.declared_exclusive:
        return Exhaustiveness.EXHAUSTIVE, ["multiple choice whose answers sum to one"]
    if _VERSUS.search(s.title) and len(labels) == 2:
        return Exhaustiveness.UNVERIFIED, ["two-sided game without a tie outcome: check that a tie or "
                                           "cancellation cannot void both"]
    return Exhaustiveness.UNVERIFIED, ["the set has no 'Other' outcome: if none of the listed outcomes "
                                       "happens every YES leg loses"]


def exclusive_set_from_event(event: Event, books: Mapping[tuple[str, str], OrderBook], *,
                             augmented: bool | None = None, labels: Mapping[str, str] | None = None,
                             quotes: bool = False) -> ExclusiveSet:
    """Build a set from an event of binary markets; ``books`` maps (market id, outcome label lower) to
    that token's book. ``labels``: market id -> the member's short name (Polymarket groupItemTitle).
    ``quotes``: take the top of book from the markets' quoted best bid/ask when a book is missing.
    Closed / resolved markets are left out (and flagged)."""
    members: list[SetMember] = []
    flags: list[str] = []
    short = member_labels(event.markets)
    for m in event.markets:
        if m.status not in (MarketStatus.OPEN, MarketStatus.UNKNOWN):
            flags.append(f"market {m.id} is {m.status.value}: left out, so the set may be incomplete")
            continue
        yn = yes_no_labels(m)
        if yn is None:
            continue
        yes, no = yn
        label = (labels or {}).get(m.id) or m.group_label or short.get(m.id) or m.title
        member = SetMember(market=m, label=label, yes_outcome=yes, no_outcome=no,
                           yes_book=books.get((m.id, yes.lower())), no_book=books.get((m.id, no.lower())))
        if quotes:
            o = m.outcome(yes)
            if member.best_ask is None:
                member.best_ask = o.best_ask
            if member.best_bid is None:
                member.best_bid = o.best_bid
        members.append(member)
    aug = augmented if augmented is not None else event.neg_risk_augmented
    if aug is None and not event.neg_risk:  # only a neg-risk event can be augmented
        aug = False
    return ExclusiveSet(key=f"{event.venue}:{event.id}", venue=event.venue, title=event.title, members=members,
                        neg_risk=event.neg_risk, augmented=aug,
                        declared_exclusive=event.mutually_exclusive or event.neg_risk, rule_text=event.rule_text,
                        flags=flags)


def exclusive_set_from_multiple_choice(market: Market, books: Mapping[str, OrderBook]) -> ExclusiveSet:
    """A Manifold-style multiple-choice market: each outcome is an answer with its own YES book."""
    members = [SetMember(market=market, label=o.label, yes_outcome=o.label, no_outcome=None,
                         yes_book=books.get(o.label.lower())) for o in market.outcomes]
    return ExclusiveSet(key=f"{market.venue}:{market.id}", venue=market.venue, title=market.title, members=members,
                        declared_exclusive=market.mutually_exclusive, rule_text=market.rule_text, one_market=True)


def member_labels(markets: Sequence[Market]) -> dict[str, str]:
    """Short names of a set's members from their market titles: the part after " — " (Kalshi:
    "Tottenham vs Nottingham Winner? — Tie"), else what remains once the words all titles share at
    the start and the end are removed ("Will Alice win the race?" -> "Alice")."""
    out: dict[str, str] = {}
    for m in markets:
        if " — " in m.title:
            out[m.id] = m.title.rsplit(" — ", 1)[1].strip()
    rest = [m for m in markets if m.id not in out]
    if len(rest) >= 2:
        words = [m.title.split() for m in rest]
        pre = 0
        while all(len(w) > pre + 1 for w in words) and len({w[pre] for w in words}) == 1:
            pre += 1
        suf = 0
        while all(len(w) > pre + suf + 1 for w in words) and len({w[-1 - suf] for w in words}) == 1:
            suf += 1
        for m, w in zip(rest, words):
            core = " ".join(w[pre:len(w) - suf]).strip(" ?:-")
            if core:
                out[m.id] = core
    return out


def dutch_book_quick_check(s: ExclusiveSet) -> tuple[bool, bool]:
    """Necessary conditions at the top of the books (fees and depth only make them harder): (YES asks
    sum < 1, YES bids sum > 1); a member without a quote fails its side. Cheap enough for a catalog-wide
    scan: the sums run in C (``sum`` over ``map``), and a missing quote (None) stops one with a TypeError
    (no comparison of each Decimal with None, which costs two isinstance checks per member)."""
    try:
        buy_yes = sum(map(_BEST_ASK, s.members), ZERO) < ONE
    except TypeError:
        buy_yes = False
    try:
        buy_no = sum(map(_BEST_BID, s.members), ZERO) > ONE
    except TypeError:
        buy_no = False
    return buy_yes, buy_no


_BEST_ASK = attrgetter("best_ask")
_BEST_BID = attrgetter("best_bid")


def detect_dutch_book(s: ExclusiveSet, *, now: datetime, max_size: Decimal | None = None,
                      quick: tuple[bool, bool] | None = None, baskets: bool = False) -> list[Opportunity]:
    """Buy every YES of a proven exhaustive set (asks sum < 1 after fees) and/or buy every NO of an exclusive
    set (YES bids sum > 1 after fees). ``baskets``: also return every-YES bundles of sets that are not proven
    exhaustive, as kind ``basket`` (not arbitrage; worst case first)."""
    if len(s.members) < 2:
        return []
    buy_yes, buy_no = quick if quick is not None else dutch_book_quick_check(s)
    if not (buy_yes or buy_no):
        return []
    status, reasons = assess_exhaustive(s)
    exhaustive = status is Exhaustiveness.EXHAUSTIVE
    flags = list(s.flags)
    notes: list[str] = []
    if not exhaustive:
        flags.append(("not_exhaustive: " if status is Exhaustiveness.NOT_EXHAUSTIVE else "not_exhaustive "
                      "(unverified): ") + "; ".join(reasons))
    else:
        notes.append("exhaustive: " + "; ".join(reasons))
    states = [m.label for m in s.members]
    if not exhaustive:
        states = states + ["none of the listed"]
    markets = [m.market for m in s.members]
    closes = {m.close_time for m in markets if m.close_time is not None}
    if len(closes) > 1:
        flags.append("members close at different times")
    resolves = _resolves_at(markets)
    out: list[Opportunity] = []
    core_states = [m.label for m in s.members]
    if buy_yes and (exhaustive or baskets):
        legs = []
        for m in s.members:
            lv, derived = _side_levels(m.yes_book, "buy", m.no_book)
            legs.append(_leg(m.market, m.yes_outcome, "buy", lv, [m.label], derived))
        if all(l.levels for l in legs):
            opp = _dutch(s, legs, core_states, states, now, resolves, flags, notes, max_size, "buy every YES")
            if opp and not exhaustive:
                opp = _as_basket(opp, len(legs))
            if opp:
                out.append(opp)
    # every NO: n-1 of n pay when one wins, n when none does; needs "at most one wins" (declared exclusive,
    # no placeholders standing for names that may overlap)
    exclusive = s.declared_exclusive and not any(_PLACEHOLDER.match(m.label) for m in s.members)
    if buy_no and exclusive and all(m.no_outcome is not None for m in s.members):
        legs = []
        for m in s.members:
            lv, derived = _side_levels(m.no_book, "buy", m.yes_book)
            others = [x.label for x in s.members if x is not m]
            if not exhaustive:
                others.append("none of the listed")
            legs.append(_leg(m.market, m.no_outcome or "No", "buy", lv, others, derived))
        if all(l.levels for l in legs):
            opp = _dutch(s, legs, core_states, states, now, resolves, flags, notes, max_size, "buy every NO")
            if opp:
                if not exhaustive:
                    # positive in every outcome (the lowest payout is the one priced); pays more if none wins
                    opp.risk_free = opp.profit > 0 and min(opp.payoff_by_state.values()) - opp.cost > 0 and not [
                        f for f in flags if not f.startswith("not_exhaustive")]
                    opp.flags = [f for f in opp.flags if not f.startswith("unequal_payoff")]
                    opp.notes.append("not proven exhaustive: the lowest payout (one listed outcome wins) is the one "
                                     "shown; if none of them wins every NO pays")
                out.append(opp)
    return out


def _dutch(s: ExclusiveSet, legs: list[LegBook], core_states: list[str], states: list[str], now: datetime,
           resolves: datetime | None, flags: list[str], notes: list[str], max_size: Decimal | None,
           how: str) -> Opportunity | None:
    # price over the listed outcomes (the venue's claim), then report the payoff over every state,
    # including "none of the listed" for a set that is not shown exhaustive
    opp = build_opportunity(ArbKind.DUTCH_BOOK, f"{s.title}: {how} ({len(legs)} legs)", legs, core_states, now=now,
                            resolves_at=resolves, flags=flags, notes=notes + [how], max_size=max_size)
    if opp is None:
        return None
    if states != core_states:
        opp.states = list(states)
        opp.payoff_by_state = {st: bundle_payoff(opp, st) for st in states}
        opp.risk_free = False
        opp.worst_case_one_leg_fails = min(opp.worst_case_one_leg_fails,
                                           min(opp.payoff_by_state.values()) - opp.cost)
    return opp


def _as_basket(opp: Opportunity, n: int) -> Opportunity:
    """Every YES of a set not proven exhaustive: its worst case is the headline and the 'profit'."""
    best = max(opp.payoff_by_state.values()) - opp.cost
    worst = min(opp.payoff_by_state.values()) - opp.cost
    opp.kind = ArbKind.BASKET
    opp.id = _opp_id(ArbKind.BASKET.value, opp.legs)
    opp.title = opp.title.replace("buy every YES", "every YES (a basket, not arbitrage)")
    opp.risk_free = False
    opp.profit = worst
    opp.return_pct = (worst / opp.cost).quantize(Decimal("0.0001")) if opp.cost > 0 else ZERO
    opp.annualised_return = None
    opp.profit_at_capacity = None
    c = opp.currency
    opp.headline = (f"pays {in_currency(opp.payout, c)} only if one of these {n} wins (then "
                    f"{'+' if best >= 0 else '-'}{in_currency(abs(best), c)} after costs); loses "
                    f"{in_currency(-worst, c)} if none of them does")
    opp.notes.append("a basket, not arbitrage: the set is not proven to cover every outcome")
    return opp


# ---------------------------------------------------------------------------------------------
# A member against its event


def exclusive_by_structure(s: ExclusiveSet) -> bool:
    """At most one member resolves YES, by the venue's own structure: a neg-risk event, an event the venue
    declares mutually exclusive, a multiple-choice market whose answers sum to one; and no placeholder member
    (a name not yet assigned could be one already listed). A set that is merely exclusive in the reading of
    its titles ("Will Ramp or Brex IPO first?" undeclared) is not."""
    return s.declared_exclusive and not any(_PLACEHOLDER.match(m.label) for m in s.members)


def overpriced_members(s: ExclusiveSet) -> list[SetMember]:
    """The fewest members whose YES bids sum above 1, highest bids first, when they are a strict part of the
    set (the whole set is the every-NO Dutch book); [] when there are none. Top of the books only: fees and
    depth are the walk's."""
    if not exclusive_by_structure(s):
        return []
    quoted = sorted((m for m in s.members if m.best_bid is not None and m.no_outcome is not None),
                    key=lambda m: m.best_bid, reverse=True)  # type: ignore[arg-type,return-value]
    part: list[SetMember] = []
    total = ZERO
    for m in quoted:
        part.append(m)
        total += m.best_bid  # type: ignore[operator]
        if total > ONE:
            return part if len(part) < len(s.members) else []
    return []


def detect_member_vs_event(s: ExclusiveSet, *, now: datetime, max_size: Decimal | None = None) -> list[Opportunity]:
    """A member against its event. In a set exclusive by the venue's structure, P(member) <= 1 - P(any of the
    others): when the YES bids of k members sum above 1, buying the NO of each costs less than the $(k-1) it
    is paid whatever happens ($k if none of them wins). Needs exclusivity only, not exhaustiveness; the
    fewest legs that make the edge (the whole set is :func:`detect_dutch_book`'s every-NO bundle)."""
    part = overpriced_members(s)
    if not part:
        return []
    rest = "none of these"
    states = [m.label for m in part] + [rest]
    legs = []
    for m in part:
        lv, derived = _side_levels(m.no_book, "buy", m.yes_book)
        if not lv:
            return []
        legs.append(_leg(m.market, m.no_outcome or "No", "buy", lv, [x.label for x in part if x is not m] + [rest],
                         derived))
    k = len(part)
    why = (f"{s.title}: at most one member wins (the venue's structure), yet the YES bids of "
           + ", ".join(m.label for m in part) + " sum above 1")
    opp = build_opportunity(ArbKind.MEMBER_VS_EVENT, f"{s.title}: buy NO of {k} members priced above what the "
                            f"event leaves them", legs, states, now=now,
                            resolves_at=_resolves_at([m.market for m in part]), flags=list(s.flags),
                            notes=[why], max_size=max_size)
    if opp is None:
        return []
    c = opp.currency
    opp.notes.append(f"pays at least {in_currency(Decimal(k - 1), c)} per bundle whatever happens, "
                     f"{in_currency(Decimal(k), c)} if none of them wins")
    opp.flags = [f for f in opp.flags if not f.startswith("unequal_payoff")]
    opp.risk_free = not s.flags and min(opp.payoff_by_state.values()) - opp.cost > 0
    return [opp]


# ---------------------------------------------------------------------------------------------
# YES + NO within one binary market


def detect_yes_no(market: Market, yes_book: OrderBook | None, no_book: OrderBook | None, *, now: datetime,
                  max_size: Decimal | None = None) -> list[Opportunity]:
    """Both books of one binary market: buy YES + NO under $1, or sell both (a minted complete set)
    above $1. Derived books are not used (a NO book derived from YES bids can never cross)."""
    yn = yes_no_labels(market)
    if yn is None or yes_book is None or no_book is None or yes_book.derived or no_book.derived:
        return []
    yes, no = yn
    states = ["YES", "NO"]
    out: list[Opportunity] = []
    resolves = market.resolution_time or market.close_time
    if yes_book.asks and no_book.asks and yes_book.asks[0].price + no_book.asks[0].price < ONE:
        legs = [_leg(market, yes, "buy", tuple(yes_book.asks), ["YES"], False),
                _leg(market, no, "buy", tuple(no_book.asks), ["NO"], False)]
        opp = build_opportunity(ArbKind.YES_NO, f"{market.title}: buy YES and NO", legs, states, now=now,
                                resolves_at=resolves, max_size=max_size)
        if opp:
            out.append(opp)
    if yes_book.bids and no_book.bids and yes_book.bids[0].price + no_book.bids[0].price > ONE:
        legs = [_leg(market, yes, "sell", tuple(yes_book.bids), ["YES"], False),
                _leg(market, no, "sell", tuple(no_book.bids), ["NO"], False)]
        note = ("mint a complete set for $1 per pair (Polymarket: split pUSD into YES+NO) or use shares "
                "you hold, then sell both")
        opp = build_opportunity(ArbKind.YES_NO, f"{market.title}: sell YES and NO", legs, states, now=now,
                                resolves_at=resolves, minted_per_unit=ONE, notes=[note], max_size=max_size)
        if opp:
            if not can_mint(market):
                opp.flags.append("needs a complete set: this venue cannot mint one; only with shares held")
                opp.risk_free = False
            out.append(opp)
    return out


# ---------------------------------------------------------------------------------------------
# Cross venue


class Verdict(StrEnum):
    EQUIVALENT = "equivalent"
    NOT_EQUIVALENT = "not_equivalent"
    UNCERTAIN = "uncertain"


@dataclass(slots=True)
class Equivalence:
    """What compare_rules said about two markets, reduced to what arbitrage needs."""

    verdict: Verdict
    inverted: bool = False  # A's YES is B's NO
    differences: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VenueSide:
    market: Market
    yes_book: OrderBook | None
    no_book: OrderBook | None = None


def detect_cross_venue(a: VenueSide, b: VenueSide, eq: Equivalence, *, now: datetime,
                       max_size: Decimal | None = None, match_score: Decimal | None = None
                       ) -> tuple[list[Opportunity], UncertainPair | None]:
    """Opportunities for an equivalent pair; for any other verdict, the pair listed apart."""
    if eq.verdict is not Verdict.EQUIVALENT:
        return [], UncertainPair(a_venue=a.market.venue, a_market_id=a.market.id, a_title=a.market.title,
                                 b_venue=b.market.venue, b_market_id=b.market.id, b_title=b.market.title,
                                 verdict=eq.verdict.value, match_score=match_score, differences=list(eq.differences),
                                 indicative_edge=_indicative_edge(a, b, eq.inverted))
    ya, na = yes_no_labels(a.market) or ("Yes", "No")
    yb, nb = yes_no_labels(b.market) or ("Yes", "No")
    # states: "A YES" (the event of A happens) / "A NO"
    pay_b_yes = ["A NO"] if eq.inverted else ["A YES"]
    pay_b_no = ["A YES"] if eq.inverted else ["A NO"]
    combos = [((ya, "A YES", a.yes_book, a.no_book), (yb, pay_b_yes, b.yes_book, b.no_book)),
              ((ya, "A YES", a.yes_book, a.no_book), (nb, pay_b_no, b.no_book, b.yes_book)),
              ((na, "A NO", a.no_book, a.yes_book), (yb, pay_b_yes, b.yes_book, b.no_book)),
              ((na, "A NO", a.no_book, a.yes_book), (nb, pay_b_no, b.no_book, b.yes_book))]
    out: list[Opportunity] = []
    states = ["A YES", "A NO"]
    resolves = _resolves_at([a.market, b.market])
    notes = [f"rules judged equivalent{' with YES/NO inverted' if eq.inverted else ''}"]
    pair_flags = [f"different_oracles: {d.split(': ', 1)[-1]}; a dispute could settle the legs differently"
                  for d in eq.differences if d.startswith("oracle")]
    # equivalent in the normal case, but an edge case (postponement, a tie, 50-50 vs a fair price) is handled
    # differently: the legs could settle apart, so never risk-free
    pair_flags += [f"edge_case_differs: {d.split(': ', 1)[-1]}; the legs could settle differently"
                   for d in eq.differences if d.startswith(("edge_case", "threshold (soft)"))]
    for (la, sa, book_a, comp_a), (lb, sb, book_b, comp_b) in combos:
        if set([sa]) | set(sb) != set(states) or sa in sb:
            continue  # only the pairs that cover both states once
        lva, da = _side_levels(book_a, "buy", comp_a)
        lvb, db = _side_levels(book_b, "buy", comp_b)
        if not lva or not lvb:
            continue
        legs = [_leg(a.market, la, "buy", lva, [sa], da), _leg(b.market, lb, "buy", lvb, sb, db)]
        opp = build_opportunity(ArbKind.CROSS_VENUE, f"{a.market.title} ({a.market.venue} {la} + "
                                f"{b.market.venue} {lb})", legs, states, now=now, resolves_at=resolves,
                                flags=pair_flags, notes=notes, max_size=max_size)
        if opp:
            if a.market.close_time and b.market.close_time and a.market.close_time != b.market.close_time:
                opp.notes.append("the venues close trading at different times")
            out.append(opp)
    return out, None


def equivalence_of(a: Market, b: Market) -> Equivalence:
    """compare_rules on the two markets' rule texts, reduced to what arbitrage needs."""
    from pm_mcp.domain.rules import parse_rules
    from pm_mcp.domain.rules_compare import compare_rules

    rc = compare_rules(parse_rules(a.rule_text or "", market=a), parse_rules(b.rule_text or "", market=b),
                       a_close=a.close_time, b_close=b.close_time)
    diffs = [f"{d.field} ({d.severity}): {d.detail}" for d in rc.differences]
    verdict = Verdict(rc.verdict)
    if verdict is Verdict.EQUIVALENT and rc.mapping == "unknown":
        verdict = Verdict.UNCERTAIN
        diffs.append("outcome mapping unknown: cannot tell whether YES on one is YES or NO on the other")
    return Equivalence(verdict=verdict, inverted=rc.mapping == "inverted", differences=diffs)


@dataclass(slots=True)
class Implication:
    """``stronger`` happening implies ``weaker`` happening (one ladder: a higher strike, an earlier date)."""

    stronger: Market
    weaker: Market
    why: str


_LADDER_FIELDS = {"threshold": {"threshold"}, "date": {"deadline", "period"}}
# "reach / hit / touch $60,000" names a price to be touched, not a side: from a price above it, reaching it
# means falling to it. Two such strikes are one ladder only when both lie on the same side of where the price
# starts, which the rules do not say; a direction word beside the number settles it.
_TOUCH = re.compile(r"\b(reach(es|ed|ing)?|hit(s|ting)?|touch(es|ed|ing)?|tag(s|ged)?|trade[sd]? at)\b", re.I)
_DIRECTION = re.compile(r"\b(above|over|exceed\w*|greater|more|higher|high|at least|below|under|less|lower|low|"
                        r"fewer|up|down|rise\w*|fall\w*|drop\w*|dip\w*|climb\w*|sink\w*)\b|[<>\u2191\u2193\u2265\u2264]",
                        re.I)


def _touch_without_side(th) -> bool:
    """The threshold's words are a touch ("reach $60,000") with no word saying from which side."""
    quote = th.span.quote if getattr(th, "span", None) is not None else ""
    return bool(_TOUCH.search(quote)) and not _DIRECTION.search(quote)


def implication_of(a: Market, b: Market) -> Implication | None:
    """Is one of two markets a rung above the other on one ladder? Only when compare_rules finds them the
    same contract except for the strike (same comparator direction and unit) or except for a "by" date,
    with nothing else hard or soft between them; otherwise None (a look-alike is never paired)."""
    from pm_mcp.domain.rules import parse_rules

    return _implication(a, parse_rules(a.rule_text or "", market=a), b, parse_rules(b.rule_text or "", market=b))


def _implication(a: Market, ra, b: Market, rb) -> Implication | None:
    from pm_mcp.domain.rules_compare import compare_rules

    rc = compare_rules(ra, rb)
    hard = {d.field for d in rc.differences if d.severity == "hard"}
    # rungs of one event on one venue share its resolver: a source read on neither side is the same unread one
    one_event = a.venue == b.venue and a.event_id is not None and a.event_id == b.event_id
    other = [d for d in rc.differences if d.severity == "soft" and d.field not in ("unknown_field", "time_zone")
             and not (one_event and d.field == "source" and d.detail.startswith("no source stated on either side"))]
    if not hard or other or any(d.severity == "info" and d.field == "oracle" for d in rc.differences):
        return None
    ta, tb = ra.condition.threshold, rb.condition.threshold
    if hard <= _LADDER_FIELDS["threshold"] and ta is not None and tb is not None and ta.value is not None \
            and tb.value is not None and ta.value != tb.value and (ta.unit or "") == (tb.unit or "") \
            and ta.upper is None and tb.upper is None:
        if _touch_without_side(ta) or _touch_without_side(tb):
            return None  # "reach $50,000" and "reach $60,000": which implies which depends on the start price
        up = {">", ">="}
        down = {"<", "<="}
        if ta.comparator in up and tb.comparator in up:
            hi, lo = (a, b) if ta.value > tb.value else (b, a)
            return Implication(stronger=hi, weaker=lo, why=f"one ladder: above {max(ta.value, tb.value):f} implies "
                                                            f"above {min(ta.value, tb.value):f}")
        if ta.comparator in down and tb.comparator in down:
            lo_m, hi_m = (a, b) if ta.value < tb.value else (b, a)
            return Implication(stronger=lo_m, weaker=hi_m, why=f"one ladder: below {min(ta.value, tb.value):f} "
                                                                f"implies below {max(ta.value, tb.value):f}")
        return None
    da, db = ra.deadline.value, rb.deadline.value
    if hard <= _LADDER_FIELDS["date"] and "deadline" in hard and da is not None and db is not None \
            and da.kind in ("by", "before") and db.kind in ("by", "before") and da.date and db.date \
            and da.date != db.date and _same_threshold(ta, tb):
        early, late = (a, b) if da.date < db.date else (b, a)
        d1, d2 = sorted([da.date, db.date])
        return Implication(stronger=early, weaker=late, why=f"one ladder: by {d1.isoformat()} implies by "
                                                             f"{d2.isoformat()}")
    return None


def _same_threshold(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return (x.comparator, x.value, x.upper, x.unit) == (y.comparator, y.value, y.upper, y.unit)


def detect_ladder(stronger: VenueSide, weaker: VenueSide, why: str, *, now: datetime,
                  max_size: Decimal | None = None) -> Opportunity | None:
    """Buy YES of the weaker contract and NO of the stronger one: $1 if the stronger happens (the weaker
    does too), $2 if only the weaker does, $1 if neither: at least $1 in every outcome. An opportunity when
    that costs less than $1 after fees and depth (the ladder's prices break their order)."""
    ys, ns = yes_no_labels(stronger.market) or ("Yes", "No")
    yw, _nw = yes_no_labels(weaker.market) or ("Yes", "No")
    states = ["both happen", "only the weaker", "neither"]
    lv_yes, d_yes = _side_levels(weaker.yes_book, "buy", weaker.no_book)
    lv_no, d_no = _side_levels(stronger.no_book, "buy", stronger.yes_book)
    if not lv_yes or not lv_no:
        return None
    legs = [_leg(weaker.market, yw, "buy", lv_yes, states[:2], d_yes),
            _leg(stronger.market, ns, "buy", lv_no, states[1:], d_no)]
    flags = []
    if stronger.market.venue != weaker.market.venue:
        flags.append("different_venues: the two rungs settle on different venues")
    opp = build_opportunity(ArbKind.LADDER, f"{weaker.market.title} YES + {stronger.market.title} NO ({why})", legs,
                            states, now=now, resolves_at=_resolves_at([stronger.market, weaker.market]),
                            flags=flags, notes=[why], max_size=max_size)
    if opp is None:
        return None
    opp.notes.append(f"pays at least {in_currency(ONE, opp.currency)} per pair in every outcome, "
                     f"{in_currency(ONE + ONE, opp.currency)} if only the weaker happens")
    opp.flags = [f for f in opp.flags if not f.startswith("unequal_payoff")]
    opp.risk_free = not flags and min(opp.payoff_by_state.values()) - opp.cost > 0
    return opp


def ladder_pairs(markets: Sequence[Market], *, max_pairs: int = 2000) -> list[Implication]:
    """The rungs of one ladder among the markets of each event (pairwise within an event, each market's rules
    parsed once; at most ``max_pairs`` comparisons)."""
    from pm_mcp.domain.rules import parse_rules

    groups: dict[str, list[Market]] = {}
    for m in markets:
        groups.setdefault(f"{m.venue}:{m.event_id or m.id}", []).append(m)
    out: list[Implication] = []
    budget = max_pairs
    for members in groups.values():
        if len(members) < 2:
            continue
        parsed = [parse_rules(m.rule_text or "", market=m) for m in members]
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                if budget <= 0:
                    return out
                budget -= 1
                imp = _implication(members[i], parsed[i], members[j], parsed[j])
                if imp is not None:
                    out.append(imp)
    return out


def scan_ladders(sides: Sequence[VenueSide], *, now: datetime, max_size: Decimal | None = None,
                 max_pairs: int = 2000) -> list[Opportunity]:
    """Ladder violations among markets of one event / series: every pair whose rules differ only by the
    strike or the date (see :func:`implication_of`), priced both ways."""
    by_id = {id(s.market): s for s in sides}
    out: list[Opportunity] = []
    for imp in ladder_pairs([s.market for s in sides], max_pairs=max_pairs):
        opp = detect_ladder(by_id[id(imp.stronger)], by_id[id(imp.weaker)], imp.why, now=now, max_size=max_size)
        if opp is not None:
            out.append(opp)
    return out


def rule_flags(m: Market) -> list[str]:
    """Rule-risk flags for a tail trade: ambiguity and low settlement clarity (from parse_rules)."""
    if not (m.rule_text or "").strip():
        return ["rules: no rule text to check"]
    from pm_mcp.domain.rules import parse_rules

    ra = parse_rules(m.rule_text, market=m)
    flags = [f"rules: {a.kind.replace('_', ' ')} ('{a.phrase}')" for a in ra.ambiguity[:3]]
    if ra.clarity < 0.6:
        flags.append(f"rules: settlement clarity {ra.clarity:.2f}")
    if ra.deadline.early_resolution:
        flags.append("rules: can resolve early")
    return flags


def _indicative_edge(a: VenueSide, b: VenueSide, inverted: bool) -> Decimal | None:
    """1 - (best ask of one side + best ask of the covering side), from the books, else the quotes."""
    def ask(side: VenueSide, yes: bool) -> Decimal | None:
        book, comp = (side.yes_book, side.no_book) if yes else (side.no_book, side.yes_book)
        lv, _ = _side_levels(book, "buy", comp)
        if lv:
            return lv[0].price
        labels = yes_no_labels(side.market)
        if labels is None:
            return None
        return side.market.outcome(labels[0] if yes else labels[1]).best_ask

    best: Decimal | None = None
    for a_yes in (True, False):
        b_yes = (not a_yes) if not inverted else a_yes
        pa, pb = ask(a, a_yes), ask(b, b_yes)
        if pa is not None and pb is not None:
            e = ONE - pa - pb
            best = e if best is None or e > best else best
    return best


# ---------------------------------------------------------------------------------------------
# Resolution (tail) trades


def detect_resolution(market: Market, outcome: str, book: OrderBook | None, *, now: datetime,
                      min_price: Decimal = Decimal("0.95"), max_days: Decimal = Decimal(30),
                      rule_flags: Sequence[str] = (), max_size: Decimal | None = None) -> Opportunity | None:
    """Buy an outcome priced >= ``min_price`` whose deadline is within ``max_days``. The payout is
    only if it resolves as priced: this is NOT risk-free and says so."""
    if book is None or not book.asks or market.status not in (MarketStatus.OPEN, MarketStatus.UNKNOWN):
        return None
    if book.asks[0].price < min_price:
        return None
    resolves = market.resolution_time or market.close_time
    if resolves is None:
        return None
    days = Decimal(str(round((resolves - now).total_seconds()))) / SECONDS_PER_DAY
    if days <= 0 or days > max_days:
        return None
    states = ["as priced", "upset"]
    leg = _leg(market, outcome, "buy", tuple(book.asks), ["as priced"], book.derived)
    # price it as if it were certain (the curve keeps only levels with p + fee < 1), then show the upset
    res = solve_bundle([leg], ["as priced"], max_size=max_size)
    if res is None:
        return None
    cost = res.priced.spent
    ret = (res.profit / cost).quantize(Decimal("0.0001"))
    d, ann = _time_terms(resolves, now, ret)
    flags = ["tail_risk: the whole stake is lost if the outcome does not happen"] + list(rule_flags)
    return Opportunity(
        id=_opp_id(ArbKind.RESOLUTION.value, [leg]), kind=ArbKind.RESOLUTION,
        title=f"{market.title}: {outcome} at {book.asks[0].price}", venues=[market.venue], legs=res.priced.legs,
        size=res.size, capacity=res.capacity, cost=cost, fees=res.priced.fees, payout=res.payout, profit=res.profit,
        return_pct=ret, profit_at_capacity=res.profit_at_capacity, risk_free=False, states=states,
        payoff_by_state={"as priced": res.size, "upset": ZERO}, worst_case_one_leg_fails=-cost,
        worst_failing_leg=None, resolves_at=resolves, days_to_resolution=d, annualised_return=ann, flags=flags,
        notes=["profit and return are IF it resolves as priced; the worst case is losing the cost"],
        currency=market.currency)


# ---------------------------------------------------------------------------------------------
# Ranking and filters


@dataclass(slots=True)
class ArbFilter:
    venues: set[str] | None = None
    kinds: set[str] | None = None
    min_profit: Decimal = ZERO
    min_capacity: Decimal = ZERO
    risk_free_only: bool = False

    def keep(self, o: Opportunity) -> bool:
        if self.venues and not set(o.venues) <= self.venues:
            return False
        if self.kinds and o.kind.value not in self.kinds:
            return False
        if o.kind is ArbKind.BASKET:  # never arbitrage: only when asked for by kind, whatever its worst case
            return bool(self.kinds) and ArbKind.BASKET.value in self.kinds and not self.risk_free_only
        if o.profit < self.min_profit or o.capacity < self.min_capacity:
            return False
        return not (self.risk_free_only and not o.risk_free)


def rank(opps: Iterable[Opportunity], flt: ArbFilter | None = None) -> list[Opportunity]:
    """Risk-free first, then by profit (largest first), then by return; duplicates (same id) dropped."""
    seen: set[str] = set()
    out = []
    for o in opps:
        if o.id in seen or (flt is not None and not flt.keep(o)):
            continue
        seen.add(o.id)
        out.append(o)
    out.sort(key=lambda o: (not o.risk_free, -o.profit, -o.return_pct))
    return out


def scan_dutch_books(sets: Iterable[ExclusiveSet], *, now: datetime, max_size: Decimal | None = None,
                     on_progress: Callable[[int], None] | None = None, baskets: bool = False) -> list[Opportunity]:
    """Quick top-of-book check on every set, the full merged walk only where it can pay."""
    out: list[Opportunity] = []
    for i, s in enumerate(sets):
        quick = dutch_book_quick_check(s)
        if quick[0] or quick[1]:
            out.extend(detect_dutch_book(s, now=now, max_size=max_size, quick=quick, baskets=baskets))
        if on_progress is not None and i % 500 == 499:
            on_progress(i + 1)
    return out
