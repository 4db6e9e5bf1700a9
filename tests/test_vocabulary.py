"""pm_mcp.domain.vocabulary: the other names of one thing are appended, whole names only, nothing removed."""

from pm_mcp.domain.vocabulary import with_equivalents
from pm_mcp.markets.ranking import tokens


def test_a_name_brings_the_others_of_its_group():
    out = with_equivalents("will the chiefs win the pro football championship?")
    assert out.startswith("will the chiefs win the pro football championship?")
    assert out.count("super bowl") == 1 and out.count("pro football championship") == 1
    assert "pro football championship" in with_equivalents("super bowl lxi champion")


def test_only_whole_names_count_and_a_plain_text_is_unchanged():
    for text in ("bowl game tonight", "super bowling league", "world seriesx", "fed decision in december"):
        assert with_equivalents(text) == text


def test_query_and_market_tokenize_alike():
    q = set(tokens("super bowl"))
    assert q <= set(tokens("Will the Kansas City Chiefs win the Pro Football Championship?"))
    assert set(tokens("pro football champion")) <= set(tokens("Super Bowl LXI Champion"))
