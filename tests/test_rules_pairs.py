"""compare_rules on the blind-labelled pair corpus (tests/fixtures/rules/pairs/, SOURCES.md there): floors
just below today's figures (tools/bench/rules_pairs.py), so a regression fails. The held-out third is only
ever measured in aggregate; see tools/bench/REPORT.md for the figures before and after tuning."""

import json

import pytest

from tools.bench.rules_pairs import PAIRS, load_pairs, run


@pytest.fixture(scope="module")
def rows():
    return run(json.loads(PAIRS.read_text(encoding="utf-8")))


def test_the_corpus_is_what_the_report_says(rows):
    assert len(rows) >= 90
    assert sum(r["label"] == "equivalent" for r in rows) >= 20
    assert sum(r["split"] == "heldout" for r in rows) >= 28


def test_dev_split_no_hard_difference_is_ever_called_equivalent(rows):
    dev = [r for r in rows if r["split"] == "dev"]
    wrong = [r["id"] for r in dev if r["label"] == "not_equivalent" and r["verdict"] == "equivalent"]
    assert wrong == []
    called = [r for r in dev if r["verdict"] == "equivalent"]
    assert all(r["label"] == "equivalent" and r["mapping"] == r["label_mapping"] for r in called)


def test_heldout_split_no_hard_difference_is_ever_called_equivalent(rows):
    # aggregate only: the count, never which pairs
    held = [r for r in rows if r["split"] == "heldout"]
    assert sum(r["label"] == "not_equivalent" and r["verdict"] == "equivalent" for r in held) == 0
    assert sum(r["verdict"] == "equivalent" and (r["label"] != "equivalent" or r["mapping"] != r["label_mapping"])
               for r in held) == 0


def test_recall_of_hard_differences_floor(rows):
    # heldout 16/19 before the structural round of 2026-12-02, 19/19 after (it had been looked at: dev now)
    for split, floor in (("dev", 0.97), ("heldout", 0.95)):
        lab = [r for r in rows if r["split"] == split and r["label"] == "not_equivalent"]
        got = sum(r["verdict"] == "not_equivalent" for r in lab) / len(lab)
        assert got >= floor, (split, got)


def _ratio(rows, split, num, den):
    d = [r for r in rows if r["split"] == split and den(r)]
    return sum(num(r) for r in d) / len(d), len(d)


def _right_eq(r):
    return r["verdict"] == "equivalent" and r["label"] == "equivalent" and r["mapping"] == r["label_mapping"]


def test_equivalence_fires_on_real_cross_venue_equivalents(rows):
    # recall of equivalence: the pairs labelled equivalent that we call equivalent with the right mapping
    # (dev 16/18 and held-out 2/9 at 0b9d125; see tools/bench/REPORT.md "Rule equivalence")
    # (heldout 2/9 -> 5/9 after the structural round of 2026-12-02: whole degrees, seasons, agency names)
    # (dev 16/18 -> 12/18, heldout 5/9 -> 4/9 when "no source stated on either side" stopped passing as "the event
    # itself decides": p015, p018, p019, p026 and a held-out pair are now UNCERTAIN, each for that reason alone)
    for split, floor in (("dev", 0.66), ("heldout", 0.44)):
        got, _ = _ratio(rows, split, _right_eq, lambda r: r["label"] == "equivalent")
        assert got >= floor, (split, got)


def test_precision_of_equivalent(rows):
    for split in ("dev", "heldout"):
        got, n = _ratio(rows, split, _right_eq, lambda r: r["verdict"] == "equivalent")
        assert n >= 1 and got >= 0.95, (split, got, n)



@pytest.fixture(scope="module")
def fresh_rows():
    return run(load_pairs("fresh"))


def test_fresh_batch_is_what_sources_says(fresh_rows):
    assert len(fresh_rows) >= 60
    # the fixed split (SOURCES.md "Fresh split"): sorted ids, every third held out
    assert sum(r["split"] == "fresh-holdout" for r in fresh_rows) == 21
    assert sum(r["split"] == "fresh-tune" for r in fresh_rows) == len(fresh_rows) - 21
    assert sum(r["label"] == "equivalent" for r in fresh_rows) >= 15
    assert sum(r["label"] == "not_equivalent" for r in fresh_rows) >= 25


def test_fresh_batch_safety_floors(fresh_rows):
    # aggregate only, like the held-out third: counts, never which pairs (tools/bench/REPORT.md "Rule equivalence")
    assert sum(r["label"] == "not_equivalent" and r["verdict"] == "equivalent" for r in fresh_rows) == 0
    called = [r for r in fresh_rows if r["verdict"] == "equivalent"]
    assert len(called) >= 7
    assert sum(r["label"] != "equivalent" or r["mapping"] != r["label_mapping"] for r in called) == 0


def test_fresh_batch_recall_floors(fresh_rows):
    # first measurement (77123d8, before this round's changes): hard differences 36/40, equivalence 5/20;
    # after the dev-split work (0b9d125): 36/40, 7/20; after the structural round of 2026-12-02 (tuned on
    # fresh-tune only, SOURCES.md "Fresh split"): 40/40, 10/20
    lab_ne = [r for r in fresh_rows if r["label"] == "not_equivalent"]
    assert sum(r["verdict"] == "not_equivalent" for r in lab_ne) >= 38
    lab_eq = [r for r in fresh_rows if r["label"] == "equivalent"]
    # 10/20 at b604576; 8/20 once no source stated on either side is UNCERTAIN (one fresh-tune, one fresh-holdout)
    assert sum(_right_eq(r) for r in lab_eq) >= 8


# --- the general rules behind the dev figures (each would also fail if the rule were gone) --------------------------
def _cmp(a: dict, b: dict, oa: str | None = None, ob: str | None = None):
    from pm_mcp.domain.models import Market
    from pm_mcp.domain.rules import parse_rules
    from pm_mcp.domain.rules_compare import compare_rules

    def an(x):
        m = Market(id=x["id"], venue=x["venue"], title=x.get("title", ""), group_label=x.get("label"),
                   rule_text=x["rules"])
        return parse_rules(x["rules"], venue=x["venue"], market=m)

    return compare_rules(an(a), an(b), a_outcome=oa, b_outcome=ob)


GAME_PM = ("In the upcoming NHL game, scheduled for March 8 at 7:00PM ET:\nIf the Bruins win, the market will resolve to "
           "\"Bruins\".\nIf the Rangers win, the market will resolve to \"Rangers\".\nIf the game is postponed, this market "
           "will remain open until the game has been completed.")
GAME_KS = ("If {team} wins the Boston vs New York professional hockey game originally scheduled for Mar 8, 2027, then "
           "the market resolves to Yes.")


def test_a_team_by_city_and_by_nickname_is_one_subject_and_the_other_team_is_the_inverse():
    pm = {"id": "pm", "venue": "polymarket", "title": "Bruins vs. Rangers", "rules": GAME_PM}
    ks = {"id": "ks", "venue": "kalshi", "title": "Boston vs New York Winner?", "label": "Boston",
          "rules": GAME_KS.format(team="Boston")}
    same = _cmp(pm, ks, oa="Bruins", ob="Yes")
    other = _cmp(pm, ks, oa="Rangers", ob="Yes")
    assert not any(d.field == "subject" and d.severity == "hard" for d in same.differences), same.summary
    assert same.mapping == "same", same.summary
    assert other.mapping == "inverted", other.summary
    assert not any(d.field == "subject" and d.severity == "hard" for d in other.differences), other.summary
    # "New York" is read whole (not "York"), the kickoff time on one side only is not an observation time, the
    # named outcome is the YES condition; but neither side says who decides the result (the league's official
    # result, after any review), so it is UNCERTAIN for that alone, never EQUIVALENT by default
    for c in (same, other):
        blocking = [d for d in c.differences if d.severity != "info" and d.core]
        assert c.verdict == "uncertain" and [d.field for d in blocking] == ["source"], c.summary
        assert "no source stated on either side" in blocking[0].detail, c.summary
    moved = dict(ks, rules=ks["rules"].replace("Mar 8, 2027", "Mar 10, 2027"))
    assert _cmp(pm, moved, oa="Bruins", ob="Yes").verdict != "equivalent"


def test_a_city_with_two_teams_does_not_stand_for_the_other_one():
    from pm_mcp.domain.rules.terms import same_name

    assert same_name("Seattle", "Seahawks") and same_name("Rays", "Tampa Bay Rays")
    assert not same_name("Mets", "New York Yankees") and not same_name("Seattle", "Cowboys")
    # a nickname that is also a word counts only written as a name: the heat of a weather market is not the Heat
    hot = {"id": "a", "venue": "polymarket", "title": "Will Miami reach 95\u00b0F on July 4, 2027?",
           "rules": "This market will resolve to \"Yes\" if the highest temperature recorded in Miami on July 4, 2027 "
                    "is 95\u00b0F or higher, per the NWS Daily Climate Report."}
    chi = {"id": "b", "venue": "kalshi", "title": "Highest temperature in Chicago on Jul 4, 2027?",
           "label": "95\u00b0 or above",
           "rules": "If the highest temperature recorded at Chicago Midway for Jul 4, 2027 is 95\u00b0 or above according "
                    "to the National Weather Service's Climatological Report (Daily), then the market resolves to Yes. "
                    "The heat index does not count."}
    c = _cmp(hot, chi)
    assert any(d.field == "subject" and d.severity == "hard" for d in c.differences), c.summary


def test_one_named_season_on_both_sides_is_one_period():
    a = {"id": "a", "venue": "polymarket", "title": "Will Bukayo Saka score 20+ Premier League goals in the 25/26 season?",
         "rules": "This market will resolve to \"Yes\" if Bukayo Saka scores 20 or more goals in the Premier League's "
                  "2025/26 season. Otherwise, this market will resolve to \"No\". Goals per the official Premier League "
                  "statistics."}
    b = {"id": "b", "venue": "kalshi", "title": "Will Bukayo Saka score 20 or more Premier League goals in 2025/26?",
         "label": "20 or more", "rules": "If Bukayo Saka scores 20 or more Premier League goals in the 2025/26 Premier "
                                         "League season, then the market resolves to Yes."}
    c = _cmp(a, b)
    assert not any(d.detail.startswith("deadline unknown") for d in c.differences), c.summary
    other = dict(b, title=b["title"].replace("2025/26", "2026/27"), rules=b["rules"].replace("2025/26", "2026/27"))
    assert _cmp(a, other).verdict != "equivalent"


def test_an_event_with_no_source_on_either_side_is_uncertain_and_says_what_to_check():
    a = {"id": "a", "venue": "polymarket", "title": "Will Acme Corp announce a merger with Beta Inc by June 30, 2027?",
         "rules": "This market will resolve to \"Yes\" if Acme Corp and Beta Inc announce a merger agreement by June 30, "
                  "2027, 11:59 PM ET. Otherwise, this market will resolve to \"No\"."}
    b = {"id": "b", "venue": "kalshi", "title": "Will Acme Corp announce a merger with Beta Inc before Jul 1, 2027?",
         "rules": "If Acme Corp and Beta Inc announce a merger agreement before Jul 1, 2027, then the market resolves to "
                  "Yes."}
    c = _cmp(a, b)
    # nobody is named as deciding the event on either side: unread on both is not "the same" (QA found Polymarket
    # and Kalshi recession markets called EQUIVALENT this way; NBER's call vs two quarters of falling GDP)
    assert c.verdict == "uncertain", c.summary
    assert any("no source stated on either side" in d.detail and d.core and "check" in d.detail
               for d in c.differences), c.summary
    # a measured number with no publisher named on either side still needs one
    pa = dict(a, title="Will Acme Corp stock close above $50 on June 30, 2027?",
              rules="This market will resolve to \"Yes\" if Acme Corp stock closes above $50 on June 30, 2027.")
    pb = dict(b, title="Will Acme Corp stock close above $50 on Jun 30, 2027?",
              rules="If Acme Corp stock closes above 50 on Jun 30, 2027, then the market resolves to Yes.")
    assert not any("no source stated on either side" in d.detail for d in _cmp(pa, pb).differences)


def test_the_official_close_read_on_both_sides_has_the_publisher_one_side_names():
    a = {"id": "a", "venue": "polymarket", "title": "Will Apple (AAPL) close above $300 on March 31, 2027?",
         "rules": "This market will resolve to \"Yes\" if the official closing price for Apple (AAPL) on March 31, 2027 "
                  "is higher than $300. Otherwise, this market will resolve to \"No\"."}
    b = {"id": "b", "venue": "kalshi", "title": "Will Apple close above $300 on Mar 31, 2027?",
         "rules": "If the official closing price of Apple Inc. (AAPL) on Mar 31, 2027 is above 300, then the market "
                  "resolves to Yes.\n\nThe official closing price is the closing price reported by Nasdaq."}
    c = _cmp(a, b)
    assert any("both read the official closing price" in d.detail and not d.core for d in c.differences), c.summary
    # another figure on the unsourced side (an intraday high) is not that official close
    other = dict(a, rules=a["rules"].replace("the official closing price", "the intraday high"))
    assert not any("both read the official" in d.detail for d in _cmp(other, b).differences)


def test_a_date_written_without_a_year_still_compares_by_month_and_day():
    pm = {"id": "pm", "venue": "polymarket", "title": "Bruins vs. Rangers", "rules": GAME_PM}
    later = dict(pm, rules=GAME_PM.replace("March 8", "March 10"))
    c = _cmp(pm, later, oa="Bruins", ob="Bruins")
    assert c.verdict == "not_equivalent" and any(d.field == "deadline" for d in c.differences), c.summary


def test_markets_closing_on_different_days_are_uncertain_unless_both_close_after_one_common_day():
    from datetime import date

    from pm_mcp.domain.models import Market
    from pm_mcp.domain.rules import parse_rules
    from pm_mcp.domain.rules_compare import compare_rules

    def an(venue: str, rules: str):
        return parse_rules(rules, venue=venue, market=Market(id=venue, venue=venue, title="", rule_text=rules))

    # a period ("in 2026"), settled by what is announced after it: closes months apart change what pays
    a = an("polymarket", "This market will resolve to \"Yes\" if the BEA reports that US GDP fell in 2026, according "
                         "to bea.gov. Otherwise \"No\".")
    b = an("kalshi", "If the BEA reports that US GDP fell in 2026, according to bea.gov, then the market resolves to "
                     "Yes.")
    assert compare_rules(a, b).verdict == "equivalent", compare_rules(a, b).summary
    c = compare_rules(a, b, a_close=date(2027, 2, 28), b_close=date(2027, 6, 30))
    assert c.verdict == "uncertain", c.summary
    assert any(d.field == "deadline" and "February 28, 2027" in d.detail and "June 30, 2027" in d.detail and d.core
               for d in c.differences), c.summary
    # one day read on both sides, both closes after it: what pays is known at that day on both
    a = an("polymarket", "This market will resolve to \"Yes\" if the BLS reports on bls.gov that US CPI rose above 3% "
                         "on June 10, 2027. Otherwise \"No\".")
    b = an("kalshi", "If the BLS reports on bls.gov that US CPI rose above 3% on June 10, 2027, then the market "
                     "resolves to Yes.")
    base = compare_rules(a, b)
    c = compare_rules(a, b, a_close=date(2027, 6, 11), b_close=date(2027, 6, 20))
    assert c.verdict == base.verdict and not any("close on different dates" in d.detail for d in c.differences), \
        (base.summary, c.summary)
