"""What a market is a bet ON: its subject, the period it is about, the quantity it measures.

The rule description alone often does not say: a Polymarket neg-risk member's description is a shared
template ("the named individual"), the candidate lives only in the question and the member's label;
Kalshi ladders share their rules and differ by strike; two meetings of one committee differ by a month.
So the terms are read from the question (title), the member's label (``group_label``: neg-risk member,
Kalshi sub-title, Manifold answer) and, for pasted text without a title, the YES clause of the rules.

- **Subjects**: named people, teams, organisations, places. A capitalised run of words in the question
  or label, minus words that are not names: question and function words, months, and any word the rule
  texts themselves use in lower case ("interest", "rates", "meeting"): prose writes names capitalised and
  common words not, so a title-cased question does not turn "Interest Rates" into a name.
- **Period**: months (with day and year when given), quarters and years named in the question (or the
  YES clause).
- **Quantity qualifiers**: words that make a look-alike measure another number: core vs headline,
  month-over-month vs year-over-year, seasonally adjusted or not, a daily high vs low.

Pure; every term carries the exact words it came from (``Span``: part "title", "label" or "rules").
``compare_terms`` (used by ``pm_mcp.domain.rules_compare``) turns two sets of terms into differences.
"""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.rules.conditions import _keys, compare_conditions, read_conditions
from pm_mcp.domain.rules.models import ContractTerms, NamedSubject, PeriodTerm, Span, Status

Part = Literal["rules", "title", "label"]

__all__ = ["read_terms", "compare_terms", "TermDifference", "alias_key", "canon_tokens", "same_name", "month_day"]

_MONTHS = {"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
           "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
           "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12}

# capitalised words that are not names in a market question
_NOT_NAMES = {
    "will", "who", "what", "which", "when", "where", "why", "how", "is", "are", "was", "were", "be", "been", "does",
    "do", "did", "can", "could", "would", "should", "shall", "has", "have", "had", "the", "a", "an", "if", "this",
    "that", "these", "those", "it", "its", "market", "markets", "resolves", "resolve", "resolved", "resolution",
    "yes", "no", "other", "others", "any", "anyone", "another", "all", "none", "before", "after", "by", "in", "on",
    "at", "of", "for", "to", "from", "with", "without", "as", "or", "and", "not", "than", "then", "above", "below",
    "over", "under", "between", "more", "less", "least", "most", "up", "down", "next", "new", "first", "last",
    "top", "end", "win", "wins", "winner", "winning", "won", "lose", "loses", "tie", "draw", "price", "prices",
    "rate", "rates", "range", "cut", "cuts", "hike", "hikes", "hold", "holds", "raise", "raises", "increase",
    "increases", "decrease", "decreases", "reach", "reaches", "hit", "hits", "close", "closes", "finish",
    "finishes", "happen", "happens", "say", "says", "announce", "announces", "become", "becomes", "get", "gets",
    "remain", "remains", "stay", "stays", "leave", "leaves", "out", "pass", "passes", "sign", "signs", "q1", "q2",
    "q3", "q4", "h1", "h2", "am", "pm", "et", "est", "edt", "utc", "gmt", "pt", "ct", "week", "month", "year",
    "day", "today", "tomorrow", "tonight", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "bps", "pp", "usd", "percent", "high", "low", "daily", "weekly", "monthly", "annual", "yearly",
    "core", "headline", "official", "officially", "election", "elections", "nomination", "nominee", "primary",
    "general", "presidential", "president", "presidency", "vice", "senator", "sen", "governor", "gov", "rep", "representative",
    "mr", "mrs", "ms", "dr", "prime", "minister", "chair", "chairman", "chairwoman", "ceo", "king", "queen",
    "prince", "st", "vs", "v", "game", "match", "meeting", "decision", "seat", "seats", "party", "leader",
}
# spellings of one name that markets mix: all map to the first
_ALIASES = [
    ("fed", "fomc", "federal reserve", "the fed", "federal open market committee"),
    ("us", "u.s", "u.s.", "usa", "united states", "united states of america", "america"),
    ("uk", "u.k", "u.k.", "united kingdom", "britain", "great britain"),
    ("bitcoin", "btc"), ("ethereum", "eth", "ether"), ("solana", "sol"), ("xrp", "ripple"),
    ("republican", "republicans", "gop", "rep."), ("democratic", "democrat", "democrats", "dem", "dems"),
    ("spx", "s&p 500", "s&p", "sp500", "s&p500"), ("nasdaq", "nasdaq-100", "ndx", "nasdaq 100"),
    ("ecb", "european central bank"), ("boe", "bank of england"), ("boj", "bank of japan"),
    ("bls", "bureau of labor statistics"), ("cpi", "consumer price index", "cpi-u", "urban consumers", "all urban consumers"), ("gdp", "gross domestic product"),
    # the leagues, and the words Kalshi's game rules use for them ("the Dallas vs Seattle professional football game")
    ("nfl", "national football league", "professional football"),
    ("nba", "national basketball association", "professional basketball"),
    ("mlb", "major league baseball", "professional baseball"), ("nhl", "national hockey league", "professional hockey"),
    # the words of a rate decision
    ("cut", "cuts", "decrease", "decreases", "lower", "lowers", "reduce", "reduces", "reduction"),
    ("hike", "hikes", "increase", "increases", "raise", "raises"),
    ("hold", "holds", "maintain", "maintains", "unchanged", "pause", "pauses", "no change"),
    ("tie", "draw", "a tie", "a draw"),
    ("epl", "premier league", "english premier league"), ("un", "united nations"), ("eu", "european union"),
]
_ALIAS = {spelling: group[0] for group in _ALIASES for spelling in group}

# A team is written by its city or region ("Seattle", Kalshi) or its nickname ("Seahawks", Polymarket): real
# facts, the four North American major leagues. One city has several teams, so a city stands for a nickname only
# when the other text names no other team of that city.
_TEAMS_BY_LEAGUE = {
    "nfl": "Arizona Cardinals|Atlanta Falcons|Baltimore Ravens|Buffalo Bills|Carolina Panthers|Chicago Bears|"
           "Cincinnati Bengals|Cleveland Browns|Dallas Cowboys|Denver Broncos|Detroit Lions|Green Bay Packers|"
           "Houston Texans|Indianapolis Colts|Jacksonville Jaguars|Kansas City Chiefs|Las Vegas Raiders|"
           "Los Angeles Chargers|Los Angeles Rams|Miami Dolphins|Minnesota Vikings|New England Patriots|"
           "New Orleans Saints|New York Giants|New York Jets|Philadelphia Eagles|Pittsburgh Steelers|"
           "San Francisco 49ers|Seattle Seahawks|Tampa Bay Buccaneers|Tennessee Titans|Washington Commanders",
    "nba": "Atlanta Hawks|Boston Celtics|Brooklyn Nets|Charlotte Hornets|Chicago Bulls|Cleveland Cavaliers|"
           "Dallas Mavericks|Denver Nuggets|Detroit Pistons|Golden State Warriors|Houston Rockets|Indiana Pacers|"
           "Los Angeles Clippers|Los Angeles Lakers|Memphis Grizzlies|Miami Heat|Milwaukee Bucks|"
           "Minnesota Timberwolves|New Orleans Pelicans|New York Knicks|Oklahoma City Thunder|Orlando Magic|"
           "Philadelphia 76ers|Phoenix Suns|Portland Trail Blazers|Sacramento Kings|San Antonio Spurs|"
           "Toronto Raptors|Utah Jazz|Washington Wizards",
    "mlb": "Arizona Diamondbacks|Atlanta Braves|Baltimore Orioles|Boston Red Sox|Chicago Cubs|Chicago White Sox|"
           "Cincinnati Reds|Cleveland Guardians|Colorado Rockies|Detroit Tigers|Houston Astros|Kansas City Royals|"
           "Los Angeles Angels|Los Angeles Dodgers|Miami Marlins|Milwaukee Brewers|Minnesota Twins|New York Mets|"
           "New York Yankees|Oakland Athletics|Philadelphia Phillies|Pittsburgh Pirates|San Diego Padres|"
           "San Francisco Giants|Seattle Mariners|St. Louis Cardinals|Tampa Bay Rays|Texas Rangers|"
           "Toronto Blue Jays|Washington Nationals",
    "nhl": "Anaheim Ducks|Boston Bruins|Buffalo Sabres|Calgary Flames|Carolina Hurricanes|Chicago Blackhawks|"
           "Colorado Avalanche|Columbus Blue Jackets|Dallas Stars|Detroit Red Wings|Edmonton Oilers|Florida Panthers|"
           "Los Angeles Kings|Minnesota Wild|Montreal Canadiens|Nashville Predators|New Jersey Devils|"
           "New York Islanders|New York Rangers|Ottawa Senators|Philadelphia Flyers|Pittsburgh Penguins|"
           "San Jose Sharks|Seattle Kraken|St. Louis Blues|Tampa Bay Lightning|Toronto Maple Leafs|Utah Hockey Club|"
           "Vancouver Canucks|Vegas Golden Knights|Washington Capitals|Winnipeg Jets",
}
_TEAM_CITIES = ("Golden State", "Green Bay", "Kansas City", "Las Vegas", "Los Angeles", "New England", "New Jersey",
                "New Orleans", "New York", "Oklahoma City", "San Antonio", "San Diego", "San Francisco", "San Jose",
                "St. Louis", "Tampa Bay")


def _team_pairs() -> list[tuple[str, str]]:
    out = []
    for teams in _TEAMS_BY_LEAGUE.values():
        for full in teams.split("|"):
            city = next((c for c in _TEAM_CITIES if full.startswith(c + " ")), full.split(" ")[0])
            out.append((city.lower(), full[len(city) + 1:].lower()))
    return out


_TEAMS = _team_pairs()
_CITY_NICKS: dict[str, set[str]] = {}
_NICK_CITIES: dict[str, set[str]] = {}
for _c, _n in _TEAMS:
    _CITY_NICKS.setdefault(_c, set()).add(_n)
    _NICK_CITIES.setdefault(_n, set()).add(_c)


def _has(phrase: str, text: str) -> bool:
    """``phrase`` (lower case) written in ``text`` as a name: each word capitalised ("Heat", "Tampa Bay") or in
    capitals, so the heat of a weather market is not the Miami Heat; a text with no capitals at all (an alias
    key) is matched as it is."""
    if text == text.lower():
        return re.search(r"(?<![\w])" + re.escape(phrase) + r"(?![\w])", text) is not None
    for form in (" ".join(w[:1].upper() + w[1:] for w in phrase.split(" ")), phrase.upper()):
        if re.search(r"(?<![\w])" + re.escape(form).replace(r"\ ", r"\s+") + r"(?![\w])", text):
            return True
    return False


def same_name(x: str, y: str) -> bool:
    """Two spellings of one name: one alias, a team's city and nickname ("Seattle" / "Seahawks"), or the words of
    one inside the other ("Rays" / "Tampa Bay Rays")."""
    kx, ky = alias_key(x), alias_key(y)
    if not kx or not ky:
        return False
    if kx == ky or _team_present(kx, ky) or _team_present(ky, kx):
        return True
    tx, ty = set(canon_tokens(kx)), set(canon_tokens(ky))
    return bool(tx) and bool(ty) and (tx <= ty or ty <= tx)


def _team_present(key: str, text: str) -> bool:
    """A team named by its nickname and written by its city on the other side ("Seahawks" / "Seattle"), or the
    reverse; not when the other text names another team of that city ("Mets" is not "New York Yankees")."""
    if key in _NICK_CITIES:
        for city in _NICK_CITIES[key]:
            if _has(city, text) and not any(_has(n, text) for n in _CITY_NICKS[city] if n != key):
                return True
        return False
    if key in _CITY_NICKS:
        return any(_has(n, text) for n in _CITY_NICKS[key])
    return False


# places whose name starts with a word that is otherwise not a name (real facts)
_NEW_PLACES = {"new york", "new jersey", "new orleans", "new england", "new zealand", "new mexico", "new hampshire",
               "new delhi", "new brunswick", "new south wales"}
_CORPORATE = {"inc", "corp", "corporation", "co", "ltd", "llc", "plc", "sa", "ag", "nv", "group", "holdings"}
_NAME_RUN = re.compile(r"[A-Z0-9][\w'’.&-]*(?:\s+(?:(?:of|de|da|del|la|le|van|von|der|bin|al|and|&)\s+)?"
                       r"[A-Z0-9][\w'’.&-]*)*")
_WORD = re.compile(r"[A-Za-z][\w'’&-]*")
_INITIAL = re.compile(r"[A-Z]\.")
_POSSESSIVE = re.compile(r"['’]s$")
# a venue's tag before the question ("[Single Market] Will ..."): not part of what is asked
_TITLE_TAG = re.compile(r"^\s*\[[^\]\n]{1,40}\]")
_YEAR = re.compile(r"(?<![\d$.,])(?:19|20)\d{2}(?![\d%])")
_MONTH_RX = re.compile(r"\b(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
                       r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?(?:\s+(?P<day>\d{1,2})"
                       r"(?:st|nd|rd|th)?(?!\d))?(?:,?\s+(?P<year>(?:19|20)\d{2}))?\b")
_QUARTER_RX = re.compile(r"\b(?:Q(?P<q>[1-4])|(?P<qw>first|second|third|fourth)\s+quarter)(?:\s+(?:of\s+)?"
                         r"(?P<year>(?:19|20)\d{2}))?\b", re.I)
_QWORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
# (qualifier, its opposites): a look-alike that measures another number
_QUALIFIERS: dict[str, re.Pattern[str]] = {
    "core": re.compile(r"\bcore\b|\bless\s+food\s+and\s+energy\b|\bexcluding\s+food\s+and\s+energy\b", re.I),
    "headline": re.compile(r"\bheadline\b|\ball[- ]items\b(?!\s+less\b)", re.I),
    "month-over-month": re.compile(r"\bmonth[- ]over[- ]month\b|\bm/?o/?m\b|\bmonthly (?:change|increase|rate)\b",
                                   re.I),
    "year-over-year": re.compile(r"\byear[- ]over[- ]year\b|\by/?o/?y\b|\b12[- ]month\b|\bannual(?:ized)? "
                                 r"(?:change|increase|rate|inflation)\b", re.I),
    "not seasonally adjusted": re.compile(r"\bnot seasonally adjusted\b|\bunadjusted\b|\bnsa\b", re.I),
    "seasonally adjusted": re.compile(r"(?<!not )\bseasonally adjusted\b", re.I),
    "daily high": re.compile(r"\b(?:daily |maximum |max(?:imum)? )?high(?:est)? temperature\b|\btemperature high\b",
                             re.I),
    "daily low": re.compile(r"\b(?:daily |minimum |min(?:imum)? )?low(?:est)? temperature\b|\btemperature low\b",
                            re.I),
}
_OPPOSITES = [("core", "headline"), ("month-over-month", "year-over-year"),
              ("seasonally adjusted", "not seasonally adjusted"), ("daily high", "daily low")]


def month_day(text: str) -> tuple[int, int] | None:
    """The (month, day) of the first date written in ``text`` ("March 8 at 7:00PM ET" -> (3, 8)), else None."""
    m = _MONTH_RX.search(text)
    if m is None or not m.group("day"):
        return None
    return _MONTHS[m.group("mon").lower().rstrip(".")], int(m.group("day"))


def alias_key(words: str) -> str:
    w = re.sub(r"\s+", " ", words.strip().lower().replace("’", "'"))
    w = re.sub(r"^the ", "", w)
    return _ALIAS.get(w, _ALIAS.get(w.rstrip("."), w))


_DOTTED = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?")


def _lower_words(texts: list[str]) -> set[str]:
    """Words the texts use in lower case (common words, not names)."""
    out: set[str] = set()
    for t in texts:
        # a site's host is not prose: "ir.tesla.com" does not make "Tesla" a common word
        t = _DOTTED.sub(" ", t) if "." in t else t
        out.update([w.lower().rstrip("'’s") for w in _WORD.findall(t) if w[0].islower()])
    return out


def _title_cased(title: str) -> bool:
    """Most longer words capitalised: a Title Cased Question, where capitals do not mark names."""
    words = [w for w in _WORD.findall(title) if len(w) >= 4]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


def _capitalised_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w[0].isupper()}


def _common_only(w: str, common: set[str]) -> bool:
    """A capitalised word that is a name but for the rules using it in lower case ("Weather", "Service")."""
    k = w.lower().strip(".,'’?!:;()").removesuffix("'s").removesuffix("’s")
    return bool(k) and w[:1].isupper() and k in common and k not in _NOT_NAMES and k not in _MONTHS and \
        not k[0].isdigit() and len(k) > 1


def _names_in(text: str, part: Part, offset_text: str, common: set[str]) -> list[NamedSubject]:
    out: list[NamedSubject] = []
    for m in _NAME_RUN.finditer(text):
        words = m.group(0).split()
        # trim leading/trailing non-name words ("Will Gavin Newsom" -> "Gavin Newsom")
        s, e = 0, len(words)

        def is_name(w: str) -> bool:
            k = w.lower().strip(".,'’?!:;()").removesuffix("'s").removesuffix("’s")
            if not k or k in _NOT_NAMES or k in _MONTHS or k.isdigit() or _YEAR.fullmatch(k):
                return False
            if k[0].isdigit() or len(k) == 1:  # 25bps, 4.25%, 2026-03-22, the F of °F
                return False
            return k not in common or k in _ALIAS

        while s < e and not is_name(words[s]):
            if s + 1 < e and f"{words[s]} {words[s + 1].strip('.,?!:;()')}".lower() in _NEW_PLACES:
                break  # "New York": "New" is the place's own word, not the adjective
            s += 1
        while e > s and not is_name(words[e - 1]):
            e -= 1
        if s >= e:
            continue
        # a run may hold several names split by a non-name ("Tottenham vs Nottingham")
        chunk: list[str] = []
        pieces: list[list[str]] = []
        run = words[s:e]
        for i, w in enumerate(run):
            place = i + 1 < len(run) and f"{w} {run[i + 1].strip('.,?!:;()')}".lower() in _NEW_PLACES
            # a middle initial between two names ("Donald J. Trump") is part of the name
            initial = bool(chunk) and _INITIAL.fullmatch(w) is not None and i + 1 < len(run) and is_name(run[i + 1])
            # capitalised common words between two names are part of one name ("National Weather Service's ...")
            inner = False
            if chunk and _common_only(w, common):
                j = i + 1
                while j < len(run) and _common_only(run[j], common) and not _POSSESSIVE.search(run[j - 1]):
                    j += 1
                inner = j < len(run) and (is_name(run[j]) or _POSSESSIVE.search(run[j - 1]) is not None)
            if is_name(w) or place or initial or inner or (chunk and w.lower() in ("of", "de", "da", "del", "la", "le", "van",
                                                                          "von", "der", "bin", "al", "&", "and")):
                chunk.append(w)
                if inner and _POSSESSIVE.search(w):  # "Service's Climatological Report": the name ends here
                    pieces.append(chunk)
                    chunk = []
            else:
                if chunk:
                    pieces.append(chunk)
                chunk = []
        if chunk:
            pieces.append(chunk)
        for piece in pieces:
            while piece and piece[-1].lower() in ("of", "de", "and", "&", "la", "le", "van", "von", "der"):
                piece = piece[:-1]
            if not piece:
                continue
            while len(piece) > 1 and piece[-1].lower().strip(".,") in _CORPORATE:
                piece = piece[:-1]
            phrase = " ".join(piece).strip(".,'’?!:;()")
            phrase = re.sub(r"['’]s$", "", phrase)
            start = offset_text.find(phrase, m.start())
            if start < 0:
                continue
            key = alias_key(phrase)
            if any(n.key == key for n in out):
                continue
            out.append(NamedSubject(text=phrase, key=key, span=Span(start=start, end=start + len(phrase),
                                                                   quote=phrase, part=part)))
    return out


_BEFORE = re.compile(r"\b(?:before|prior to|earlier than)\s+(?:the\s+(?:start|beginning)\s+of\s+)?$", re.I)


def _inclusive(p: PeriodTerm, text: str) -> PeriodTerm:
    """'before Oct 1, 2026' includes up to Sep 30, 2026; 'before 2028' up to 2027; 'before October' up to
    September: stored as that last included day / month / year, marked ``before``."""
    if not _BEFORE.search(text[max(0, p.span.start - 40):p.span.start]):
        return p
    from datetime import date, timedelta

    if p.kind == "date" and p.month and p.day:
        try:
            d = date(p.year or 2000, p.month, p.day) - timedelta(days=1)  # 2000: a leap year, for Mar 1
        except ValueError:
            return p
        return p.model_copy(update={"year": d.year if p.year else None, "month": d.month, "day": d.day,
                                    "before": True})
    if p.kind == "month" and p.month:
        month, year = (p.month - 1, p.year) if p.month > 1 else (12, (p.year - 1) if p.year else None)
        return p.model_copy(update={"month": month, "year": year, "before": True})
    if p.kind == "year" and p.year:
        return p.model_copy(update={"year": p.year - 1, "before": True})
    if p.kind == "quarter" and p.quarter:
        q, year = (p.quarter - 1, p.year) if p.quarter > 1 else (4, (p.year - 1) if p.year else None)
        return p.model_copy(update={"quarter": q, "year": year, "before": True})
    return p


def _periods_in(text: str, part: Part) -> list[PeriodTerm]:
    return [_inclusive(p, text) for p in _raw_periods_in(text, part)]


def _raw_periods_in(text: str, part: Part) -> list[PeriodTerm]:
    out: list[PeriodTerm] = []
    taken: list[tuple[int, int]] = []
    for m in _MONTH_RX.finditer(text):
        mon = _MONTHS[m.group("mon").lower().rstrip(".")]
        if m.group("mon") == "May" and not (m.group("day") or m.group("year")) and \
                re.match(r"\s+(?:not|be|have|also|still)\b", text[m.end():]):
            continue  # the verb "may"
        day = int(m.group("day")) if m.group("day") else None
        year = int(m.group("year")) if m.group("year") else None
        out.append(PeriodTerm(kind="date" if day else "month", year=year, month=mon, day=day,
                              span=Span(start=m.start(), end=m.end(), quote=m.group(0), part=part)))
        taken.append((m.start(), m.end()))
    for m in _QUARTER_RX.finditer(text):
        q = int(m.group("q")) if m.group("q") else _QWORDS[m.group("qw").lower()]
        year = int(m.group("year")) if m.group("year") else None
        out.append(PeriodTerm(kind="quarter", quarter=q, year=year,
                              span=Span(start=m.start(), end=m.end(), quote=m.group(0), part=part)))
        taken.append((m.start(), m.end()))
    for m in _YEAR.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        out.append(PeriodTerm(kind="year", year=int(m.group(0)),
                              span=Span(start=m.start(), end=m.end(), quote=m.group(0), part=part)))
    return out


def read_terms(*, title: str, label: str | None, rules: str, yes_clause: str | None = None,
               yes_clause_start: int | None = None, other_texts: tuple[str, ...] = ()) -> ContractTerms:
    """The contract terms of one market (see the module docstring). ``other_texts``: more prose (e.g. the
    other market's rules) whose lower-case words also count as common words."""
    common = _lower_words([rules, *other_texts])
    label = (label or "").strip() or None
    subjects: list[NamedSubject] = []
    periods: list[PeriodTerm] = []
    read_from: Literal["question", "rules", "none"] = "none"
    if title.strip() or label:
        read_from = "question"
        if label:
            subjects += _names_in(label, "label", label, common)
            periods += _periods_in(label, "label")
        # the tag is blanked, not cut, so that every span still points into the title as written
        asked = _TITLE_TAG.sub(lambda m: " " * len(m.group(0)), title)
        title_names = _names_in(asked, "title", asked, common)
        if _title_cased(asked):
            # "Will The Fed Cut Interest Rates...": capitals say nothing here; keep a word of the title as a
            # name only where the rules or the label write it capitalised too (or it is a known alias); a
            # person's surname written so is enough ("Mike Pence" / "Michael Richard Pence")
            written = _capitalised_words(" ".join((rules, label or "")))
            title_names = [n for n in title_names if n.key in _ALIAS.values() or n.key in _ALIAS
                           or all(t.lower() in written for t in n.text.split())
                           or (len(n.text.split()) >= 2 and len(n.text.split()[-1]) >= 3
                               and n.text.split()[-1].lower() in written)]
        for n in title_names:
            if all(n.key != s.key for s in subjects):
                subjects.append(n)
        periods += _periods_in(title, "title")
    source = yes_clause if yes_clause else (rules if not title.strip() and not label else "")
    if source and (not subjects or not title.strip()):
        start = yes_clause_start if (yes_clause and yes_clause_start is not None) else 0
        names = _names_in(source, "rules", source, common)
        for n in names:
            n.span = Span(start=n.span.start + start, end=n.span.end + start, quote=n.span.quote, part="rules")
            if all(n.key != s.key for s in subjects):
                subjects.append(n)
        if not periods:
            for p in _periods_in(source, "rules"):
                p.span = Span(start=p.span.start + start, end=p.span.end + start, quote=p.span.quote, part="rules")
                periods.append(p)
        if read_from == "none" and (names or periods):
            read_from = "rules"
    qual_text = " ".join(x for x in (title, label or "", yes_clause or rules[:600]) if x)
    qualifiers = [q for q, rx in _QUALIFIERS.items() if rx.search(qual_text)]
    if "not seasonally adjusted" in qualifiers and "seasonally adjusted" in qualifiers:
        qualifiers.remove("seasonally adjusted")
    return ContractTerms(subject_status=Status.FOUND if subjects else Status.UNKNOWN, subjects=subjects,
                         label=label, period_status=Status.FOUND if periods else Status.UNKNOWN, periods=periods,
                         qualifiers=qualifiers, conditions=read_conditions(rules), yes_text=yes_clause or "",
                         read_from=read_from,
                         haystack="\n".join(x for x in (title, label or "", rules) if x), question_text=title,
                         rules_text=rules)


# --- comparing two markets' terms ----------------------------------------------------------------------------------
class TermDifference(BaseModel):
    field: Literal["subject", "period", "quantity"]
    severity: Literal["hard", "soft"]
    detail: str
    a: list[Span] = Field(default_factory=list)
    b: list[Span] = Field(default_factory=list)


def _present(name: NamedSubject, text: str) -> bool:
    """Is this name in the other market's text (any spelling of an alias; a surname alone counts unless
    the other text puts another first name before it: 'Real Madrid' is not 'Atletico Madrid')?"""
    low = text.lower().replace("’", "'")
    group = next((g for g in _ALIASES if name.key == g[0]), None)
    if group is not None:
        return any(re.search(r"(?<![\w])" + re.escape(s) + r"(?![\w])", low) for s in group)
    if _team_present(name.key, text):
        return True
    tokens = [t for t in re.split(r"\s+", name.text.lower().replace("’", "'")) if t]
    if re.search(r"(?<![\w])" + re.escape(" ".join(tokens)) + r"(?![\w])", low):
        return True
    last = tokens[-1]
    if len(last) >= 3:
        # the surname alone ("Newsom" for "Gavin Newsom"), unless another first name stands before it
        for m in re.finditer(r"(?<![\w])" + re.escape(last) + r"(?![\w])", low):
            before = re.search(r"([A-Za-z][\w'’.-]*)\s+$", text[:m.start()])
            if before is None:
                return True
            prev = before.group(1)
            if prev.lower() in tokens or prev[0].islower() or prev.lower().strip(".") in _NOT_NAMES:
                return True
    first = tokens[0]
    if len(tokens) > 1 and len(first) >= 4 and first not in _NOT_NAMES:
        # the short form of a club or company ("Nottingham" for "Nottingham Forest"), unless another name
        # follows it ("Real Sociedad" is not "Real Madrid")
        for m in re.finditer(r"(?<![\w])" + re.escape(first) + r"(?![\w])", low):
            after = re.match(r"\s+([A-Za-z][\w'’.-]*)", text[m.end():])
            if after is None:
                return True
            nxt = after.group(1)
            if nxt.lower() in tokens or nxt[0].islower() or nxt.lower().strip(".") in _NOT_NAMES:
                return True
    return False


_TOKEN = re.compile(r"[a-z0-9]+(?:[.'’][a-z0-9]+)*")
_FILLER = {"the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "and", "or", "is", "be", "will", "this",
           "that", "market", "resolve", "resolves", "their", "its", "his", "her"}


_COMPARATORS = {"above", "below", "over", "under", "more", "less", "greater", "higher", "lower", "fewer", "exceed",
                "exceeds", "exceeding", "least", "most", "than", "equal", "equals", "exactly", "or", "yes", "no", "not",
                "at", "up", "down", "reach", "reaches", "hit", "hits", "before", "after", "by", "until", "through",
                "end", "between", "and", "from", "within", "outside", "inclusive", "rise", "rises", "fall", "falls"}


_MAGNITUDES = {"thousand", "million", "billion", "trillion", "k", "m", "mm", "bn", "b", "t", "percent", "pct"}
_TOKEN_RAW = re.compile(r"[A-Za-z0-9]+(?:[.'’][A-Za-z0-9]+)*")


def _canon(t: str) -> str:
    t = t.lower().replace("’", "'")
    if t in _MONTHS:
        t = f"m{_MONTHS[t]}"
    return _ALIAS.get(t, t)


def canon_tokens(text: str) -> list[str]:
    """The words of ``text`` in one spelling: lower case, aliases to their first name, months as m1..m12."""
    return [_canon(t) for t in _TOKEN_RAW.findall(text)]


_canon_tokens = canon_tokens


def template_difference(a: str, b: str, *, min_tokens: int) -> tuple[str, str] | None:
    """Two texts written from one template that differ in a slot's words (not only in numbers, dates and
    comparators, which the threshold and date comparisons judge): the words as written, e.g. ('Cut', 'Hike')
    or ('Tottenham', 'Tie')."""
    from difflib import SequenceMatcher

    ra, rb = _TOKEN_RAW.findall(a), _TOKEN_RAW.findall(b)
    ta, tb = [_canon(t) for t in ra], [_canon(t) for t in rb]
    if len(ta) < min_tokens or len(tb) < min_tokens or ta == tb:
        return None
    sm = SequenceMatcher(None, ta, tb, autojunk=False)
    if sm.ratio() < 0.85:
        return None
    words_a: list[str] = []
    words_b: list[str] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        # a slot of the template filled differently: a short run of words swapped for another ("Cut" /
        # "Hike", "Tottenham" / "Tie"); insertions and rewordings are left to the other comparisons
        if op != "replace" or i2 - i1 > 3 or j2 - j1 > 3:
            continue
        seg_a = [ra[i] for i in range(i1, i2) if ta[i] not in _FILLER and ta[i] not in _COMPARATORS]
        seg_b = [rb[j] for j in range(j1, j2) if tb[j] not in _FILLER and tb[j] not in _COMPARATORS]
        if not seg_a or not seg_b:
            continue
        if all(re.fullmatch(r"m?\d[\d.]*\w*", _canon(t)) or _canon(t) in _MAGNITUDES for t in seg_a + seg_b):
            continue  # numbers, dates, strikes ("650 million" / "650M"): judged by the threshold / period / deadline
            # comparisons
        words_a += seg_a
        words_b += seg_b
    if not (words_a or words_b):
        return None
    return " ".join(words_a[:6]), " ".join(words_b[:6])


def _member_words(label: str) -> list[str]:
    """The words of a member's label that name a member: not numbers, months (a date is a period, compared as one)
    or the words around them ("Before Oct 1, 2026"); a phrase alias counts as its one name ("No change")."""
    key = alias_key(label)
    if key != label.strip().lower() and " " not in key:
        return [key]
    return [t for t in _canon_tokens(label) if t not in _FILLER and not t[0].isdigit() and
            not re.fullmatch(r"m\d{1,2}", t) and t not in _COMPARATORS]


def _names(ns: list[NamedSubject]) -> str:
    return ", ".join(f"'{n.text}'" for n in ns[:3]) + (" ..." if len(ns) > 3 else "")


def compare_terms(a: ContractTerms, b: ContractTerms, *, a_implies: frozenset[str] = frozenset(),
                  b_implies: frozenset[str] = frozenset()) -> list[TermDifference]:
    """Differences of subject, period and quantity (each side's names are looked for in everything the
    other market says: its ``haystack``). ``a_implies`` / ``b_implies``: name keys a side says without writing
    them (the country of the national agency it reads: "us" for the BLS)."""
    a_text, b_text = a.haystack, b.haystack
    out: list[TermDifference] = []
    # one template, other words: the strongest sign of two members of one ladder or event
    wording = (template_difference(a.question_text, b.question_text, min_tokens=4)
               or template_difference(a.rules_text, b.rules_text, min_tokens=12))
    if wording is not None:
        out.append(TermDifference(field="subject", severity="hard",
                                  detail=f"the same template with other words: A says '{wording[0]}' where B says "
                                         f"'{wording[1]}'"))
    # the members' own labels: words of one label the other market never uses
    if a.label and b.label and alias_key(a.label) != alias_key(b.label) and wording is None:
        la, lb = _member_words(a.label), _member_words(b.label)
        ca, cb = set(_canon_tokens(a_text)), set(_canon_tokens(b_text))
        if [t for t in la if t not in cb] and [t for t in lb if t not in ca]:
            out.append(TermDifference(field="subject", severity="hard",
                                      detail=f"different members: A is '{a.label}', B is '{b.label}'"))
    # subjects: names of A absent from all of B, and of B from A
    already = any(d.field == "subject" and d.severity == "hard" for d in out)
    miss_a = [n for n in a.subjects if not _present(n, b_text) and n.key not in b_implies]
    miss_b = [n for n in b.subjects if not _present(n, a_text) and n.key not in a_implies]
    if already:
        pass
    elif a.label and b.label and alias_key(a.label) != alias_key(b.label) and miss_a and miss_b:
        out.append(TermDifference(field="subject", severity="hard",
                                  detail=f"different members: A is '{a.label}', B is '{b.label}'",
                                  a=[n.span for n in miss_a], b=[n.span for n in miss_b]))
    elif miss_a and miss_b:
        out.append(TermDifference(field="subject", severity="hard",
                                  detail=f"different subjects: A is about {_names(miss_a)}, B about {_names(miss_b)}",
                                  a=[n.span for n in miss_a], b=[n.span for n in miss_b]))
    elif miss_a or miss_b:
        side, other, ns = ("A", "B", miss_a) if miss_a else ("B", "A", miss_b)
        out.append(TermDifference(field="subject", severity="soft",
                                  detail=f"{side} names {_names(ns)}, which {other} does not mention: check both are "
                                         "about the same thing",
                                  a=[n.span for n in miss_a], b=[n.span for n in miss_b]))
    elif a.subject_status != b.subject_status:
        side = "A" if a.subject_status == Status.FOUND else "B"
        out.append(TermDifference(field="subject", severity="soft",
                                  detail=f"the subject could be read only on {side}: check the other side is about "
                                         f"{_names((a if side == 'A' else b).subjects)}"))
    # periods
    d = _compare_periods(a.periods, b.periods)
    if d is not None:
        out.append(d)
    # quantity qualifiers
    qa, qb = set(a.qualifiers), set(b.qualifiers)
    for x, y in _OPPOSITES:
        if (x in qa and y in qb and x not in qb and y not in qa) or (y in qa and x in qb and y not in qb and x not in qa):
            wa, wb = (x, y) if x in qa else (y, x)
            out.append(TermDifference(field="quantity", severity="hard",
                                      detail=f"different measures: A is {wa}, B is {wb}"))
    if "core" in qa ^ qb and not any(td.field == "quantity" for td in out):
        side = "A" if "core" in qa else "B"
        other_text = b_text if side == "A" else a_text
        if not re.search(r"\bcore\b", other_text, re.I):
            out.append(TermDifference(field="quantity", severity="hard",
                                      detail=f"{side} measures the core figure, the other the headline one"))
    # where the figure is observed: a weather station, an airport (one agency reports many)
    sa, sb = _station(a.rules_text), _station(b.rules_text)
    if sa is not None and sb is not None and not _station_named(sa, b_text) and not _station_named(sb, a_text):
        out.append(TermDifference(field="quantity", severity="hard",
                                  detail=f"different observation places: A reads it at '{sa.group('place')}', B at "
                                         f"'{sb.group('place')}'"))
    # what counts as YES: the place that pays, an announcement, cases taken out (against the YES clause and the
    # sentences that say what else is enough: "it is sufficient that ...")
    irrelevant_a, irrelevant_b = _irrelevant_keys(a), _irrelevant_keys(b)
    for cd in compare_conditions(a.conditions, b.conditions, a_yes=_yes_and_inclusions(a),
                                 b_yes=_yes_and_inclusions(b)):
        # one side's exclusion of a case the other side says has no bearing: both leave it out
        if cd.detail.startswith(("A excludes", "B excludes")):
            mine = (cd.a or cd.b)[0].quote if (cd.a or cd.b) else ""
            theirs = irrelevant_b if cd.detail.startswith("A") else irrelevant_a
            keys = set(_keys(mine))
            if any(len(keys & k) >= min(2, len(keys)) for k in theirs):
                continue
        out.append(TermDifference(field="quantity", severity=cd.severity, detail=cd.detail, a=cd.a, b=cd.b))
    return out


_INCLUSION = re.compile(r"\b(?:is|are|will\s+be)\s+(?:also\s+)?(?:sufficient|enough)\b|\bsuffices?\b|"
                        r"\b(?:will|shall)\s+(?:also\s+)?(?:count|qualify)\b|\balso\s+counts?\b|"
                        r"\bcounts?\s+(?:as|towards?)\b", re.I)
_NEGATED = re.compile(r"\bnot\b|\bn't\b|\bnever\b|\bno\s+longer\b", re.I)


# "will have no bearing on the resolution", "will not affect the resolution": the case is taken out of YES too
_IRRELEVANT = re.compile(r"\b(?:have|has)\s+no\s+bearing\b|\bis\s+irrelevant\s+to\b", re.I)


def _irrelevant_keys(t: ContractTerms) -> list[set[str]]:
    """The key words of each case the rules say has no bearing on the resolution."""
    out = []
    for m in re.finditer(r"[^.!?\n]+", t.rules_text):
        hit = _IRRELEVANT.search(m.group(0))
        if hit is not None and (keys := set(_keys(m.group(0)[:hit.start()]))):
            out.append(keys)
    return out


def _yes_and_inclusions(t: ContractTerms) -> str:
    """The YES clause and every sentence of the rules that says what else is enough for YES."""
    yes = t.yes_text or t.rules_text[:600]
    extra = [s for s in re.split(r"(?<=[.!?])\s+|\n+", t.rules_text)
             if _INCLUSION.search(s) and not _NEGATED.search(s)]
    return " ".join([yes, *extra])


# "recorded by NOAA at the LaGuardia Airport Station", "recorded in Central Park, New York", "measured at Chicago
# Midway": where a reported figure is observed
_STATION = re.compile(r"\b(?:recorded|measured|observed|reported|reading)\s+(?:by\s+(?:the\s+)?[A-Z][\w'’.]*(?:\s+"
                      r"[A-Z][\w'’.]*){0,4}\s+)?(?:at|in)\s+(?:the\s+)?(?P<place>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)"
                      r"{0,4})")
_STATION_WORDS = {"airport", "station", "international", "regional", "weather", "observation", "the", "at", "of",
                  "in", "new", "park", "city", "county"}


def _station(rules: str) -> re.Match[str] | None:
    m = _STATION.search(rules)
    if m is None or m.group("place").split()[0].lower() in _MONTHS or _YEAR.fullmatch(m.group("place").split()[0]):
        return None
    return m


def _station_named(m: re.Match[str], other: str) -> bool:
    """Is the place (by a distinctive word of its name) written in the other market's text?"""
    words = [w.lower().strip(".,'’") for w in m.group("place").split()]
    keys = [w for w in words if w not in _STATION_WORDS and len(w) >= 3] or words
    low = other.lower()
    return any(re.search(r"(?<![\w])" + re.escape(k) + r"(?![\w])", low) for k in keys)


def _month_key(p: PeriodTerm) -> tuple[int | None, int | None]:
    return (p.year, p.month)


def _compare_periods(pa: list[PeriodTerm], pb: list[PeriodTerm]) -> TermDifference | None:
    if not pa or not pb:
        return None
    ma = [p for p in pa if p.kind in ("date", "month")]
    mb = [p for p in pb if p.kind in ("date", "month")]
    ya = {p.year for p in pa if p.year}
    yb = {p.year for p in pb if p.year}
    qa = {(p.year, p.quarter) for p in pa if p.kind == "quarter"}
    qb = {(p.year, p.quarter) for p in pb if p.kind == "quarter"}

    def words(ps: list[PeriodTerm]) -> str:
        return ", ".join(dict.fromkeys(p.words() for p in ps))

    spans_a, spans_b = [p.span for p in pa], [p.span for p in pb]
    if ya and yb and not (ya & yb):
        return TermDifference(field="period", severity="hard",
                              detail=f"different years: A is about {words(pa)}, B about {words(pb)}", a=spans_a,
                              b=spans_b)
    if ma and mb:
        months_a, months_b = {p.month for p in ma}, {p.month for p in mb}
        if not (months_a & months_b):
            return TermDifference(field="period", severity="hard",
                                  detail=f"different months: A is about {words(ma)}, B about {words(mb)}",
                                  a=[p.span for p in ma], b=[p.span for p in mb])
        days_a = {(p.month, p.day) for p in ma if p.day}
        days_b = {(p.month, p.day) for p in mb if p.day}
        if days_a and days_b and not (days_a & days_b):
            return TermDifference(field="period", severity="hard",
                                  detail=f"different dates: A is about {words(ma)}, B about {words(mb)}",
                                  a=[p.span for p in ma], b=[p.span for p in mb])
        return None
    if qa and qb and not ({q for _, q in qa} & {q for _, q in qb}):
        return TermDifference(field="period", severity="hard",
                              detail=f"different quarters: A is about {words(pa)}, B about {words(pb)}", a=spans_a,
                              b=spans_b)
    if (ma or qa) and not (mb or qb) or (mb or qb) and not (ma or qa):
        return TermDifference(field="period", severity="soft",
                              detail=f"periods of different length: A is about {words(pa)}, B about {words(pb)}",
                              a=spans_a, b=spans_b)
    return None
