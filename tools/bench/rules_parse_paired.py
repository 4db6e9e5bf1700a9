"""Parse time of the working tree against a baseline commit, in ONE process, text by text, alternating which
goes first: on a loaded machine two separate runs differ by more than the change being measured; here both
parsers see the same load. The baseline's ``pm_mcp`` and the working tree's are copied side by side under other
package names (imports rewritten), so both load at once.

    .venv/bin/python tools/bench/rules_parse_paired.py --baseline 1cec6b6 --passes 10 [--set corpus]

Prints the CPU time per text of each (process_time around each parse): the mean over all parses and the median
over texts (each text's mean over the passes), the ratios new / base, and the 1-minute load before and after; it
also checks every output is the same JSON (a speed-up must not change what is read).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tools.bench.rules_corpus import load_corpus  # noqa: E402

_IMPORT = re.compile(r"\b(from|import) pm_mcp(?=[. ])")


def _copy_as(src_files: dict[str, bytes], dest: Path, name: str) -> None:
    for rel, data in src_files.items():
        out = dest / name / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".py"):
            data = _IMPORT.sub(lambda m: f"{m.group(1)} {name}", data.decode()).encode()
        out.write_bytes(data)


def _files_at(rev: str | None) -> dict[str, bytes]:
    """pm_mcp/**/*.py at ``rev`` (None: the working tree), keyed by path under pm_mcp/."""
    if rev is None:
        return {str(p.relative_to(REPO / "pm_mcp")): p.read_bytes() for p in (REPO / "pm_mcp").rglob("*.py")}
    blob = subprocess.run(["git", "-C", str(REPO), "archive", rev, "pm_mcp"], check=True, capture_output=True).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".py"):
                out[m.name.removeprefix("pm_mcp/")] = tar.extractfile(m).read()  # type: ignore[union-attr]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--passes", type=int, default=10)
    ap.add_argument("--set", default="corpus")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="rules_paired_"))
    _copy_as(_files_at(args.baseline), tmp, "pm_mcp_base")
    _copy_as(_files_at(None), tmp, "pm_mcp_new")
    sys.path.insert(0, str(tmp))
    sides = []
    for name in ("pm_mcp_base", "pm_mcp_new"):
        rules = importlib.import_module(f"{name}.domain.rules")
        models = importlib.import_module(f"{name}.domain.models")
        sides.append((rules.parse_rules, models.Market))
    texts, _ = load_corpus(args.set)
    items = []
    for e in texts:
        ct = e.get("close_time")
        close = datetime.fromisoformat(ct.replace("Z", "+00:00")) if ct else None
        ms = [M(id=e["id"], venue=e["venue"], title=e.get("title") or "", rule_text=e["text"], close_time=close)
              for _, M in sides]
        items.append((e["text"], e["venue"], ms))
    same = sum(sides[0][0](t, venue=v, market=ms[0]).model_dump_json()
               == sides[1][0](t, venue=v, market=ms[1]).model_dump_json() for t, v, ms in items)
    load0 = os.getloadavg()[0]
    per_text = [[0.0] * len(items), [0.0] * len(items)]  # CPU seconds per text, summed over the passes
    for r in range(args.passes):
        for x, (t, v, ms) in enumerate(items):
            for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                c0 = time.process_time()
                sides[k][0](t, venue=v, market=ms[k])
                per_text[k][x] += time.process_time() - c0
    n = args.passes * len(items)
    spent = [sum(p) for p in per_text]
    med = [statistics.median(p) / args.passes for p in per_text]
    print(f"{args.set}: {n} parses each; CPU per text, mean: {args.baseline} {spent[0] / n * 1000:.3f} ms, working "
          f"tree {spent[1] / n * 1000:.3f} ms, ratio {spent[1] / spent[0]:.3f}; median: {med[0] * 1000:.3f} -> "
          f"{med[1] * 1000:.3f} ms, ratio {med[1] / med[0]:.3f}; outputs identical {same}/{len(items)}; 1-min load "
          f"{load0:.2f} -> {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
