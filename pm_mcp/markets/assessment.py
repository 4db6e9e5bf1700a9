"""The highest sizing tier a market allows, read from the market itself: the ONE function both
size_position(market=...) and every proposal (pm_mcp.execution.engine) take the tier ceiling from.

It scores the market as assess_market does (its first two outcomes' books, the parsed rules with the person's
verified reading composed in, pm_mcp.domain.scorecard) and returns the scorecard's tier cap with why. A book or
a stored reading that cannot be read is a note, never a failure: the scorecard goes on without it (a missing
book makes the verdict more cautious, not less).

    ceiling = await market_ceiling(state.markets, state.store, market)
    ceiling.max_tier, ceiling.reason, ceiling.notes
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pm_mcp.domain.models import Market, OrderBook
from pm_mcp.domain.reading import apply_reading
from pm_mcp.domain.rules import market_rule_text, parse_rules
from pm_mcp.domain.scorecard import Scorecard
from pm_mcp.domain.scorecard import assess_market as score_market
from pm_mcp.domain.untrusted import clean_inline
from pm_mcp.markets.readings import ReadingStore

__all__ = ["MarketCeiling", "market_ceiling"]

SHOWN_CAUSES = 2  # the reasons named in the "why" (the rest are in assess_market)


@dataclass(frozen=True)
class MarketCeiling:
    max_tier: str  # none, low, medium or high
    reason: str  # "assess_market says caution (...); caution: at most the medium tier"
    verdict: str
    clarity: float
    notes: tuple[str, ...]
    card: Scorecard


def _causes(card: Scorecard) -> list[str]:
    """The reasons that made the verdict what it is (the 'caution:' / 'avoid:' lines and the risk flags)."""
    want = "avoid:" if card.verdict == "avoid" else "caution:"
    picked = [r.removeprefix(want).strip() for r in card.reasons if r.startswith(want)]
    if card.verdict != "participate":
        picked += [f for f in card.risk_flags if f not in picked]
    return [clean_inline(c, 120) for c in picked[:SHOWN_CAUSES]]


async def market_ceiling(svc: Any, store: Any, m: Market, books: dict[str, OrderBook] | None = None
                         ) -> MarketCeiling:
    """The scorecard's tier cap for ``m`` and why. ``books``: outcome label -> a book already read (not read
    again); the others among the first two outcomes are read through ``svc``."""
    have = dict(books or {})
    notes: list[str] = []

    async def book(label: str) -> OrderBook | None:
        if label in have:
            return have[label]
        try:
            return await svc.get_order_book(m, label)
        except Exception:  # noqa: BLE001 - the scorecard goes on without it (and says so)
            notes.append(f"the {label} book could not be read for the assessment")
            return None

    read = [b for b in await asyncio.gather(*(book(o.label) for o in m.outcomes[:2])) if b is not None]
    analysis = parse_rules(market_rule_text(m), venue=m.venue, market=m)
    try:  # a reading the server verified (submit_reading) counts here as in assess_market
        reading, _stale = await ReadingStore(store).get(m.venue, m.id, analysis.rules_hash)
    except Exception:  # noqa: BLE001 - an addition: the ceiling goes on with the parser's reading (and says so)
        reading = None
        notes.append("the stored verified reading could not be read; the tier cap uses the parser's reading")
    if reading is not None:
        analysis = apply_reading(analysis, reading)
        notes.append("the tier cap includes your verified reading of the rules (submit_reading)")
    card = score_market(m, read, analysis, datetime.now(UTC))
    causes = _causes(card)
    why = f"assess_market says {card.verdict}" + (f" ({'; '.join(causes)})" if causes else "")
    return MarketCeiling(max_tier=card.tier_cap.max_tier, reason=f"{why}; {card.tier_cap.note}",
                         verdict=card.verdict, clarity=card.clarity, notes=tuple(notes), card=card)
