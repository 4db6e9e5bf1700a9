"""Unit and property tests of the rule parser, the comparison and the scorecard (pure code)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pm_mcp.domain.models import BookLevel, Market, MarketStatus, OrderBook
from pm_mcp.domain.rules import RuleAnalysis, Status, parse_rules, rules_hash, to_utc
from pm_mcp.domain.rules_compare import compare_rules
from pm_mcp.domain.scorecard import TIER_ORDER, assess_market, book_quality, tier_cap_for

CORPUS = json.loads((Path(__file__).parent / "fixtures" / "rules" / "corpus.json").read_text())
TEXTS = [e["text"] for e in CORPUS]


def assert_spans_exact(a: RuleAnalysis, text: str, title: str = "") -> None:
    for sp in a.spans():
        src = text if sp.part == "rules" else title
        assert 0 <= sp.start <= sp.end <= len(src)
        assert src[sp.start:sp.end] == sp.quote, sp


def assert_found_fields_cited(a: RuleAnalysis) -> None:
    if a.sources.status == Status.FOUND:
        assert a.sources.items and all(i.span.quote for i in a.sources.items)
    if a.condition.threshold_status != Status.UNKNOWN:
        assert a.condition.threshold is not None and a.condition.threshold.span.quote
    if a.deadline.status != Status.UNKNOWN:
        assert a.deadline.value is not None and a.deadline.value.span.quote
    if a.deadline.early_resolution_status == Status.FOUND:
        assert a.deadline.early_resolution_span is not None
    assert 0.0 <= a.clarity <= 1.0


# --- rules_hash -------------------------------------------------------------------------------

def test_rules_hash_ignores_whitespace_and_case_but_not_words():
    t = TEXTS[0]
    assert rules_hash(t) == rules_hash("  " + t.upper().replace(" ", "  \n") + "\n")
    assert rules_hash(t) != rules_hash(t.replace("Yes", "No", 1))
    assert len(rules_hash("")) == 64


# --- fields ---------------------------------------------------------------------------------------

CPI = next(e for e in CORPUS if e["id"] == "pm-clob-page-62")


def test_cpi_market_fields_and_spans():
    a = parse_rules(CPI["text"], venue="polymarket")
    assert {"BLS", "CPI", "bls.gov"} <= set(a.sources.names)
    th = a.condition.threshold
    assert th is not None and th.comparator == ">" and th.value == Decimal("0.1") and th.unit == "%"
    dl = a.deadline.value
    assert dl is not None and dl.date == date(2022, 12, 13) and dl.time == "08:30:00" and dl.tz_label == "ET"
    assert dl.utc == datetime(2022, 12, 13, 13, 30, tzinfo=UTC)  # EST in December: UTC-5
    assert a.oracle is not None and a.oracle.name.startswith("UMA")
    assert_spans_exact(a, CPI["text"])


def test_dst_normalisation_follows_the_calendar():
    assert to_utc(date(2026, 7, 1), 12, 0, 0, "ET")[0] == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert to_utc(date(2026, 1, 1), 12, 0, 0, "ET")[0] == datetime(2026, 1, 1, 17, 0, tzinfo=UTC)
    # the day DST starts in the US (8 March 2026): 3 AM exists, offset -4
    assert to_utc(date(2026, 3, 8), 3, 0, 0, "ET")[0] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert to_utc(date(2026, 7, 1), 9, 0, 0, "PT")[0] == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    # "EST" in July is taken literally (UTC-5) and the note says so
    utc, _zone, note = to_utc(date(2026, 7, 1), 12, 0, 0, "EST")
    assert utc == datetime(2026, 7, 1, 17, 0, tzinfo=UTC) and note and "review" in note


def test_unknown_fields_say_review_never_guess():
    a = parse_rules("Resolves according to whatever seems right to me.", venue="manifold")
    assert a.sources.status == Status.UNKNOWN and "review the rules" in (a.sources.note or "")
    assert a.deadline.status == Status.UNKNOWN and a.deadline.value is None
    assert a.condition.threshold is None
    assert a.clarity < 0.5
    assert any("source" in r for r in a.review)
    empty = parse_rules("")
    assert empty.clarity == 0.0 and empty.sources.status == Status.UNKNOWN


def test_title_threshold_conflict_is_reported_with_both_spans():
    e = next(e for e in CORPUS if e["id"] == "kx-fed-c26")
    m = Market(id="KXFEDDECISION-26SEP-C26", venue="kalshi", title=e["title"])
    a = parse_rules(e["text"], market=m)
    assert a.condition.threshold_status == Status.CONFLICTING
    assert a.condition.conflicts and a.condition.conflicts[0].span.part == "title"
    assert_spans_exact(a, e["text"], e["title"])


def test_edge_cases_multi_outcome_and_ambiguity():
    e = next(e for e in CORPUS if e["id"] == "kx-epl-tot")
    a = parse_rules(e["text"], venue="kalshi")
    kinds = {x.kind for x in a.edge_cases}
    assert {"tie", "cancellation", "fair_price"} <= kinds
    assert a.multi_outcome.kind == "mutually_exclusive"
    assert any(f.kind == "undefined_term" for f in a.ambiguity)
    text = 'This market will resolve to "Yes" at the sole discretion of the committee. If none of the listed candidates wins, the market resolves to "Other".'
    b = parse_rules(text)
    assert any(f.kind == "discretion" for f in b.ambiguity)
    assert b.multi_outcome.other_rule is not None
    assert_spans_exact(b, text)


def test_early_resolution():
    yes = parse_rules('This market may resolve as soon as the FOMC statement is issued.')
    assert yes.deadline.early_resolution is True
    no = parse_rules('This market may only resolve once the game is complete.')
    assert no.deadline.early_resolution is False
    assert parse_rules("Resolves Yes if it rains.").deadline.early_resolution is None


# --- property: spans always quote the text exactly ------------------------------------------------

TOKENS = ["resolve to \"Yes\" if ", " above ", " $1,200.50 ", " 4.25% ", " at least 2 cuts ", " or more ",
          " between 3 and 5 ", "December 31, 2026, 11:59 PM ET", "March 8, 2026 2:30 AM ET", " (ET) ",
          "2026/07/01 12:00", " by ", " before ", "https://www.bls.gov/cpi", " BLS ", " AP ", " consensus of ",
          " credible reporting ", " 50-50 ", " tie ", " postponed ", " cancelled ", ". ", "\n", "“", "”",
          " İ ", "ß", " resolution source ", " scheduled for ", " mutually exclusive ", " UMA ", "Otherwise, "]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=40))
def test_property_spans_on_random_texts(parts):
    text = "".join(parts)
    a = parse_rules(text)
    assert_spans_exact(a, text)
    assert_found_fields_cited(a)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS), st.integers(min_value=0, max_value=10_000), st.integers(0, 40),
       st.text(max_size=12))
def test_property_spans_on_mutated_corpus(entry, pos, cut, insert):
    t = entry["text"]
    i = pos % (len(t) + 1)
    text = t[:i] + insert + t[i + cut:]
    m = Market(id="x", venue=entry["venue"], title=entry["title"])
    a = parse_rules(text, market=m)
    assert_spans_exact(a, text, entry["title"])
    assert_found_fields_cited(a)


def test_every_corpus_text_spans_exact():
    for e in CORPUS:
        m = Market(id=e["id"], venue=e["venue"], title=e["title"])
        a = parse_rules(e["text"], market=m)
        assert_spans_exact(a, e["text"], e["title"])
        assert_found_fields_cited(a)


# --- compare_rules --------------------------------------------------------------------------------

BELOW = ('This market will resolve to "Yes" if the U.S. unemployment rate for March 2026, as reported by the '
         'Bureau of Labor Statistics (https://www.bls.gov), stays below 4.0%. The data is scheduled to be released '
         'on April 3, 2026, at 8:30 AM ET. If the release is postponed beyond April 30, 2026, this market will resolve 50-50.')
AT_LEAST = BELOW.replace('This market will resolve to "Yes" if the', 'If the').replace(
    "stays below 4.0%.", "is 4.0% or higher, then the market resolves to Yes.")


def test_compare_identical_is_equivalent():
    r = compare_rules(parse_rules(BELOW), parse_rules(BELOW))
    assert r.verdict == "equivalent" and r.mapping == "same" and not r.differences


def test_compare_inverted_complement():
    r = compare_rules(parse_rules(BELOW), parse_rules(AT_LEAST))
    assert r.verdict == "equivalent" and r.mapping == "inverted"
    assert any(d.field == "outcome_mapping" and d.a and d.b for d in r.differences)


def test_compare_inverted_with_gap_and_other_differences():
    exceed = AT_LEAST.replace("is 4.0% or higher", "exceeds 4.0%")
    r = compare_rules(parse_rules(BELOW), parse_rules(exceed))
    assert r.verdict == "not_equivalent" and r.mapping == "inverted"
    pt = BELOW.replace("8:30 AM ET", "8:30 AM PT")
    r = compare_rules(parse_rules(BELOW), parse_rules(pt))
    assert r.verdict == "not_equivalent" and any(d.field == "deadline" for d in r.differences)
    other_src = BELOW.replace("Bureau of Labor Statistics (https://www.bls.gov)", "Reuters")
    r = compare_rules(parse_rules(BELOW), parse_rules(other_src))
    assert r.verdict == "not_equivalent" and any(d.field == "source" for d in r.differences)
    r = compare_rules(parse_rules(BELOW), parse_rules(BELOW.replace("4.0%", "4.5%")))
    assert r.verdict == "not_equivalent" and any(d.field == "threshold" for d in r.differences)
    for d in r.differences:
        for sp in d.a:
            assert BELOW[sp.start:sp.end] == sp.quote


def test_compare_unknown_fields_are_uncertain():
    vague = 'This market will resolve to "Yes" if the unemployment rate stays below 4.0%.'
    r = compare_rules(parse_rules(BELOW), parse_rules(vague))
    assert r.verdict == "uncertain"
    assert any(d.field == "unknown_field" for d in r.differences)


def test_compare_real_kalshi_fed_pair_differs():
    c25 = next(e for e in CORPUS if e["id"] == "kx-fed-c25")["text"]
    h25 = next(e for e in CORPUS if e["id"] == "kx-fed-h25")["text"]
    r = compare_rules(parse_rules(c25, venue="kalshi"), parse_rules(h25, venue="kalshi"))
    assert r.verdict != "equivalent"


# --- scorecard --------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _book(outcome, bids, asks):
    return OrderBook(venue="polymarket", market_id="m", outcome=outcome,
                     bids=[BookLevel(price=Decimal(p), size=Decimal(s)) for p, s in bids],
                     asks=[BookLevel(price=Decimal(p), size=Decimal(s)) for p, s in asks])


def _market(**kw):
    base = dict(id="m", venue="polymarket", title="Will US unemployment stay below 4.0% in March 2026?",
                status=MarketStatus.OPEN, close_time=datetime(2026, 4, 3, tzinfo=UTC),
                resolution_time=datetime(2026, 4, 4, tzinfo=UTC), volume=Decimal("250000"))
    base.update(kw)
    return Market(**base)


def test_book_quality_depth_within_two_cents():
    q = book_quality(_book("Yes", [("0.50", "100"), ("0.49", "50"), ("0.47", "1000")],
                           [("0.52", "10"), ("0.54", "20"), ("0.60", "999")]))
    assert q.spread == Decimal("0.02")
    assert q.bid_depth_shares == Decimal(150) and q.bid_depth_usd == Decimal("74.50")
    assert q.ask_depth_shares == Decimal(30) and q.ask_depth_usd == Decimal("16.00")


def test_scorecard_verdicts():
    a = parse_rules(BELOW, venue="polymarket")
    deep = _book("Yes", [("0.50", "5000")], [("0.51", "5000")])
    good = assess_market(_market(), [deep], a, NOW)
    assert good.verdict == "participate", good.reasons
    assert good.tier_cap.max_tier == "high"
    thin = assess_market(_market(), [_book("Yes", [("0.50", "10")], [("0.51", "10")])], a, NOW)
    assert thin.verdict == "caution" and any("thin book" in f for f in thin.risk_flags)
    wide = assess_market(_market(), [_book("Yes", [("0.30", "5000")], [("0.60", "5000")])], a, NOW)
    assert wide.verdict == "avoid"
    closed = assess_market(_market(close_time=datetime(2026, 2, 1, tzinfo=UTC)), [deep], a, NOW)
    assert closed.verdict == "avoid"
    vague = parse_rules("Resolves to whatever I think is fair.", venue="manifold")
    unclear = assess_market(_market(venue="manifold"), [deep], vague, NOW)
    assert unclear.verdict == "avoid" and unclear.tier_cap.max_tier == "none"
    insider = assess_market(_market(title="Will Apple announce a foldable iPhone?"), [deep], a, NOW)
    assert insider.verdict == "caution" and any("insider" in f for f in insider.risk_flags)
    # the venue's settlement state: a UMA proposal can still be disputed; a dispute means avoid
    proposed = assess_market(_market(resolution_status="proposed"), [deep], a, NOW)
    assert proposed.verdict == "caution" and any("proposed" in r for r in proposed.reasons)
    disputed = assess_market(_market(resolution_status="disputed"), [deep], a, NOW)
    assert disputed.verdict == "avoid" and any("disputed" in r for r in disputed.reasons)


def test_venue_resolution_status_is_parsed():
    import json

    from pm_mcp.venues.kalshi.parse import parse_market as parse_kalshi
    from pm_mcp.venues.polymarket.parse import parse_gamma_market

    fix = Path(__file__).parent / "fixtures"
    raw = json.loads((fix / "polymarket" / "gamma_market_negrisk_newsom_2028.json").read_text())
    assert parse_gamma_market(raw).resolution_status is None  # recorded: no UMA status yet
    # the same market as Gamma shows it once a resolution is challenged (umaResolutionStatus is a real
    # Gamma field; this value is set by the test, not recorded)
    assert parse_gamma_market({**raw, "umaResolutionStatus": "disputed"}).resolution_status == "disputed"
    k = json.loads((fix / "kalshi" / "market_object_epl_2026-03.json").read_text())
    k = k.get("market", k)
    assert parse_kalshi({**k, "status": "disputed"}).resolution_status == "disputed"
    assert parse_kalshi(k).resolution_status is None


def test_tier_cap_is_monotone():
    order = {t: i for i, t in enumerate(TIER_ORDER)}
    assert order[tier_cap_for("participate").max_tier] > order[tier_cap_for("caution").max_tier] \
        > order[tier_cap_for("avoid").max_tier]
    for v in ("participate", "caution", "avoid"):
        caps = [tier_cap_for(v, c / 100).max_tier_index for c in range(0, 101)]
        assert caps == sorted(caps)  # clearer rules never lower the cap
        assert max(caps) == tier_cap_for(v).max_tier_index


def test_compare_identical_text_with_unknowns_is_equivalent_but_oracles_matter():
    t = next(e for e in CORPUS if e["id"] == "kx-epl-tot")["text"]
    assert compare_rules(parse_rules(t, venue="kalshi"), parse_rules(t, venue="kalshi")).verdict == "equivalent"
    r = compare_rules(parse_rules(t, venue="kalshi"), parse_rules(t, venue="polymarket"))
    # same terms, different settlers: equivalent, with the oracle difference listed (not blocking)
    assert r.verdict == "equivalent"
    assert [d.severity for d in r.differences if d.field == "oracle"] == ["info"]
