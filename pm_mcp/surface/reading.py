"""submit_reading: the assistant's own reading of a market's rules, verified by the server (pm_mcp.domain.reading)
and stored with the market's rules hash (pm_mcp.markets.readings); ``reading_for`` is how assess_market and
compare_rules (pm_mcp.surface.rules) fetch a stored reading and compose it with the deterministic analysis."""

# No `from __future__ import annotations` here (see pm_mcp.surface.rules): annotations stay objects.

import logging
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from pm_mcp.domain.models import Market
from pm_mcp.domain.reading import (
    FIELDS,
    MAX_ITEMS,
    ReadingItem,
    ReadingRejected,
    VerifiedReading,
    apply_reading,
    reading_lines,
    verify_reading,
)
from pm_mcp.domain.rules import RuleAnalysis, market_rule_text
from pm_mcp.domain.rules import parse_rules as parse_rule_text
from pm_mcp.domain.untrusted import clean_inline, quote_inline
from pm_mcp.markets.readings import ReadingStore
from pm_mcp.surface.common import MarketRef, VenueArg, app_state, markets_of, split_venue, to_tool_error
from pm_mcp.surface.render import ToolError, bound_text, tool_result
from pm_mcp.surface.schema import BRIEF, CHOICES

__all__ = ["submit_reading", "reading_for", "register"]

log = logging.getLogger(__name__)

# writes our own store only (a reading replaces the market's earlier one); reads the venue for the market
SUBMIT = ToolAnnotations(title="Submit a rules reading (verified)", read_only_hint=False, destructive_hint=False,
                         idempotent_hint=True, open_world_hint=True)
SHOWN_ERRORS = 6


class ReadingMarket(MarketRef):
    pass  # the one market reference, under the name this tool's output schema has always given it


class ReadingOut(BaseModel):
    market: ReadingMarket
    reading: VerifiedReading
    clarity_before: float = Field(description="parse_rules' settlement clarity")
    clarity_after: float = Field(description="the clarity assess_market now uses, with this reading")
    stored: bool


# --- used by assess_market / compare_rules ---------------------------------------------------------------------
async def reading_for(ctx: Context, m: Market | None, a: RuleAnalysis, side: str = ""
                      ) -> tuple[RuleAnalysis, VerifiedReading | None, list[str]]:
    """The market's stored verified reading composed with its analysis, the reading, and the lines that show it
    (none for pasted text or without a reading). A reading of earlier rules is named as no longer applying."""
    if m is None:
        return a, None, []
    label = f"{side} verified reading".strip().capitalize() if side else "Verified reading"
    try:
        reading, stale = await ReadingStore(app_state(ctx).store).get(m.venue, m.id, a.rules_hash)
    except Exception as exc:  # noqa: BLE001 - a reading is an addition: the answer goes on without it
        log.warning("could not read the verified reading of %s:%s: %s", m.venue, m.id, exc)
        return a, None, [f"{label}: could not be read ({clean_inline(str(to_tool_error(exc)), 160)})"]
    if reading is None:
        return a, None, ([f"{label}: one was stored for an earlier version of these rules (hash {stale[:12]}...); "
                          "it no longer applies: submit_reading again"] if stale else [])
    return apply_reading(a, reading), reading, reading_lines(reading, label)


# --- submit_reading ----------------------------------------------------------------------------------------------
async def _market(ctx: Context, ref: str, venue: str | None) -> Market:
    if not ref or not ref.strip():
        raise ToolError("market is missing: pass a market id, ticker, slug or URL.")
    try:
        return await markets_of(ctx).get_market(ref.strip(), venue)
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="get the market") from None


def _rejected(exc: ReadingRejected) -> ToolError:
    shown = exc.errors[:SHOWN_ERRORS]
    more = len(exc.errors) - len(shown)
    return ToolError(bound_text("reading rejected, nothing stored: " + "; ".join(shown)
                                + (f"; and {more} more" if more else "")
                                + ". Quote the exact words of the rules or title (parse_rules shows them)."))


def _text(m: Market, out: ReadingOut) -> str:
    r = out.reading
    counts = ", ".join(f"{len(r.of(v))} {v}" for v in ("agree", "adds", "review") if r.of(v))
    lines = [f"{quote_inline(m.title)} ({m.venue} id={clean_inline(m.id, 100)})",
             f"Reading verified and stored ({counts}); rules_hash {r.rules_hash}",
             *reading_lines(r),
             f"Settlement clarity {out.clarity_before:.2f} -> {out.clarity_after:.2f} with this reading "
             "(assess_market and compare_rules use it until the rules change)."]
    if r.of("review"):
        lines.append("REVIEW: the parser reads those fields differently; neither is chosen: read the rules.")
    return "\n".join(lines)


async def submit_reading(
    ctx: Context,
    market: Annotated[str, Field(description="id or URL")],
    reading: Annotated[list[ReadingItem], Field(
        description=f"1-{MAX_ITEMS} {{field: {'|'.join(FIELDS)}, quote: exact words (both required), value: what "
                    "they say, at: offset}", min_length=1, max_length=MAX_ITEMS), BRIEF],
    venue: Annotated[VenueArg | None, CHOICES] = None,
) -> Annotated[CallToolResult, ReadingOut]:
    """Your reading of rules parse_rules left UNKNOWN: each quote is checked against the rules."""
    market, venue = split_venue(market, venue)
    m = await _market(ctx, market, venue)
    rules = market_rule_text(m)
    a = parse_rule_text(rules, venue=m.venue, market=m)
    try:
        verified = verify_reading(reading, analysis=a, rules=rules, title=m.title or "",
                                  default_year=m.close_time.year if m.close_time else None)
    except ReadingRejected as exc:
        raise _rejected(exc) from None
    verified = verified.model_copy(update={"venue": m.venue, "market_id": m.id})
    try:
        await ReadingStore(app_state(ctx).store).put(verified)
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="store the reading") from None
    out = ReadingOut(market=ReadingMarket.of(m), reading=verified,
                     clarity_before=a.clarity, clarity_after=apply_reading(a, verified).clarity, stored=True)
    return tool_result(out, _text(m, out))


def register(mcp: MCPServer) -> None:
    mcp.tool(title="Submit a rules reading", annotations=SUBMIT)(submit_reading)
