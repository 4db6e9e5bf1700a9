"""Edge cases, early resolution, the oracle and the YES clause."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Any

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.models import OracleInfo, Span
from pm_mcp.domain.rules.sentences import Sentence, _span

# ---------------------------------------------------------------------------------------------
# edge cases, multi-outcome, ambiguity, early resolution

_EDGE: list[tuple[str, re.Pattern[str]]] = [
    ("tie", _rx(r"\bties?\b|\btied\b|\bdraw\b|exactly between two|exactly equal|evenly split|\bif equal\b|"
                r"half of the (?:voting )?seats", re.I)),
    ("postponement", _rx(r"postpone|delay|reschedul|not (?:be )?(?:completed|decided|declared|finalized|"
                                r"known|finali[sz]ed)|if no (?:statement|champion|winner)|not (?:yet )?released|"
                                r"not aired|\b(?:stays?|remains?|will stay|will remain) open (?:until|pending)",
                                re.I)),
    ("cancellation", _rx(r"cancel+(?:ed|ation)?|called off|not played at all|abandon", re.I)),
    ("fifty_fifty", _rx(r"50[-/]50|fifty[- ]fifty", re.I)),
    ("other", _rx(r"resolves? to\s+[“\"]Other[”\"]|[“\"]Other[”\"] (?:market|outcome)", re.I)),
    ("void", _rx(r"\bvoid\b|\binvalid\b|\bN/A\b|\bannul|\bresolves? (?:to )?(?:N/?A|NA)\b", re.I)),
    ("fair_price", _rx(r"fair (?:market )?price", re.I)),
    ("revision", _rx(r"revis(?:ed|ion)|restat|preliminary|finali[sz]ed|studio estimates|initial release|"
                     r"advance estimates? (?:will|are|is|shall) (?:be )?(?:considered|used|count)",
                            re.I)),
    ("fallback_source", _rx(r"(?:is|are|becomes?) unavailable|not available|another credible|unreliable|"
                                   r"if there is any ambiguity in the (?:results?|data|source)|"
                                   r"may be used in the event|nearest previous date|if .{0,60}has not published|"
                                   r"rendered (?:permanently )?unavailable|other information from \S+ may be used",
                                   re.I)),
    # "disqualified" only of a competitor or in a contest (an official "disqualified" from office is no forfeit)
    ("forfeit", _rx(r"forfeit|walkover|\b(?:player|team|competitor|fighter|driver|athlete|horse|boxer)s?\b[^.]{0,40}"
                    r"disqualif|disqualif[^.]{0,80}\b(?:match|game|race|fight|bout|tournament|competition)|\bdefault\b|"
                    r"\b(?:player|team|competitor|fighter)s? retires?\b|retire[sd]? (?:hurt|injured|during)",
                    re.I)),
    ("replacement", _rx(r"replacement of the|replaced by", re.I)),
]
_OUTCOME_IN = _rx(r"resolves?\s+(?:to\s+)?(?:a\s+)?(?P<o>50[-/]50|fifty[- ]fifty|[“\"][^”\"]{1,40}[”\"]|"
                         r"Yes\b|No\b|a fair price|fair price)", re.I)

_AMBIG: list[tuple[str, re.Pattern[str]]] = [
    ("credible_reporting", _rx(r"credible (?:media )?report(?:ing|s)|credible (?:resolution )?sources?|"
                                      r"media reporting", re.I)),
    ("consensus", _rx(r"\b(?:wide )?consensus (?:of|among|between)\b|\bthe consensus (?:price|value|figure|view)\b",
                      re.I)),
    ("discretion", _rx(r"(?:at|in) (?:the|its|their|our|his|her) (?:sole )?discretion|sole discretion|"
                              r"as determined by|in the (?:opinion|judg(?:e)?ment) of|deems? appropriate", re.I)),
    ("subjective", _rx(r"\breasonabl[ey]\b|\bsignificant(?:ly)?\b|\bsubstantial(?:ly)?\b|"
                              r"\bmeaningful(?:ly)?\b|\bwidely\b|\bcompelling\b|\bgenerally\b|\bmajor\b|"
                              r"\bspirit of\b|\bminor (?:damage|injur\w*|changes?|incidents?|violations?)\b", re.I)),
    ("undefined_term", _rx(r"in accordance with the rules|fair (?:market )?price|other relevant|similar agreements|"
                                  r"any ambiguity|specified in the title|otherwise has no path|"
                                  r"minor (?:discrepancies|formatting)", re.I)),
    ("creator_judgement", _rx(r"\bI (?:find|think|feel|believe|decide|judge|will decide)\b|"
                                     r"\bI'll\b|\bmy (?:judg(?:e)?ment|opinion|discretion)\b|"
                                     r"\bI reserve the right\b|\bthe creator will (?:determine|decide|judge)\b|"
                                     r"\bfinal determination\b", re.I)),
    ("catch_all", _rx(r"may also be considered|further official|other relevant (?:announcements|information)|"
                            r"at the time of resolution, any", re.I)),
    # a status the rules leave undefined: does an interim / acting holder count?
    ("undefined_status", _rx(r"\b(?:interim|caretaker|acting|de facto|provisional|transitional)\b|"
                             r"\bprevented from (?:fulfill?ing|performing|exercising)\b|\bincapacitat\w*", re.I)),
    # how sure is sure: a standard of proof, a confirmation nobody is named to give, data "unreliable"
    ("evidence_standard", _rx(r"\bpreponderance of (?:the )?evidence\b|\bit is confirmed\b|"
                              r"\b(?:if|unless|only if) it (?:can be|is) (?:confirmed|verified|established)\b|"
                              r"\bdemonstrably (?:erroneous|wrong|false|incorrect)\b|\bunavailable or unreliable\b|"
                              r"\bbeyond (?:a )?reasonable doubt\b|\bclear and convincing\b", re.I)),
    # a state of mind that decides: "an offensive intended to establish control"
    ("intent", _rx(r"\bintended to\b|\bwith the (?:intent|intention|aim|goal|purpose) (?:of|to)\b|\baimed at\b|"
                   r"\bin an (?:attempt|effort) to\b", re.I)),
    # a boundary left open: "involved in", "part of, or a continuation of", "similar accommodations"
    ("vague_scope", _rx(r"\binvolved in\b|\b(?:part|a continuation) of,? or (?:a )?continuation of\b|"
                        r"\bsimilar (?:accommodations|adjustments|arrangements|cases|treatment)\b|"
                        r"\binformal (?:understanding|agreement|arrangement)s?\b|\binteract with\b|"
                        r"\bends? up being (?:wrong|right|correct|incorrect)\b", re.I)),
    # an act whose moment is not fixed: agreed? announced? signed? in force?
    ("unfixed_moment", _rx(r"\b(?:agrees? (?:to|on) (?:a |an |the )?(?:deal|agreement|ceasefire|truce|accord|treaty|"
                           r"peace)|reach(?:es|ed)? (?:an? |any |the )?(?:deal|agreement|ceasefire|truce|accord|treaty)|"
                           r"(?:deal|agreement|ceasefire|truce|accord|treaty) (?:is |are |be |being |has been )?"
                           r"(?:reached|agreed|struck|made))\b", re.I)),
    # a fallback source left to someone's choice
    ("discretionary_source", _rx(r"(?:another|other|an alternative|a different|any other) (?:credible )?(?:resolution )?"
                                 r"sources? (?:may|will|can|could) be (?:chosen|used|selected|consulted)|"
                                 r"may (?:use|rely on|consult|refer to) (?:other|another|any|additional) (?:\w+ )?"
                                 r"(?:sources?|information|data)", re.I)),
]

_EARLY_YES = _rx(
    r"may (?:immediately )?resolve (?:to [“\"]?\w+[”\"]? )?(?:as soon as|immediately|early)|"
    r"will (?:resolve|settle) (?:immediately|as soon as)|resolve immediately|(?:will|may) resolve as soon as|"
    r"close and expire early|expire early|may immediately resolve|will immediately resolve|"
    r"will resolve as soon as|will resolve once|"
    r"this market will resolve once|only resolve to [“\"]No[”\"] once|accelerated determination|"
    r"at any point before the (?:market['’]?s )?(?:scheduled )?clos|"
    r"resolves? (?:to )?[“\"]?(?:yes|no)[”\"]? immediately|resolve to [“\"]?(?:yes|no)[”\"]? immediately when|"
    r"rather than waiting for the (?:final )?resolution date", re.I)
_EARLY_NO = _rx(r"may only resolve once|only resolve (?:after|once)(?! the)|will not resolve (?:early|before)|"
                       r"(?<!, )can ?not resolve until|"
                       r"may only resolve once the|only resolve once the", re.I)


# ---------------------------------------------------------------------------------------------
# the parser


_UMA = _rx(r"\bUMA\b")


def _oracle_for(venue: str | None, text: str, market: Any = None) -> OracleInfo | None:
    """Who settles: the oracle the rules name; else what the market carries (a ``resolver`` with ``name`` and
    ``basis``, or an OracleInfo); else, for ``venue=`` without a market, the venue's known resolver."""
    m = _UMA.search(text)
    if m:
        return OracleInfo(name="UMA", basis="named in the rules", span=_span(text, m.start(), m.end()))
    carried = getattr(market, "resolver", None) if market is not None else None
    if carried is not None:
        if isinstance(carried, OracleInfo):
            return carried
        name = getattr(carried, "name", None) or (carried.get("name") if isinstance(carried, dict) else None)
        basis = getattr(carried, "basis", None) or (carried.get("basis") if isinstance(carried, dict) else None)
        if name:
            return OracleInfo(name=str(name), basis=str(basis or "carried by the market"))
    v = (venue or "").lower()
    if v == "polymarket":
        return OracleInfo(name="UMA Optimistic Oracle",
                          basis="Polymarket markets resolve through UMA (proposals can be disputed)")
    if v == "kalshi":
        return OracleInfo(name="Kalshi",
                          basis="the exchange determines the outcome under its rulebook and the contract terms")
    if v == "manifold":
        return OracleInfo(name="market creator", basis="Manifold markets are resolved by their creator")
    return None


_YES_PATS = [
    _rx(r"resolves?\s+to\s+[“\"]?Yes[”\"]?,?\s+if\s+(?P<c>.+?)(?=\.\s|\.$|\.\n|$|,? (?:and|or) [“\"]No|"
               r"\. Otherwise|,? otherwise)", re.I | re.S),
    _rx(r"\bIf\s+(?P<c>.+?),?\s+then the market resolves to Yes", re.I | re.S),
    _rx(r"\bIf\s+(?P<c>[^.;\n]+?),\s*(?:then\s+)?(?:the market\s+|this market\s+|it\s+)?(?:will\s+)?resolves?\s+"
        r"(?:to\s+)?[“\"]?Yes\b", re.I | re.S),
    # (markdown emphasis tolerated around the outcome: "Resolves **YES **if ...")
    _rx(r"resolve[sd]?\s+(?:to\s+)?[“\"*]*Yes[”\"]?(?:\s+|\s*\*+\s*)(?:if|when|once)\s+(?P<c>.+?)(?=\.\s|\.$|$|\n|;|"
        r",?\s+(?:and\s+)?(?:otherwise|else)\b|,?\s+(?:and\s+)?(?:resolves?\s+(?:to\s+)?)?[“\"]?No[”\"]?\s+(?:if|otherwise|when)\b)",
        re.I | re.S),
    # Manifold: "YES if ... otherwise NO", "Yes: if ...", "YES = ..." at the start of a line or sentence
    _rx(r"(?:^|(?<=[.\n]) *)[“\"]?YES[”\"]?\s*(?:[:=–-]\s*)?(?:if|when|once)\s+(?P<c>.+?)(?=\.\s|\.$|$|\n|;|"
        r",?\s+(?:and\s+)?(?:otherwise|else)\b|,?\s+[“\"]?NO[”\"]?\s+(?:if|otherwise|when)\b)", re.I | re.S | re.M),
    # arrow notation: "If (100 - highest price) > lowest price → resolves "Yes""
    _rx(r"\bIf\s+(?P<c>[^\n→]+?)\s*(?:→|->|=>)\s*(?:the market\s+)?resolves?\s+(?:to\s+)?[“\"]?Yes\b", re.I),
    _rx(r"(?:this is a market on|this market asks) (?:if|whether)\s+(?P<c>.+?)(?=\.\s|\.$|$)", re.I | re.S),
    _rx(r"resolve[sd]?\s+to\s+[“\"](?!Yes|No)[^”\"]{1,40}[”\"]\s+if\s+(?P<c>.+?)(?=\.\s|\.$|$|,)",
               re.I | re.S),
]


def _yes_clause(text: str, sents: list[Sentence]) -> tuple[str | None, Span | None]:
    for rx in _YES_PATS:
        m = rx.search(text)
        if m and m.group("c").strip():
            sp = _span(text, m.start("c"), m.end("c"))
            return sp.quote, sp
    return None, None
