"""Names the venues give one thing differently: a search for one name must find the others.

Some venues may not use a league's trademark and list its final under a plain name ("Pro Football Champion" for
the Super Bowl). ``with_equivalents`` appends, to a lower-case text that holds one name of a group, the other names
of that group, so the same text tokenizes alike on the query side and the market side. Only whole names count
("super bowl" in "super bowl champion", not "bowl" alone), and nothing is removed: a search for the plain name
still finds it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# each group: names of one thing; the first is the common one
SAME_THING: tuple[tuple[str, ...], ...] = (
    ("super bowl", "pro football champion", "pro football championship"),
    ("nba finals", "nba champion", "nba championship", "pro basketball champion", "pro basketball championship"),
    ("stanley cup", "pro hockey champion", "pro hockey championship"),
    ("world series", "pro baseball champion", "pro baseball championship"),
)

_NAMES = {name: group for group in SAME_THING for name in group}
# longest names first, so "pro football championship" is read as itself, not as "pro football champion" + "ship"
_FIND = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True)) + r")\b")
_NEEDLES = tuple({n.split()[0] for n in _NAMES})  # a cheap test before the regex: every name's first word


@lru_cache(maxsize=20_000)
def with_equivalents(text: str) -> str:
    """``text`` (lower case) followed by the other names of every group one of whose names it holds, each once;
    ``text`` itself when it holds none."""
    if not any(n in text for n in _NEEDLES):
        return text
    extra: list[str] = []
    for match in _FIND.finditer(text):
        for other in _NAMES[match.group(1)]:
            if other not in text and other not in extra:
                extra.append(other)
    return f"{text} | {' | '.join(extra)}" if extra else text
