"""Contract terms (pm_mcp.domain.rules.terms) and how compare_rules uses them: the subject, the period and
the measured quantity decide whether two prices are the same bet."""

from pm_mcp.domain.models import Market
from pm_mcp.domain.rules import parse_rules, rules_hash
from pm_mcp.domain.rules_compare import compare_rules

FOMC = ("Resolves YES if the Federal Reserve lowers the target range for the federal funds rate at its {m} 2026 "
        "meeting, as stated in the FOMC statement on federalreserve.gov.")


def cmp(ta: str, ra: str, tb: str, rb: str, la: str | None = None, lb: str | None = None):
    a = Market(id="a", venue="kalshi", title=ta, group_label=la, rule_text=ra)
    b = Market(id="b", venue="polymarket", title=tb, group_label=lb, rule_text=rb)
    return compare_rules(parse_rules(ra, market=a), parse_rules(rb, market=b))


def fields(c, severity="hard"):
    return {d.field for d in c.differences if d.severity == severity}


def test_same_surname_other_club_is_another_subject():
    r = "Resolves YES if {t} wins the 2026 Copa del Rey final, per the official RFEF result."
    c = cmp("Will Real Madrid win the Copa del Rey?", r.format(t="Real Madrid"),
            "Will Atletico Madrid win the Copa del Rey?", r.format(t="Atletico Madrid"))
    assert c.verdict == "not_equivalent" and "subject" in fields(c)


def test_aliases_and_title_case_do_not_invent_differences():
    c = cmp("Will the Fed Cut Interest Rates at the December 2026 Meeting?", FOMC.format(m="December"),
            "FOMC December 2026: rate cut?", FOMC.format(m="December"))
    # no name invented from the title case ("Interest Rates"), no period or quantity difference; one rule text
    # under two questions is a template filled twice, so it is not called the same contract without a reading
    assert not fields(c) and not any("names" in d.detail for d in c.differences), c.summary
    assert c.verdict == "uncertain" and "the same rule text under another question" in c.summary, c.summary
    # the same market, compared with itself, is
    same = cmp("FOMC December 2026: rate cut?", FOMC.format(m="December"), "FOMC December 2026: rate cut?",
               FOMC.format(m="December"))
    assert same.verdict == "equivalent" and same.mapping == "same", same.summary


def test_consecutive_meetings_name_the_months():
    c = cmp("Fed cut in December 2026?", FOMC.format(m="December"), "Fed cut in September 2026?",
            FOMC.format(m="September"))
    assert c.verdict == "not_equivalent"
    (d,) = [d for d in c.differences if d.field == "period"]
    assert "December" in d.detail and "September" in d.detail


def test_core_cpi_is_not_headline_cpi():
    r = "Resolves YES if {q}CPI for November 2026, year-over-year, published by the BLS, is above 3.0%."
    c = cmp("Core CPI above 3% in November 2026?", r.format(q="core "), "CPI above 3% in November 2026?",
            r.format(q=""))
    assert c.verdict == "not_equivalent" and "quantity" in fields(c), c.summary


def test_an_extra_name_on_one_side_is_uncertain_not_equivalent():
    r = "Resolves YES if Donald Trump wins {x}the 2028 presidential election as called by the AP."
    c = cmp("Will Trump win in 2028?", r.format(x=""), "Will Trump win Pennsylvania in 2028?",
            r.format(x="Pennsylvania in "))
    assert c.verdict != "equivalent", c.summary


def test_the_hash_covers_question_and_label():
    tpl = 'This market will resolve to "Yes" if the named individual wins the nomination.'
    a = Market(id="1", venue="polymarket", title="Will Gavin Newsom win?", group_label="Gavin Newsom", rule_text=tpl)
    b = Market(id="2", venue="polymarket", title="Will Pete Buttigieg win?", group_label="Pete Buttigieg",
               rule_text=tpl)
    ha, hb = parse_rules(tpl, market=a), parse_rules(tpl, market=b)
    assert ha.rules_hash != hb.rules_hash and ha.text_hash == hb.text_hash == rules_hash(tpl)
    assert parse_rules(tpl).rules_hash == rules_hash(tpl)  # pasted text: the text's own hash, as before
    assert all(s.quote == (a.group_label if s.part == "label" else a.title)[s.start:s.end]
               for s in (n.span for n in ha.terms.subjects))


def test_one_rule_text_under_two_member_labels_is_two_bets():
    # a Polymarket event's shared description: the bracket lives only in the member's label
    r = ("This market will resolve to the amount of basis points the upper bound of the target federal funds rate is "
         "changed by at the Federal Reserve's March 2027 meeting. The resolution source is the FOMC statement.")
    c = cmp("Fed decision in March?", r, "Fed decision in March?", r, la="25 bps decrease", lb="No change")
    assert c.verdict == "not_equivalent" and "subject" in fields(c), c.summary
    assert "'25 bps decrease'" in c.summary and "'No change'" in c.summary
    # the same label written another way is the same member
    same = cmp("Fed decision in March?", r, "Fed decision in March?", r, la="25 bps decrease", lb="25bps Decrease")
    assert same.verdict != "not_equivalent", same.summary


def test_one_rule_text_under_questions_with_other_times_is_two_bets():
    r = ('This market will resolve to "Up" if the Bitcoin price at the end of the time range specified in the title '
         'is greater than or equal to the price at the beginning of that range. Otherwise, it will resolve to "Down".')
    c = cmp("Bitcoin Up or Down - March 12, 5:20AM-5:25AM ET", r, "Bitcoin Up or Down - March 12, 5:25AM-5:30AM ET", r)
    assert c.verdict == "not_equivalent", c.summary
    assert "5:20am" in c.summary and "5:30am" in c.summary, c.summary
    # the same values written another way are not a difference
    v = cmp("Bitcoin Up or Down - March 12, 5:20AM-5:25AM ET", r, "Bitcoin Up or Down - Mar 12, 5:20 AM-5:25 a.m. ET", r)
    assert not fields(v), v.summary


def test_a_title_tag_and_a_middle_initial_do_not_hide_the_candidate():
    r = ("This market will resolve to \u201cYes\u201d if {n} wins the 2024 nomination of the Republican Party for U.S. "
         "president. Otherwise, this market will resolve to \u201cNo\u201d.")
    c = cmp("[Single Market] Will Ron DeSantis win the U.S. 2024 Republican presidential nomination?",
            r.format(n="Ronald Dion de Santis"),
            "[Single Market] Will Donald J. Trump win the U.S. 2024 Republican presidential nomination?",
            r.format(n="Donald J. Trump"))
    assert c.verdict == "not_equivalent" and "subject" in fields(c), c.summary
    assert "Donald J. Trump" in c.summary and "Single" not in c.summary, c.summary
    # a title-cased question keeps a person whose surname the rules write ("Mike Pence" / "Michael Richard Pence")
    p = cmp("[Single Market] Will Mike Pence win the U.S. 2024 Republican presidential nomination?",
            r.format(n="former US vice president Michael Richard Pence"),
            "[Single Market] Will Nikki Haley win the U.S. 2024 Republican presidential nomination?",
            r.format(n="Nimrata Nikki Haley"))
    assert p.verdict == "not_equivalent" and "Mike Pence" in p.summary, p.summary


def test_another_weather_station_of_one_agency_is_another_number():
    a = ("This market will resolve to \"Yes\" if the highest temperature recorded by NOAA at the LaGuardia Airport "
         "Station on June 3, 2027 is 85\u00b0F or higher. The resolution source is NOAA.")
    b = ("If the highest temperature recorded in Central Park, New York for June 3, 2027 as reported by the National "
         "Weather Service's Climatological Report (Daily), is 85\u00b0 or above, then the market resolves to Yes.")
    c = cmp("Will NYC reach 85\u00b0F on June 3, 2027?", a, "Highest temperature in NYC on Jun 3, 2027?", b)
    assert c.verdict == "not_equivalent", c.summary
    assert "LaGuardia Airport Station" in c.summary and "Central Park" in c.summary, c.summary
    # one station written two ways is one place
    same = cmp("Will NYC reach 85\u00b0F on June 3, 2027?", a.replace("the LaGuardia Airport Station", "Central Park"),
               "Highest temperature in NYC on Jun 3, 2027?", b)
    assert not any("observation places" in d.detail for d in same.differences), same.summary


def test_a_maximum_at_any_time_is_not_the_value_on_one_day():
    a = ("If AAA reports that the maximum price of national average regular gas for the US is greater than $4.00 at "
         "any time from Issuance through Dec 31, 2027, inclusive, then the market resolves to Yes.")
    b = ("This market will resolve to \"Yes\" if the AAA national average price for regular gasoline on December 31, "
         "2027 is above $4.00. Otherwise, this market will resolve to \"No\".")
    c = cmp("", a, "Will US gas be above $4.00 on December 31, 2027?", b)
    assert c.verdict == "not_equivalent" and "quantity" in fields(c), c.summary
    both_day = cmp("", b, "Will US gas be above $4.00 on December 31, 2027?", b)
    assert not any("crosses the line" in d.detail for d in both_day.differences), both_day.summary


def test_what_one_side_says_is_enough_against_what_the_other_excludes():
    a = ("This market will resolve to \"Yes\" if Israel has withdrawn all ground forces from Gaza between January 1 "
         "and December 31, 2027, 11:59 PM ET. For this market to resolve to \"Yes\" it is sufficient that Israel "
         "announces its ground forces have withdrawn into or behind intended buffer zones.")
    b = ("If Israel withdraws all of its ground forces from the entire Gaza Strip between Jan 1, 2027 and Dec 31, "
         "2027, then the market resolves to Yes.\n\nA withdrawal into buffer zones or security perimeters inside the "
         "Gaza Strip does not count as a full withdrawal.")
    c = cmp("Israel withdraws from Gaza in 2027?", a, "Will Israel fully withdraw from Gaza before 2028?", b)
    assert c.verdict == "not_equivalent" and "quantity" in fields(c), c.summary
    # without the sentence that counts the buffer zones, A only does not say
    silent = cmp("Israel withdraws from Gaza in 2027?", a.split(" For this market")[0],
                 "Will Israel fully withdraw from Gaza before 2028?", b)
    assert "quantity" not in fields(silent), silent.summary


def test_whole_degree_reports_make_strict_and_inclusive_the_same_line():
    a = ("If the highest temperature recorded in Central Park, New York for August 12, 2027 as reported by the "
         "National Weather Service's Climatological Report (Daily), is greater than 90\u00b0, then the market resolves "
         "to Yes.")
    b = ("Resolves YES if the highest temperature recorded in Central Park on August 12, 2027, per the NWS daily "
         "climate report, is 91\u00b0F or higher.")
    c = cmp("", a, "Will Central Park hit 91\u00b0F or more on August 12, 2027?", b)
    assert "threshold" not in fields(c) and "whole-degree" in c.summary, c.summary
    # 92 is another line, and a price is not reported in whole degrees
    assert "threshold" in fields(cmp("", a, "Will Central Park hit 92\u00b0F?", b.replace("91", "92")))
    pa = "If the closing price of Acme on Aug 12, 2027 is greater than 90, then the market resolves to Yes."
    pb = "Resolves YES if the closing price of Acme on August 12, 2027 is 91 or higher."
    assert "threshold" in fields(cmp("", pa, "", pb))


def test_member_labels_that_are_dates_are_compared_as_dates():
    a = ('This market will resolve to "Yes" if Xi Jinping visits the United States by September 30, 2027, 11:59 PM '
         'ET. Otherwise, this market will resolve to "No".')
    b = "If Xi Jinping visits the United States before Oct 1, 2027, then the market resolves to Yes."
    c = cmp("Will Xi Jinping visit US by...?", a, "Will Xi Jinping visit the United States before Oct 1, 2027?", b,
            la="September 30", lb="Before Oct 1, 2027")
    assert "subject" not in fields(c) and "deadline" not in fields(c), c.summary


def test_a_zero_change_is_a_hold_and_core_cpi_is_less_food_and_energy():
    a = ("If the Federal Reserve announces a Hike of 0bps at the September 16, 2027 meeting, then the market resolves "
         "to Yes.")
    b = ("This market will resolve to the amount of basis points the upper bound of the target federal funds rate is "
         "changed by at the Federal Reserve's September 2027 meeting. The resolution source is the FOMC statement.")
    c = cmp("Fed in September 2027?", a, "Fed decision in September?", b, la="Fed maintains rate", lb="No change")
    assert "threshold" not in fields(c) and "subject" not in fields(c), c.summary
    assert "threshold" in fields(cmp("Fed in September 2027?", a, "Fed decision in September?", b,
                                     la="Fed maintains rate", lb="25 bps decrease"))
    core = ("If the seasonally adjusted Consumer Price Index for All Urban Consumers: All Items less Food and Energy for "
            "May 2027, as published by the Bureau of Labor Statistics, increases by above 0.2%, then the market "
            "resolves to Yes.")
    other = "Resolves YES if core CPI for May 2027 (BLS, seasonally adjusted) rises by more than 0.2%."
    assert "quantity" not in fields(cmp("", core, "Core CPI above 0.2% in May 2027?", other))
    headline = core.replace(" less Food and Energy", "")
    assert "quantity" in fields(cmp("", headline, "Core CPI above 0.2% in May 2027?", other))


def test_a_case_one_side_says_has_no_bearing_is_excluded_on_both():
    a = ('This market will resolve to "Yes" if Jane Roe becomes the first-elected Speaker of the House in the 120th '
         'United States Congress. Any individual serving as Speaker pro tempore will have no bearing on the '
         'resolution of this market.')
    b = "Resolves YES if Jane Roe is the first person elected Speaker of the House in the 120th Congress. A Speaker pro tempore does not count."
    c = cmp("Will Jane Roe be elected Speaker?", a, "Will Jane Roe be the first Speaker elected?", b)
    assert "quantity" not in fields(c), c.summary
    silent = a.split(" Any individual")[0]
    assert "quantity" in fields(cmp("Will Jane Roe be elected Speaker?", silent, "Will Jane Roe be the first Speaker elected?", b))


def test_one_calendar_year_as_a_whole_on_both_sides_is_one_period():
    a = ("If Ford Motor Company reports Above 2300000.0 u.s. vehicle sales volume in 2027, then the market resolves to "
         "Yes.")
    b = ("Resolves YES if Ford Motor Company's reported total U.S. vehicle sales for calendar year 2027 are more than "
         "2,300,000. I will use Ford's own full-year 2027 U.S. sales release.")
    c = cmp("Will Ford Motor Company report Above 2.3 million u.s. vehicle sales volume in 2027?", a,
            "Will Ford sell more than 2.3 million vehicles in the US in 2027?", b)
    assert any("both name the year 2027" in d.detail and not d.core for d in c.differences), c.summary
    # "before 2028" or a deadline inside the year is not the year as a whole
    by = cmp("Will Ford Motor Company report Above 2.3 million u.s. vehicle sales volume in 2027?",
             a.replace("in 2027", "by June 30, 2027"), "Will Ford sell more than 2.3 million vehicles in the US in 2027?", b)
    assert not any("the year 2027" in d.detail for d in by.differences), by.summary


def test_a_us_agency_says_us_and_an_agency_name_is_read_whole():
    from pm_mcp.domain.rules.terms import read_terms

    t = read_terms(title="", label=None, rules="If the highest temperature recorded at Houston Hobby, as reported by "
                   "the National Weather Service's Climatological Report (Daily), is below 89, the market resolves "
                   "to Yes. The weather service publishes the report; the service may revise it.")
    assert "National Weather Service" in [n.text for n in t.subjects], [n.text for n in t.subjects]
    a = ("If the CPI year-over-year for December 2027 is above 4.9%, as published by the Bureau of Labor Statistics, "
         "then the market resolves to Yes.")
    b = ("This market will resolve to \"Yes\" if the 12-month change in the Consumer Price Index for December 2027, as "
         "published by the U.S. Bureau of Labor Statistics, is 4.9% or lower.")
    c = cmp("CPI above 4.9% in December 2027?", a, "Will CPI be 4.9% or lower in December 2027?", b)
    assert not any("'U.S'" in d.detail for d in c.differences), c.summary
    # another country's figure is never the same bet (the implied "us" does not hide the UK)
    uk = b.replace("U.S. Bureau of Labor Statistics", "UK Office for National Statistics")
    assert cmp("CPI above 4.9% in December 2027?", a, "Will UK CPI be 4.9% or lower in December 2027?",
               uk).verdict != "equivalent"
