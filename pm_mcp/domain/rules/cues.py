"""Sources read from the phrase a cue governs ("according to X", "Source: X", "X is the sole resolution
source", "as reported by X", "official information from X", a URL on the line after a cue), not from a
closed list of names: the organisation list (``sources._AGENCIES``) only canonicalises what a cue found.

Each phrase is cut at the first boundary (punctuation, a clause word) and kept only when it looks like a
name: a capitalised word, an acronym, a URL host or a word such as "office", "ministry", "government".
What is ordinary wording ("according to the rules", "as reported by the market") is dropped: unknown
beats a wrong source.
"""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re

from pm_mcp.domain.rules._regex import _rx

# the cue, then the governed phrase (group "x"); periods inside a phrase only when not followed by space
# ("U.S.", "Inc."), so a sentence end stops it
_X = r"(?P<x>(?:[^.;:\n()\[\]\"“”?!]|\.(?=[^\s]))(?:[^.;\n()\[\]\"“”?!]|\.(?=[^\s])|\.(?=\s+[a-z])){1,110})"
_GOVERNING = _rx(
    r"(?:\baccording to|\bas (?:reported|published|announced|confirmed|determined|released|stated|certified|"
    r"listed|shown|displayed|posted) (?:by|on|in|at)|\b(?:reported|published|released|announced|certified|"
    r"provided|maintained|issued|compiled|posted) by|\bofficial (?:information|data|announcements?|"
    r"statements?|figures|results|reports?|sources?|websites?|channels?|records?) (?:from|of|by)|"
    r"\b(?:information|data|figures|results|statements?) (?:from|published by|released by|issued by)|"
    r"\b(?:primary |official |sole |main |only )*(?:resolution|settlement) sources? (?:for this market |of this "
    r"market |used )?(?:is|are|will be)(?: the)?(?: official)?|\bsources?\s*:|\bbased on (?:data|information|"
    r"figures|reports?|the (?:data|figures|results|information) (?:from|of|published by))(?: from)?|"
    r"\busing (?:data|information|figures) from|\bresolved? (?:using|per|via)|\bwill be checked (?:on|at|against)|"
    r"\bverified (?:by|from|on|at)|\bchecked against|\bresolves? (?:based on|using) (?:data from )?|"
    r"\b(?:determination|decision|resolution|ruling)\b[^.;]{0,90}?\b(?:made|decided|determined) by|"
    r"\bconfirmation (?:by|from)|\bconfirmed by|\b(?:sources?|providers?|exchanges?|outlets?) such as)\s+" + _X,
    re.I)
# "<X> is the sole / primary / official resolution source", "<X> will be used to resolve"
_SUBJECT_OF = _rx(
    r"(?P<x>[A-Z][\w.&'’-]*(?:\s+(?:[A-Z][\w.&'’-]*|&|of|the|for|and|de|du|des|la|le)){0,8})"
    r"(?:,[^,.;]{1,60},|\s*\([^()]{1,120}\))?\s+(?:is|are|will be|shall be|serves as|will serve as)\s+the\s+"
    r"(?:(?:(?:sole|primary|official|main|only|principal|designated|preferred|secondary|backup|back-up|fallback|"
    r"alternative|alternate)\s+)+(?:(?:resolution|settlement|data|reference|price)\s+)?|"
    r"(?:resolution|settlement|data|reference)\s+)sources?")
_USED_TO_RESOLVE = _rx(
    r"(?P<x>[A-Z][\w.&'’-]*(?:\s+(?:[A-Z][\w.&'’-]*|&|of|the|for|and)){0,8})\s+(?:will|may|shall) (?:instead )?"
    r"be (?:used|consulted|relied (?:up)?on)(?: instead| as (?:a |the )?(?:fallback|backup|secondary|tie-?breaker))?"
    r"(?: to (?:resolve|settle|determine))?\b")
# "on CoinGecko's "Historical Data" table", "use Coinbase's historical prices page": a body's own page or table
POSSESSIVE_PAGE = _rx(r"\b(?:on|use|from|per|check|see)\s+(?P<x>[A-Z][\w.-]*(?:\s[A-Z][\w.-]*){0,3})['’]s\s+"
                      r"[^.;\n]{0,60}?\b(?i:table|page|chart|data|prices|history|feed|website|site)\b")
# a cue that ends its line, so the source is the next line (often a bare URL)
CUE_AT_END = _rx(r"(?:resolution source|settlement source|sources?|according to|following (?:link|url|"
                 r"website|page|source)s?|(?:found|published|available) (?:here|at)|data from)\s*:?\s*$", re.I)

# the phrase ends at a clause word or a list/condition boundary (case-insensitive, on the phrase)
_CUT = _rx(r"\s(?:if|when|whenever|once|unless|until|which|that|who|where|after|before|by the time|at the time|"
           r"on or|no later|as of|within|to determine|to resolve|for the purposes?|for this|for the|in the event|"
           r"will|would|shall|should|may|must|can|is|are|was|were|has|have|had|resolves?|at \d|on \w+day|on "
           r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|in (?:19|20)\d\d|otherwise|however|then|"
           r"and/or|or (?:if|any|other|a |an )|(?:and|or) (?:the )?(?:market|question|contract)|with|between|"
           r"during|over|from (?:the )?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|\d)|showing|"
           r"for (?:the week|the month|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*|\d+)|in (?:its|their|the)|"
           r"indicating|stating|confirming|regarding|about|following|including|such as|e\.g\.|i\.e\.|"
           r"--|–|—)\b|,\s*(?:or|and)?\s*(?:if|when|which|with|as|in|on|at|but|unless|otherwise|however|"
           r"the (?:market|question))\b|\s-\s", re.I)
# a comma ends the phrase unless a list of names goes on ("the Associated Press, Fox News and NBC")
_COMMA_CUT = re.compile(r",\s+(?!(?:and\s+|or\s+)?(?:the\s+)?[A-Z0-9])")
_LEAD = _rx(r"^(?:the|its|their|his|her|an?|official|officially|publicly|any|relevant|will be|is|are|"
            r"(?:information|data|figures|confirmation|"
            r"announcements?|statements?|reports?|results|releases?|publications?) (?:from|of|published by|"
            r"released by|issued by|by))\s+", re.I)
_TRAIL = re.compile(r"[\s,'’\-]+$|\s+(?:and|or|the|of|for|on|in|at|to|as|via)$", re.I)
# the phrase names something that can settle a market
_NAMEY = re.compile(r"[A-Z]{2,}|\b[A-Z][a-z]|\w\.(?:com|org|gov|net|io|edu|int)\b|"
                    r"(?i:\b(?:office|ministry|department|government|bureau|agency|commission|council|committee|"
                    r"secretariat|parliament|congress|senate|court|authority|federation|association|league|"
                    r"union|exchange|institute|service|administration|electoral|census|"
                    r"statistics|observatory|registry|website|feed|api|video|broadcast|"
                    r"transcript|livestream|account|channel|records|"
                    r"standings|leaderboard|history)\b)")
# ordinary wording a cue often governs: never a source
_NOT_A_SOURCE = _rx(r"^(?:the |this |these |its |their |that |our |a |an )?(?:rules?|market|question|title|"
                    r"description|contract|terms?|above|below|following|outcome|result|results of the "
                    r"market|date|time|deadline|price|prices|value|values|close|resolution|criteria|"
                    r"timeline|schedule|same|specified|listed|resolver|creator|me|us|you|them|it|"
                    r"(?:this|the) (?:market|question)|whichever|whatever|whoever|each|any|all|no|not)\b"
                    r"(?:\s+(?:rules?|criteria|above|below|terms?))?\s*$|"
                    # what is measured, not who measures it: "according to the winner of ...", "the final price"
                    r"^(?:the |a |an )?(?:winner|winners|party|parties|candidate|team|player|person|figure|number|"
                    r"value|price|close|closing|final|level|amount|rate|count|total|outcome|result|score|first|"
                    r"next|individual|nominee|appointee|last|highest|lowest|both|either|each|chosen|selected|determined|used|decided|based|"
                    r"provided|listed)\b|"
                    r"\b(?:titled|called|named|labell?ed|under|marked)$", re.I)
_CREDIBLE = _rx(r"credible|consensus|media|reporting|news (?:outlets|sources|reports)|reputable", re.I)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The phrase text[start:end] cut at its first boundary, without a leading article or trailing glue."""
    seg = text[start:end]
    for rx in (_CUT, _COMMA_CUT):
        m = rx.search(seg)
        if m:
            seg = seg[:m.start()]
    # a URL inside the phrase: the phrase is the URL's business
    u = re.search(r"https?://", seg)
    if u and u.start() > 0:
        seg = seg[:u.start()]
    while True:
        lm = _LEAD.match(seg)
        if not lm:
            break
        seg = seg[lm.end():]
        start += lm.end()
    seg2 = seg.rstrip()
    while True:
        tm = _TRAIL.search(seg2)
        if not tm or tm.start() == 0:
            break
        seg2 = seg2[:tm.start()]
    return start, start + len(seg2)


def governed_phrases(text: str, start: int, stext: str) -> list[tuple[int, int]]:
    """Offsets (into ``text``) of the phrases a source cue governs in one sentence (at ``start``)."""
    out: list[tuple[int, int]] = []
    for rx in (_GOVERNING, _SUBJECT_OF, _USED_TO_RESOLVE, POSSESSIVE_PAGE):
        for m in rx.finditer(stext):
            a, b = _trim(stext, m.start("x"), m.end("x"))
            phrase = stext[a:b]
            if len(phrase) < 2 or len(phrase) > 90 or phrase.count(" ") > 9:
                continue
            if _NOT_A_SOURCE.search(phrase) or not (_NAMEY.search(phrase) or _CREDIBLE.search(phrase)):
                continue
            if re.match(r"https?://", phrase):
                continue  # URLs are read by the URL scan
            out.append((start + a, start + b))
            # "official information from the U.S. Government, including the Department of X": X as well
            inc = _INCLUDING.match(stext, b)
            if inc:
                a2, b2 = _trim(stext, inc.end(), m.end("x"))
                ph2 = stext[a2:b2]
                if 2 <= len(ph2) <= 90 and not _NOT_A_SOURCE.search(ph2) and _NAMEY.search(ph2):
                    out.append((start + a2, start + b2))
    return out


_INCLUDING = re.compile(r",?\s+(?:including|in particular|notably|especially)\s+")
# an acronym in brackets right after a name: "the American Automotive Association (AAA)"
ACRONYM_AFTER = re.compile(r"\s*\((?P<acr>[A-Z][A-Z&.]{1,9})\)")


def split_list(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """ "the Associated Press, Fox News and NBC" -> each name (offsets into ``text``), when each part
    looks like a name; otherwise the whole phrase."""
    seg = text[a:b]
    parts = [(m.start(), m.end()) for m in _LIST_PART.finditer(seg)]
    names: list[tuple[int, int]] = []
    pos = 0
    for pa, pb in parts:
        if pa < pos:
            continue
        sub = seg[pa:pb].strip(" ,")
        sub = re.sub(r"^(?:and|or)\s+", "", sub)
        if not sub:
            continue
        i = seg.find(sub, pa)
        names.append((a + i, a + i + len(sub)))
        pos = pb
    good = [n for n in names if _list_name(text[n[0]:n[1]])]
    if len(names) >= 2 and len(good) == len(names):
        return names
    return [(a, b)]


# one part of a list: up to a comma followed by a space (not "147,341"), " and ", " or ", or the end
_LIST_PART = re.compile(r"(?:[^,]|,(?!\s))+?(?=,\s+(?:and\s+|or\s+)?|\s+(?:and|or)\s+|$)")
_DATA_WORDS = re.compile(r"(?i:\b(?:data|records|prices?|posts|reports?|filings|statements?)$)")


def _list_name(part: str) -> bool:
    """A part of "X, Y and Z" that can be a source on its own: capitalised ("the United Nations"), an
    institution word ("the government of Iran"), or a kind of data ("on-chain data"); never a number."""
    if re.search(r"\d", part) and not re.match(r"(?:the\s+)?[A-Z]", part):
        return False
    if re.search(r"\b[a-z]+s\s+\d", part):  # "holds 147": a clause, not a name
        return False
    return bool(re.match(r"(?:the\s+)?[A-Z]", part) or _NAMEY.search(part) or _DATA_WORDS.search(part))


def lead_trim(text: str, a: int, b: int) -> tuple[int, int]:
    lm = _LEAD.match(text[a:b])
    return (a + lm.end(), b) if lm else (a, b)
