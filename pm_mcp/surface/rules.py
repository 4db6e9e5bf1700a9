"""Rule tools: parse_rules, compare_rules, assess_market. Thin: fetch through the market service
(markets_of(ctx)), compute with pm_mcp.domain.rules / rules_compare / scorecard, write the text."""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.
#
# A tool's docstring is its description on the wire (the SDK sends ``__doc__`` as it is): the continuation
# lines keep the 8-space indent they had when the tools were nested in register(), so tools/list is unchanged.

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from pm_mcp.domain.models import Market, OrderBook
from pm_mcp.domain.money import in_currency
from pm_mcp.domain.reading import review_comparison
from pm_mcp.domain.rules import RuleAnalysis, Span, Status, market_rule_text
from pm_mcp.domain.rules import parse_rules as parse_rule_text
from pm_mcp.domain.rules_compare import RuleComparison
from pm_mcp.domain.rules_compare import compare_rules as compare_analyses
from pm_mcp.domain.scorecard import Scorecard
from pm_mcp.domain.scorecard import assess_market as score_market
from pm_mcp.domain.untrusted import VENUE_TEXT_LABEL, clean_inline, quote_inline, quote_label
from pm_mcp.surface.common import READ_OPEN, MarketRef, VenueArg, markets_of, split_venue, to_tool_error
from pm_mcp.surface.reading import reading_for
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import LEGACY

__all__ = ["parse_rules", "compare_rules", "assess_market", "register", "render_analysis", "market_line"]

# a venue argument: one of the registry's venue names, in its order (the enum in the tools' input schemas)
MAX_TEXT = 20_000
# the one line that says what the quotes in a rule analysis are (pm_mcp.domain.untrusted's convention)
QUOTES_NOTE = f'Quotes "..." are {VENUE_TEXT_LABEL}; @N = offset in the rules.'
# The tools are READ_OPEN: read-only (so idempotent), open-world because with a market id they read a venue.


class ParseOut(BaseModel):
    market: MarketRef | None = None
    analysis: RuleAnalysis


class CompareOut(BaseModel):
    comparison: RuleComparison
    a_market: MarketRef | None = None
    b_market: MarketRef | None = None
    a: RuleAnalysis
    b: RuleAnalysis


class AssessOut(BaseModel):
    scorecard: Scorecard
    analysis: RuleAnalysis
    warnings: list[str] = Field(default_factory=list)


# --- helpers -------------------------------------------------------------------------------------------
async def _fetch(ctx: Context, ref: str, venue: str | None) -> Market:
    try:
        return await markets_of(ctx).get_market(ref, venue)
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="get the market") from None


def _check_text(text: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise ToolError(f"{what} is {len(text)} characters; the limit is {MAX_TEXT}. Paste the resolution "
                        "section only, or pass the market id instead.")
    if not text.strip():
        raise ToolError(f"{what} is empty: pass the rule text, or a market (venue + id, or its URL).")
    return text


async def _analyse(ctx: Context, market: str | None, venue: str | None, text: str | None,
                   side: str = "") -> tuple[Market | None, RuleAnalysis]:
    label = f"{side} " if side else ""
    if market and text:
        raise ToolError(f"give {label}market OR {label}text, not both (text is for pasted rules).")
    if text is not None:
        return None, parse_rule_text(_check_text(text, f"{label}text".strip()), venue=venue)
    if not market or not market.strip():
        raise ToolError(f"{label}market is missing: pass a market id / URL (with venue if it is not a URL), "
                        f"or the rule text as {label}text.".replace("  ", " "))
    m = await _fetch(ctx, market.strip(), venue)
    return m, parse_rule_text(market_rule_text(m), venue=m.venue, market=m)


def _q(sp: Span | None, n: int = 90) -> str:
    """A span of the venue's text, quoted (pm_mcp.domain.untrusted.quote_inline) with where it is."""
    if sp is None:
        return ""
    where = f"@{sp.start}" if sp.part == "rules" else sp.part
    return f" {quote_inline(sp.quote, n)} ({where})"


def _c(text: object, n: int = 120) -> str:
    """Words the analysis took from the venue's text (names, references, notes): one clean capped line."""
    return clean_inline(text, n)


def _quote_labels(text: str, labels: list[str]) -> str:
    """Our sentence that names outcome labels: the odd ones (long, several words) quoted in place."""
    for label in sorted(set(labels), key=len, reverse=True):
        if label and label in text and quote_label(label) != label:
            text = text.replace(label, quote_label(label))
    return text


def _quote_spans(text: str, spans: list[Span]) -> str:
    """Our sentence that cites the venue's words as 'x' (the spans it came from): those quoted our way."""
    for q in sorted({sp.quote for sp in spans if sp.quote}, key=len, reverse=True):
        text = text.replace(f"'{q}'", quote_inline(q, 60))
    return text


def market_line(m: Market) -> str:
    """A market named in a rule tool's answer: the title quoted, then venue and id."""
    return f"{quote_inline(m.title)} ({m.venue} id={_c(m.id, 100)})"


def render_analysis(a: RuleAnalysis, header: str | None = None) -> list[str]:
    lines = [header] if header else []
    lines.append(QUOTES_NOTE)
    lines.append(f"Settlement clarity {a.clarity:.2f}: " + "; ".join(_c(r, 200) for r in a.clarity_reasons[:5]))
    if a.sources.status == Status.FOUND:
        lines.append("Source: " + "; ".join(f"{_c(i.name, 60)}{'' if i.role == 'primary' else f' [{i.role}]'}"
                                            f"{_q(i.span, 60)}" for i in a.sources.items[:6]))
    else:
        lines.append(f"Source: UNKNOWN in the rules ({_c(a.sources.note, 200)})"
                     + (f" | venue metadata: {quote_inline(a.sources.metadata, 120)}"
                        if a.sources.metadata and not a.sources.venue_items else ""))
    if a.sources.venue_items:
        lines.append("Venue's own settlement data: " + "; ".join(
            f"{_c(i.name, 60)}{'' if i.role == 'primary' else f' [{i.role}]'}" for i in a.sources.venue_items[:4]))
    if a.oracle:
        lines.append(f"Oracle: {_c(a.oracle.name, 60)} ({_c(a.oracle.basis, 160)})")
    c = a.condition
    if c.status == Status.UNKNOWN:
        lines.append(f"Condition: UNKNOWN ({_c(c.note, 200)})")
    else:
        th = c.threshold
        th_text = "none (event market)" if th is None else (
            f"{th.comparator} {th.value if th.value is not None else _c(th.reference, 60)}"
            f"{' ' + _c(th.unit, 20) if th.unit else ''}" + _q(th.span, 60))
        yes = _q(c.yes_span, 160) or " (see threshold)"
        lines.append(f"Condition [{c.status.value}]: YES if{yes} | threshold: {th_text}")
        if c.conflicts:
            lines.append("  CONFLICT: title says " + "; ".join(
                f"{t.comparator} {t.value}{_q(t.span, 60)}" for t in c.conflicts[:4]) + " - review the rules")
    d = a.deadline
    if d.value is None:
        lines.append(f"Deadline: UNKNOWN ({_c(d.note, 200)})")
    else:
        v = d.value
        when = f"{v.date or '?'}" + (f" {_c(v.time, 20)}" if v.time else "") + (f" {_c(v.tz_label, 20)}"
                                                                                  if v.tz_label else "")
        utc = f" = {v.utc.isoformat().replace('+00:00', 'Z')}" if v.utc else ""
        lines.append(f"Deadline [{d.status.value}, {v.kind}]: {when}{utc}{_q(v.span, 60)}"
                     + (f" ({_c(v.note, 200)})" if v.note else ""))
        if d.cutoff and d.cutoff is not v:
            lines.append(f"  fallback cutoff: {d.cutoff.date} {_c(d.cutoff.time or '', 20)} "
                         f"{_c(d.cutoff.tz_label or '', 20)}".rstrip())
    if d.early_resolution is not None:
        lines.append(f"Early resolution: {'possible' if d.early_resolution else 'no'}{_q(d.early_resolution_span, 70)}")
    else:
        lines.append("Early resolution: not stated")
    if a.edge_cases:
        lines.append("Edge cases: " + "; ".join(
            f"{e.kind}" + (f" -> {quote_label(e.outcome)}" if e.outcome else "") for e in a.edge_cases[:8]))
    else:
        lines.append("Edge cases: none stated (ties/postponement/cancellation unhandled: review the rules)")
    mo = a.multi_outcome
    lines.append(f"Outcomes: {mo.kind}" + (f" ({', '.join(quote_label(o) for o in mo.outcomes[:6])}"
                                           + (f", +{len(mo.outcomes) - 6} more" if len(mo.outcomes) > 6 else "")
                                           + ")" if mo.outcomes else "")
                 + (f"; other-rule{_q(mo.other_rule, 60)}" if mo.other_rule else "")
                 + (f" | {_c(mo.note, 200)}" if mo.note else ""))
    if a.ambiguity:
        lines.append("Ambiguity: " + "; ".join(f"{f.kind}{_q(f.span, 50)}" for f in a.ambiguity[:6]))
    ev = getattr(a, "clarity_evidence", None)
    if ev is not None and (ev.missing or ev.contested):
        lines.append("Clarity rests on: missing " + (", ".join(_c(x, 60) for x in ev.missing[:6]) or "nothing")
                     + ("; contested " + ", ".join(_c(x, 60) for x in ev.contested[:4]) if ev.contested else ""))
    if a.review:
        lines.append("Review the rules for: " + ", ".join(_c(r, 80) for r in a.review[:10]))
    lines.append(f"rules_hash {a.rules_hash}")
    return lines


# --- parse_rules ---------------------------------------------------------------------------------------------
async def parse_rules(
    ctx: Context,
    market: Annotated[str | None, Field(description="id or URL")] = None,
    venue: Annotated[VenueArg | None, Field(description="venue")] = None,
    text: Annotated[str | None, Field(description="rule text instead")] = None,
) -> Annotated[CallToolResult, ParseOut]:
    """Rules read into quoted fields (source, YES condition, threshold, deadline, edge cases) and a clarity
    score 0-1; UNKNOWN means read the rules. Call before estimating a probability."""
    m, a = await _analyse(ctx, market, venue, text)
    out = ParseOut(market=MarketRef.of(m) if m else None, analysis=a)
    header = market_line(m) if m else f"Pasted rule text ({a.text_length} chars)"
    return tool_result(out, "\n".join(render_analysis(a, header)))


# --- compare_rules -------------------------------------------------------------------------------------------
def comparison_text(cmp: RuleComparison, ma: Market | None, mb: Market | None, aa: RuleAnalysis,
                    ab: RuleAnalysis) -> str:
    """compare_rules' text: the verdict, both markets, each difference quoting both rule texts."""
    name_a = f"A: {market_line(ma)}" if ma else "A: pasted text"
    name_b = f"B: {market_line(mb)}" if mb else "B: pasted text"
    lines = [f"Verdict: {cmp.verdict.replace('_', ' ').upper()} | YES mapping: {cmp.mapping}"]
    if cmp.verdict == "equivalent" and cmp.edge:
        lines.append(_c(cmp.edge, 400))  # what differs outside the normal case, said first
    lines += [name_a, name_b, QUOTES_NOTE]
    # what decides the verdict first; differences that do not block EQUIVALENT say so
    order = sorted(cmp.differences, key=lambda d: (d.severity != "hard", not (d.severity == "soft" and d.core)))
    for d in order[:10]:
        qa = "; ".join(_q(s, 60).strip() for s in d.a[:2])
        qb = "; ".join(_q(s, 60).strip() for s in d.b[:2])
        tag = f"{d.severity}, not blocking" if d.severity == "soft" and not d.core else d.severity
        lines.append(f"- [{tag}] {d.field}: {_c(_quote_spans(d.detail, d.a + d.b), 240)}"
                     + (f"\n    A: {qa}" if qa else "")
                     + (f"\n    B: {qb}" if qb else ""))
    if not cmp.differences:
        lines.append("No differences in source, condition, deadline, edge cases or outcome structure.")
    lines.append(f"Clarity A {aa.clarity:.2f}, B {ab.clarity:.2f}")
    return "\n".join(lines)


async def compare_rules(
    ctx: Context,
    a: Annotated[str | None, Field(description="market A id or URL")] = None,
    b: Annotated[str | None, Field(description="market B")] = None,
    a_venue: Annotated[VenueArg | None, LEGACY] = None,
    b_venue: Annotated[VenueArg | None, LEGACY] = None,
    a_text: Annotated[str | None, Field(description="A's rule text instead")] = None,
    b_text: Annotated[str | None, Field(description="B's rule text")] = None,
    a_outcome: Annotated[str | None, Field(description="A's outcome bet on (Yes)", max_length=100)] = None,
    b_outcome: Annotated[str | None, Field(description="B's", max_length=100)] = None,
) -> Annotated[CallToolResult, CompareOut]:
    """Do two markets settle the same way? equivalent / not_equivalent / uncertain, the YES mapping, each
    difference quoting both rules. Call before treating two prices as one bet."""
    (a, a_venue), (b, b_venue) = split_venue(a, a_venue, "a"), split_venue(b, b_venue, "b")
    (ma, aa), (mb, ab) = await asyncio.gather(_analyse(ctx, a, a_venue, a_text, "a"),
                                              _analyse(ctx, b, b_venue, b_text, "b"))
    # each side's stored verified reading (pm_mcp.surface.reading), composed in; its disagreements are differences
    (aa, ra, la), (ab, rb, lb) = await asyncio.gather(reading_for(ctx, ma, aa, "A"), reading_for(ctx, mb, ab, "B"))
    cmp = compare_analyses(aa, ab, a_outcome=_outcome(a_outcome, "a_outcome"),
                           b_outcome=_outcome(b_outcome, "b_outcome"),
                           a_close=ma.close_time if ma else None, b_close=mb.close_time if mb else None)
    cmp = review_comparison(cmp, ra, rb)
    out = CompareOut(comparison=cmp, a_market=MarketRef.of(ma) if ma else None, b_market=MarketRef.of(mb) if mb else None,
                     a=aa, b=ab)
    return tool_result(out, "\n".join([comparison_text(cmp, ma, mb, aa, ab), *la, *lb]))


def _outcome(value: str | None, arg: str) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = clean_inline(value.strip(), 100)
    if cleaned != value.strip():
        raise ToolError(f"{arg} must be an outcome's name as the market writes it (plain text, at most 100 "
                        f"characters): got {quote_inline(value[:40])}")
    return cleaned


# --- assess_market -------------------------------------------------------------------------------------------
async def _scored_books(ctx: Context, m: Market, warnings: list[str]) -> list[OrderBook]:
    """The first two outcomes' books (none once the market is resolved); a book that fails is a warning."""
    if m.status.value == "resolved":
        return []
    svc = markets_of(ctx)

    async def book(label: str) -> OrderBook | None:
        try:
            return await svc.get_order_book(m, label)
        except Exception as exc:  # noqa: BLE001 - reported, the scorecard goes on without it
            warnings.append(f"book {label}: {to_tool_error(exc)}")
            return None

    return [b for b in await asyncio.gather(*(book(o.label) for o in m.outcomes[:2])) if b is not None]


def assessment_text(m: Market, out: AssessOut) -> str:
    """assess_market's text: the verdict and tier cap, the reasons, the books, the warnings."""
    card, a = out.scorecard, out.analysis
    lines = [market_line(m),
             f"Verdict: {card.verdict.upper()} | tier cap: {card.tier_cap.max_tier} ({_c(card.tier_cap.note, 200)})"]
    lines += [f"- {_c(_quote_labels(r, [o.label for o in m.outcomes]), 300)}" for r in card.reasons]
    for q in card.books:
        lines.append(f"Book {quote_label(q.outcome)}: bid {q.best_bid} / ask {q.best_ask}, spread {q.spread}, "
                     f"within 2c: {in_currency(q.bid_depth_usd, m.currency)} bid / "
                     f"{in_currency(q.ask_depth_usd, m.currency)} ask")
    lines += [f"warning: {_c(w, 300)}" for w in out.warnings]
    lines.append(f"rules_hash {a.rules_hash} (store it with an intent; re-check before submitting)")
    return "\n".join(lines)


async def assess_market(
    market: Annotated[str, Field(description="id or URL")],
    ctx: Context,
    venue: Annotated[VenueArg | None, Field(description="venue")] = None,
) -> Annotated[CallToolResult, AssessOut]:
    """Is it worth trading? Scores rule clarity, liquidity, time and manipulation risk: participate / caution /
    avoid, reasons, and tier_cap (the highest sizing tier). Call before propose_order."""
    if not market or not market.strip():
        raise ToolError("market is missing: pass a market id, ticker, slug or URL.")
    m = await _fetch(ctx, market.strip(), venue)
    warnings: list[str] = []
    books = await _scored_books(ctx, m, warnings)
    a = parse_rule_text(market_rule_text(m), venue=m.venue, market=m)
    a, _reading, lines = await reading_for(ctx, m, a)  # a stored verified reading, composed in
    card = score_market(m, books, a, datetime.now(UTC))
    out = AssessOut(scorecard=card, analysis=a, warnings=warnings)
    return tool_result(out, "\n".join([assessment_text(m, out), *lines]))


# --- registration ----------------------------------------------------------------------------------------------
def register(mcp: MCPServer) -> None:
    mcp.tool(title="Parse market rules", annotations=READ_OPEN)(parse_rules)
    mcp.tool(title="Compare market rules", annotations=READ_OPEN)(compare_rules)
    mcp.tool(title="Assess market (scorecard)", annotations=READ_OPEN)(assess_market)
