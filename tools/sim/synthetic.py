"""Large synthetic catalogs for benchmarks (deterministic for a given seed).

- ``gamma_catalog(n, seed)``: n Polymarket Gamma-shaped markets (JSON-string fields, string volume and
  liquidity, like the recorded ones) grouped into events of 1-5 markets; yields ``(market, event)``.
  The Polymarket simulator takes ``synthetic=n`` to serve them.
- ``normalized_markets(n, seed, venues)``: n ``pm_mcp.domain.models.Market`` objects spread over the
  venues, for loading the local catalog directly (no HTTP).
- ``QUERIES``: search phrases that hit the generated vocabulary (and a few that miss).
Titles are composed from a topic vocabulary, so full-text queries have realistic hit rates.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

SUBJECTS = ["Bitcoin", "Ethereum", "Solana", "the Fed", "the ECB", "Trump", "Newsom", "Harris", "Vance", "Ossoff",
            "Real Madrid", "Arsenal", "the Lakers", "the Chiefs", "Taylor Swift", "OpenAI", "Apple", "Nvidia",
            "Tesla", "SpaceX", "China", "India", "Brazil", "Ukraine", "Russia", "Israel", "Germany", "France",
            "Japan", "Canada", "Mexico", "the UK", "Argentina", "Elon Musk", "the S&P 500", "gold", "oil",
            "inflation", "unemployment", "the Supreme Court"]
VERBS = ["win", "reach", "cut rates", "hike rates", "announce", "launch", "sign", "exceed", "fall below",
         "be elected", "resign", "visit", "ban", "approve", "lose", "release", "acquire", "split", "default"]
OBJECTS = ["the 2028 election", "$100k", "$5,000", "a ceasefire", "the championship", "the final", "GPT-6",
           "an IPO", "a trade deal", "4% CPI", "the nomination", "a new album", "the Senate race",
           "a recession", "record highs", "the World Cup", "a merger", "25 bps", "50 bps", "the league title"]
WHEN = ["by December 31", "in 2026", "in 2027", "before July", "this year", "by Q3", "in March", "by June 30",
        "before the election", "in the next 30 days"]
CATEGORIES = ["Politics", "Crypto", "Sports", "Economics", "Tech", "Culture", "World"]

QUERIES = ["bitcoin 100k", "fed cut rates", "newsom nomination", "real madrid championship", "ceasefire ukraine",
           "openai gpt-6", "nvidia record highs", "recession 2026", "tesla acquire", "election",
           "taylor swift album", "zzzz nothing matches", "spacex launch", "gold exceed", "china trade deal"]


def _title(rng: random.Random) -> str:
    return f"Will {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}?"


def gamma_catalog(n: int, seed: int = 7, start_id: int = 9_000_000) -> Iterator[tuple[dict, dict]]:
    rng = random.Random(seed)
    base = datetime(2026, 9, 1, tzinfo=UTC)
    i = 0
    ev_no = 0
    while i < n:
        ev_no += 1
        size = min(rng.randint(1, 5), n - i)
        cat = rng.choice(CATEGORIES)
        ev_title = _title(rng).rstrip("?")
        end = base + timedelta(days=rng.randint(1, 900))
        event = {"id": str(start_id + ev_no), "slug": f"synthetic-event-{ev_no}", "ticker": f"synthetic-event-{ev_no}",
                 "title": ev_title, "description": f"Synthetic event {ev_no} about {ev_title}.",
                 "active": True, "closed": False, "negRisk": size > 1, "endDate": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "tags": [{"id": str(CATEGORIES.index(cat) + 1), "label": cat, "slug": cat.lower()}],
                 "volume": 0.0, "liquidity": 0.0}
        for _ in range(size):
            i += 1
            p = Decimal(rng.randint(1, 99)) / 100
            vol = Decimal(rng.randint(0, 5_000_000)) / 100
            liq = Decimal(rng.randint(0, 500_000)) / 100
            title = _title(rng)
            closed = rng.random() < 0.1
            market = {
                "id": str(start_id + 100_000_000 + i), "question": title, "slug": f"synthetic-market-{i}",
                "conditionId": "0x" + f"{rng.getrandbits(256):064x}",
                "questionID": "0x" + f"{rng.getrandbits(256):064x}",
                "description": f"This market will resolve to \"Yes\" if {title[5:-1]}. Otherwise, it will resolve "
                               "to \"No\". Synthetic market for benchmarks.",
                "resolutionSource": "", "endDate": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "outcomes": json.dumps(["Yes", "No"]), "outcomePrices": json.dumps([str(p), str(1 - p)]),
                "clobTokenIds": json.dumps([str(rng.getrandbits(250)), str(rng.getrandbits(250))]),
                "volume": str(vol), "liquidity": str(liq), "volumeNum": float(vol), "liquidityNum": float(liq),
                "active": True, "closed": closed, "acceptingOrders": not closed, "enableOrderBook": True,
                "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": size > 1,
                "negRiskMarketID": ("0x" + f"{start_id + ev_no:064x}") if size > 1 else None,
                "feesEnabled": rng.random() < 0.5, "feeSchedule": {"exponent": 1, "rate": 0.04, "takerOnly": True,
                                                                    "rebateRate": 0.25},
                "groupItemTitle": "", "updatedAt": "2026-09-01T00:00:00Z",
            }
            event["volume"] += float(vol)
            event["liquidity"] += float(liq)
            yield market, event


def normalized_markets(n: int, seed: int = 7, venues: tuple[str, ...] = ("polymarket", "kalshi", "manifold")):
    """n venue-neutral Market models (for loading the catalog without HTTP)."""
    return list(iter_normalized_markets(n, seed, venues))


def iter_normalized_markets(n: int, seed: int = 7, venues: tuple[str, ...] = ("polymarket", "kalshi", "manifold")):
    """The same markets one at a time (bounded memory for large n)."""
    from pm_mcp.domain.models import Market, MarketStatus, Outcome

    rng = random.Random(seed)
    base = datetime(2026, 9, 1, tzinfo=UTC)
    for i in range(n):
        venue = venues[i % len(venues)]
        title = _title(rng)
        p = Decimal(rng.randint(1, 99)) / 100
        close = base + timedelta(days=rng.randint(1, 900))
        yield Market(
            id=f"syn-{venue}-{i}", venue=venue, title=title, slug=f"synthetic-{i}",
            outcomes=[Outcome(label="Yes", price=p), Outcome(label="No", price=1 - p)],
            status=MarketStatus.CLOSED if rng.random() < 0.1 else MarketStatus.OPEN,
            close_time=close, volume=Decimal(rng.randint(0, 5_000_000)) / 100,
            liquidity=Decimal(rng.randint(0, 500_000)) / 100, category=rng.choice(CATEGORIES),
            rule_text=f"Resolves Yes if {title[5:-1]}. Synthetic market {i} for benchmarks.",
        )
