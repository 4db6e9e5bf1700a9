"""Arbitrage tools: find_arbitrage (read-only scan) and propose_bundle (one intent for every leg).

Thin: markets and books come from MarketService (``state.markets``), the maths from
pm_mcp.domain.arbitrage / matching, rule equivalence from pm_mcp.domain.rules_compare, and the
intent, its single confirmation and the leg-by-leg execution from the execution engine.
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

import asyncio
import base64
import json
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from pm_mcp.domain.arbitrage import (
    ZERO,
    ArbFilter,
    ArbKind,
    Equivalence,
    ExclusiveSet,
    LegBook,
    Opportunity,
    UncertainPair,
    VenueSide,
    Verdict,
    complement_levels,
    detect_cross_venue,
    detect_dutch_book,
    detect_ladder,
    detect_member_vs_event,
    detect_resolution,
    detect_yes_no,
    dutch_book_quick_check,
    equivalence_of,
    exclusive_set_from_event,
    exclusive_set_from_multiple_choice,
    ladder_pairs,
    overpriced_members,
    own_books,
    price_bundle,
    rank,
    rule_flags,
    size_step_for,
    yes_no_labels,
)
from pm_mcp.domain.models import Event, Market, MarketStatus, OrderBook
from pm_mcp.domain.money import floor_to, in_currency, normalize, usd
from pm_mcp.domain.untrusted import clean_inline, quote_inline, quote_label
from pm_mcp.surface.common import READ_OPEN, app_state, grouped, markets_of, titled, to_tool_error
from pm_mcp.surface.common import VenueArg as Venue
from pm_mcp.surface.orders import IntentOut
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import BRIEF, CHOICES, LEGACY, Grouped

if TYPE_CHECKING:
    from pm_mcp.app import AppState
    from pm_mcp.markets.service import MarketService

log = logging.getLogger(__name__)

FIND = titled(READ_OPEN, "Find arbitrage")
PROPOSE = ToolAnnotations(title="Propose an arbitrage bundle (places nothing)", read_only_hint=False,
                          destructive_hint=False, idempotent_hint=False, open_world_hint=True)
Kind = Literal["dutch_book", "yes_no", "cross_venue", "resolution", "ladder", "member_vs_event", "basket"]
# what a scan looks for unless told: arbitrage only (a basket is a position, listed only when asked for)
DEFAULT_KINDS = frozenset({"dutch_book", "yes_no", "cross_venue", "resolution", "ladder", "member_vs_event"})
SET_KINDS = frozenset({"dutch_book", "basket", "member_vs_event"})  # the kinds read from exclusive sets
LADDER_MAX_PAIRS = 400  # rule comparisons per scan for ladder rungs (markets of one event, pairwise)
BOOK_CONCURRENCY = 6
SCAN_CACHE = 16  # scans kept for pagination and propose_bundle
SCAN_TTL_S = 900


# --- output models --------------------------------------------------------------------------------
class ScanStats(BaseModel):
    markets: int
    exclusive_sets: int
    cross_venue_pairs: int
    books: int
    seconds: float


class FindArbitrageOut(BaseModel):
    scan_id: str
    as_of: datetime
    total: int = Field(description="Opportunities after the filters (all pages).")
    opportunities: list[Opportunity]
    uncertain_pairs: list[UncertainPair] = Field(
        default_factory=list, description="Cross-venue look-alikes whose rules are not shown equivalent: NOT arbitrage.")
    scanned: ScanStats
    warnings: list[str] = Field(default_factory=list)
    next_cursor: str | None = None


class BundleOut(BaseModel):
    opportunity_id: str
    kind: str
    size: Decimal
    expected_cost: Decimal
    guaranteed_payout: Decimal
    expected_profit: Decimal
    intent: IntentOut = Field(description="The intent (as propose_order returns it): one confirmation for all legs.")


# --- scan cache -------------------------------------------------------------------------------------
@dataclass
class _LegRef:
    market: Market
    outcome: str
    side: str
    pays_in: frozenset[str]


@dataclass
class _Scan:
    id: str
    at: float
    as_of: datetime
    opportunities: list[Opportunity]
    uncertain: list[UncertainPair]
    stats: ScanStats
    warnings: list[str]
    legs: dict[str, list[_LegRef]] = field(default_factory=dict)


def _cache(state: "AppState") -> OrderedDict[str, _Scan]:
    return state.arbitrage_scans


def _remember(state: "AppState", scan: _Scan) -> None:
    c = _cache(state)
    c[scan.id] = scan
    now = time.time()
    for k in [k for k, v in c.items() if now - v.at > SCAN_TTL_S]:
        c.pop(k, None)
    while len(c) > SCAN_CACHE:
        c.popitem(last=False)


def _find_opportunity(state: "AppState", opp_id: str) -> tuple[_Scan, Opportunity]:
    for scan in reversed(list(_cache(state).values())):
        for o in scan.opportunities:
            if o.id == opp_id:
                return scan, o
    raise ToolError(f"no opportunity {opp_id!r} in the recent scans (they are kept {SCAN_TTL_S // 60} minutes); "
                    "run find_arbitrage again and use an id it returns")


def _cursor(scan_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": scan_id, "o": offset}).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[str, int]:
    try:
        d = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(d["s"]), max(0, int(d["o"]))
    except (ValueError, KeyError, TypeError):
        raise ToolError("the cursor is not one find_arbitrage returned; run the scan again without a cursor") from None


# --- helpers --------------------------------------------------------------------------------------
class _Progress:
    """MCP progress notifications, throttled; a no-op when the caller sent no progress token."""

    def __init__(self, ctx: Context | None, total: int):
        self.ctx, self.total, self.done, self.last = ctx, max(total, 1), 0, 0.0

    async def step(self, message: str, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.ctx is not None and (now - self.last >= 0.2 or self.done >= self.total):
            self.last = now
            try:
                await self.ctx.report_progress(min(self.done, self.total), self.total, message)
            except Exception:  # noqa: BLE001 - progress must never break a scan
                log.debug("progress notification failed", exc_info=True)


# --- the scan -------------------------------------------------------------------------------------
class _Scanner:
    def __init__(self, ctx: Context | None, kinds: set[str], venues: set[str] | None, tail_min: Decimal,
                 tail_days: Decimal, svc: "MarketService | None" = None):
        self.ctx, self.kinds, self.venues = ctx, kinds, venues
        self.svc = svc if svc is not None else markets_of(ctx)
        self.tail_min, self.tail_days = tail_min, tail_days
        self.warnings: list[str] = []
        self.books: dict[tuple[str, str, str], OrderBook | None] = {}
        self.sem = asyncio.Semaphore(BOOK_CONCURRENCY)
        self.now = datetime.now(UTC)

    async def gather_markets(self, refs: list[str], query: str | None, limit: int) -> tuple[list[Market], list[Event]]:
        markets: dict[tuple[str, str], Market] = {}
        events: list[Event] = []
        for ref in refs:
            try:
                m = await self.svc.get_market(ref)
                markets[(m.venue, m.id)] = m
            except Exception as exc_m:  # noqa: BLE001 - maybe an event reference
                ev = await self._event(ref, getattr(exc_m, "venue", None))
                if ev is not None:
                    events.append(ev)
                else:
                    self.warnings.append(f"{ref}: {exc_m}")
        if query is not None or not refs:
            try:
                res = await self.svc.search(query or "", venues=sorted(self.venues) if self.venues else None,
                                            limit=limit, status="open", live=bool(query))
            except ValueError as exc:
                raise ToolError(str(exc)) from None
            for v, w in res.warnings.items():
                self.warnings.append(f"{v}: {w}")
            for m in res.markets:
                markets.setdefault((m.venue, m.id), m)
        for ev in events:
            for m in ev.markets:
                markets.setdefault((m.venue, m.id), m)
        out = [m for m in markets.values() if self.venues is None or m.venue in self.venues]
        if not out and not refs and query is None:
            self.warnings.append("nothing was scanned: with no query and no markets the scan reads the markets this "
                                 "server has already seen, and it has seen none yet; pass query (a topic) or markets")
        return out, events

    async def _event(self, ref: str, hint: str | None) -> Event | None:
        """The event ``ref`` names: the venue that recognised it first, then each venue on its own (one
        unreachable venue must not hide another's event)."""
        order = [v for v in [hint, *self.svc.venues] if v and v in self.svc.venues]
        for v in dict.fromkeys(order):
            if self.venues is not None and v not in self.venues:
                continue
            try:
                return await self.svc.get_event(ref, venue=v)
            except Exception:  # noqa: BLE001
                continue
        return None

    def book_of(self, m: Market, outcome: str | None) -> OrderBook | None:
        """A book already fetched (None if it was not, or could not be)."""
        return self.books.get((m.venue, m.id, outcome.lower())) if outcome else None

    async def book(self, m: Market, outcome: str) -> OrderBook | None:
        key = (m.venue, m.id, outcome.lower())
        if key in self.books:
            return self.books[key]
        async with self.sem:
            try:
                b = await self.svc.get_order_book(m, outcome)
            except Exception as exc:  # noqa: BLE001 - one missing book must not end the scan
                self.warnings.append(f"{m.venue} {m.id} {outcome}: no book ({exc})")
                b = None
        self.books[key] = b
        return b

    async def exclusive_sets(self, markets: list[Market], events: list[Event]) -> list[tuple[Any, Any]]:
        """(kind, source) for each exclusive set: ('event', Event) or ('mc', Market)."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[Any, Any]] = []
        for ev in events:
            if ev.neg_risk or ev.mutually_exclusive:
                seen.add((ev.venue, ev.id))
                out.append(("event", ev))
        for m in markets:
            if len(m.outcomes) > 2 and m.mutually_exclusive:
                out.append(("mc", m))
            elif (m.neg_risk or m.mutually_exclusive) and m.event_id and (m.venue, m.event_id) not in seen:
                seen.add((m.venue, m.event_id))
                try:
                    out.append(("event", await self.svc.get_event(m.event_id, venue=m.venue)))
                except Exception as exc:  # noqa: BLE001
                    self.warnings.append(f"{m.venue} event {m.event_id}: {exc}")
        return out


def _opp_title(o: Opportunity) -> str:
    """The opportunity's title with the venue's words quoted: the market title it starts with (yes_no,
    cross_venue, resolution) quoted apart from our words after it; otherwise (an event's set) all of it."""
    for leg in o.legs:
        t = leg.market_title
        if t and o.title.startswith(t):
            rest = o.title[len(t):]
            for label in sorted({l.outcome for l in o.legs}, key=len, reverse=True):
                if label and quote_label(label) != label:
                    rest = rest.replace(label, quote_label(label))
            return quote_inline(t, 100) + (" " if rest[:1].isspace() else "") + clean_inline(rest, 120)
    return quote_inline(o.title, 140)


def _legs_text(o: Opportunity) -> str:
    legs = "; ".join(f"{l.side.upper()} {normalize(l.size)} {quote_label(l.outcome)} {quote_inline(l.market_title, 80)} "
                     f"@<= {normalize(l.limit_price)} ({l.venue})" for l in o.legs[:6])
    return legs + (f"; +{len(o.legs) - 6} more legs" if len(o.legs) > 6 else "")


def _with_legs_and_flags(head: str, o: Opportunity, flag_label: str, n_flags: int) -> str:
    """An opportunity's headline, then its legs, then its first flags (each on its own indented line)."""
    lines = [head, "   legs: " + _legs_text(o)]
    lines += [f"   {flag_label}: " + clean_inline(f, 240) for f in o.flags[:n_flags]]
    return "\n".join(lines)


def _amounts(o: Opportunity):
    """A formatter for the opportunity's amounts in its own currency ($ or M$: mana is never written as $)."""
    return lambda x: in_currency(x, o.currency)


def _basket_line(i: int, o: Opportunity) -> str:
    """A basket leads with its worst case; it is never called profit."""
    worst, amt = -o.profit, _amounts(o)
    head = (f"{i}. {o.id} [basket, NOT arbitrage] {_opp_title(o)}: pays {amt(o.payout)} only if one of these "
            f"{len(o.legs)} wins; loses {amt(worst)} if none does (cost {amt(o.cost)} incl. fees at size "
            f"{normalize(o.size)})")
    return _with_legs_and_flags(head, o, "why not arbitrage", 2)


def _opp_line(i: int, o: Opportunity) -> str:
    if o.kind is ArbKind.BASKET:
        return _basket_line(i, o)
    tag = "RISK-FREE" if o.risk_free else "NOT risk-free"
    when = ""
    if o.resolves_at is not None:
        when = f"; resolves {o.resolves_at.date().isoformat()}"
        if o.days_to_resolution is not None:
            when += f" ({normalize(o.days_to_resolution.quantize(Decimal('0.1')))} d"
            when += f", {(o.annualised_return * 100).quantize(Decimal('1'))}%/yr)" if o.annualised_return else ")"
    amt = _amounts(o)
    head = (f"{i}. {o.id} [{o.kind.value}, {tag}] {_opp_title(o)}: profit {amt(o.profit)} on {amt(o.cost)} "
            f"({(o.return_pct * 100).quantize(Decimal('0.1'))}%) at size {normalize(o.size)}, capacity "
            f"{normalize(o.capacity)}{when}; if one leg fails {amt(o.worst_case_one_leg_fails)}")
    return _with_legs_and_flags(head, o, "flag", 3)


def _scan_text(scan: _Scan, page: list[Opportunity], offset: int, total: int, next_cursor: str | None) -> str:
    st = scan.stats
    rf = sum(1 for o in scan.opportunities if o.risk_free)
    lines = [f"Arbitrage scan {scan.id}: {total} opportunit{'y' if total == 1 else 'ies'} ({rf} risk-free) from "
             f"{st.markets} markets, {st.exclusive_sets} exclusive sets, {st.cross_venue_pairs} cross-venue pairs; "
             f"{st.books} books walked with fees. Prices per share; amounts in each bundle's own currency ($, or M$ "
             "for Manifold's play money, never added to dollars); profit after fees at the walked books."]
    if total:
        lines.append(f"Showing {offset + 1}-{offset + len(page)} of {total} (risk-free first, then by profit):")
        lines += [_opp_line(offset + i + 1, o) for i, o in enumerate(page)]
        lines.append("To act: propose_bundle(opportunity_id=...) makes ONE intent for all legs; the person confirms "
                     "it once.")
    elif not st.markets:
        lines.append("Nothing was scanned, so this says nothing about whether arbitrage exists.")
    else:
        lines.append("No opportunity survives fees and depth in what was scanned.")
    if scan.uncertain:
        lines.append("Look-alikes NOT treated as arbitrage (rules differ or are unclear):")
        for u in scan.uncertain[:5]:
            edge = f", edge if identical {usd(u.indicative_edge)}/share" if u.indicative_edge is not None else ""
            lines.append(f" - {u.a_venue} {quote_inline(u.a_title, 80)} vs {u.b_venue} {quote_inline(u.b_title, 80)}: "
                         f"{u.verdict}{edge}; " + "; ".join(clean_inline(d, 160) for d in u.differences[:2]))
    if scan.warnings:
        lines.append("Warnings: " + " | ".join(clean_inline(w, 200) for w in scan.warnings[:4]))
    if next_cursor:
        lines.append(f"More: find_arbitrage(cursor='{next_cursor}')")
    return "\n".join(lines)


@dataclass
class _Plan:
    """What a scan will price, and every book it needs (fetched once each)."""

    sets: list[tuple[str, Any, bool]] = field(default_factory=list)  # (kind, source, skip: its quick check failed)
    binaries: list[Market] = field(default_factory=list)
    tail: list[tuple[Market, str]] = field(default_factory=list)
    pairs: list[tuple[Market, Market, Equivalence, float]] = field(default_factory=list)
    ladders: list[Any] = field(default_factory=list)
    jobs: list[tuple[Market, str]] = field(default_factory=list)

    def both_books(self, m: Market) -> None:
        y, n = yes_no_labels(m)  # type: ignore[misc]
        self.jobs += [(m, y), (m, n)]


def _quoted_set(kind: str, src: Any) -> tuple[ExclusiveSet, list[tuple[Market, str]]]:
    """A set priced from the venue's quotes (no books yet), and the books its walk would need."""
    if kind == "event":
        quoted = exclusive_set_from_event(src, {}, quotes=True)
        return quoted, [(mb.market, mb.yes_outcome) for mb in quoted.members]
    return exclusive_set_from_multiple_choice(src, {}), [(src, o.label) for o in src.outcomes]


def _can_pay(quoted: ExclusiveSet, kinds: set[str]) -> bool:
    """Whether the set's quotes leave any of the asked kinds possible (True when some quote is missing)."""
    if not quoted.members or any(mb.best_ask is None or mb.best_bid is None for mb in quoted.members):
        return True
    buy_yes, buy_no = dutch_book_quick_check(quoted)
    return bool(buy_yes or buy_no or ("member_vs_event" in kinds and overpriced_members(quoted)))


async def _plan_sets(sc: _Scanner, plan: _Plan, markets: list[Market], events: list[Event]) -> set[tuple[str, str]]:
    """The exclusive sets worth walking; returns the markets that are members of an event's set."""
    sources = await sc.exclusive_sets(markets, events) if sc.kinds & SET_KINDS else []
    for kind, src in sources:
        quoted, members = _quoted_set(kind, src)
        if not _can_pay(quoted, sc.kinds):
            plan.sets.append((kind, src, True))
            continue
        plan.sets.append((kind, src, False))
        plan.jobs += members
    return {(m.venue, m.id) for kind, src in sources if kind == "event" for m in src.markets}


def _plan_tail(sc: _Scanner, plan: _Plan, markets: list[Market]) -> None:
    """Outcomes quoted near the tail minimum whose deadline is within the window (resolution kind)."""
    for m in markets:
        when = m.resolution_time or m.close_time
        if when is None or not (0 < (when - sc.now).total_seconds() <= float(sc.tail_days) * 86400):
            continue
        for o in m.outcomes:
            quote = o.best_ask if o.best_ask is not None else o.price
            if quote is not None and quote >= sc.tail_min - Decimal("0.02"):
                plan.tail.append((m, o.label))
    plan.jobs += plan.tail


def _plan_cross_venue(plan: _Plan) -> None:
    """Candidates by title across each pair of venues, then the rules decide; books only for equivalent ones."""
    from pm_mcp.domain.matching import MatchItem, match_candidates  # slow to import: only when a scan asks

    by_venue: dict[str, list[Market]] = {}
    for m in plan.binaries:
        by_venue.setdefault(m.venue, []).append(m)
    names = sorted(by_venue)
    for i, va in enumerate(names):
        for vb in names[i + 1:]:
            A, B = by_venue[va], by_venue[vb]
            cands = match_candidates([MatchItem(m.id, m.title, m.close_time) for m in A],
                                     [MatchItem(m.id, m.title, m.close_time) for m in B])
            for c in cands:
                a, b = A[c.a], B[c.b]
                eq = equivalence_of(a, b)
                plan.pairs.append((a, b, eq, c.score))
                if eq.verdict is Verdict.EQUIVALENT:
                    plan.both_books(a)
                    plan.both_books(b)


async def _plan(sc: _Scanner, markets: list[Market], events: list[Event]) -> _Plan:
    plan = _Plan()
    open_markets = [m for m in markets if m.status in (MarketStatus.OPEN, MarketStatus.UNKNOWN)]
    in_sets = await _plan_sets(sc, plan, open_markets, events)
    plan.binaries = [m for m in open_markets if yes_no_labels(m) is not None]
    if "yes_no" in sc.kinds:  # only where YES and NO are separate books that can cross
        for m in plan.binaries:
            if own_books(m) and (m.venue, m.id) not in in_sets:
                plan.both_books(m)
    if "resolution" in sc.kinds:
        _plan_tail(sc, plan, open_markets)
    if "cross_venue" in sc.kinds:
        _plan_cross_venue(plan)
    if "ladder" in sc.kinds:
        plan.ladders = ladder_pairs([m for m in plan.binaries if m.event_id], max_pairs=LADDER_MAX_PAIRS)
        for imp in plan.ladders:
            plan.both_books(imp.stronger)
            plan.both_books(imp.weaker)
    return plan


async def _fetch_books(ctx: Context | None, sc: _Scanner, jobs: list[tuple[Market, str]]) -> None:
    """Every book the plan needs, once each, with progress."""
    unique = list({(m.venue, m.id, o.lower()): (m, o) for m, o in jobs}.values())
    prog = _Progress(ctx, len(unique))

    async def fetch(m: Market, o: str) -> None:
        await sc.book(m, o)
        await prog.step(f"books {prog.done + 1}/{len(unique)}")

    await asyncio.gather(*(fetch(m, o) for m, o in unique))


def _walked_set(sc: _Scanner, kind: str, src: Any) -> ExclusiveSet:
    if kind == "event":
        books = {(m.id, o.label.lower()): b for m in src.markets for o in m.outcomes
                 if (b := sc.book_of(m, o.label)) is not None}
        return exclusive_set_from_event(src, books)
    return exclusive_set_from_multiple_choice(src, {o.label.lower(): b for o in src.outcomes
                                                    if (b := sc.book_of(src, o.label)) is not None})


def _sides(sc: _Scanner, m: Market) -> VenueSide:
    y, n = yes_no_labels(m)  # type: ignore[misc]
    return VenueSide(m, sc.book_of(m, y), sc.book_of(m, n))


def _detect(sc: _Scanner, plan: _Plan) -> tuple[list[Opportunity], list[UncertainPair]]:
    """Every kind asked for, on the books fetched."""
    opps: list[Opportunity] = []
    for kind, src, skip in plan.sets:
        if skip:
            continue
        es = _walked_set(sc, kind, src)
        if sc.kinds & {"dutch_book", "basket"}:
            opps += detect_dutch_book(es, now=sc.now, baskets="basket" in sc.kinds)
        if "member_vs_event" in sc.kinds:
            opps += detect_member_vs_event(es, now=sc.now)
    if "yes_no" in sc.kinds:
        for m in plan.binaries:
            side = _sides(sc, m)
            if side.yes_book is not None and side.no_book is not None:
                opps += detect_yes_no(m, side.yes_book, side.no_book, now=sc.now)
    for m, o in plan.tail:
        opp = detect_resolution(m, o, sc.book_of(m, o), now=sc.now, min_price=sc.tail_min, max_days=sc.tail_days,
                                rule_flags=rule_flags(m))
        opps += [opp] if opp is not None else []
    for imp in plan.ladders:
        opp = detect_ladder(_sides(sc, imp.stronger), _sides(sc, imp.weaker), imp.why, now=sc.now)
        opps += [opp] if opp is not None else []
    uncertain: list[UncertainPair] = []
    for a, b, eq, score in plan.pairs:
        found, unc = detect_cross_venue(_sides(sc, a), _sides(sc, b), eq, now=sc.now, match_score=Decimal(str(score)))
        opps += found
        uncertain += [unc] if unc is not None else []
    return opps, uncertain


def _leg_refs(opps: list[Opportunity], markets: list[Market], plan: _Plan) -> dict[str, list[_LegRef]]:
    """The markets behind every leg, for propose_bundle."""
    index = {(m.venue, m.id): m for m in markets}
    for kind, src, _skip in plan.sets:
        for m in (src.markets if kind == "event" else [src]):
            index.setdefault((m.venue, m.id), m)
    return {o.id: [_LegRef(index[(l.venue, l.market_id)], l.outcome, l.side, frozenset(l.pays_in))
                   for l in o.legs if (l.venue, l.market_id) in index] for o in opps}


async def run_scan(ctx: Context | None, *, refs: list[str], query: str | None, kinds: set[str],
                   venues: set[str] | None, max_markets: int, tail_min: Decimal, tail_days: Decimal,
                   svc: "MarketService | None" = None) -> _Scan:
    """Collect the markets, plan what to price (quotes prefilter where the venue gave them), fetch every
    book once, detect each kind asked for. Without a ``ctx`` (the arbitrage watch): ``svc``, no progress."""
    t0 = time.perf_counter()
    sc = _Scanner(ctx, kinds, venues, tail_min, tail_days, svc)
    if ctx is not None:
        await ctx.report_progress(0, None, "collecting markets")
    markets, events = await sc.gather_markets(refs, query, max_markets)
    markets = markets[:max(max_markets, sum(len(e.markets) for e in events))]
    plan = await _plan(sc, markets, events)
    await _fetch_books(ctx, sc, plan.jobs)
    opps, uncertain = _detect(sc, plan)
    stats = ScanStats(markets=len(markets), exclusive_sets=len(plan.sets), cross_venue_pairs=len(plan.pairs),
                      books=sum(1 for b in sc.books.values() if b is not None),
                      seconds=round(time.perf_counter() - t0, 3))
    return _Scan(id="s-" + secrets.token_hex(4), at=time.time(), as_of=sc.now, opportunities=opps,
                 uncertain=uncertain, stats=stats, warnings=sc.warnings, legs=_leg_refs(opps, markets, plan))


def _page(scan: _Scan, flt: ArbFilter, offset: int, limit: int) -> tuple[FindArbitrageOut, str]:
    ranked = rank(scan.opportunities, flt)
    page = ranked[offset:offset + limit]
    nxt = _cursor(scan.id, offset + limit) if len(ranked) > offset + limit else None
    out = FindArbitrageOut(scan_id=scan.id, as_of=scan.as_of, total=len(ranked), opportunities=page,
                           uncertain_pairs=scan.uncertain[:10] if offset == 0 else [], scanned=scan.stats,
                           warnings=scan.warnings[:10], next_cursor=nxt)
    return out, _scan_text(scan, page, offset, len(ranked), nxt)


# --- bundles --------------------------------------------------------------------------------------
async def _fresh_leg(svc: "MarketService", ref: _LegRef) -> LegBook:
    """A leg's book read again now (a token without its own asks: the complement's bids, NO asks = 1 - YES bids)."""
    try:
        book = await svc.get_order_book(ref.market, ref.outcome)
    except Exception as exc:  # noqa: BLE001 - said as a sentence naming the book
        raise ToolError(f"could not read the book of {ref.market.venue_name or ref.market.venue} "
                        f"'{ref.market.title}' {ref.outcome}: {exc}") from None
    levels = book.asks if ref.side == "buy" else book.bids
    derived = book.derived
    if not levels:
        comp = next((o.label for o in ref.market.outcomes if o.label.lower() != ref.outcome.lower()), None)
        if comp is not None and len(ref.market.outcomes) == 2:
            cb = await svc.get_order_book(ref.market, comp)
            levels = list(complement_levels(cb.bids if ref.side == "buy" else cb.asks))
            derived = True
    return LegBook(venue=ref.market.venue, market_id=ref.market.id, market_title=ref.market.title,
                   outcome=ref.outcome, side=ref.side, levels=tuple(levels), fees=ref.market.fees,
                   pays_in=ref.pays_in, min_size=ref.market.min_order_size, size_step=size_step_for(ref.market),
                   derived=derived)


async def reprice(svc: "MarketService", scan: _Scan, opp: Opportunity, size: Decimal
                  ) -> tuple[list[Any], list[LegBook], Decimal, Decimal, Decimal]:
    """Fresh books for every leg, the bundle priced exactly at ``size``:
    (priced legs, fresh leg books, cost, payout, profit)."""
    refs = scan.legs.get(opp.id) or []
    if len(refs) != len(opp.legs):
        raise ToolError("this opportunity's markets are no longer known; run find_arbitrage again")
    fresh = [await _fresh_leg(svc, ref) for ref in refs]
    priced = price_bundle(fresh, size, opp.complete_sets_minted / opp.size if opp.size else ZERO)
    if priced is None:
        raise ToolError(f"the books are too thin now for {normalize(size)} of every leg; try a smaller size or "
                        "run find_arbitrage again")
    payoff = {s: sum((l.size for l in priced.legs if s in l.pays_in), ZERO) for s in opp.states}
    payout = min(payoff.values()) if payoff else ZERO
    profit = payout + priced.proceeds - priced.spent
    return priced.legs, fresh, priced.spent, payout, profit


def thinnest_first(priced: list[Any], books: list[LegBook]) -> list[int]:
    """Leg order: least spare depth at the limit price first (the leg most likely to come up short
    runs before anything else has been bought)."""
    def spare(i: int) -> Decimal:
        leg, b = priced[i], books[i]
        if leg.side == "buy":
            depth = sum((l.size for l in b.levels if l.price <= leg.limit_price), ZERO)
        else:
            depth = sum((l.size for l in b.levels if l.price >= leg.limit_price), ZERO)
        return depth - leg.size

    return sorted(range(len(priced)), key=lambda i: (spare(i), i))


async def scan_for_watch(state: "AppState", *, refs: list[str], query: str | None, min_profit: Decimal
                         ) -> tuple[dict[str, str], int]:
    """find_arbitrage's scan (default kinds, default thresholds) for the arbitrage watch
    (pm_mcp.execution.watches): ({opportunity key: its line}, markets scanned). The key names the kind and
    the legs (venue, market, outcome, side), so one opportunity keeps its key while its prices move."""
    scan = await run_scan(None, refs=refs, query=query, kinds=set(DEFAULT_KINDS), venues=None, max_markets=40,
                          tail_min=Decimal("0.95"), tail_days=Decimal(30), svc=state.require_markets())
    found: dict[str, str] = {}
    for o in rank(scan.opportunities, ArbFilter(venues=None, kinds=None, min_profit=min_profit,
                                                 min_capacity=ZERO)):
        legs = ",".join(sorted(f"{l.venue}:{l.market_id}:{l.outcome}:{l.side}" for l in o.legs))
        found.setdefault(f"{o.kind.value}|{legs}", _opp_line(1, o).split("\n")[0].removeprefix("1. "))
    return found, scan.stats.markets


MAX_MARKET_REFS = 50  # distinct references per scan (an event's URL counts once and brings all its markets)
MAX_REF_CHARS = 500


def market_refs(markets: list[str] | None) -> list[str]:
    """find_arbitrage's ``markets`` argument: stripped, empty ones dropped, duplicates removed (first
    occurrence kept, order preserved), at most MAX_MARKET_REFS distinct ones (each resolves with venue
    requests: 5,000 copies of one URL used to cost 5,000 lookups)."""
    refs: dict[str, None] = {}
    for i, r in enumerate(markets or []):
        r = (r or "").strip()
        if not r:
            continue
        if len(r) > MAX_REF_CHARS:
            raise ToolError(f"argument 'markets': item {i + 1} is {len(r):,} characters long; a market or event "
                            f"URL, slug, id or ticker has at most {MAX_REF_CHARS}")
        refs.setdefault(r, None)
        if len(refs) > MAX_MARKET_REFS:
            distinct = len({(x or "").strip() for x in markets or [] if (x or "").strip()})
            raise ToolError(f"argument 'markets': at most {MAX_MARKET_REFS} distinct market references per scan "
                            f"(got {distinct:,}); pass an event's URL to scan all of its markets, or split the list")
    return list(refs)


# --- the tools ------------------------------------------------------------------------------------
class ArbFilters(Grouped):
    """find_arbitrage's thresholds and page size (each also accepted at the top level, its old place)."""

    min_profit: Annotated[Decimal | None, Field(ge=0)] = None
    min_capacity: Annotated[Decimal | None, Field(ge=0)] = None
    tail_min_price: Annotated[Decimal | None, Field(gt=0, lt=1)] = None
    tail_max_days: Annotated[Decimal | None, Field(gt=0, le=365)] = None
    max_markets: Annotated[int | None, Field(ge=1, le=200)] = None
    venues: list[Venue] | None = None
    limit: Annotated[int | None, Field(ge=1, le=50)] = None


async def find_arbitrage(
    ctx: Context,
    query: Annotated[str | None, Field(description="topic")] = None,
    markets: Annotated[list[str] | None, Field(description="ids/URLs")] = None,
    kinds: Annotated[list[Kind] | None, CHOICES] = None,
    venues: Annotated[list[Venue] | None, LEGACY] = None,
    min_profit: Annotated[Decimal | None, Field(ge=0), LEGACY] = None,
    min_capacity: Annotated[Decimal | None, Field(ge=0), LEGACY] = None,
    tail_min_price: Annotated[Decimal | None, Field(gt=0, lt=1), LEGACY] = None,
    tail_max_days: Annotated[Decimal | None, Field(gt=0, le=365), LEGACY] = None,
    max_markets: Annotated[int | None, Field(ge=1, le=200), LEGACY] = None,
    limit: Annotated[int | None, Field(ge=1, le=50), LEGACY] = None,
    cursor: Annotated[str | None, Field(description="next_cursor")] = None,
    filters: Annotated[ArbFilters | None, Field(
        description="venues, min_profit, min_capacity, tail_min_price, tail_max_days, max_markets, limit"),
        BRIEF] = None,
) -> Annotated[CallToolResult, FindArbitrageOut]:
    """Arbitrage after fees and depth: legs, profit, worst case. resolution: NOT risk-free; basket: not
    arbitrage."""
    f = grouped(filters, "filters", min_profit=min_profit, min_capacity=min_capacity, tail_min_price=tail_min_price,
                tail_max_days=tail_max_days, max_markets=max_markets, venues=venues, limit=limit)
    venues = f.venues
    limit = 10 if f.limit is None else f.limit
    min_profit = Decimal(0) if f.min_profit is None else f.min_profit
    min_capacity = Decimal(0) if f.min_capacity is None else f.min_capacity
    tail_min_price = Decimal("0.95") if f.tail_min_price is None else f.tail_min_price
    tail_max_days = Decimal(30) if f.tail_max_days is None else f.tail_max_days
    max_markets = 40 if f.max_markets is None else f.max_markets
    state = app_state(ctx)
    flt = ArbFilter(venues=set(venues) if venues else None, kinds=set(kinds) if kinds else None,
                    min_profit=min_profit, min_capacity=min_capacity)
    if cursor:
        sid, offset = _uncursor(cursor)
        scan = _cache(state).get(sid)
        if scan is None:
            raise ToolError("that scan has expired; run find_arbitrage again without a cursor")
        out, text = _page(scan, flt, offset, limit)
        return tool_result(out, text)
    refs = market_refs(markets)
    scan = await run_scan(ctx, refs=refs, query=(query or "").strip() or None,
                          kinds=set(kinds) if kinds else set(DEFAULT_KINDS),
                          venues=set(venues) if venues else None, max_markets=max_markets,
                          tail_min=tail_min_price, tail_days=tail_max_days)
    _remember(state, scan)
    out, text = _page(scan, flt, 0, limit)
    return tool_result(out, text)


def _bundle_size(scan: _Scan, opp: Opportunity, size: Decimal | None) -> Decimal:
    """The size asked for (default the opportunity's), on the coarsest size step of its legs."""
    if opp.complete_sets_minted > 0:
        raise ToolError("this bundle sells a complete set that must be minted (split) first, which this server "
                        "does not do; it cannot be proposed as orders")
    refs = scan.legs.get(opp.id)
    step = max(size_step_for(r.market) for r in refs) if refs else Decimal("0.01")
    want = floor_to(size if size is not None else opp.size, step)
    if want <= 0:
        raise ToolError(f"size must be at least {step}")
    return want


def _bundle_head(opp: Opportunity, n_legs: int, want: Decimal, cost: Decimal, payout: Decimal,
                 profit: Decimal) -> str:
    amt = _amounts(opp)
    head = (f"Bundle for {opp.id} ({opp.kind.value}, {'risk-free' if opp.risk_free else 'NOT risk-free'}): "
            f"{n_legs} legs x {normalize(want)}; at the current books it costs {amt(cost)} incl. fees and "
            f"pays {amt(payout)} whatever happens -> profit {amt(profit)} (found at size {normalize(opp.size)}: "
            f"if one leg had failed there, {amt(opp.worst_case_one_leg_fails)}). One confirmation covers every leg; legs "
            "run in order as fill-and-kill orders and a partly filled leg stops the rest (the exposure is "
            "reported).")
    if opp.flags:
        head += " Flags: " + "; ".join(clean_inline(f, 240) for f in opp.flags[:3])
    return head


async def propose_bundle(
    ctx: Context,
    opportunity_id: Annotated[str, Field(description="from find_arbitrage")],
    size: Annotated[Decimal | None, Field(gt=0, description="shares per leg")] = None,
) -> Annotated[CallToolResult, BundleOut]:
    """A find_arbitrage opportunity as ONE intent, re-priced; the person confirms once (confirm_order). Legs
    run in order as fill-and-kill; a partial fill stops the rest. Places nothing."""
    from pm_mcp.execution import LegSpec, confirmation_instructions, propose_intent  # execution loads on use
    from pm_mcp.surface.orders import client_can_elicit, intent_out, intent_text

    state = app_state(ctx)
    scan, opp = _find_opportunity(state, opportunity_id)
    want = _bundle_size(scan, opp, size)
    legs, books, cost, payout, profit = await reprice(markets_of(ctx), scan, opp, want)
    if opp.risk_free and profit <= 0:
        amt = _amounts(opp)
        raise ToolError(f"the edge is gone: at the current books {normalize(want)} of every leg costs {amt(cost)} "
                        f"and pays {amt(payout)} (profit {amt(profit)}); nothing was proposed")
    refs = scan.legs[opp.id]
    # the thinnest leg first: if anything fails to fill, it is most likely that one, and then nothing else has
    # been bought yet
    specs = [LegSpec(market=refs[i].market, outcome=refs[i].outcome, side=refs[i].side,
                     limit_price=legs[i].limit_price, size=want, venue=refs[i].market.venue,
                     time_in_force="FAK") for i in thinnest_first(legs, books)]
    can = client_can_elicit(ctx)
    try:
        rec = await propose_intent(state, specs, client_can_elicit=can, risk_free=opp.risk_free)
    except Exception as exc:  # noqa: BLE001 - the one translator says it
        raise to_tool_error(exc, action="complete this order call",
                            after="check get_order or list_orders before trying again") from None
    how = await confirmation_instructions(state, rec, client_can_elicit=can)
    out = BundleOut(opportunity_id=opp.id, kind=opp.kind.value, size=want, expected_cost=cost,
                    guaranteed_payout=payout, expected_profit=profit, intent=intent_out(rec, [], how))
    return tool_result(out, _bundle_head(opp, len(specs), want, cost, payout, profit) + "\n"
                       + intent_text(rec, [], how))


def register(mcp: MCPServer) -> None:
    mcp.tool(title=FIND.title, annotations=FIND)(find_arbitrage)
    mcp.tool(title=PROPOSE.title, annotations=PROPOSE)(propose_bundle)
