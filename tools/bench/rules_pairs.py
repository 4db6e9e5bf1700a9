"""compare_rules on the labelled pair corpus (tests/fixtures/rules/pairs/pairs.json, labelled blind).

    .venv/bin/python tools/bench/rules_pairs.py                 # figures for dev and heldout
    .venv/bin/python tools/bench/rules_pairs.py --show-dev      # + every dev mistake (never the held-out ones)
    .venv/bin/python tools/bench/rules_pairs.py --set fresh     # the fresh batch (fresh_pairs.json): tune, holdout, total
    .venv/bin/python tools/bench/rules_pairs.py --set all       # dev, heldout, fresh-tune, fresh-holdout and fresh
    .venv/bin/python tools/bench/rules_pairs.py --set all --show-tune   # + mistakes of dev, heldout and fresh-tune

The fresh batch is split by a rule fixed before any of its misses was looked at (SOURCES.md, "Fresh split"):
sort the pair ids, hold out every third (0-based positions 2, 5, 8, ...: f003, f006, ..., f063) as
fresh-holdout (21 pairs), the rest is fresh-tune (43). fresh-holdout is reported as figures only, never its
mistakes; the old heldout third of pairs.json has been looked at in earlier rounds and counts as dev now.

Figures per split:
- precision of EQUIVALENT: of the pairs we call equivalent, how many are labelled equivalent with the same YES
  mapping (the number that matters for money: a wrong "equivalent" calls two different bets the same, and a
  wrong mapping calls a bet the same as its opposite); each side's ``outcome`` is the bet (a named outcome for
  a market that settles to names);
- recall of hard differences: of the pairs labelled not_equivalent, how many we call not_equivalent (and how
  many we call at least not equivalent, i.e. uncertain or not_equivalent: never "equivalent");
- recall of equivalence and the YES-mapping accuracy on the pairs both call equivalent.
The held-out third and the fresh batch (a second blind-labelled set, tests/fixtures/rules/pairs/fresh_pairs.json,
committed before anything ran on it) are reported as figures only: their mistakes are never printed, so nobody
tunes on them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pm_mcp.domain.models import Market  # noqa: E402
from pm_mcp.domain.rules import parse_rules  # noqa: E402
from pm_mcp.domain.rules_compare import compare_rules  # noqa: E402

PAIRS = ROOT / "tests" / "fixtures" / "rules" / "pairs" / "pairs.json"
FRESH_PAIRS = PAIRS.with_name("fresh_pairs.json")
SETS = {"main": ("dev", "heldout"), "fresh": ("fresh-tune", "fresh-holdout"),
        "all": ("dev", "heldout", "fresh-tune", "fresh-holdout")}
# the splits whose mistakes may be printed (never fresh-holdout)
SHOWABLE = ("dev", "heldout", "fresh-tune")


def fresh_parts(ids: list[str]) -> dict[str, str]:
    """The fixed split of the fresh batch: sorted ids, every third (positions 2, 5, 8, ...) held out."""
    return {pid: ("fresh-holdout" if n % 3 == 2 else "fresh-tune") for n, pid in enumerate(sorted(ids))}


def load_pairs(which: str = "main") -> list[dict]:
    """The labelled pairs of one set: main = pairs.json (dev + heldout), fresh = fresh_pairs.json (its ``split``
    rewritten to fresh-tune / fresh-holdout by :func:`fresh_parts`), all = both."""
    out = []
    if which in ("main", "all"):
        out += json.loads(PAIRS.read_text(encoding="utf-8"))
    if which in ("fresh", "all"):
        fresh = json.loads(FRESH_PAIRS.read_text(encoding="utf-8"))
        parts = fresh_parts([p["id"] for p in fresh])
        out += [dict(p, split=parts[p["id"]]) for p in fresh]
    return out


def analyse(side: dict):
    text = side.get("rules") or ""
    venue = side.get("venue")
    if side.get("title") or side.get("group_label"):
        m = Market(id=side.get("ref", "x")[:40] or "x", venue=venue or "unknown", title=side.get("title") or "",
                   group_label=side.get("group_label"), rule_text=text)
        return parse_rules(text, venue=venue, market=m)
    return parse_rules(text, venue=venue)


def run(pairs: list[dict]) -> list[dict]:
    out = []
    for p in pairs:
        c = compare_rules(analyse(p["a"]), analyse(p["b"]), a_outcome=p["a"].get("outcome"),
                          b_outcome=p["b"].get("outcome"))
        out.append({"id": p["id"], "split": p["split"], "kind": p["kind"], "label": p["label"]["verdict"],
                    "label_mapping": p["label"]["mapping"], "verdict": c.verdict, "mapping": c.mapping,
                    "summary": c.summary, "note": p["label"].get("note", "")})
    return out


def figures(rows: list[dict]) -> dict:
    pred_eq = [r for r in rows if r["verdict"] == "equivalent"]
    lab_eq = [r for r in rows if r["label"] == "equivalent"]
    lab_ne = [r for r in rows if r["label"] == "not_equivalent"]
    # a right verdict with the wrong YES mapping is a wrong "equivalent": it bets one side against itself
    both_eq = [r for r in pred_eq if r["label"] == "equivalent" and r["mapping"] == r["label_mapping"]]

    def ratio(a: int, b: int) -> str:
        return f"{a / b:.2f} ({a}/{b})" if b else "n/a"

    return {
        "pairs": len(rows),
        "precision of EQUIVALENT": ratio(len(both_eq), len(pred_eq)),
        "recall of hard differences (not_equivalent)": ratio(sum(r["verdict"] == "not_equivalent" for r in lab_ne),
                                                            len(lab_ne)),
        "hard differences never called equivalent": ratio(sum(r["verdict"] != "equivalent" for r in lab_ne),
                                                          len(lab_ne)),
        "recall of equivalence": ratio(len(both_eq), len(lab_eq)),
        "YES mapping right on both-equivalent": ratio(sum(r["mapping"] == r["label_mapping"] for r in both_eq),
                                                      len(both_eq)),
        # counts only (label -> our verdict), never which pairs
        "label -> verdict": ", ".join(
            f"{lab}->{ver} {n}" for (lab, ver), n in sorted(Counter((r["label"], r["verdict"]) for r in rows).items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show-dev", action="store_true", help="print every dev-split mistake")
    ap.add_argument("--show-tune", action="store_true",
                    help="print every mistake of dev, heldout (looked at before) and fresh-tune; never fresh-holdout")
    ap.add_argument("--set", choices=sorted(SETS), default="main",
                    help="main: pairs.json (dev, heldout); fresh: fresh_pairs.json (aggregate only); all: both")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = run(load_pairs(args.set))
    result = {split: figures([r for r in rows if r["split"] == split]) for split in SETS[args.set]}
    if args.set == "main":
        result["all"] = figures(rows)
    if args.set in ("fresh", "all"):
        result["fresh (tune + holdout)"] = figures([r for r in rows if r["split"].startswith("fresh")])
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for split, f in result.items():
            print(f"== {split}")
            for k, v in f.items():
                print(f"  {k}: {v}")
    if args.show_dev or args.show_tune:
        shown = SHOWABLE if args.show_tune else ("dev",)
        print(f"\n== mistakes of {', '.join(shown)} (label -> ours)")
        for r in rows:
            if r["split"] not in shown:
                continue
            wrong = r["verdict"] != r["label"] or (r["label"] == "equivalent" and r["mapping"] != r["label_mapping"])
            if wrong:
                print(f"{r['id']} ({r['split']}) [{r['kind']}] {r['label']}/{r['label_mapping']} -> {r['verdict']}/{r['mapping']}\n"
                      f"   label note: {r['note']}\n   ours: {r['summary'][:400]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
