"""Resolution sources: the named organisations, URLs and reporters the rules point at."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from bisect import bisect_right
from functools import lru_cache

from pm_mcp.domain.rules._regex import _rx
from pm_mcp.domain.rules.cues import (
    ACRONYM_AFTER,
    CUE_AT_END,
    POSSESSIVE_PAGE,
    governed_phrases,
    lead_trim,
    split_list,
)
from pm_mcp.domain.rules.models import SourceItem
from pm_mcp.domain.rules.sentences import Sentence, _span

# ---------------------------------------------------------------------------------------------
# sources

_URL = _rx(r"https?://[^\s)\]>,“”\"'<]+")
_SOURCE_CUE = _rx(
    r"resolution source|source for this|sources? (?:of|for) (?:this|resolution)|used to resolve|"
    r"will resolve according to|resolve[sd]? according to|according to|as per\b|measured by|reported by|recorded by|"
    r"published (?:at|by|on)|official information|official (?:announcements?|sources?|website|statements?)|"
    r"consensus of|credible (?:media )?reporting|data stream|resolution will be based|"
    r"resolution of this market will be based|refers to the result|will be checked|calculated from|"
    r"prices listed|listed on|resolve (?:based )?on the (?:value|price|data)|settlement source|"
    r"source agency|source is|sources? will be|resolved? using|api url|used to determine|verified from|"
    r"information from|\bsources?\s*:|will be used to (?:settle|determine)|primary source|data source|"
    r"as (?:announced|published|confirmed|certified|determined|released) by|"
    r"(?:will|may|shall) (?:instead )?be (?:used|consulted|relied)|(?:backup|back-up|fallback|secondary|alternative) "
    r"sources?|\b(?:determination|decision)\b[^.;]{0,90}?\bmade by|\bconfirmation (?:by|from)|confirmed by", re.I)
_NOT_SOURCE = _rx(r"may be found here|you can read|invitation|discussion thread|for more information", re.I)
_NOT_THIS_SOURCE = _rx(r"(?:a source like|sources? such as|rather than|instead of|not according to)\s+"
                       r"(?:[\w.]+\s+){0,3}$", re.I)

# (regex, canonical name, kind). Case-sensitive where an acronym could be an ordinary word.
_AGENCIES: list[tuple[re.Pattern[str], str, str]] = [
    (_rx(r"Associated Press|\bAP\b"), "AP", "agency"),
    (_rx(r"\bFox News\b"), "Fox News", "agency"),
    (_rx(r"\bNBC\b"), "NBC", "agency"),
    (_rx(r"\bCNN\b"), "CNN", "agency"),
    (_rx(r"\bReuters\b"), "Reuters", "agency"),
    (_rx(r"\bBloomberg\b"), "Bloomberg", "agency"),
    (_rx(r"Bureau of Labor Statistics|\bBLS\b"), "BLS", "agency"),
    (_rx(r"Bureau of Economic Analysis|\bBEA\b"), "BEA", "agency"),
    (_rx(r"Consumer Price Index|\bCPI(?:-U)?\b"), "CPI", "data_series"),
    (_rx(r"\bGDP\b"), "GDP", "data_series"),
    (_rx(r"\bS&P 500\b"), "S&P 500", "data_series"),
    (_rx(r"\bNasdaq[- ]100\b|\bNASDAQ[- ]100\b"), "NASDAQ", "data_series"),
    (_rx(r"\bCF Benchmarks\b"), "CF Benchmarks", "data_series"),
    (_rx(r"Federal Open Market Committee|\bFOMC\b"), "FOMC", "agency"),
    (_rx(r"\bFederal Reserve\b(?! Bank of)"), "Federal Reserve", "agency"),
    (_rx(r"\bChainlink\b", re.I), "Chainlink", "data_series"),
    (_rx(r"\bBinance\b(?!\.us)"), "Binance", "agency"),
    (_rx(r"\bCoinbase\b"), "Coinbase", "agency"),
    (_rx(r"\bCoin[Gg]ecko\b"), "CoinGecko", "agency"),
    (_rx(r"\bCoinMarketCap\b"), "CoinMarketCap", "agency"),
    (_rx(r"\bFIFA\b"), "FIFA", "agency"),
    (_rx(r"National Basketball Association|\bNBA\b"), "NBA", "agency"),
    (_rx(r"National Football League|\bNFL\b"), "NFL", "agency"),
    (_rx(r"\bMLB\b|Major League Baseball"), "MLB", "agency"),
    (_rx(r"\b[Pp]remier [Ll]eague\b"), "Premier League", "agency"),
    (_rx(r"\bWimbledon\b"), "Wimbledon", "agency"),
    (_rx(r"\bNASDAQ\b|\bNasdaq\b"), "NASDAQ", "agency"),
    (_rx(r"New York Mercantile Exchange|\bNYMEX\b"), "NYMEX", "agency"),
    (_rx(r"\bCME\b"), "CME", "agency"),
    (_rx(r"Box Office Mojo", re.I), "Box Office Mojo", "agency"),
    (_rx(r"\bHLTV\b", re.I), "HLTV", "agency"),
    (_rx(r"\bTwitter account\b|\bX account\b"), "Twitter", "agency"),
    (_rx(r"\bGOP\b|Republican National Committee"), "GOP", "official"),
    (_rx(r"Democratic Party sources|Democratic National Committee|\bDNC\b"), "Democratic Party", "official"),
    (_rx(r"government of (?:the )?(?:United States|USA)|(?:U\.?S\.?|United States) Government|"
         r"federal government(?! shutdown)",
                re.I), "US government", "official"),
    (_rx(r"official announcements?"), "official announcements", "official"),
    # the body the text names: the NWS is a part of NOAA, but a reader checks the one the rules cite
    (_rx(r"National Weather Service|\bNWS\b"), "National Weather Service", "agency"),
    (_rx(r"\bNOAA\b|National Oceanic and Atmospheric Administration"), "NOAA", "agency"),
    (_rx(r"\bAccu[Ww]eather\b"), "AccuWeather", "agency"),
    (_rx(r"\bThe Weather Company\b"), "The Weather Company", "agency"),
    (_rx(r"\bWunderground\b|\bWeather Underground\b"), "Wunderground", "agency"),
    (_rx(r"\bNASA\b"), "NASA", "agency"),
    (_rx(r"\bUMA\b"), "UMA", "oracle"),
    (_rx(r"credible (?:media )?report(?:ing|s)|credible (?:resolution )?sources?|media reporting|"
         r"media organi[sz]ations"),
     "credible reporting", "reporting"),
]


# "sources such as X, Y will be used": a list of real sources, not examples ("a source like X may help")
_WILL_BE_USED = re.compile(r"\b(?:will|shall) (?:then )?be (?:used|consulted|relied (?:up)?on)\b", re.I)
_SUCH_AS_NAME = re.compile(r"\s+such as\s+[A-Z]")
_BARE_HOST = re.compile(r"\((?P<h>(?:[A-Za-z0-9-]+\.)+(?:com|org|gov|net|io|edu|int))\)")
_SEE_BEFORE = re.compile(r"\bsee:?\s*$", re.I)
_RESOLVE_WORD = re.compile(r"resol|settle", re.I)
# data series that are their own publisher (a price feed settles; it is not a statistic someone else publishes)
_PRICE_FEEDS = frozenset({"Chainlink", "CF Benchmarks"})


def _url_host(url: str) -> str:
    m = re.match(r"https?://([^/?#:]+)", url)
    host = (m.group(1) if m else url).lower()
    return host[4:] if host.startswith("www.") else host


def _sentence_of(sents: list[Sentence], starts: list[int], pos: int) -> int | None:
    i = bisect_right(starts, pos) - 1
    if i >= 0 and sents[i].start <= pos < sents[i].end:
        return i
    return None


_YES_SENT = _rx(r"then the market resolves to Yes|resolves? to [“\"]?Yes[”\"]?,? if\b", re.I)
# Kalshi KPI markets: "If Tesla Inc. reports Above 500000 total production ..." -- the company's report decides
_REPORTER = _rx(r"\bIf (?P<name>[A-Z][\w.&'’-]*(?: (?:[A-Z][\w.&'’-]*|&|of)){0,4}) reports\b")
# "..., SpaceX confirms that ...", "The National Bureau of Economic Research (NBER) publicly announces that ...":
# the body whose confirmation decides (a verb of attesting a fact, followed by "that")
_ATTESTS = _rx(r"(?<![\w.])(?P<name>(?:the )?[A-Z][\w.&'’-]*(?: (?:[A-Z][\w.&'’-]*|&|of|for)){0,6})"
               r"(?P<acr> \([A-Z][A-Z&.]{1,9}\))? (?:officially |publicly |formally )?"
               r"(?P<verb>confirms|certifies|reports|announces|declares|determines) that\b")
# an office held in a body, right before the body's name: the market is about the office
_OFFICE_OF = re.compile(r"\b(?:Chair|Chairman|Chairwoman|Chairperson|Governor|President|Vice[- ]President|Secretary|"
                        r"Director|Head|Member|Commissioner|Speaker|Leader)\s+of\s+(?:the\s+)?$")
_CLAUSE_WORD = re.compile(r"(?:If|When|Whether|Unless|Once|Otherwise|Resolves?|This|That|It)\b")
# "this market's decentralized resolver, UMA": a description, then the name
_APPOSITIVE = re.compile(r"^[a-z][^,]{2,60},\s+(?P<n>[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,4})$")
# Kalshi's "If the <series> for <period> is above 5%, then the market resolves to Yes" / "If there are at least
# 195000 initial jobless claims for the week ...": the quantity measured, when the text names no publisher
_MEASURED = _rx(r"^If (?:the )?(?P<s>(?:[A-Z][\w-]*\s+)*[\w-]+(?:\s+[\w-]+){0,4}?\s+(?:[Ii]ndex|rate|[Cc]laims|"
                r"yield|price|level|count|temperature|anomaly|reading|payrolls|production|deliveries))\b"
                r"(?=[^\n]{0,120}?\bthe market resolves to Yes)|"
                r"^If there (?:are|is|were|was) (?:at least|more than|fewer than|less than|above|below|exactly) "
                r"[\d,.]+%? (?P<c>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,3}?\s+(?:claims|cases|filings|deaths|jobs))\b"
                r"(?=[^\n]{0,120}?\bthe market resolves to Yes)")
_INSTITUTION = re.compile(r"\b(?:[A-Z]{2,}|Bureau|Office|Ministry|Department|Agency|Commission|Committee|Council|"
                          r"Court|Authority|Institute|Board|Service|Administration|Research|Federation|Association|"
                          r"League|Union|Exchange|Government|Inc\.?|Corp\.?)\b")


# a sentence naming a source to use only when the primary fails, or a secondary / tie-breaking one
_FALLBACK_SRC = _rx(
    r"\bif (?:the |this |that |such )?[^.;]{0,80}?(?:is |are |becomes? )?(?:unavailable|not available|ambiguity|"
    r"inaccessible|not published|not (?:yet )?released|(?:does|do|did) not (?:publish|release|report|provide)|"
    r"fails? to|cannot be|can't be|has not (?:published|released|reported)|is delayed|is discontinued|"
    r"goes? down|offline|ambiguous|unclear|conflict)|\bin the event (?:that )?(?:of )?(?:the |a |an )?"
    r"[^.;]{0,60}?(?:unavailab|not available|not publish|discontinu|ambigu|conflict|disagree|dispute)|"
    r"\b(?:secondary|fallback|fall-back|back-?up|alternative|tie-?break(?:er|ing)?) (?:resolution )?sources?\b|"
    r"\bas a (?:fallback|back-?up|secondary source|tie-?breaker)\b|\botherwise,? (?:a |the )?(?:consensus|"
    r"credible|other|alternative)|\bmay (?:also )?(?:be used|use|rely on|consult|refer to)\b|"
    r"\bwill (?:instead )?(?:be used|use|rely on) (?:if|when|in case|should)|\binstead\b|\bin case\b|"
    r"\bshould [^.;]{0,60}?(?:unavailable|not be available|fail|not publish|be delayed)", re.I)


# a clause that adds a second source: "X is the primary source, however Y will also be used"
_BUT = _rx(r"(?:,|;|\s)\s*(?:however|but|although|though|otherwise)\b,?", re.I)
_ALSO = _rx(r"\bwill also (?:be used|suffice|be (?:considered|accepted|consulted))|\bwill (?:also )?suffice\b|"
            r"\bmay also be (?:used|consulted)|^however\b", re.I)
_PRIMARY_WORD = _rx(r"\b(?:primary|main|principal|sole|official) (?:resolution |settlement |data |price )?source",
                    re.I)


def _role(sents: list[Sentence], i: int | None, pos: int | None = None) -> str:
    """primary / fallback for a source at ``pos`` in sentence ``i``: the clause after a "however" / "but"
    that follows a source is a fallback; so is a sentence that says the source "will also suffice"."""
    if i is None:
        return "primary"
    s = sents[i]
    buts = _boundaries(s.text)
    if pos is None or not buts:
        return _clause_role(s.text)
    rel = pos - s.start
    before = [a for a, _ in buts if a < rel]
    if before and _SOURCE_CUE.search(s.text[:before[-1]]):
        return "fallback"
    nxt = next((a for a, _ in buts if a >= rel), None)
    return _clause_role(s.text if nxt is None else s.text[:nxt])


@lru_cache(maxsize=256)
def _boundaries(stext: str) -> tuple[tuple[int, int], ...]:
    return tuple((m.start(), m.end()) for m in _BUT.finditer(stext))


@lru_cache(maxsize=256)
def _clause_role(head: str) -> str:
    if _PRIMARY_WORD.search(head) and not re.search(r"\b(?:secondary|fallback|back-?up|alternative) ", head, re.I):
        return "primary"
    return "fallback" if _FALLBACK_SRC.search(head) or _ALSO.search(head) else "primary"


def _url_ok(sents: list[Sentence], ok: list[bool], i: int) -> bool:
    """A URL counts in a cue sentence, or on the line right after one ("Resolution source:\nhttps://...")."""
    if ok[i]:
        return True
    if i == 0 or not sents[i].text.lstrip("-•* ").lower().startswith("http"):
        return False
    prev = sents[i - 1].text
    return bool(CUE_AT_END.search(prev)) or (ok[i - 1] and prev.rstrip().endswith(":"))


_SHARED_HEAD = re.compile(r"(?:the\s+)?(?P<h>[Gg]overnments|[Mm]inistries|[Pp]arliaments|[Cc]entral banks|"
                          r"[Ee]lection commissions|[Ee]lectoral commissions|[Ff]oreign ministries)\s+of\s+")


def _cue_items(text: str, sents: list[Sentence], ok: list[bool], taken: list[tuple[int, int]]) \
        -> list[tuple[int, SourceItem]]:
    """Sources from the phrase each cue governs, canonicalised by the organisation list when it names one."""
    out: list[tuple[int, SourceItem]] = []
    for i, s in enumerate(sents):
        if not ok[i]:
            continue
        for a, b in governed_phrases(text, s.start, s.text):
            parts = split_list(text, a, b)
            # "the governments of the United States and Iran": the plural head is shared by every part
            shared = _SHARED_HEAD.match(text, a, parts[0][1]) if len(parts) >= 2 else None
            for k, (na, nb) in enumerate(parts):
                na, nb = lead_trim(text, na, nb)
                if nb - na < 2 or any(x < nb and na < y for x, y in taken):
                    continue  # a URL or a known name already covers it
                if _NOT_THIS_SOURCE.search(text[max(0, na - 40):na]) and not _WILL_BE_USED.search(s.text):
                    continue
                phrase = text[na:nb]
                if shared is not None:
                    head = shared.group("h")[:-1] if shared.group("h").endswith("s") else shared.group("h")
                    rest = phrase[shared.end() - na:] if k == 0 else phrase
                    phrase = f"{head.lower()} of {rest}"
                    name, kind = next(((nm, kd) for rx, nm, kd in _AGENCIES if rx.search(phrase)), (phrase, "official"))
                    item = SourceItem(name=name, kind=kind, span=_span(text, na, nb), via="cue",  # type: ignore[arg-type]
                                      role=_role(sents, i, na))
                    taken.append((item.span.start, item.span.end))
                    out.append((item.span.start, item))
                    continue
                canon = next(((nm, kd, m) for rx, nm, kd in _AGENCIES for m in [rx.search(phrase)] if m), None)
                acr = ACRONYM_AFTER.match(text, nb)
                if canon is not None:
                    nm, kd, m = canon
                    sp = _span(text, na + m.start(), na + m.end())
                    item = SourceItem(name=nm, kind=kd, span=sp, via="cue", role=_role(sents, i, na))  # type: ignore[arg-type]
                elif (ap := _APPOSITIVE.match(phrase)) is not None:  # "this market's resolver, UMA"
                    item = SourceItem(name=ap.group("n"), kind="official", via="cue", role=_role(sents, i, na),
                                      span=_span(text, na + ap.start("n"), na + ap.end("n")))
                elif acr is not None:  # "the American Automotive Association (AAA)": the body by its acronym
                    item = SourceItem(name=acr.group("acr"), kind="agency", via="cue", role=_role(sents, i, na),
                                      span=_span(text, acr.start("acr"), acr.end("acr")))
                else:
                    kind = "reporting" if re.search(r"credible|consensus|media|reputable|news", phrase, re.I) \
                        else "official"
                    name = "credible reporting" if kind == "reporting" else phrase
                    item = SourceItem(name=name, kind=kind, span=_span(text, na, nb), via="cue",  # type: ignore[arg-type]
                                      role=_role(sents, i, na))
                taken.append((item.span.start, item.span.end))
                out.append((item.span.start, item))
    return out


def _find_sources(text: str, sents: list[Sentence]) -> list[SourceItem]:
    starts = [s.start for s in sents]
    ok = [bool(_SOURCE_CUE.search(s.text) or POSSESSIVE_PAGE.search(s.text)) and not _NOT_SOURCE.search(s.text)
          for s in sents]
    # a data series named in the YES condition is what the market measures ("If the CPI ... is exactly 3.5%")
    yes_sent = [bool(_YES_SENT.search(s.text)) for s in sents]
    attests = list(_ATTESTS.finditer(text))
    if not any(ok) and not any(yes_sent) and not attests and not any(_MEASURED.search(s.text) for s in sents):
        return []
    found: list[tuple[int, SourceItem]] = []
    for m in _REPORTER.finditer(text):
        name = m.group("name").rstrip(",")
        if name.endswith(".") and not re.search(r"\b(?:Inc|Corp|Co|Ltd|Plc|N\.V|S\.A)\.$", name):
            name = name[:-1]
        found.append((m.start("name"), SourceItem(name=name, kind="official", via="reporter",
                                                  span=_span(text, m.start("name"), m.start("name") + len(name)))))
    for m in attests:
        if _CLAUSE_WORD.match(m.group("name")):
            continue  # "If AAA reports that": the name starts after the clause word (read by _REPORTER)
        name = re.sub(r"^the ", "", m.group("name"))
        if m.group("verb") in ("announces", "declares", "determines") and not (
                m.group("acr") or _INSTITUTION.search(name)):
            continue  # a person "announces that" he will run: an actor, not a source
        a = m.start("name") + (4 if m.group("name").startswith("the ") else 0)
        if m.group("acr"):
            a2 = m.start("acr") + 2
            found.append((a, SourceItem(name=m.group("acr")[2:-1], kind="agency", via="reporter",
                                        span=_span(text, a2, m.end("acr") - 1))))
        else:
            found.append((a, SourceItem(name=name, kind="official", via="reporter", span=_span(text, a, a + len(name)))))
    url_spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        i = _sentence_of(sents, starts, m.start())
        url = m.group(0).rstrip(".;:")
        url_spans.append((m.start(), m.start() + len(url)))
        if i is None or not _url_ok(sents, ok, i):
            continue
        if _SEE_BEFORE.search(text[max(0, m.start() - 8):m.start()]) and not _RESOLVE_WORD.search(sents[i].text):
            continue  # "(see: https://...)" backs a statement of fact; it is not what resolves the market
        found.append((m.start(), SourceItem(name=_url_host(url), kind="url", url=url, via="url", role=_role(sents, i, m.start()),
                                            span=_span(text, m.start(), m.start() + len(url)))))
    # a bare host cited in brackets, "(coingecko.com)", in a paragraph (line) that names a source
    for m in _BARE_HOST.finditer(text):
        if any(x <= m.start() < y for x, y in url_spans):
            continue
        i = _sentence_of(sents, starts, m.start())
        ls, le = text.rfind("\n", 0, m.start()) + 1, text.find("\n", m.end())
        le = len(text) if le < 0 else le
        if i is None or not any(ok[k] and sents[k].start < le and ls < sents[k].end for k in range(len(sents))):
            continue
        alone = sents[i].text.strip() == m.group(0) and i > 0  # "(host)" on its own cites the sentence before
        role = _role(sents, i - 1) if alone else _role(sents, i, m.start("h"))
        found.append((m.start("h"), SourceItem(name=_url_host(m.group("h")), kind="url", via="url",
                                               role=role,  # type: ignore[arg-type]
                                               span=_span(text, m.start("h"), m.end("h")))))
    any_cue = any(ok)
    for rx, name, kind in _AGENCIES:
        if not any_cue and kind != "data_series":
            continue  # no source sentence: only a data series named in the YES condition can count
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in url_spans):
                continue  # an agency inside a URL is the URL's business
            i = _sentence_of(sents, starts, m.start())
            if _NOT_THIS_SOURCE.search(text[max(0, m.start() - 40):m.start()]) and not (
                    i is not None and _WILL_BE_USED.search(sents[i].text)):
                continue  # "a source like Google or Coinbase may help", "not according to Coinbase"
            if i is None or not (ok[i] or (kind == "data_series" and yes_sent[i])):
                continue
            if _OFFICE_OF.search(text[max(0, m.start() - 40):m.start()]):
                continue  # "to be Chair of the Federal Reserve": the body is where the office is, not a source
            found.append((m.start(), SourceItem(name=name, kind=kind, role=_role(sents, i, m.start()),  # type: ignore[arg-type]
                                                span=_span(text, m.start(), m.end()))))
            break
    # what a URL or a known name already covers is taken (a known name inside a cue phrase is canonicalised)
    taken = url_spans + [(it.span.start, it.span.end) for _, it in found]
    found.extend(_cue_items(text, sents, ok, taken))
    items: list[SourceItem] = []
    seen: set[str] = set()
    for _, it in sorted(found, key=lambda x: x[0]):
        if it.name.lower() not in seen:
            seen.add(it.name.lower())
            items.append(it)
    # "alternative credible sources such as Kraken, Binance ... will be used": the named ones are the sources
    items = [i for i in items if not (i.name == "credible reporting" and _SUCH_AS_NAME.match(text, i.span.end))]
    # "official announcements from the NBER": the generic words give way to the body they name
    if any(i.name == "official announcements" for i in items) and any(
            i.kind == "agency" for i in items):
        items = [i for i in items if i.name != "official announcements"]
    publishers = [i for i in items if i.role == "primary" and i.kind in ("agency", "official", "url")]
    if publishers:
        # a data series whose publisher is named is what is measured, not who settles ("CPI" beside "BLS")
        items = [i.model_copy(update={"role": "measure"}) if i.kind == "data_series" and i.role == "primary"
                 and i.name not in _PRICE_FEEDS else i for i in items]
    elif not any(i.role == "primary" for i in items):
        for sent in sents:
            mm = _MEASURED.search(sent.text)
            if mm:
                g = "s" if mm.group("s") else "c"
                a, b = sent.start + mm.start(g), sent.start + mm.end(g)
                items.insert(0, SourceItem(name=text[a:b], kind="data_series", via="condition",
                                           span=_span(text, a, b)))
                break
    return items
