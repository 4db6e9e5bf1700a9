"""parse_rules: one market's rule text into cited fields."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from datetime import datetime
from typing import Any

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.clauses import _AMBIG, _EARLY_NO, _EARLY_YES, _EDGE, _OUTCOME_IN, _oracle_for, _yes_clause
from pm_mcp.domain.rules.deadlines import _deadline
from pm_mcp.domain.rules.evidence import evidence
from pm_mcp.domain.rules.flags import _Flags, _sentence_index
from pm_mcp.domain.rules.hashing import contract_hash, rules_hash
from pm_mcp.domain.rules.metadata import venue_items, words
from pm_mcp.domain.rules.models import (
    REVIEW,
    AmbiguityFlag,
    ConditionField,
    EdgeCase,
    RuleAnalysis,
    SourcesField,
    Status,
    Threshold,
)
from pm_mcp.domain.rules.outcomes import _multi_outcome
from pm_mcp.domain.rules.sentences import _span, split_sentences
from pm_mcp.domain.rules.sources import _find_sources, _sentence_of
from pm_mcp.domain.rules.terms import read_terms
from pm_mcp.domain.rules.thresholds import _RANGE_MARKET, _threshold_equivalent, _threshold_in

# the rules point at the title for a value (the prefilter skips it on most texts; matched exactly as re.I does)
_REFERS_TITLE = _rx(r"specified in the title|in the title|the listed (?:price|term|value)", re.I, exact_case=True)


_LIST_OF_CONDITIONS = re.compile(r"\b(?:any|either|one|all|both|each) of the following\b", re.I)
_OTHERWISE = re.compile(r"otherwise\b", re.I)
# a comparison of two quantities, no number: "If (100 - highest price) > lowest price"
_SYMBOLIC_CMP = re.compile(r"[\w)]\s*[<>]=?\s*(?![\d$-])[A-Za-z(]")


_UNDEFINED_REF = re.compile(r"\bthe (?:listed|specified|stated|given) (?P<what>price|threshold|value|level|number)\b|"
                            r"\bthe (?P<what2>resolution date)\b", re.I)
_SERIES_WORD = re.compile(r"\b(?:rate|index|report|reading|CPI|claims|payrolls)\b", re.I)
_MONTH_WORD = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
                         r"December|week|quarter|Q[1-4])\b")
_YEAR_ONLY = re.compile(r"\b(?:from|for) (?:19|20)\d\d\b(?![-/–])")
_HEADING = re.compile(r"^[ \t]*(?P<h>[A-Z][A-Za-z ]{2,40}?)[ \t]*:?[ \t]*$", re.M)
_BACKGROUND_HEADINGS = ("background", "considerations", "context", "additional context", "about")


def _background_ranges(text: str) -> list[tuple[int, int]]:
    """Offsets of the sections under a "Background" / "Considerations" heading line, up to the next heading."""
    heads = [(m.start(), m.end(), m.group("h").strip().lower()) for m in _HEADING.finditer(text)]
    out = []
    for k, (_, e, h) in enumerate(heads):
        if h in _BACKGROUND_HEADINGS:
            out.append((e, heads[k + 1][0] if k + 1 < len(heads) else len(text)))
    return out


# What each finding costs the clarity score (1 = every field found, nothing vague). Measured against a 1-5 human
# rating of texts nobody tuned on (tools/bench/REPORT.md): vague wording is what makes a text unclear to a reader;
# a field the parser did not find costs less (it may be the parser's miss), and stays in ``review``.
CLARITY_COST = {"source": 0.10, "source_meta": 0.08, "condition": 0.10, "deadline": 0.05, "contested": 0.20,
                "no_year": 0.05, "no_zone": 0.05, "no_time": 0.03, "vague_phrase": 0.15, "vague_cap": 0.60,
                "fallback": 0.02, "nothing_cap": 0.30}


def deadline_cost(tp) -> tuple[float, str | None]:
    """What a found deadline costs: no year / a time without a zone / no time of day (with the reason)."""
    if tp.date is None:
        return CLARITY_COST["no_year"], f"-{CLARITY_COST['no_year']:.2f} the deadline has no year"
    if tp.time is not None and tp.tz_label is None:
        return CLARITY_COST["no_zone"], f"-{CLARITY_COST['no_zone']:.2f} the deadline has a time but no time zone"
    if tp.time is None:
        return CLARITY_COST["no_time"], f"-{CLARITY_COST['no_time']:.2f} the deadline has no time of day / time zone"
    return 0.0, None


def vague_phrase_count(flags) -> int:
    """Distinct vague phrases: flags that overlap or sit within 3 characters of each other count once."""
    n, last = 0, -10
    for a, b in sorted((f.span.start, f.span.end) for f in flags if f.span.part == "rules"):
        if a > last + 3:
            n += 1
        last = max(last, b)
    return n + sum(1 for f in flags if f.span.part != "rules")


def _venue_label(market: Any, venue: str | None) -> str:
    return (getattr(market, "venue_name", None) if market is not None else None) or (venue or "the venue")


def parse_rules(text: str, *, venue: str | None = None, market: Any = None) -> RuleAnalysis:
    """Parse one market's rule text into cited fields. Pure and deterministic.

    ``market`` (optional, a pm_mcp Market or anything with ``title``, ``close_time``, ``neg_risk``,
    ``mutually_exclusive``, ``resolution_source``, ``id``, ``venue``) supplies the title and metadata.
    """
    text = text or ""
    if market is not None and venue is None:
        venue = getattr(market, "venue", None)
    title: str = (getattr(market, "title", None) or "") if market is not None else ""
    label: str | None = (getattr(market, "group_label", None) or None) if market is not None else None
    close_time = getattr(market, "close_time", None) if market is not None else None
    default_year = close_time.year if isinstance(close_time, datetime) else None
    sents = split_sentences(text)
    sent_at = _sentence_index(sents)
    _flags = _Flags()
    review: list[str] = []
    reasons: list[str] = []
    score = 1.0

    # --- sources
    items = _find_sources(text, sents)
    meta_sources: dict[str, str] = {}
    rs = getattr(market, "resolution_source", None) if market is not None else None
    if rs:
        meta_sources["resolution_source"] = str(rs)
    for key in ("settlement_sources", "contract_terms_url", "contract_url"):
        v = (getattr(market, "rule_sources", None) or {}).get(key) if market is not None else None
        if v:
            meta_sources[key] = str(v)
    v_items = venue_items(market)
    if items:
        sources = SourcesField(status=Status.FOUND, items=items, metadata=meta_sources, venue_items=v_items)
    else:
        sources = SourcesField(status=Status.UNKNOWN, metadata=meta_sources, venue_items=v_items,
                               note=(f"no resolution source named in the rule text: {REVIEW}" if not v_items else
                                     "no resolution source named in the rule text; the venue's metadata names: "
                                     + ", ".join(i.name for i in v_items if i.role != "contract_terms")))
    sources.words = words(sources)
    if not items:
        review.append("resolution source")
        score -= CLARITY_COST["source_meta" if meta_sources else "source"]
        reasons.append(f"-{CLARITY_COST['source']:.2f} no resolution source in the rule text" if not meta_sources
                       else f"-{CLARITY_COST['source_meta']:.2f} resolution source only in venue metadata, "
                            "not in the rule text")

    # --- condition
    yes_if, yes_span = _yes_clause(text, sents)
    threshold: Threshold | None = None
    cond_sents = [s for s in sents if _flags(s, "cond") and not _flags(s, "fallback")]
    if yes_span is not None:
        threshold = _threshold_in(text, yes_span.start, yes_span.quote)
        if threshold is None and _LIST_OF_CONDITIONS.search(yes_span.quote):
            # "Yes if either of the following conditions are met: 1. ... 2. ...": the items until "Otherwise"
            for s in sents:
                if s.start < yes_span.end:
                    continue
                if _OTHERWISE.match(s.text):
                    break
                threshold = _threshold_in(text, s.start, s.text)
                if threshold is not None:
                    break
    if threshold is None and not (yes_span is not None and _LIST_OF_CONDITIONS.search(yes_span.quote)):
        for s in cond_sents:
            threshold = _threshold_in(text, s.start, s.text)
            if threshold is not None:
                break
            if _SYMBOLIC_CMP.search(s.text):
                break  # the first condition compares two quantities ("(100 - highest) > lowest"): no number
    title_th = _threshold_in(title, 0, title, "title") if title else None
    conflicts: list[Threshold] = []
    th_status = Status.UNKNOWN
    cond_note = None
    refers_title = bool(_REFERS_TITLE.search(text))
    if threshold is not None and threshold.value is None and title_th is not None and refers_title:
        threshold = title_th if title_th.comparator == threshold.comparator else threshold.model_copy(
            update={"value": title_th.value, "unit": title_th.unit})
    elif threshold is None and title_th is not None and refers_title:
        threshold = title_th
    elif threshold is None and title_th is not None and title_th.value is not None and yes_span is None \
            and not _RANGE_MARKET.search(text):
        # the rules state no threshold and no YES clause ("resolves to the amount ... changed by"): the
        # question's threshold is the contract's ("by 25 bps after the July meeting")
        threshold = title_th
    if threshold is None:
        mr = _RANGE_MARKET.search(text)
        if mr and title_th is not None and title_th.comparator == "between":
            threshold = title_th
        elif mr:
            threshold = Threshold(comparator="between", value=None, reference="the market's range (not stated)",
                                  span=_span(text, mr.start(), mr.end()))
    if threshold is not None:
        th_status = Status.FOUND
        if title_th is not None and threshold.span.part == "rules" and not _threshold_equivalent(threshold, title_th):
            th_status = Status.CONFLICTING
            conflicts = [title_th]
            cond_note = f"the title and the rules state different thresholds: {REVIEW}"
            review.append("threshold (title and rules disagree)")
            score -= CLARITY_COST["contested"]
            reasons.append(f"-{CLARITY_COST['contested']:.2f} title and rule text give different thresholds")
    subject = None
    if yes_span is not None and threshold is not None and threshold.span.part == "rules" \
            and yes_span.start <= threshold.span.start < yes_span.end:
        subject = text[yes_span.start:threshold.span.start].strip(" ,") or None
    elif yes_if:
        subject = yes_if
    if yes_span is None and threshold is None:
        cond_status = Status.UNKNOWN
        cond_note = f"no 'resolves Yes if ...' clause or threshold found: {REVIEW}"
        review.append("condition")
        score -= CLARITY_COST["condition"]
        reasons.append(f"-{CLARITY_COST['condition']:.2f} the YES condition was not found")
    else:
        cond_status = th_status if th_status == Status.CONFLICTING else Status.FOUND
    condition = ConditionField(status=cond_status, yes_if=yes_if, yes_span=yes_span, subject=subject,
                               threshold_status=th_status, threshold=threshold, conflicts=conflicts,
                               note=cond_note)

    # --- deadline
    deadline = _deadline(text, sents, sent_at, default_year, title, review, _flags)
    if deadline.status == Status.UNKNOWN:
        score -= CLARITY_COST["deadline"]
        reasons.append(f"-{CLARITY_COST['deadline']:.2f} no deadline or observation time in the rule text")
    elif deadline.status == Status.CONFLICTING:
        score -= CLARITY_COST["contested"]
        reasons.append(f"-{CLARITY_COST['contested']:.2f} the rule text gives conflicting deadlines")
    elif deadline.value is not None:
        cost, why = deadline_cost(deadline.value)
        if cost:
            score -= cost
            reasons.append(why)  # type: ignore[arg-type]

    # --- early resolution
    m_yes = _EARLY_YES.search(text)
    m_no = _EARLY_NO.search(text)
    if m_no is not None:
        deadline.early_resolution_status = Status.FOUND
        deadline.early_resolution = False
        deadline.early_resolution_span = _span(text, m_no.start(), m_no.end())
    elif m_yes is not None:
        deadline.early_resolution_status = Status.FOUND
        deadline.early_resolution = True
        deadline.early_resolution_span = _span(text, m_yes.start(), m_yes.end())

    # --- edge cases
    edges: list[EdgeCase] = []
    starts = [s.start for s in sents]
    kinds_by_sent: dict[int, list[str]] = {}
    for k, rx in _EDGE:
        for m in rx.finditer(text):
            i = _sentence_of(sents, starts, m.start())
            if i is not None and k not in kinds_by_sent.setdefault(i, []):
                kinds_by_sent[i].append(k)
    order = {k: n for n, (k, _) in enumerate(_EDGE)}
    for i in sorted(kinds_by_sent):
        s = sents[i]
        kinds = sorted(kinds_by_sent[i], key=order.__getitem__)
        outs = list(_OUTCOME_IN.finditer(s.text))
        outcome = s.text[outs[-1].start("o"):outs[-1].end("o")].strip("“”\"") if outs else None
        if outcome and re.fullmatch(r"50[-/]50|fifty[- ]fifty", outcome, re.I):
            outcome = "50-50"
        for k in kinds:
            if k == "fifty_fifty":
                oc = "50-50"
            elif k == "fair_price":
                oc = "fair price"
            else:
                oc = outcome
            edges.append(EdgeCase(kind=k, outcome=oc, span=_span(text, s.start, s.end)))  # type: ignore[arg-type]

    # --- multi-outcome
    multi = _multi_outcome(text, sents, market)

    # --- ambiguity
    flags: list[AmbiguityFlag] = []
    for kind, rx in _AMBIG:
        for m in rx.finditer(text):
            if kind == "undefined_term" and title and m.group(0).lower() == "specified in the title":
                continue  # the title is at hand: the term is defined by it
            flags.append(AmbiguityFlag(kind=kind, phrase=text[m.start():m.end()],  # type: ignore[arg-type]
                                       span=_span(text, m.start(), m.end())))
    # a reference the rules lean on that nothing here supplies: "the listed price" with no number in the title,
    # "the resolution date" when no date is stated
    for m in _UNDEFINED_REF.finditer(text):
        what = (m.group("what") or "date").lower()
        supplied = (bool(re.search(r"\d", title)) if what in ("price", "threshold", "value", "level", "number")
                    else deadline.status != Status.UNKNOWN)
        if not supplied:
            flags.append(AmbiguityFlag(kind="undefined_reference", phrase=text[m.start():m.end()],
                                       span=_span(text, m.start(), m.end())))
    # a monthly / weekly series judged against a whole year: which reading counts? ("the U-3 rate from 2026 is
    # above 5%", "any CPI report is above 3.0% for 2026")
    for sent in sents:
        if _SERIES_WORD.search(sent.text) and not _MONTH_WORD.search(sent.text) and _flags(sent, "cond"):
            for m in _YEAR_ONLY.finditer(sent.text):
                a, b = sent.start + m.start(), sent.start + m.end()
                flags.append(AmbiguityFlag(kind="undefined_term", phrase=text[a:b], span=_span(text, a, b)))
    # flags in a "Background" / "Considerations" section describe the world, not the contract
    if flags and (bg := _background_ranges(text)):
        flags = [f for f in flags if not any(a <= f.span.start < b for a, b in bg)]
    oracle = _oracle_for(venue, text, market)
    creator = oracle is not None and oracle.name == "market creator"
    if creator and not any(f.kind == "creator_judgement" for f in flags):
        review.append(f"{_venue_label(market, venue)}: the creator resolves; check their track record")
    flags.sort(key=lambda f: f.span.start)
    # each vague phrase costs the same (flags within a few characters of each other are one phrase: "a consensus
    # of credible reporting"), up to a cap: what a reader must guess weighs more than what we could not find
    n_vague = vague_phrase_count(flags)
    amb_pen = min(n_vague * CLARITY_COST["vague_phrase"], CLARITY_COST["vague_cap"])
    if amb_pen:
        score -= amb_pen
        reasons.append(f"-{amb_pen:.2f} vague wording ({n_vague} phrase{'s' if n_vague > 1 else ''}): "
                       + ", ".join(sorted({f.kind for f in flags})))
    if not text.strip():
        score = 0.0
        reasons = ["0.00 no rule text"]
        review = [f"the market has no rule text: {REVIEW} on the venue's page"]
    if text.strip() and not any(e.kind in ("postponement", "cancellation", "fifty_fifty", "void", "other",
                                           "fair_price", "fallback_source") for e in edges):
        score -= CLARITY_COST["fallback"]
        reasons.append(f"-{CLARITY_COST['fallback']:.2f} no fallback for postponement/cancellation/missing data")
    if text.strip() and not items and cond_status == Status.UNKNOWN and score > CLARITY_COST["nothing_cap"]:
        # neither who settles nor what counts as YES: nothing a reader can check the outcome against
        reasons.append(f"cap {CLARITY_COST['nothing_cap']:.2f}: no resolution source and no YES condition found")
        score = CLARITY_COST["nothing_cap"]
    score = max(0.0, min(1.0, round(score, 2)))
    if not reasons:
        reasons.append("1.00 source, condition and deadline found; no ambiguous wording")

    return RuleAnalysis(
        venue=venue, market_id=(getattr(market, "id", None) if market is not None else None),
        text_length=len(text), rules_hash=contract_hash(text, title, label), text_hash=rules_hash(text),
        oracle=oracle,
        sources=sources, condition=condition, deadline=deadline, edge_cases=edges, multi_outcome=multi,
        ambiguity=flags, clarity=score, clarity_reasons=reasons, review=review,
        clarity_evidence=evidence(sources, condition, deadline, edges, flags, oracle, bool(text.strip())),
        terms=read_terms(title=title, label=label, rules=text, yes_clause=yes_if,
                         yes_clause_start=yes_span.start if yes_span is not None else None))
