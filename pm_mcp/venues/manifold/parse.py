"""Manifold API v0 JSON -> our models, and the CPMM maths. Pure: no I/O, no clock reads.

Facts (research/kalshi_manifold.md section 2; manifold common/src/calculate-cpmm.ts):
- A binary ``cpmm-1`` market is a pool ``{YES: y, NO: n}`` with weight ``p``; the invariant is
  ``k = y^p * n^(1-p)`` and the probability is ``p*n / ((1-p)*y + p*n)``. We compute it from the pool
  (Decimal) and fall back to the ``probability`` field only when there is no pool.
- ``cpmm-multi-1`` answers each carry ``poolYes``/``poolNo`` with p = 0.5 (and ``prob``).
- Money is mana (play money). There are no trading fees. ``limitProb`` is in whole percents, so the
  price tick is 0.01; the minimum bet is M1 (an amount, not a share count).
- Times are milliseconds since the epoch.

Manifold has no order book. :func:`cpmm_book` SYNTHESIZES one from the pool: each ask level is the
slice of YES shares the AMM sells while moving the probability up by one percentage point (price =
mana spent / shares bought over the slice), each bid level the slice that moves it down (a YES sale is
a NO purchase plus redemption of YES+NO pairs, so its price is 1 - the NO price). Resting limit
orders are NOT included (the market's ``probability`` ignores them too); the book is marked
``derived``. On sums-to-one multiple-choice markets Manifold re-arbitrages the other answers after each
bet, so the single-answer ladder understates the price move: use ``dryRun`` for an exact quote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Any

from pm_mcp.domain.fees import NO_FEES
from pm_mcp.domain.models import BookLevel, Market, MarketStatus, OrderBook, Outcome
from pm_mcp.domain.money import decimal_or_none

VENUE = "manifold"
WEB = "https://manifold.markets"
ONE = Decimal(1)
ZERO = Decimal(0)
PCT = Decimal("0.01")
MIN_PROB = Decimal("0.01")  # MIN_CPMM_PROB: bets cannot move a market outside [0.01, 0.99]
MAX_PROB = Decimal("0.99")
PRICE_Q = Decimal("0.0001")
PROB_Q = Decimal("0.000001")  # probabilities shown to 6 dp (the pool maths keeps full precision)
SIZE_Q = Decimal("0.01")
BOOK_LEVELS = 10


dec = decimal_or_none  # venue JSON value -> Decimal, None for blanks or garbage


def utc_ms(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


# --- references -------------------------------------------------------------------------------------

_WEB_RE = re.compile(r"^(?:https?://)?(?:www\.)?manifold\.markets/(?P<path>[^?#]*)", re.I)
_API_RE = re.compile(r"^(?:https?://)?api\.manifold\.markets/v0/(?P<kind>market|slug)/(?P<value>[^/?#]+)", re.I)
ID_RE = re.compile(r"^[A-Za-z0-9]{8,24}$")

# first path segments of manifold.markets that are not user names
_NOT_USERS = {"browse", "questions", "search", "home", "news", "leaderboards", "about", "topics", "api",
              "markets", "embed", "create", "notifications", "messages", "profile", "admin", "live"}


def parse_ref(ref: str) -> tuple[str, str] | None:
    """A Manifold reference -> ("slug", slug) or ("id", market id), or None if it is not Manifold's.

    Accepts manifold.markets/<user>/<slug> (also /embed/<user>/<slug>), api.manifold.markets/v0/market/<id>
    and /v0/slug/<slug>, and ``manifold:<id or slug>``. A bare slug or id is NOT claimed (it could be
    another venue's): pass it with venue="manifold" to :meth:`ManifoldAdapter.get_market`."""
    s = (ref or "").strip()
    if not s:
        return None
    m = _API_RE.match(s)
    if m:
        return ("id" if m.group("kind").lower() == "market" else "slug", m.group("value"))
    m = _WEB_RE.match(s)
    if m:
        parts = [p for p in m.group("path").split("/") if p]
        if parts and parts[0].lower() == "embed":
            parts = parts[1:]
        if len(parts) >= 2 and parts[0].lower() not in _NOT_USERS:
            return ("slug", parts[1])
        return None
    if s.lower().startswith("manifold:"):
        v = s.split(":", 1)[1].strip()
        if not v:
            return None
        return ("id", v) if ID_RE.match(v) and "-" not in v else ("slug", v)
    return None


# --- CPMM maths ---------------------------------------------------------------------------------------

def cpmm_probability(pool_yes: Decimal, pool_no: Decimal, p: Decimal) -> Decimal:
    """p*n / ((1-p)*y + p*n)."""
    denom = (ONE - p) * pool_yes + p * pool_no
    if denom <= 0:
        raise ValueError("empty CPMM pool")
    return p * pool_no / denom


def _pow(x: Decimal, y: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return x ** y


def _ratio(q: Decimal, p: Decimal) -> Decimal:
    # y'/n' at probability q: p*n'*(1-q) = q*(1-p)*y'
    return p * (ONE - q) / (q * (ONE - p))


def cpmm_buy_yes_to(pool_yes: Decimal, pool_no: Decimal, p: Decimal, q: Decimal) -> tuple[Decimal, Decimal]:
    """Mana spent and YES shares received by buying YES until the probability is ``q`` (> current)."""
    with localcontext() as ctx:
        ctx.prec = 40
        k = _pow(pool_yes, p) * _pow(pool_no, ONE - p)
        r = _ratio(q, p)
        n_new = k / _pow(r, p)
        amount = n_new - pool_no
        y_new = r * n_new
        shares = pool_yes + amount - y_new
        return amount, shares


def cpmm_buy_no_to(pool_yes: Decimal, pool_no: Decimal, p: Decimal, q: Decimal) -> tuple[Decimal, Decimal]:
    """Mana spent and NO shares received by buying NO until the probability is ``q`` (< current)."""
    with localcontext() as ctx:
        ctx.prec = 40
        k = _pow(pool_yes, p) * _pow(pool_no, ONE - p)
        r = _ratio(q, p)
        y_new = k * _pow(r, ONE - p)
        amount = y_new - pool_yes
        n_new = y_new / r
        shares = pool_no + amount - n_new
        return amount, shares


def _targets_up(prob: Decimal, levels: int) -> list[Decimal]:
    first = (prob / PCT).to_integral_value(rounding=ROUND_FLOOR) * PCT + PCT
    return [t for t in (first + PCT * i for i in range(levels)) if t <= MAX_PROB]


def _targets_down(prob: Decimal, levels: int) -> list[Decimal]:
    first = (prob / PCT).to_integral_value(rounding=ROUND_CEILING) * PCT - PCT
    return [t for t in (first - PCT * i for i in range(levels)) if t >= MIN_PROB]


def cpmm_ladder(pool_yes: Decimal, pool_no: Decimal, p: Decimal, *, levels: int = BOOK_LEVELS
                ) -> tuple[list[BookLevel], list[BookLevel]]:
    """(bids, asks) for the YES side of a CPMM pool, best first, one level per percentage point.

    Ask price = average price of the YES shares bought over the slice (rounded UP to 0.0001); bid price =
    1 - average price of the NO shares over the slice (rounded DOWN). Sizes are shares, floored to 0.01."""
    prob = cpmm_probability(pool_yes, pool_no, p)
    asks = _ladder_side(_targets_up(prob, levels), lambda q: cpmm_buy_yes_to(pool_yes, pool_no, p, q),
                        lambda avg: avg.quantize(PRICE_Q, rounding=ROUND_CEILING))
    bids = _ladder_side(_targets_down(prob, levels), lambda q: cpmm_buy_no_to(pool_yes, pool_no, p, q),
                        lambda avg: (ONE - avg).quantize(PRICE_Q, rounding=ROUND_FLOOR))
    return bids, asks


def _ladder_side(targets: Sequence[Decimal], buy_to: Callable[[Decimal], tuple[Decimal, Decimal]],
                 price_of: Callable[[Decimal], Decimal]) -> list[BookLevel]:
    """One level per slice between consecutive target probabilities: ``buy_to(q)`` is (mana spent, shares
    bought) to move the pool to q; the level's price is ``price_of`` the slice's average price, its size
    the slice's shares (floored to 0.01). Empty slices and levels priced at 0 are left out."""
    out: list[BookLevel] = []
    spent, got = ZERO, ZERO
    for q in targets:
        amount, shares = buy_to(q)
        d_amt, d_sh = amount - spent, shares - got
        if d_sh > 0 and d_amt > 0:
            price = price_of(d_amt / d_sh)
            size = d_sh.quantize(SIZE_Q, rounding=ROUND_FLOOR)
            if size > 0 and price > 0:
                out.append(BookLevel(price=price, size=size))
        spent, got = amount, shares
    return out


def mirror(bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> tuple[list[BookLevel], list[BookLevel]]:
    """The NO side of a YES book: NO bids = 1 - YES asks, NO asks = 1 - YES bids (best first stays best first)."""
    return ([BookLevel(price=ONE - a.price, size=a.size) for a in asks],
            [BookLevel(price=ONE - b.price, size=b.size) for b in bids])


# --- rich text ------------------------------------------------------------------------------------------

_BLOCKS = {"paragraph", "heading", "listItem", "blockquote", "codeBlock", "horizontalRule"}


def tiptap_text(node: Any) -> str:
    """Plain text of a TipTap (ProseMirror) JSON document: text nodes joined, blocks on their own lines."""
    out: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, str):
            out.append(n)
            return
        if isinstance(n, list):
            for c in n:
                walk(c)
            return
        if not isinstance(n, Mapping):
            return
        kind = n.get("type")
        if kind == "text":
            out.append(str(n.get("text") or ""))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind == "mention":
            attrs = n.get("attrs") or {}
            out.append("@" + str(attrs.get("label") or attrs.get("id") or ""))
        if kind == "listItem":
            out.append("- ")
        walk(n.get("content") or [])
        if kind in _BLOCKS:
            out.append("\n")

    walk(node)
    text = "".join(out)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def description_text(raw: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(rule text, {source field: text}): ``textDescription`` when given, else the description
    (a plain string in old markets, TipTap JSON in new ones)."""
    text = raw.get("textDescription")
    if isinstance(text, str) and text.strip():
        return text.strip(), {"textDescription": text.strip()}
    desc = raw.get("description")
    if isinstance(desc, str) and desc.strip():
        return desc.strip(), {"description": desc.strip()}
    if isinstance(desc, (Mapping, list)):
        flat = tiptap_text(desc)
        if flat:
            return flat, {"description": flat}
    return "", {}


# --- markets ----------------------------------------------------------------------------------------------

def binary_probability(raw: Mapping[str, Any]) -> Decimal | None:
    pool = raw.get("pool")
    p = dec(raw.get("p"))
    if isinstance(pool, Mapping) and p is not None:
        y, n = dec(pool.get("YES")), dec(pool.get("NO"))
        if y is not None and n is not None and y > 0 and n > 0:
            return cpmm_probability(y, n, p).quantize(PROB_Q)
    prob = dec(raw.get("probability"))
    return None if prob is None else prob.quantize(PROB_Q)


def answer_probability(answer: Mapping[str, Any]) -> Decimal | None:
    y, n = dec(answer.get("poolYes")), dec(answer.get("poolNo"))
    if y is not None and n is not None and y > 0 and n > 0:
        return cpmm_probability(y, n, Decimal("0.5")).quantize(PROB_Q)
    prob = dec(answer.get("prob", answer.get("probability")))
    return None if prob is None else prob.quantize(PROB_Q)


def _status(raw: Mapping[str, Any], now: datetime | None) -> MarketStatus:
    if raw.get("isResolved"):
        return MarketStatus.RESOLVED
    close = utc_ms(raw.get("closeTime"))
    if now is not None and close is not None and close <= now:
        return MarketStatus.CLOSED
    return MarketStatus.OPEN


def is_multi(raw: Mapping[str, Any]) -> bool:
    return bool(raw.get("answers")) or raw.get("mechanism") == "cpmm-multi-1" or \
        raw.get("outcomeType") in ("MULTIPLE_CHOICE", "FREE_RESPONSE")


def market_url(raw: Mapping[str, Any]) -> str | None:
    if raw.get("url"):
        return str(raw["url"])
    if raw.get("creatorUsername") and raw.get("slug"):
        return f"{WEB}/{raw['creatorUsername']}/{raw['slug']}"
    return None


def parse_market(raw: Mapping[str, Any], *, now: datetime | None = None) -> Market:
    """A LiteMarket or FullMarket -> Market. Binary: outcomes Yes/No; multiple choice: one outcome per
    answer (label = answer text, ``answer_id``; price = the answer's probability)."""
    market_id = str(raw["id"])
    url = market_url(raw)
    slug = raw.get("slug")
    if not slug and url:
        parsed = parse_ref(url)
        slug = parsed[1] if parsed and parsed[0] == "slug" else None
    rule_text, rule_sources = description_text(raw)
    outcomes: list[Outcome] = []
    multi = is_multi(raw)
    if multi:
        answers = sorted(raw.get("answers") or [], key=lambda a: (a.get("index", a.get("number", 0)) or 0))
        for a in answers:
            prob = answer_probability(a)
            outcomes.append(Outcome(label=str(a.get("text") or a.get("id")), answer_id=str(a.get("id")),
                                    side="YES", price=prob))
    else:
        prob = binary_probability(raw)
        outcomes = [Outcome(label="Yes", side="YES", price=prob),
                    Outcome(label="No", side="NO", price=None if prob is None else ONE - prob)]
    resolution = raw.get("resolution")
    resolved = None
    if raw.get("isResolved") and resolution:
        resolved = {"YES": "Yes", "NO": "No", "MKT": "MKT (resolved to a probability)",
                    "CANCEL": "N/A (cancelled)"}.get(str(resolution), str(resolution))
        if multi and not resolved.startswith(("MKT", "N/A")):
            for a in raw.get("answers") or []:
                if str(a.get("id")) == str(resolution):
                    resolved = str(a.get("text"))
    sums_to_one = bool(raw.get("shouldAnswersSumToOne")) or raw.get("outcomeType") == "FREE_RESPONSE"
    kind = "/".join(str(x).lower() for x in (raw.get("outcomeType"), raw.get("mechanism")) if x)
    return Market(
        id=market_id,
        venue=VENUE,
        title=str(raw.get("question") or market_id),
        slug=slug,
        outcomes=outcomes,
        status=_status(raw, now),
        close_time=utc_ms(raw.get("closeTime")),
        resolution_time=utc_ms(raw.get("resolutionTime")),
        volume=dec(raw.get("volume")),
        volume_24h=dec(raw.get("volume24Hours")),
        liquidity=dec(raw.get("totalLiquidity")),
        tick_size=PCT,
        min_order_size=ONE,  # M1, an amount of mana
        size_step=Decimal("0.01"),
        currency="MANA",  # play money: never added into USD
        volume_unit="MANA",
        venue_name="Manifold",
        fees=NO_FEES.model_copy(update={"note": "Manifold charges no trading fee; amounts are mana (play money)"}),
        group_id=market_id if multi and sums_to_one else None,
        mutually_exclusive=multi and sums_to_one,
        url=url,
        category=(raw.get("groupSlugs") or [None])[0],
        rule_text=rule_text,
        rule_sources=rule_sources,
        resolved_outcome=resolved,
        updated_at=utc_ms(raw.get("lastUpdatedTime")),
        raw_kind=kind or None,
    )


def book_for(raw: Mapping[str, Any], outcome: str, *, now: datetime | None = None,
             levels: int = BOOK_LEVELS) -> OrderBook:
    """The synthesized CPMM book of one outcome (see the module docstring). Binary: "Yes" / "No";
    multiple choice: an answer's text or id (its YES side). Raises ValueError when the market has no pool."""
    market_id = str(raw["id"])
    want = outcome.strip().lower()
    if is_multi(raw):
        for a in raw.get("answers") or []:
            if want in (str(a.get("text") or "").strip().lower(), str(a.get("id") or "").lower()):
                y, n = dec(a.get("poolYes")), dec(a.get("poolNo"))
                if y is None or n is None or y <= 0 or n <= 0:
                    raise ValueError(f"answer {a.get('text')!r} of Manifold market {market_id} has no CPMM pool "
                                     f"(mechanism {raw.get('mechanism')}), so there is no book to show")
                bids, asks = cpmm_ladder(y, n, Decimal("0.5"), levels=levels)
                return OrderBook(venue=VENUE, market_id=market_id, outcome=str(a.get("text")), bids=bids, asks=asks,
                                 timestamp=now, tick_size=PCT, min_order_size=ONE, derived=True)
        labels = ", ".join(repr(str(a.get("text"))) for a in raw.get("answers") or [])
        raise ValueError(f"Manifold market {market_id} has no answer {outcome!r}; its answers are: {labels}")
    if want not in ("yes", "no"):
        raise ValueError(f"Manifold binary markets have outcomes 'Yes' and 'No', not {outcome!r}")
    pool = raw.get("pool")
    p = dec(raw.get("p"))
    y = dec(pool.get("YES")) if isinstance(pool, Mapping) else None
    n = dec(pool.get("NO")) if isinstance(pool, Mapping) else None
    if p is None or y is None or n is None or y <= 0 or n <= 0:
        raise ValueError(f"Manifold market {market_id} has no CPMM pool (mechanism {raw.get('mechanism')}), "
                         "so there is no book to show")
    bids, asks = cpmm_ladder(y, n, p, levels=levels)
    if want == "no":
        bids, asks = mirror(bids, asks)
    return OrderBook(venue=VENUE, market_id=market_id, outcome="Yes" if want == "yes" else "No", bids=bids,
                     asks=asks, timestamp=now, tick_size=PCT, min_order_size=ONE, derived=True)
