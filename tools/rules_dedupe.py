"""Is a candidate rule text already ours? (issue #13: a blind batch must be text the parser never saw.)

    python3 tools/rules_dedupe.py tests/fixtures/rules/blind/pm.json [more.json ...]

For every entry of the given files (a list of {"id", "text", ...}) it reports (1) each sentence longer than
50 characters that, normalised (runs of non-word characters -> one space, lower case), occurs inside any
string of any other JSON file under tests/fixtures/ or ../shared/fixtures/, and (2) the closest existing
rule text by difflib ratio (against every string of 200+ characters in those files and the other entries
given). Exit status 1 when any sentence is found or a ratio is >= 0.8. Reads JSON only; imports nothing of
pm_mcp.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _main_checkout() -> Path:
    """The main checkout (a git worktree elsewhere, e.g. /tmp, still finds ../shared beside it)."""
    try:
        common = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--git-common-dir"], capture_output=True,
                                text=True, check=True).stdout.strip()
        return (REPO / common).resolve().parent
    except (OSError, subprocess.CalledProcessError):
        return REPO


ROOTS = [REPO / "tests" / "fixtures", _main_checkout().parent / "shared" / "fixtures"]
_NON_WORD = re.compile(r"\W+")


def norm(s: str) -> str:
    return _NON_WORD.sub(" ", s).strip().lower()


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def existing(skip: set[Path]) -> list[str]:
    out: list[str] = []
    for root in ROOTS:
        for p in sorted(root.rglob("*.json")) if root.exists() else []:
            if p.resolve() in skip:
                continue
            try:
                out.extend(strings(json.loads(p.read_text(encoding="utf-8"))))
            except (ValueError, UnicodeDecodeError):
                continue
    return out


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv]
    entries = [e for f in files for e in json.loads(f.read_text(encoding="utf-8"))]
    pool = existing(set(files))
    haystack = "\n".join(norm(s) for s in pool)
    long_texts = [s for s in pool if len(s) >= 200]
    bad = 0
    for e in entries:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", e["text"]) if len(s) > 50]
        hits = [s for s in sentences if norm(s) and norm(s) in haystack]
        others = long_texts + [o["text"] for o in entries if o is not e]
        best = max((difflib.SequenceMatcher(None, e["text"], o, autojunk=False).quick_ratio(), o) for o in others)
        ratio = difflib.SequenceMatcher(None, e["text"], best[1], autojunk=False).ratio() if best[0] >= 0.6 else best[0]
        flag = "DUP" if hits or ratio >= 0.8 else "ok"
        bad += flag != "ok"
        print(f"{flag:3} {e['id']:40} closest ratio {ratio:.2f}  sentences found elsewhere: {len(hits)}")
        for s in hits[:3]:
            print(f"      found: {s[:100]}")
    print(f"{len(entries)} entries, {bad} flagged")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
