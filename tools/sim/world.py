"""A SYNTHETIC world for the simulators: realistic events on every venue, in each venue's wire shape.

    build_sim("kalshi", world=True)        # the curated events below, on top of the recorded ones
    build_sim("polymarket", world=3000)    # the curated events plus generated ladders up to ~3,000 markets

Everything here is SYNTHETIC (invented, not recorded): ids carry "SYN" / "syn" so nobody mistakes them
for venue data. The curated events cover what people search for (politics, macro, crypto, sports,
weather, culture) with the structures the venues use: exclusive events with members (Polymarket
neg-risk, Kalshi mutually exclusive events), strike ladders (Kalshi "above X" markets), Manifold
multiple-choice answers, plain binaries, closed, resolved and past-close markets. Prices, volumes and
liquidity are in each venue's own unit (Polymarket USD, Kalshi contracts, Manifold mana).

``world_events(n)`` gives the venue-neutral specs; ``gamma_items``, ``kalshi_items`` and
``manifold_items`` turn them into what each simulator serves (tools/sim/<venue>.py ``install`` takes
``world=`` and adds them with its ``add_market``).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

DAY_MS = 86_400_000


@dataclass
class Member:
    label: str  # the member's name in its event ("Gavin Newsom", "Above 4.00%"); "" for a lone binary
    price: float
    volume: float
    key: str = ""


@dataclass
class WorldEvent:
    venue: str
    key: str  # unique per venue, upper-case letters/digits (ids and tickers are built from it)
    title: str
    category: str
    close: str  # ISO date (UTC)
    kind: str  # "binary" | "exclusive" (one winner among members) | "ladder" (strike markets)
    members: list[Member] = field(default_factory=list)
    status: str = "open"  # open | closed | resolved
    question: str = ""  # a member's question, with {label} (exclusive / ladder)
    liquidity: float = 0.0
    winner: str = ""  # resolved: the member (or "Yes"/"No" for a binary) that won


def _m(spec: str, vol: float) -> list[Member]:
    """"Label=0.31, Other=0.2" -> members sharing ``vol`` in proportion to price (a liquid favourite)."""
    out = []
    pairs = [p.rsplit("=", 1) for p in spec.split(", ")]
    total = sum(float(p) for _, p in pairs) or 1.0
    for label, p in pairs:
        out.append(Member(label.strip(), float(p), round(vol * (0.3 + float(p) / total), 2)))
    return out


def _bin(p: float, vol: float) -> list[Member]:
    return [Member("", p, vol)]


# venue letters: P Polymarket, K Kalshi, M Manifold (the sims' names below)
_P, _K, _M = "polymarket", "kalshi", "manifold"

CURATED: list[WorldEvent] = [
    # --- politics -------------------------------------------------------------------------------------
    WorldEvent(_P, "PRES28", "Presidential Election Winner 2028", "Politics", "2028-11-07", "exclusive",
               _m("JD Vance=0.29, Gavin Newsom=0.19, Marco Rubio=0.08, Alexandria Ocasio-Cortez=0.05", 41e6),
               question="Will {label} win the 2028 US Presidential Election?", liquidity=2.1e6),
    WorldEvent(_K, "KXPRES28", "Who will win the 2028 presidential election?", "Politics", "2028-11-07",
               "exclusive", _m("JD Vance=0.30, Gavin Newsom=0.20, Marco Rubio=0.07", 3.2e6),
               question="Will {label} win the 2028 presidential election?"),
    WorldEvent(_M, "DEM28WIN", "Will a Democrat win the 2028 US presidential election?", "Politics", "2028-11-08",
               "binary", _bin(0.52, 91_000), liquidity=5_000),
    WorldEvent(_K, "KXDEMNOM28", "2028 Democratic presidential nominee?", "Politics", "2028-08-20", "exclusive",
               _m("Gavin Newsom=0.33, Josh Shapiro=0.12, Pete Buttigieg=0.08, Alexandria Ocasio-Cortez=0.09", 1.4e6),
               question="Will {label} be the 2028 Democratic presidential nominee?"),
    WorldEvent(_M, "DEMNOM28", "Who will be the 2028 Democratic presidential nominee?", "Politics", "2028-08-20",
               "exclusive", _m("Gavin Newsom=0.31, Josh Shapiro=0.14, Pete Buttigieg=0.07, Other=0.48", 64_000),
               liquidity=3_000),
    WorldEvent(_P, "GOPNOM28", "Republican Presidential Nominee 2028", "Politics", "2028-08-20", "exclusive",
               _m("JD Vance=0.52, Donald Trump Jr.=0.09, Marco Rubio=0.08", 18e6),
               question="Will {label} win the 2028 Republican presidential nomination?", liquidity=900_000),
    WorldEvent(_K, "KXSENATE26", "Which party will control the Senate after the 2026 midterms?", "Politics",
               "2026-11-03", "exclusive", _m("Republicans=0.81, Democrats=0.19", 2.6e6), status="resolved",
               question="Will {label} control the Senate after the 2026 midterms?", winner="Republicans"),
    WorldEvent(_P, "SENATE26", "Which party will win the Senate in 2026?", "Politics", "2026-11-03", "exclusive",
               _m("Republican=0.82, Democratic=0.18", 9.5e6), status="resolved",
               question="Will the {label} Party control the Senate after the 2026 election?", winner="Republican"),
    WorldEvent(_P, "UKPM", "Next UK Prime Minister after Starmer?", "Politics", "2029-12-31", "exclusive",
               _m("Andy Burnham=0.27, Wes Streeting=0.18, Kemi Badenoch=0.10, Nigel Farage=0.15", 3.1e6),
               question="Will {label} be the next UK Prime Minister?", liquidity=240_000),
    WorldEvent(_K, "KXTRUMPAPPROVE-26DEC31", "Trump approval rating on Dec 31, 2026?", "Politics", "2026-12-31",
               "ladder", _m("Above 40%=0.71, Above 42%=0.44, Above 45%=0.12", 210_000),
               question="Trump approval rating {label} on Dec 31, 2026?"),
    WorldEvent(_P, "TRUMPPUTIN", "Will Trump meet Putin in 2026?", "Politics", "2026-12-31", "binary",
               _bin(0.21, 1.9e6), liquidity=88_000),
    WorldEvent(_M, "TRUMPIMPEACH", "Will Trump be impeached again before 2027?", "Politics", "2026-12-31", "binary",
               _bin(0.04, 38_000), liquidity=1_500),
    WorldEvent(_M, "POPEITALIAN", "Will the next pope be Italian?", "Religion", "2070-01-01", "binary",
               _bin(0.41, 12_000), liquidity=800),
    WorldEvent(_P, "GERCHANCELLOR", "Will Friedrich Merz remain German Chancellor through 2026?", "Politics",
               "2026-12-31", "binary", _bin(0.93, 410_000), liquidity=30_000),
    # --- macro ------------------------------------------------------------------------------------------
    WorldEvent(_P, "FEDDEC26", "Fed decision in December 2026?", "Economics", "2026-12-09", "exclusive",
               _m("No change=0.38, 25 bps decrease=0.55, 50+ bps decrease=0.05, 25+ bps increase=0.02", 22e6),
               question="Fed {label} after the December 2026 meeting?", liquidity=1.3e6),
    WorldEvent(_K, "KXFEDDECISION-26DEC", "Fed decision in Dec 2026?", "Economics", "2026-12-09", "exclusive",
               _m("Hold=0.37, Cut 25bps=0.56, Cut >25bps=0.05, Hike 25bps=0.02", 4.4e6),
               question="Will the Federal Reserve {label} at their December 2026 meeting?"),
    WorldEvent(_P, "FEDJUL26", "Fed decision in July 2026?", "Economics", "2026-07-29", "exclusive",
               _m("No change=0.97, 25 bps decrease=0.03", 14e6), status="resolved",
               question="Fed {label} after the July 2026 meeting?", winner="No change"),
    WorldEvent(_M, "FEDJUNE26", "Will the Fed cut rates in June 2026?", "Economics", "2026-06-17", "binary",
               _bin(0.02, 9_000), status="resolved", winner="No"),
    WorldEvent(_P, "RECESSION26", "US recession in 2026?", "Economics", "2027-02-28", "binary",
               _bin(0.11, 6.2e6), liquidity=410_000),
    WorldEvent(_K, "KXRECSSNBER-26", "Will the US enter a recession in 2026?", "Economics", "2027-06-30", "binary",
               _bin(0.12, 520_000)),
    WorldEvent(_M, "RECESSION27", "Will the US enter a recession before 2027?", "Economics", "2026-12-31", "binary",
               _bin(0.09, 27_000), liquidity=2_000),
    WorldEvent(_K, "KXCPIYOY-26NOV", "CPI year-over-year in November 2026?", "Economics", "2026-12-10", "ladder",
               _m("Above 2.5%=0.88, Above 2.8%=0.61, Above 3.0%=0.34, Above 3.2%=0.12", 180_000),
               question="Will CPI inflation be {label} in November 2026?"),
    WorldEvent(_P, "CPI3", "Will US inflation (CPI YoY) exceed 3% in 2026?", "Economics", "2027-01-13", "binary",
               _bin(0.36, 740_000), liquidity=52_000),
    WorldEvent(_P, "FEDCUTS26", "How many Fed rate cuts in 2026?", "Economics", "2026-12-31", "exclusive",
               _m("0=0.03, 1=0.10, 2=0.41, 3+=0.46", 8.8e6), question="Will the Fed cut rates {label} times in 2026?",
               liquidity=500_000),
    WorldEvent(_P, "FEDCHAIR", "Who will Trump nominate as Fed Chair?", "Economics", "2026-12-31", "exclusive",
               _m("Kevin Hassett=0.61, Kevin Warsh=0.24, Christopher Waller=0.09", 31e6),
               question="Will Trump nominate {label} as the next Fed Chair?", liquidity=1.7e6),
    WorldEvent(_K, "KXFEDCHAIRNOM-26", "Who will be nominated as Fed Chair?", "Economics", "2026-12-31",
               "exclusive", _m("Kevin Hassett=0.60, Kevin Warsh=0.25, Christopher Waller=0.08", 2.9e6),
               question="Will {label} be nominated as Fed Chair?"),
    WorldEvent(_K, "KXGDP-26Q3", "US GDP growth in Q3 2026?", "Economics", "2026-10-29", "ladder",
               _m("Above 1.0%=0.9, Above 2.0%=0.62, Above 3.0%=0.2", 95_000), status="resolved",
               question="Will real GDP growth be {label} in Q3 2026?", winner="Above 2.0%"),
    WorldEvent(_M, "UNEMP5", "Will US unemployment reach 5% in 2026?", "Economics", "2026-12-31", "binary",
               _bin(0.07, 6_500), liquidity=900),
    # --- crypto -----------------------------------------------------------------------------------------
    WorldEvent(_P, "BTC2026", "What price will Bitcoin hit in 2026?", "Crypto", "2026-12-31", "ladder",
               _m("$150,000=0.06, $130,000=0.14, $60,000=0.22, $50,000=0.08", 12e6),
               question="Will Bitcoin reach {label} in 2026?", liquidity=600_000),
    WorldEvent(_K, "KXBTCY-26DEC31", "Bitcoin price on Dec 31, 2026?", "Crypto", "2026-12-31", "ladder",
               _m("Above $80,000=0.7, Above $100,000=0.33, Above $120,000=0.09, Above $150,000=0.02", 880_000),
               question="Bitcoin price {label} on Dec 31, 2026?"),
    WorldEvent(_M, "BTC100K", "Will Bitcoin be above $100k at the end of 2026?", "Crypto", "2026-12-31", "binary",
               _bin(0.31, 52_000), liquidity=4_000),
    WorldEvent(_P, "ETHDEC31", "Ethereum above ___ on December 31?", "Crypto", "2026-12-31", "ladder",
               _m("$3,000=0.62, $4,000=0.25, $5,000=0.07", 2.3e6), question="Will Ethereum be above {label} on "
               "December 31?", liquidity=150_000),
    WorldEvent(_K, "KXETHY-26DEC31", "Ethereum price at the end of 2026?", "Crypto", "2026-12-31", "ladder",
               _m("Above $3,000=0.6, Above $4,000=0.24, Above $5,000=0.06", 300_000),
               question="Ethereum price {label} on Dec 31, 2026?"),
    WorldEvent(_P, "SOLETF", "Solana ETF approved in 2026?", "Crypto", "2026-12-31", "binary", _bin(0.83, 1.1e6),
               liquidity=70_000),
    WorldEvent(_M, "SOLETF", "Will a spot Solana ETF launch in the US in 2026?", "Crypto", "2026-12-31", "binary",
               _bin(0.79, 15_000), liquidity=1_200),
    # --- sports -----------------------------------------------------------------------------------------
    WorldEvent(_P, "NBA27", "NBA Champion 2027", "Sports", "2027-06-20", "exclusive",
               _m("Oklahoma City Thunder=0.31, Boston Celtics=0.14, Denver Nuggets=0.11, Los Angeles Lakers=0.06",
                  16e6), question="Will the {label} win the 2027 NBA Finals?", liquidity=1.1e6),
    WorldEvent(_K, "KXNBA-27", "Pro Basketball Champion 2027?", "Sports", "2027-06-20", "exclusive",
               _m("Oklahoma City Thunder=0.30, Boston Celtics=0.15, Denver Nuggets=0.10, Los Angeles Lakers=0.07",
                  1.2e6), question="Will the {label} win the 2027 NBA championship?"),
    WorldEvent(_M, "LAKERSPLAYOFFS", "Will the Lakers make the 2027 NBA playoffs?", "Sports", "2027-04-15",
               "binary", _bin(0.64, 7_400), liquidity=1_000),
    WorldEvent(_P, "SB61", "Super Bowl LXI Champion", "Sports", "2027-02-14", "exclusive",
               _m("Kansas City Chiefs=0.16, Philadelphia Eagles=0.14, Buffalo Bills=0.12, Detroit Lions=0.10", 9e6),
               question="Will the {label} win Super Bowl LXI?", liquidity=700_000),
    WorldEvent(_K, "KXSB-27", "Pro Football Champion?", "Sports", "2027-02-14", "exclusive",
               _m("Kansas City Chiefs=0.15, Philadelphia Eagles=0.15, Buffalo Bills=0.12", 800_000),
               question="Will the {label} win the Pro Football Championship?"),
    WorldEvent(_P, "WC26", "2026 FIFA World Cup Winner", "Sports", "2026-07-19", "exclusive",
               _m("Spain=0.99, France=0.005, Argentina=0.005", 120e6), status="resolved",
               question="Will {label} win the 2026 FIFA World Cup?", winner="Spain"),
    WorldEvent(_K, "KXWCUP-26", "World Cup 2026 winner?", "Sports", "2026-07-19", "exclusive",
               _m("Spain=0.99, France=0.005, Brazil=0.005", 6e6), status="resolved",
               question="Will {label} win the 2026 World Cup?", winner="Spain"),
    WorldEvent(_P, "EPL2627", "Premier League Winner 2026-27", "Sports", "2027-05-23", "exclusive",
               _m("Arsenal=0.41, Liverpool=0.22, Manchester City=0.25, Chelsea=0.06", 7.5e6),
               question="Will {label} win the 2026-27 Premier League?", liquidity=520_000),
    WorldEvent(_P, "TOTNFO", "Tottenham vs. Nottingham Forest", "Sports", "2026-03-22", "exclusive",
               _m("Tottenham=0.39, Draw=0.27, Nottingham Forest=0.34", 310_000), status="closed",
               question="Will {label} win on 2026-03-22?"),
    WorldEvent(_M, "USAWCQF", "Will the USA reach the 2026 World Cup quarterfinals?", "Sports", "2026-07-04",
               "binary", _bin(0.0, 11_000), status="resolved", winner="No"),
    WorldEvent(_P, "AUSOPEN27", "Australian Open 2027 Men's Winner", "Sports", "2027-01-31", "exclusive",
               _m("Carlos Alcaraz=0.38, Jannik Sinner=0.41, Novak Djokovic=0.09", 2.2e6),
               question="Will {label} win the 2027 Australian Open?", liquidity=150_000),
    # --- weather ----------------------------------------------------------------------------------------
    WorldEvent(_K, "KXHIGHNY-26DEC05", "Highest temperature in NYC on Dec 5, 2026?", "Climate and Weather",
               "2026-12-06", "ladder", _m("40° or below=0.12, 41° to 42°=0.25, 43° to 44°=0.33, 45° or above=0.3",
                                          64_000), question="Will the high temp in NYC be {label} on Dec 5, 2026?"),
    WorldEvent(_P, "NYCHIGHDEC5", "Highest temperature in NYC on December 5?", "Weather", "2026-12-06", "exclusive",
               _m("40°F or below=0.11, 41-42°F=0.26, 43-44°F=0.34, 45°F or higher=0.29", 180_000),
               question="Will the highest temperature in New York City be {label} on December 5?",
               liquidity=21_000),
    WorldEvent(_K, "KXRAINSEA-26DEC03", "Will it rain in Seattle on Dec 3, 2026?", "Climate and Weather",
               "2026-12-04", "binary", _bin(0.78, 22_000)),
    WorldEvent(_P, "HURRFL", "Hurricane landfall in Florida in 2026?", "Weather", "2026-11-30", "binary",
               _bin(0.99, 640_000), status="resolved", winner="Yes"),
    WorldEvent(_M, "HOTTEST2026", "Will 2026 be the hottest year on record?", "Climate", "2027-01-20", "binary",
               _bin(0.27, 8_800), liquidity=1_000),
    WorldEvent(_K, "KXHURCTOT-26", "Number of Atlantic hurricanes in 2026?", "Climate and Weather", "2026-11-30",
               "ladder", _m("Above 5=0.95, Above 7=0.6, Above 9=0.2", 75_000), status="closed",
               question="Will there be {label} Atlantic hurricanes in 2026?"),
    WorldEvent(_M, "LONDONSNOWXMAS", "Will it snow in London on Christmas Day 2026?", "Climate", "2026-12-26",
               "binary", _bin(0.08, 2_400), liquidity=500),
    # --- culture ----------------------------------------------------------------------------------------
    WorldEvent(_P, "SWIFTALBUM", "New Taylor Swift album released in 2026?", "Culture", "2026-12-31", "binary",
               _bin(0.18, 420_000), liquidity=25_000),
    WorldEvent(_M, "SWIFTANNOUNCE", "Will Taylor Swift announce a new album before 2027?", "Culture", "2026-12-31",
               "binary", _bin(0.22, 5_100), liquidity=700),
    WorldEvent(_P, "OSCARPIC27", "Oscars 2027: Best Picture Winner", "Culture", "2027-03-14", "exclusive",
               _m("One Battle After Another=0.34, Hamnet=0.22, Sinners=0.15, Marty Supreme=0.08", 3.4e6),
               question="Will {label} win Best Picture at the 2027 Oscars?", liquidity=260_000),
    WorldEvent(_K, "KXOSCARPIC-27", "Best Picture at the 2027 Oscars?", "Entertainment", "2027-03-14", "exclusive",
               _m("One Battle After Another=0.35, Hamnet=0.21, Sinners=0.14", 240_000),
               question="Will {label} win Best Picture?"),
    WorldEvent(_P, "GTA6", "GTA VI released before 2027?", "Culture", "2026-12-31", "binary", _bin(0.03, 2.8e6),
               liquidity=120_000),
    WorldEvent(_K, "KXGTA6-26", "Will GTA 6 be released before 2027?", "Entertainment", "2026-12-31", "binary",
               _bin(0.04, 190_000)),
    WorldEvent(_M, "GTA6REL", "Will GTA 6 release in 2026?", "Gaming", "2026-12-31", "binary", _bin(0.03, 19_000),
               liquidity=2_000),
    WorldEvent(_P, "POTY26", "Time Person of the Year 2026", "Culture", "2026-12-10", "exclusive",
               _m("Donald Trump=0.31, Pope Leo XIV=0.2, Jensen Huang=0.14, Sam Altman=0.07", 1.6e6),
               question="Will {label} be named Time's 2026 Person of the Year?", liquidity=90_000),
    WorldEvent(_M, "GPT6", "Will OpenAI release GPT-6 before 2027?", "AI", "2026-12-31", "binary", _bin(0.05, 44_000),
               liquidity=3_000),
    WorldEvent(_P, "GPT6", "GPT-6 released by December 31, 2026?", "Tech", "2026-12-31", "binary",
               _bin(0.06, 960_000), liquidity=60_000),
]

# generated ladders (world=N beyond the curated events): daily weather and crypto strikes, games
_CITIES = ["NYC", "Chicago", "Miami", "Austin", "Denver", "Los Angeles", "Philadelphia", "Seattle"]
_COINS = [("Bitcoin", "BTC", 95_000, 5_000), ("Ethereum", "ETH", 3_200, 200), ("Solana", "SOL", 180, 10)]
_TEAMS = ["Arsenal", "Liverpool", "Chelsea", "Everton", "Brighton", "Fulham", "Brentford", "Wolves", "Newcastle",
          "Aston Villa"]


def _generated(venue: str, n: int, seed: int) -> list[WorldEvent]:
    rng = random.Random(f"{venue}-{seed}")
    start = datetime(2026, 12, 3, tzinfo=UTC)
    out: list[WorldEvent] = []
    count = 0
    i = 0
    while count < n:
        i += 1
        day = start + timedelta(days=i // 6)
        d = f"{day:%b} {day.day}, {day.year}"
        kind = i % 3
        if kind == 0:
            city = _CITIES[i % len(_CITIES)]
            base = rng.randint(30, 75)
            labels = [f"{base - 4}° or below", f"{base - 3}° to {base - 2}°", f"{base - 1}° to {base}°",
                      f"{base + 1}° or above"]
            ev = WorldEvent(venue, f"GENHIGH{i}", f"Highest temperature in {city} on {d}?", "Weather",
                            f"{day + timedelta(days=1):%Y-%m-%d}", "ladder",
                            [Member(x, round(rng.uniform(0.05, 0.5), 2), rng.randint(100, 90_000)) for x in labels],
                            question=f"Will the high temp in {city} be {{label}} on {d}?")
        elif kind == 1:
            name, sym, spot, step = _COINS[i % len(_COINS)]
            strikes = [spot + step * k for k in range(-2, 3)]
            ev = WorldEvent(venue, f"GEN{sym}{i}", f"{name} price on {d}?", "Crypto", f"{day:%Y-%m-%d}", "ladder",
                            [Member(f"Above ${s:,}", round(max(0.01, min(0.99, 0.5 - 0.2 * k)), 2),
                                    rng.randint(100, 200_000)) for k, s in zip(range(-2, 3), strikes, strict=True)],
                            question=f"{name} price {{label}} on {d}?")
        else:
            a, b = rng.sample(_TEAMS, 2)
            ev = WorldEvent(venue, f"GENGAME{i}", f"{a} vs {b}", "Sports", f"{day:%Y-%m-%d}", "exclusive",
                            [Member(a, 0.4, rng.randint(100, 300_000)), Member("Draw", 0.27, rng.randint(100, 90_000)),
                             Member(b, 0.33, rng.randint(100, 300_000))], question=f"Will {{label}} win on {d}?")
        out.append(ev)
        count += len(ev.members)
    return out


def world_events(venue: str, n: int | bool = True, seed: int = 5) -> list[WorldEvent]:
    """The curated events of ``venue``, plus generated ladders until about ``n`` markets (n=True: curated)."""
    events = [e for e in CURATED if e.venue == venue]
    have = sum(len(e.members) for e in events)
    if not isinstance(n, bool) and n > have:
        events += _generated(venue, n - have, seed)
    return events


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def _code(label: str) -> str:
    return (re.sub(r"[^A-Z0-9.]", "", label.upper()) or "X")[:8]


def _member_question(ev: WorldEvent, mb: Member) -> str:
    return ev.question.format(label=mb.label) if (ev.question and mb.label) else ev.title


def _iso(date: str, hour: int = 23) -> str:
    return f"{date}T{hour:02d}:59:00Z"


def _h(*parts: str, bits: int = 256) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest(), 16) >> (256 - bits)


# --- Polymarket (Gamma) ---------------------------------------------------------------------------------
def gamma_items(events: list[WorldEvent]) -> list[tuple[dict, dict]]:
    """(market, event) pairs in the Gamma wire shape (JSON-string fields, string volume and liquidity)."""
    out = []
    for n, ev in enumerate(events):
        eid = str(8_800_000 + _h("pe", ev.key, bits=20))
        closed = ev.status != "open"
        multi = ev.kind != "binary"
        event = {"id": eid, "slug": f"syn-{_slug(ev.title)}", "ticker": f"syn-{_slug(ev.title)}", "title": ev.title,
                 "description": f"SYNTHETIC event: {ev.title}", "active": True, "closed": closed,
                 "negRisk": ev.kind == "exclusive", "endDate": _iso(ev.close),
                 "tags": [{"id": str(100 + len(ev.category)), "label": ev.category, "slug": _slug(ev.category)}],
                 "volume": sum(m.volume for m in ev.members), "liquidity": ev.liquidity}
        for k, mb in enumerate(ev.members):
            q = _member_question(ev, mb)
            p = mb.price
            if ev.status == "resolved":
                p = 1.0 if (mb.label or "Yes") == ev.winner else 0.0
            yes, no = f"{p:.3f}".rstrip("0").rstrip(".") or "0", f"{1 - p:.3f}".rstrip("0").rstrip(".") or "0"
            liq = ev.liquidity / max(1, len(ev.members)) * (0.5 + p)
            mid = str(7_700_000 + _h("pm", ev.key, str(k), bits=22))
            market = {
                "id": mid, "question": q, "slug": f"syn-{_slug(q)}-{k}",
                "conditionId": "0x" + f"{_h('pc', ev.key, str(k)):064x}",
                "questionID": "0x" + f"{_h('pq', ev.key, str(k)):064x}",
                "description": f"SYNTHETIC market. This market will resolve to \"Yes\" if {q.rstrip('?')}. "
                               "Otherwise, it will resolve to \"No\".",
                "resolutionSource": "", "endDate": _iso(ev.close), "outcomes": json.dumps(["Yes", "No"]),
                "outcomePrices": json.dumps([yes, no]),
                "clobTokenIds": json.dumps([str(_h("pt", ev.key, str(k), "y", bits=250)),
                                            str(_h("pt", ev.key, str(k), "n", bits=250))]),
                "volume": f"{mb.volume:.2f}", "liquidity": f"{liq:.2f}", "volumeNum": mb.volume, "liquidityNum": liq,
                "active": True, "closed": closed, "acceptingOrders": not closed, "enableOrderBook": True,
                "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": ev.kind == "exclusive",
                "negRiskMarketID": ("0x" + f"{_h('pn', ev.key):064x}") if ev.kind == "exclusive" else None,
                "feesEnabled": False, "groupItemTitle": mb.label if multi else "", "updatedAt": "2026-12-01T00:00:00Z",
                "bestBid": max(0.0, round(p - 0.01, 3)) if not closed else None,
                "bestAsk": min(1.0, round(p + 0.01, 3)) if not closed else None,
            }
            if ev.status == "resolved":
                market["umaResolutionStatus"] = "resolved"
            out.append((market, event))
        del n
    return out


# --- Kalshi ----------------------------------------------------------------------------------------------
def kalshi_items(events: list[WorldEvent]) -> list[tuple[dict, dict]]:
    """(market, event) pairs in the Trade API v2 wire shape (fixed-point strings)."""
    out = []
    status = {"open": "active", "closed": "closed", "resolved": "finalized"}
    for ev in events:
        et = ev.key if ev.key.startswith("KX") else f"KXSYN{ev.key}"
        series = et.split("-")[0]
        event = {"event_ticker": et, "series_ticker": series, "title": ev.title, "sub_title": "SYNTHETIC",
                 "category": ev.category, "collateral_return_type": "MECNET" if ev.kind == "exclusive" else "",
                 "mutually_exclusive": ev.kind == "exclusive", "settlement_sources": [], "strike_period": ""}
        for k, mb in enumerate(ev.members):
            bid = max(1, min(97, round(mb.price * 100) - 1))
            code = _code(mb.label) if mb.label else ""
            ticker = f"{et}-{code}{k}" if ev.kind != "binary" else et
            result = ""
            if ev.status == "resolved":
                result = "yes" if (mb.label or "Yes") == ev.winner else "no"
            m = {"ticker": ticker, "event_ticker": et, "market_type": "binary",
                 "title": _member_question(ev, mb), "yes_sub_title": mb.label, "no_sub_title": mb.label,
                 "status": status[ev.status], "close_time": _iso(ev.close), "expected_expiration_time": _iso(ev.close),
                 "expiration_time": _iso(ev.close), "yes_bid_dollars": f"{bid / 100:.4f}",
                 "yes_ask_dollars": f"{(bid + 2) / 100:.4f}", "no_bid_dollars": f"{(98 - bid) / 100:.4f}",
                 "no_ask_dollars": f"{(100 - bid) / 100:.4f}", "last_price_dollars": f"{(bid + 1) / 100:.4f}",
                 "volume_fp": f"{int(mb.volume)}.00", "volume_24h_fp": f"{int(mb.volume) // 50}.00",
                 "open_interest_fp": f"{int(mb.volume) // 4}.00", "liquidity_dollars": "0.0000",
                 "price_level_structure": "linear_cent",
                 "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
                 "rules_primary": f"SYNTHETIC market. If {_member_question(ev, mb).rstrip('?')}, then the market "
                                  "resolves to Yes.", "rules_secondary": "", "result": result}
            out.append((m, event))
    return out


# --- Manifold --------------------------------------------------------------------------------------------
def manifold_items(events: list[WorldEvent], now_ms: int | None = None) -> list[dict]:
    """FullMarkets (binary cpmm-1, or multiple choice cpmm-multi-1 with one answer per member). An open
    market whose date has passed closes 30 days after ``now_ms`` (the sim's clock decides "open")."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    out = []
    for ev in events:
        mid = f"syn{ev.key}{_h('mi', ev.key, bits=32):08x}"[:24]  # Manifold ids: 8-24 letters and digits
        close_ms = int(datetime.fromisoformat(_iso(ev.close).replace("Z", "+00:00")).timestamp() * 1000)
        if ev.status == "open" and close_ms <= now_ms:
            close_ms = now_ms + 30 * DAY_MS
        elif ev.status != "open" and close_ms > now_ms:
            close_ms = now_ms - DAY_MS
        vol = sum(m.volume for m in ev.members)
        m = {"id": mid, "creatorId": "synWorldCreator", "creatorUsername": "pmmcp_world",
             "creatorName": "pm_mcp SYNTHETIC world", "createdTime": close_ms - 200 * DAY_MS, "closeTime": close_ms,
             "question": ev.title, "slug": _slug(ev.title), "url": f"https://manifold.markets/pmmcp_world/{_slug(ev.title)}",
             "totalLiquidity": ev.liquidity or 100, "volume": vol, "volume24Hours": vol / 60,
             "isResolved": ev.status == "resolved", "uniqueBettorCount": 5 + int(vol) % 50,
             "lastUpdatedTime": now_ms - DAY_MS, "token": "MANA", "groupSlugs": [_slug(ev.category)],
             "textDescription": f"SYNTHETIC market: {ev.title}"}
        if ev.kind == "binary":
            p = ev.members[0].price
            p = min(0.99, max(0.01, p))
            m.update(outcomeType="BINARY", mechanism="cpmm-1", p=0.5, pool={"YES": 100 * (1 - p), "NO": 100 * p},
                     probability=p)
            if ev.status == "resolved":
                m["resolution"] = ev.winner.upper() or "NO"
        else:
            answers = []
            for k, mb in enumerate(ev.members):
                p = min(0.99, max(0.01, mb.price))
                answers.append({"id": f"{mid}A{k}", "index": k, "contractId": mid, "text": mb.label,
                                "poolYes": 100 * (1 - p), "poolNo": 100 * p, "prob": p, "totalLiquidity": 100,
                                "volume": mb.volume, "createdTime": close_ms - 200 * DAY_MS})
            m.update(outcomeType="MULTIPLE_CHOICE", mechanism="cpmm-multi-1", shouldAnswersSumToOne=True,
                     addAnswersMode="DISABLED", answers=answers)
        out.append(m)
    return out
