"""The verifier of the assistant's rule readings (pm_mcp.domain.reading), without a model: hand-written correct
readings are accepted; readings with invented quotes, wrong offsets, numbers or dates that contradict their own
quote, or fields outside the schema are rejected naming the item. No accuracy figure for model readings is
claimed: there is no model here. ``test_the_counts`` states how many of each kind this file tries."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pm_mcp.domain.reading import (
    ReadingRejected,
    apply_reading,
    reading_lines,
    review_comparison,
    verify_reading,
)
from pm_mcp.domain.rules import parse_rules
from pm_mcp.domain.rules_compare import compare_rules

CORPUS = {e["id"]: e for e in json.loads((Path(__file__).parent / "fixtures/rules/corpus.json").read_text())}
CPI = CORPUS["pm-clob-page-62"]["text"]
TOT = CORPUS["kx-epl-tot"]["text"]
# SYNTHETIC: a source the parser cannot name (no cue it knows), an act whose moment is not fixed
TURNOUT = ('This market will resolve to "Yes" if the turnout that the Maricopa County Recorder certifies for the '
           'general election exceeds 62.5%. Otherwise it resolves to "No". The market closes at 5:00 PM ET on '
           'November 20, 2026. A recount counts once it is official.')
# SYNTHETIC: the rules defer to the title for the price and the date
BTC_TITLE = "Will Bitcoin dip to $50,000 by December 31, 2026?"
BTC = ('This market resolves to "Yes" if the Binance BTC/USDT 1 minute candle low is equal to or lower than the price '
       'specified in the title at any time before the date in the title. Otherwise "No".')
# SYNTHETIC: a relative date ("the day following") with the time far from it
SWORN = ('This market resolves to "Yes" if the Governor is sworn in at 10:00 AM ET on the day following the election '
         '(November 3, 2026). Source: the Secretary of State.')


def _market(title: str) -> SimpleNamespace:
    return SimpleNamespace(title=title, close_time=None, venue="polymarket", id="m1", group_label=None)


def _case(text: str, title: str = ""):
    a = parse_rules(text, market=_market(title)) if title else parse_rules(text)
    return a, text, title


def verify(items, text=CPI, title=""):
    a, rules, t = _case(text, title)
    return verify_reading(items, analysis=a, rules=rules, title=t)


# --- accepted: hand-written correct readings ------------------------------------------------------------------
ACCEPTED = {
    "cpi": (CPI, "", [
        {"field": "source", "quote": "reported by the U.S. Bureau of Labor Statistics", "value": "Bureau of Labor Statistics"},
        {"field": "source", "quote": "https://www.bls.gov/bls/news-release/cpi.htm", "value": "bls.gov"},
        {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "> 0.1%"},
        {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2022-12-13T13:30:00Z"},
        {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2022-12-13 08:30 ET"},
        {"field": "condition", "quote": "if the index increased by more than 0.1 percent", "value": "CPI-U m/m > 0.1"},
        {"field": "edge_case", "quote": "reports seasonally-adjusted month-to-month inflation to only one decimal "
                                        "point", "value": "revision"},
    ]),
    "tot": (TOT, "", [
        {"field": "condition", "quote": "If Tottenham wins the Tottenham vs Nottingham professional EPL soccer game"},
        {"field": "deadline", "quote": "Mar 22, 2026", "value": "2026-03-22", "at": TOT.index("Mar 22, 2026")},
        {"field": "edge_case", "quote": "If the game ends in a tie", "value": "tie"},
        {"field": "edge_case", "quote": "If the game is cancelled or rescheduled to over two weeks away, the market "
                                        "will resolve to a fair price", "value": "cancellation: fair price"},
    ]),
    "turnout": (TURNOUT, "", [
        {"field": "source", "quote": "the Maricopa County Recorder", "value": "Maricopa County Recorder"},
        {"field": "threshold", "quote": "exceeds 62.5%", "value": ">62.5%"},
        {"field": "deadline", "quote": "5:00 PM ET on November 20, 2026", "value": "2026-11-20 17:00 ET"},
        {"field": "vague_phrase", "quote": "once it is official", "value": "unfixed_moment: certified? announced?"},
    ]),
    "btc-title": (BTC, BTC_TITLE, [
        {"field": "threshold", "quote": "dip to $50,000", "value": "<= 50000"},
        {"field": "deadline", "quote": "December 31, 2026", "value": "2026-12-31"},
        {"field": "source", "quote": "Binance BTC/USDT 1 minute candle", "value": "Binance"},
    ]),
    "sworn": (SWORN, "", [
        {"field": "deadline", "quote": "the day following the election (November 3, 2026)", "value": "2026-11-04"},
        {"field": "deadline", "quote": "November 3, 2026", "value": "2026-11-04T15:00:00Z"},
        {"field": "source", "quote": "the Secretary of State", "value": "Secretary of State"},
    ]),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_hand_written_correct_readings_are_accepted_with_exact_spans(name):
    text, title, items = ACCEPTED[name]
    r = verify(items, text, title)
    assert [v.n for v in r.items] == list(range(1, len(items) + 1))
    for v, it in zip(r.items, items):
        src = text if v.span.part == "rules" else title
        assert src[v.span.start:v.span.end] == v.quote == it["quote"]
        assert v.verdict in ("agree", "adds", "review")
    assert r.rules_hash == _case(text, title)[0].rules_hash


def test_what_is_stored_is_our_parse_not_the_assistants_words():
    r = verify(ACCEPTED["cpi"][2])
    th = next(v for v in r.items if v.field == "threshold")
    assert (th.threshold.comparator, str(th.threshold.value), th.threshold.unit) == (">", "0.1", "%")
    dl = next(v for v in r.items if v.field == "deadline")
    assert dl.deadline.utc.isoformat() == "2022-12-13T13:30:00+00:00"
    assert all(v.verdict == "agree" for v in r.items if v.field in ("threshold", "deadline", "source"))
    # a title quote says it quotes the title; the relative day is applied by our parser
    r = verify(ACCEPTED["btc-title"][2], BTC, BTC_TITLE)
    assert [v.span.part for v in r.items[:2]] == ["title", "title"]
    r = verify(ACCEPTED["sworn"][2][:1], SWORN)
    assert str(r.items[0].deadline.date) == "2026-11-04" and r.items[0].deadline.relative


def test_verdicts_agree_adds_and_review():
    r = verify(ACCEPTED["turnout"][2], TURNOUT)
    verdicts = {v.field: v.verdict for v in r.items}
    assert verdicts["source"] == "adds"  # the parser had no source
    assert verdicts["threshold"] == "agree" and verdicts["deadline"] == "agree"
    assert verdicts["vague_phrase"] == "adds"
    # the parser reads the election date; the reading quotes the certification date: review, never chosen
    text = ('This market will resolve to "Yes" if the official turnout figure published by the Clerk of Maricopa '
            'County exceeds 62.5% for the general election held on November 3, 2026. The count is final once '
            'certified, which is expected by 5:00 PM ET on November 20, 2026.')
    r = verify([{"field": "deadline", "quote": "5:00 PM ET on November 20, 2026", "value": "2026-11-20"}], text)
    assert r.items[0].verdict == "review" and "2026-11-03" in r.items[0].ours


# --- rejected -------------------------------------------------------------------------------------------------
INVENTED = [  # quotes that are not in the text
    {"field": "source", "quote": "the Associated Press", "value": "AP"},
    {"field": "threshold", "quote": "more than 0.1%", "value": "> 0.1%"},  # a paraphrase
    {"field": "threshold", "quote": "increased by more than 0.2 percent", "value": "> 0.2%"},  # a changed number
    {"field": "deadline", "quote": "December 14, 2022, at 8:30 AM ET", "value": "2022-12-14"},
    {"field": "condition", "quote": "THIS MARKET WILL RESOLVE TO “YES”"},  # the case changed
    {"field": "source", "quote": "reported by the U.S.  Bureau of Labor Statistics"},  # a doubled space
    {"field": "vague_phrase", "quote": "at the discretion of the resolver"},
    {"field": "edge_case", "quote": "If the release is delayed, the market resolves to 50-50", "value": "postponement"},
    {"field": "source", "quote": "   "},  # nothing to locate
    {"field": "source", "quote": "of"},  # too short to prove anything
]
WRONG_OFFSETS = [
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "at": len(CPI)},  # past the end
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "at": 10**9},
    {"field": "source", "quote": "point (e.g. 0.7%, 0.6%, etc)", "at": len(CPI) - 5},  # runs past the end
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "at": 3},  # elsewhere in the rules
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "at": CPI.index("increased by") + 1},
]
NUMBERS = [  # a threshold or condition value that contradicts its own quote
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "> 0.2%"},
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": ">= 0.1%"},
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "> 0.1 bps"},
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "more than a tenth"},
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "between 0.1 and 0.3"},
    {"field": "threshold", "quote": "seasonally adjusted basis", "value": "> 0.1%"},  # no number in the quote
    {"field": "condition", "quote": "if the index increased by more than 0.1 percent", "value": "CPI above 0.5"},
]
DATES = [  # a deadline value that contradicts its own quote
    {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2022-12-14"},
    {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2023-12-13"},
    {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2022-12-13T14:30:00Z"},
    {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "2022-12-13 09:30 ET"},
    {"field": "deadline", "quote": "December 13, 2022, at 8:30 AM ET", "value": "soon"},
    {"field": "deadline", "quote": "the official monthly BLS CPI news release", "value": "2022-12-13"},  # no date
    {"field": "condition", "quote": "from October to November 2022", "value": "by December 31, 2022"},
]
SCHEMA = [  # fields outside the schema
    {"field": "probability", "quote": "increased by more than 0.1 percent", "value": "0.6"},
    {"quote": "increased by more than 0.1 percent"},  # no field
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "confidence": 0.9},  # an extra key
    {"field": "threshold", "quote": 0.1},  # a quote that is not text
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "value": "x" * 201},
    {"field": "threshold", "quote": "increased by more than 0.1 percent", "at": -1},
    "threshold: > 0.1%",  # not an object
    {"field": "edge_case", "quote": "reports seasonally-adjusted month-to-month", "value": "bad weather"},
]
OTHER_CONTRADICTIONS = [  # a source or an edge-case outcome its quote does not say
    {"field": "source", "quote": "reported by the U.S. Bureau of Labor Statistics", "value": "Reuters"},
    {"field": "edge_case", "quote": "if it is 0.2%, this market will resolve to “Yes”", "value": "tie: No"},
]
SWORN_RELATIVE = [{"field": "deadline", "quote": "November 3, 2026", "value": "2026-11-03"}]  # the day following


def _rejected(items, text=CPI, title="") -> str:
    with pytest.raises(ReadingRejected) as e:
        verify(items, text, title)
    return str(e.value)


@pytest.mark.parametrize("item", INVENTED, ids=range(len(INVENTED)))
def test_invented_quotes_are_rejected(item):
    msg = _rejected([item])
    assert msg.startswith("reading rejected (nothing stored): item 1")
    assert "not in the rule text or the title" in msg or "too short" in msg


def test_a_quote_that_differs_only_in_spacing_or_case_says_so():
    assert "spacing or case" in _rejected([INVENTED[4]])
    assert "spacing or case" in _rejected([INVENTED[5]])


@pytest.mark.parametrize("item", WRONG_OFFSETS, ids=range(len(WRONG_OFFSETS)))
def test_wrong_offsets_are_rejected(item):
    msg = _rejected([item])
    assert "past the end" in msg or "do not read" in msg
    if "do not read" in msg:
        assert f"the quote is at @{CPI.index(item['quote'])}" in msg


def test_an_offset_for_a_title_quote_is_refused():
    assert "in the title, not the rules" in _rejected([{"field": "threshold", "quote": "dip to $50,000", "at": 0}],
                                                      BTC, BTC_TITLE)


@pytest.mark.parametrize("item", NUMBERS, ids=range(len(NUMBERS)))
def test_numbers_that_contradict_their_quote_are_rejected(item):
    msg = _rejected([item])
    assert f"item 1 ({item['field']})" in msg
    assert any(w in msg for w in ("contradicts", "says >=", "where its quote", "no number", "no comparison",
                                  "does not")), msg


@pytest.mark.parametrize("item", DATES, ids=range(len(DATES)))
def test_dates_that_contradict_their_quote_are_rejected(item):
    msg = _rejected([item])
    assert f"item 1 ({item['field']})" in msg
    assert any(w in msg for w in ("contradicts", "not a date", "no date", "does not")), msg


def test_a_date_that_ignores_the_relative_day_is_rejected():
    msg = _rejected(SWORN_RELATIVE, SWORN)
    assert "2026-11-04" in msg and "the day following" in msg


@pytest.mark.parametrize("item", SCHEMA, ids=range(len(SCHEMA)))
def test_fields_outside_the_schema_are_rejected(item):
    msg = _rejected([item])
    assert "item 1" in msg


@pytest.mark.parametrize("item", OTHER_CONTRADICTIONS, ids=range(len(OTHER_CONTRADICTIONS)))
def test_a_source_or_outcome_its_quote_does_not_say_is_rejected(item):
    assert "does not" in _rejected([item]) or "not named" in _rejected([item])


def test_one_bad_item_rejects_the_whole_reading_and_every_bad_item_is_named():
    good = ACCEPTED["cpi"][2]
    msg = _rejected([*good[:2], INVENTED[0], good[2], NUMBERS[0], SCHEMA[0]])
    assert "item 3 (source)" in msg and "item 5 (threshold)" in msg and "item 6" in msg
    assert "item 1" not in msg and "item 4" not in msg
    assert "empty" in _rejected([])
    assert "at most" in _rejected([good[0]] * 21)
    assert "list" in _rejected({"field": "source"})  # type: ignore[arg-type]


def test_the_counts():
    """How many readings of each kind this file tries (reported with the work; no model figures)."""
    counts = {"accepted": sum(len(v[2]) for v in ACCEPTED.values()), "invented_quote": len(INVENTED),
              "wrong_offset": len(WRONG_OFFSETS) + 1, "number_contradicts_quote": len(NUMBERS),
              "date_contradicts_quote": len(DATES) + len(SWORN_RELATIVE), "outside_schema": len(SCHEMA),
              "other_contradiction": len(OTHER_CONTRADICTIONS)}
    assert counts == {"accepted": 21, "invented_quote": 10, "wrong_offset": 6, "number_contradicts_quote": 7,
                      "date_contradicts_quote": 8, "outside_schema": 8, "other_contradiction": 2}


# --- composed with the deterministic reading ------------------------------------------------------------------
def test_an_added_source_and_a_vague_phrase_change_clarity():
    a, text, _ = _case(TURNOUT)
    r = verify_reading(ACCEPTED["turnout"][2], analysis=a, rules=text)
    b = apply_reading(a, r)
    # the parser's costs (pm_mcp.domain.rules.parse.CLARITY_COST): a missing source 0.10, a vague phrase 0.15
    assert a.clarity == 0.88 and "resolution source" in a.review
    assert b.clarity == round(0.88 + 0.10 - 0.15, 2)
    assert b.sources.status == "found" and b.sources.items[-1].name == "Maricopa County Recorder"
    assert b.sources.items[-1].span.quote == "the Maricopa County Recorder"
    assert "resolution source" not in b.review and any("once it is official" in x for x in b.review)
    assert any(f.phrase == "once it is official" and f.kind == "unfixed_moment" for f in b.ambiguity)
    assert "source (verified reading)" in b.clarity_evidence.found
    assert not any(m.startswith("source") for m in b.clarity_evidence.missing)
    assert any(x.startswith("+0.10 resolution source from a verified reading") for x in b.clarity_reasons)
    assert a.clarity == 0.88 and a.sources.status == "unknown"  # the input is unchanged
    assert "source [adds]" in reading_lines(r)[0]


def test_a_disagreement_is_review_and_lowers_clarity_but_changes_no_field():
    text = ('This market will resolve to "Yes" if the official turnout figure published by the Clerk of Maricopa '
            'County exceeds 62.5% for the general election held on November 3, 2026. The count is final once '
            'certified, which is expected by 5:00 PM ET on November 20, 2026.')
    a, _, _ = _case(text)
    r = verify_reading([{"field": "deadline", "quote": "5:00 PM ET on November 20, 2026"}], analysis=a, rules=text)
    b = apply_reading(a, r)
    assert b.deadline.value == a.deadline.value  # never silently chosen
    assert b.clarity == round(a.clarity - 0.10, 2)
    assert any(x.startswith("deadline: the verified reading says 2026-11-20") for x in b.review)
    assert any("deadline" in c for c in b.clarity_evidence.contested)
    assert "[REVIEW]" in reading_lines(r)[0]


def test_a_reading_of_other_rules_is_ignored():
    a, text, _ = _case(TURNOUT)
    r = verify_reading(ACCEPTED["turnout"][2], analysis=a, rules=text)
    changed = parse_rules(TURNOUT.replace("62.5%", "63%"))
    assert apply_reading(changed, r) is changed


def test_an_added_source_settles_a_comparison_and_a_disagreement_makes_it_uncertain():
    a, text, _ = _case(TURNOUT)
    text_b = TURNOUT.replace("the turnout that the Maricopa County Recorder certifies",
                             "the turnout, according to the Maricopa County Recorder,")
    b = parse_rules(text_b)
    before = compare_rules(a, b)
    # A's parser reading has no source: unknown, or (since compare_rules reads the body A's text names as
    # B's source) inferred from B, which the reading then settles from A's own words
    assert any((d.field == "unknown_field" and "source" in d.detail) or
               (d.field == "source" and "names the same body" in d.detail) for d in before.differences)
    r = verify_reading(ACCEPTED["turnout"][2][:1], analysis=a, rules=text)
    after = compare_rules(apply_reading(a, r), b)
    assert not any((d.field == "unknown_field" and "source" in d.detail) or
                   (d.field == "source" and "names the same body" in d.detail) for d in after.differences)
    same = compare_rules(b, b)
    assert same.verdict == "equivalent"
    rb = verify_reading([{"field": "deadline", "quote": "5:00 PM ET on November 20, 2026", "value": "2026-11-20"}],
                        analysis=b, rules=text_b)
    assert rb.items[0].verdict == "agree"
    fake = rb.model_copy(update={"items": [rb.items[0].model_copy(update={"verdict": "review", "ours": "x"})]})
    out = review_comparison(same, fake, None)
    assert out.verdict == "uncertain" and out.differences[-1].field == "deadline"
    assert out.differences[-1].a[0].quote == "5:00 PM ET on November 20, 2026"


# --- bad input ------------------------------------------------------------------------------------------------
def test_hostile_input_is_a_clear_rejection_or_an_exact_span_never_a_crash():
    huge = ("Filler sentence without facts. " * 2000) + 'This market resolves to "Yes" if the index exceeds 5%.'
    assert len(huge) > 50_000
    r = verify([{"field": "threshold", "quote": "exceeds 5%", "value": "> 5%"}], huge)
    assert r.items[0].span.start == huge.index("exceeds 5%")
    for junk in ("\x00\x01\xff\ufffd" * 10, "<script>alert(1)</script>", "</p><b>Yes</b>", "\u202e\u200bYES"):
        assert "not in the rule text" in _rejected([{"field": "condition", "quote": junk}])
    assert "item 1" in _rejected([{"field": "condition", "quote": "x" * 601}])
    ru = 'Рынок разрешится «Да», если Центральный банк России снизит ключевую ставку до 15% к 31 декабря 2026.'
    r = verify([{"field": "source", "quote": "Центральный банк России", "value": "Центральный банк"}], ru)
    assert r.items[0].verdict in ("adds", "agree")
    assert "not named" in _rejected([{"field": "source", "quote": "Центральный банк России", "value": "ФРС"}], ru)
