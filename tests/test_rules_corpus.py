"""The parser against the hand-labelled corpus of real rule texts (tests/fixtures/rules).

Floors sit a little under the measured figures (tools/bench/REPORT.md) so a regression fails here;
the benchmark script prints the per-text misses.
"""

from __future__ import annotations

from tools.bench.rules_corpus import FIELDS, evaluate, floor_failures, load_corpus

FLOORS = {  # (precision, recall)
    "sources": (0.9, 0.9),
    "threshold": (0.9, 0.9),
    "deadline": (0.9, 0.9),
    "edge_cases": (0.85, 0.85),
    "early_resolution": (0.7, 0.85),
    "multi_outcome": (0.9, 0.9),
    "ambiguous": (0.7, 0.85),
}


def test_corpus_is_complete_and_labelled():
    corpus, labels = load_corpus()
    assert len(corpus) >= 40
    assert len({e["id"] for e in corpus}) == len(corpus)
    assert {e["id"] for e in corpus} == set(labels)
    assert {e["venue"] for e in corpus} == {"polymarket", "kalshi", "manifold"}
    for e in corpus:
        lab = labels[e["id"]]
        assert set(lab) == {"sources", "threshold", "deadline", "early_resolution", "edge_cases",
                            "multi_outcome", "ambiguous"}, e["id"]
        assert e["text"].strip(), e["id"]


def test_per_field_precision_and_recall():
    corpus, labels = load_corpus()
    scores = evaluate(corpus, labels)
    assert set(scores) == set(FIELDS)
    failures = floor_failures(scores, FLOORS)
    assert not failures, failures
