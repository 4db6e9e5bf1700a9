"""Cross-venue candidate matching: normalisation and the inverted-index candidates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pm_mcp.domain.matching import MatchItem, match_candidates, normalise_title

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(("a", "b"), [
    ("Will the price of Bitcoin be above $64,000 on March 11, 2026?", "BTC over 64k on 2026-03-11"),
    ("Will the Federal Reserve cut interest rates by 25 basis points in September 2026?",
     "Fed cuts rates 25bps Sept 2026?"),
    ("Will Gavin Newsom win the 2028 Democratic presidential nomination?", "Dem nominee 2028: Gavin Newsom"),
    ("S&P 500 above 6,000 on Dec 31st?", "Will the SPX close over $6000 on December 31?"),
])
def test_paraphrases_share_their_canonical_tokens(a, b):
    # the shorter phrasing's tokens are all found in the longer one
    assert set(normalise_title(b)) <= set(normalise_title(a))


def test_numbers_and_dates_are_canonical():
    assert normalise_title("$1.5m by 2026-07-04") == ["1500000", "jul", "4", "2026"]
    assert normalise_title("4.50% or 4.5 percent") == ["4.5", "%"]
    assert "lt" in normalise_title("below 3%") and "gte" in normalise_title("at least 3%")


def test_times_of_day_are_not_question_numbers_and_months_must_agree():
    assert normalise_title("BTC at 12pm ET") == normalise_title("BTC at 12 pm ET") == ["btc", "t12pm", "et"]
    a = [MatchItem("p", "Will Solana be above $130 on March 18, 2028?")]
    b = [MatchItem("k1", "SOL/USD at or above $130 at 12pm ET, Mar 18"),
         MatchItem("k2", "SOL price over $130 on Apr 18, 2028?")]
    cands = match_candidates(a, b, min_score=0.2)
    assert b[cands[0].b].key == "k1"
    assert all(c.score < cands[0].score for c in cands[1:])


def _corpus():
    a = [MatchItem("p1", "Will the price of Bitcoin be above $64,000 on March 11, 2026?", datetime(2026, 3, 11, tzinfo=UTC)),
         MatchItem("p2", "Will Gavin Newsom win the 2028 Democratic presidential nomination?", datetime(2028, 11, 7, tzinfo=UTC)),
         MatchItem("p3", "Will Taylor Swift release a new album in 2026?", datetime(2026, 12, 31, tzinfo=UTC))]
    b = [MatchItem("k1", "BTC over 66k on 2026-03-11", datetime(2026, 3, 11, tzinfo=UTC)),
         MatchItem("k2", "BTC over 64k on 2026-03-11", datetime(2026, 3, 11, tzinfo=UTC)),
         MatchItem("k3", "Democratic nominee 2028: Gavin Newsom", datetime(2028, 11, 7, tzinfo=UTC)),
         MatchItem("k4", "Republican nominee 2028: Gavin Newsom", datetime(2028, 11, 7, tzinfo=UTC)),
         MatchItem("k5", "Will Ethereum be above $4,000 on Mar 11?", datetime(2026, 3, 11, tzinfo=UTC))]
    return a, b


def test_candidates_rank_the_right_pair_first_and_skip_unrelated_titles():
    a, b = _corpus()
    cands = match_candidates(a, b, min_score=0.3)
    best = {}
    for c in cands:
        best.setdefault(c.a, c)
    assert b[best[0].b].key == "k2"  # 64k beats 66k: numbers must agree
    assert b[best[1].b].key == "k3"  # Democratic beats Republican
    assert 2 not in best  # nothing looks like a Taylor Swift album
    sixty_six = [c for c in cands if c.a == 0 and b[c.b].key == "k1"]
    assert not sixty_six or sixty_six[0].score < best[0].score


def test_a_different_deadline_is_not_a_candidate():
    a, b = _corpus()
    late = [MatchItem(x.key, x.title, x.close_time + timedelta(days=120)) for x in b]
    assert all(c.a != 0 for c in match_candidates(a, late, min_score=0.3))


def test_recorded_kalshi_and_manifold_fed_markets_are_candidates():
    def load(venue, name):
        for base in (FIX / venue,):
            if (base / name).is_file():
                return json.loads((base / name).read_text())
        raise FileNotFoundError(f"{venue}/{name} missing from tests/fixtures")

    kal = load("kalshi", "get_markets_kxfeddecision_2026-08.json")["markets"]
    man = load("manifold", "search_markets_fed_2026-08.json")
    a = [MatchItem(m["ticker"], m["title"], datetime.fromisoformat(m["close_time"].replace("Z", "+00:00"))) for m in kal]
    b = [MatchItem(m["id"], m["question"], datetime.fromtimestamp(m["closeTime"] / 1000, tz=UTC)) for m in man]
    cands = match_candidates(a, b, min_score=0.3)
    pairs = {(a[c.a].key, b[c.b].key) for c in cands}
    # the September cut market looks like Manifold's "at least 25 bps at the Sept. 16, 2026 FOMC
    # meeting" (the rules decide whether it is the same contract: "exactly 25" vs "at least 25")
    assert ("KXFEDDECISION-26SEP-C25", "lqtROphAhp") in pairs
    # the October market on Manifold closes 6 weeks later: not a candidate for September
    assert ("KXFEDDECISION-26SEP-C25", "udAUupudlE") not in pairs
