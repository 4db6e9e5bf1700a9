"""search_markets' head line counts in words: '1 result', 'at least 1 result', '2 results', '1 weak match'."""

from __future__ import annotations

from pm_mcp.surface.market import SearchOut, search_text


def head(**kw) -> str:
    return search_text(SearchOut(query="fed", results=[], **kw)).splitlines()[0]


def test_singular_and_plural_everywhere_in_the_head_line():
    assert head(total=1).startswith("1 result for 'fed'")
    assert head(total=1, total_exact=False).startswith("at least 1 result for 'fed'")
    assert head(total=2, total_exact=False).startswith("at least 2 results for")
    assert head(total=0).startswith("0 results for")
    assert "; 1 weak match left out" in head(total=0, dropped=1)
    assert "; 3 weak matches left out" in head(total=0, dropped=3)
    empty = search_text(SearchOut(query="fed", results=[], dropped=1))
    assert "(1 weaker match left out)" in empty and "match(es)" not in empty
