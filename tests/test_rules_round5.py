"""Fifth rule-reading round (issue #13): each general rule on a real fragment from the fixtures, and a near miss."""

from pm_mcp.domain.rules import parse_rules


def _names(text: str) -> dict[str, str]:
    return {i.name: i.role for i in parse_rules(text, venue="polymarket").sources.items}


def test_a_shared_plural_head_is_given_to_each_part():
    # fresh pm-us-iran-peace-deal
    t = ("The primary resolution source for this market will be official information from the governments of the "
         "United States and Iran; however, a consensus of credible reporting may also be used.")
    a = parse_rules(t, venue="polymarket")
    names = {i.name: i for i in a.sources.items}
    assert names["US government"].role == "primary" and names["government of Iran"].role == "primary"
    assert names["credible reporting"].role == "fallback"
    assert t[names["government of Iran"].span.start:names["government of Iran"].span.end] == "Iran"


def test_a_singular_head_is_not_shared():
    t = ("The primary resolution source for this market will be official information from the government of "
         "Iran and the Associated Press.")
    names = _names(t)
    assert "government of Iran" in names and "AP" in names
    assert "government of Associated Press" not in names


def test_the_national_weather_service_keeps_its_name():
    # heldout kx-highny-centralpark-90
    t = ("If the highest temperature recorded in Central Park, New York for August 12, 2026 as reported by the "
         "National Weather Service's Climatological Report (Daily), is greater than 90°, then the market resolves "
         "to Yes.")
    assert set(_names(t)) == {"National Weather Service"}
    assert set(_names("This market will resolve to Yes if the reading is above 5. The resolution source is "
                      "NOAA.")) == {"NOAA"}


def test_an_office_of_a_body_is_not_a_source():
    # fresh pm-fed-chair-nominee
    t = ("This market will resolve according to the next individual Donald Trump, as President of the United "
         "States, formally nominates to be Chair of the Federal Reserve by December 31, 2026, 11:59 PM ET. \n\n"
         "The primary resolution source for this market will be official information from the U.S. Senate, "
         "however a consensus of credible reporting may also be used.")
    names = _names(t)
    assert "Federal Reserve" not in names and not any("individual" in n for n in names)
    assert names.get("U.S. Senate") == "primary"
    # near miss: the Federal Reserve as the body that publishes
    t2 = "The resolution source for this market will be official information from the Federal Reserve."
    assert "Federal Reserve" in _names(t2)
