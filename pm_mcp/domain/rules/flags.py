"""Per-parse memo of the sentence classifiers, and the sentence at an offset."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).



from pm_mcp.domain.rules.dates import _BACKGROUND_SENT, _COND_SENT, _EVENT_SENT, _FALLBACK_SENT
from pm_mcp.domain.rules.sentences import Sentence
from pm_mcp.domain.rules.sources import _sentence_of

_FLAG_RX = {"cond": _COND_SENT, "fallback": _FALLBACK_SENT, "background": _BACKGROUND_SENT, "event": _EVENT_SENT}


class _Flags:
    """Per-parse memo of the sentence classifiers (one sentence is asked about several dates)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int], bool] = {}

    def __call__(self, s: Sentence, name: str) -> bool:
        key = (name, s.start)
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = bool(_FLAG_RX[name].search(s.text))
        return v


def _sentence_index(sents: list[Sentence]):
    starts = [s.start for s in sents]

    def at(pos: int) -> Sentence | None:
        i = _sentence_of(sents, starts, pos)
        return None if i is None else sents[i]
    return at
