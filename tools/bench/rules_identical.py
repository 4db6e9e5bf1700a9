"""Pin every parse output: dump parse_rules on every text we hold (corpus, heldout, fresh, and both sides of each
pair), then compare a later run against the dump. A speed-up of the parser must leave every output identical.

    .venv/bin/python tools/bench/rules_identical.py --dump /tmp/rules_before.json
    ... change the parser ...
    .venv/bin/python tools/bench/rules_identical.py --compare /tmp/rules_before.json

Only counts are printed for the held-out and fresh sets (their outputs are never shown); for the corpus and the
dev pairs the first differing ids are listed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tools.bench.rules_corpus import analyse as analyse_entry  # noqa: E402
from tools.bench.rules_corpus import load_corpus  # noqa: E402
from tools.bench.rules_pairs import PAIRS  # noqa: E402
from tools.bench.rules_pairs import analyse as analyse_side  # noqa: E402

SHOWN = {"corpus", "pairs-dev"}


def outputs() -> dict[str, dict[str, str]]:
    """{set: {id: sha256 of the analysis' JSON}}"""
    out: dict[str, dict[str, str]] = {}
    for which in ("corpus", "heldout", "fresh"):
        texts, _ = load_corpus(which)
        out[which] = {e["id"]: _digest(analyse_entry(e).model_dump_json()) for e in texts}
    for p in json.loads(PAIRS.read_text(encoding="utf-8")):
        split = f"pairs-{p['split']}"
        for side in ("a", "b"):
            out.setdefault(split, {})[f"{p['id']}.{side}"] = _digest(analyse_side(p[side]).model_dump_json())
    return out


def _digest(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--dump", type=Path)
    g.add_argument("--compare", type=Path)
    args = ap.parse_args(argv)
    now = outputs()
    if args.dump:
        args.dump.write_text(json.dumps(now, indent=0, sort_keys=True), encoding="utf-8")
        print(", ".join(f"{k}: {len(v)}" for k, v in now.items()), "outputs dumped")
        return 0
    before = json.loads(args.compare.read_text(encoding="utf-8"))
    bad = 0
    for which, items in before.items():
        diff = sorted(k for k in items if now.get(which, {}).get(k) != items[k])
        bad += len(diff)
        shown = f" ({', '.join(diff[:8])})" if diff and which in SHOWN else ""
        print(f"{which}: {len(items) - len(diff)}/{len(items)} identical{shown}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
