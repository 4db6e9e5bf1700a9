"""Cold-start benchmark: spawn `pm-mcp` -> initialize -> tools/list, over raw stdio JSON-RPC.

    .venv/bin/python tools/bench/cold_start.py            # 15 runs, updates tools/bench/REPORT.md
    .venv/bin/python tools/bench/cold_start.py --runs 30 --no-write
    .venv/bin/python tools/bench/cold_start.py --baseline REV --pairs 9   # before/after: REV vs this tree
    .venv/bin/python tools/bench/cold_start.py --baseline A --after B     # two revisions against each other
    .venv/bin/python tools/bench/cold_start.py --bare --pairs 9           # against the bare SDK server, with peak RSS
    .venv/bin/python tools/bench/cold_start.py --bare --first-start       # ... as the first start after an install
    .venv/bin/python tools/bench/cold_start.py --bare --no-tools-cache    # ... with nothing remembered or shipped

Each run uses a fresh PM_MCP_HOME (so the SQLite file is created and migrated, as on first use) and
venue URLs on a closed loopback port (nothing touches the network). The clock starts just before
the process is spawned and stops when the tools/list response has been read. Only the "Cold start"
section of REPORT.md is rewritten; other sections are left as they are.

Bytecode: an installed pm-mcp runs from compiled bytecode (pip compiles it at install; an editable
install writes __pycache__ on first run). The headline figure is measured that way: the child gets
PYTHONPYCACHEPREFIX=tools/bench/.work/pycache (outside the source tree, git-ignored) and never
PYTHONDONTWRITEBYTECODE, so the warm-up runs write the bytecode and the measured runs read it. A
second series, interleaved with the first, runs with PYTHONDONTWRITEBYTECODE=1 and no cached
bytecode for pm_mcp (what a sandbox exporting that variable gets: pm_mcp is compiled on every start):
it runs a copy of pm_mcp/ without __pycache__ (PYTHONPATH), the SDK keeps its installed bytecode.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REPORT = Path(__file__).resolve().parent / "REPORT.md"
PYCACHE = Path(__file__).resolve().parent / ".work" / "pycache"
SECTION = "Cold start"


def command() -> list[str]:
    exe = shutil.which("pm-mcp", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "pm_mcp"]


def env_for(home: str, bytecode: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PM_MCP_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:  # no bytecode for pm_mcp (an editable install never run without this variable)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_source_copy()), env.get("PYTHONPATH")]))
    if NO_TOOLS_CACHE:
        env["PM_MCP_CACHE_DIR"] = "off"  # nothing remembered or shipped: the surface is built before tools/list
    elif FIRST_START:
        env["PM_MCP_CACHE_DIR"] = os.path.join(home, "tools-cache")  # empty: the first start after an install
    env.update({
        "PM_MCP_HOME": home,
        "PM_MCP_POLYMARKET_GAMMA_URL": "http://127.0.0.1:9/gamma",
        "PM_MCP_POLYMARKET_CLOB_URL": "http://127.0.0.1:9/clob",
        "PM_MCP_POLYMARKET_DATA_URL": "http://127.0.0.1:9/data",
        "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi",
        "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
        "PM_MCP_IPFS_GATEWAY": "http://127.0.0.1:9/ipfs/",
    })
    return env


_SOURCE_COPY: Path | None = None
NO_TOOLS_CACHE = False  # --no-tools-cache: nothing remembered, no shipped list: the surface built at every start
FIRST_START = False  # --first-start: an empty cache directory per run (the shipped list, if it is for this tree)


def _source_copy() -> Path:
    """pm_mcp/ copied without any __pycache__ (one may exist in the tree), for the no-bytecode series."""
    global _SOURCE_COPY
    if _SOURCE_COPY is None:
        root = Path(tempfile.mkdtemp(prefix="pm_mcp_src_"))
        shutil.copytree(REPO / "pm_mcp", root / "pm_mcp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _SOURCE_COPY = root
    return _SOURCE_COPY


def _send(proc: subprocess.Popen, msg: dict) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(msg) + "\n").encode())
    proc.stdin.flush()


def _recv(proc: subprocess.Popen, want_id: int) -> dict:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"pm-mcp closed stdout (exit {proc.poll()}): {proc.stderr.read().decode()[-2000:]}")
        msg = json.loads(line)
        if msg.get("id") == want_id:
            if "error" in msg:
                raise RuntimeError(f"error response: {msg['error']}")
            return msg


# The floor: the official SDK's server with one tool and nothing of ours, run by the same interpreter.
BARE_SERVER = """
from mcp.server import MCPServer
server = MCPServer("bare")
@server.tool()
def ping(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text
server.run()
"""


def _peak_rss_kib(pid: int) -> int:
    """The child's peak resident set (VmHWM) so far, in KiB; 0 where /proc is not there."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


LAST_RSS_KIB = 0  # peak RSS of the last one_run's child after tools/list


def one_run(bytecode: bool = True, source: Path | None = None, bare: bool = False) -> tuple[float, float, int]:
    """(seconds to initialize response, seconds to tools/list response, number of tools). ``source``: a
    checkout whose pm_mcp/ is imported instead of this tree's (the baseline of a paired run); ``bare``: the
    SDK's own server with one tool instead of pm-mcp. The child's peak RSS lands in LAST_RSS_KIB."""
    global LAST_RSS_KIB
    with tempfile.TemporaryDirectory() as home:
        env = env_for(home, bytecode)
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-c", BARE_SERVER] if bare else command()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=str(source or REPO), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "cold-start-bench", "version": "1"}}})
            _recv(proc, 1)
            t_init = time.perf_counter() - t0
            _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
            tools = _recv(proc, 2)["result"]["tools"]
            t_list = time.perf_counter() - t0
            LAST_RSS_KIB = _peak_rss_kib(proc.pid)
        finally:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return t_init, t_list, len(tools)


PHASES_CODE = r"""
import gc, json, os, sys, time, asyncio, importlib
gc.disable()  # as pm_mcp.cli does while the server is built
t0 = time.perf_counter()
import pydantic, pydantic.main
out = {"import pydantic": time.perf_counter() - t0}
t = time.perf_counter()
import mcp.server
from mcp.server import MCPServer
out["import mcp (SDK, after pydantic)"] = time.perf_counter() - t
t = time.perf_counter()
import pm_mcp.server as S
from pm_mcp.settings import load_settings
settings = load_settings()
out["import pm_mcp.server + settings (pydantic-settings)"] = time.perf_counter() - t
m = MCPServer("x")
for short in S.SURFACE_MODULES:
    name = "pm_mcp.surface." + short
    t = time.perf_counter(); mod = importlib.import_module(name)
    out[f"surface {short}: import"] = time.perf_counter() - t
    t = time.perf_counter(); mod.register(m)
    out[f"surface {short}: register tools (SDK builds input/output JSON schemas)"] = time.perf_counter() - t
gc.freeze(); gc.enable()
from contextlib import AsyncExitStack
from pm_mcp.app import AppState
from pm_mcp.store import Store
from pm_mcp.venues.http import start_http
from pm_mcp.markets.service import start_markets
from pm_mcp.execution import start_execution
async def life():
    async with AsyncExitStack() as stack:
        t = time.perf_counter(); store = await Store.open(settings.db_path); stack.push_async_callback(store.close)
        out["store open + migrations (fresh file)"] = time.perf_counter() - t
        state = AppState(settings=settings, store=store)
        for name, start in (("http", start_http), ("markets", start_markets), ("execution", start_execution)):
            t = time.perf_counter(); await start(state, stack)
            out[f"start {name} (background, after the handshake)"] = time.perf_counter() - t
asyncio.run(life())
print(json.dumps(out))
"""


def phases(runs: int = 5) -> dict[str, float]:
    """Median seconds per start-up phase, measured in a child process (fresh PM_MCP_HOME each)."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            r = subprocess.run([sys.executable, "-c", PHASES_CODE], env=env_for(home), cwd=str(REPO),
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(r.stderr[-2000:])
            for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items():
                samples.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in samples.items()}


def write_section(body: str) -> None:
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n\n"
    heading = f"## {SECTION}"
    pattern = re.compile(rf"^## {re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = f"{heading}\n\n{body.strip()}\n\n"
    if pattern.search(text):
        text = pattern.sub(lambda _m: new, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + new
    REPORT.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def _worktree(rev: str) -> Path:
    base = PYCACHE.parent / f"baseline-{rev[:12]}"
    if not base.exists():
        subprocess.run(["git", "worktree", "add", "-f", "--detach", str(base), rev], cwd=str(REPO), check=True,
                       capture_output=True)
    return base


def paired(rev: str | None, pairs: int, after: str | None = None) -> int:
    """Before/after in one run, the runs interleaved so machine load hits both alike: ``rev`` (a git worktree
    under tools/bench/.work; None = the bare SDK server) against this tree (or the worktree of ``after``).
    Prints each pair, the median ratio after/before and the median peak RSS of each side."""
    base = _worktree(rev) if rev else None
    later = _worktree(after) if after else None

    def before_run() -> float:
        return one_run(source=base, bare=base is None)[1]

    def after_run() -> float:
        return one_run(source=later)[1]

    for _ in range(2):
        before_run()
        after_run()
    ratios, before, after_s, rss_b, rss_a = [], [], [], [], []
    for i in range(pairs):
        b = before_run()
        rss_b.append(LAST_RSS_KIB)
        a = after_run()
        rss_a.append(LAST_RSS_KIB)
        before.append(b)
        after_s.append(a)
        ratios.append(a / b)
        print(f"pair {i + 1}: before {b * 1000:.0f} ms, after {a * 1000:.0f} ms, ratio {a / b:.3f}")
    start = "nothing remembered or shipped" if NO_TOOLS_CACHE else "first start (empty cache)" if FIRST_START \
        else "later start (user cache)"
    print(json.dumps({"baseline": rev or "bare SDK server (one tool)", "after": after or "this tree", "pairs": pairs,
                      "start": start,
                      "median_before_ms": round(statistics.median(before) * 1000),
                      "median_after_ms": round(statistics.median(after_s) * 1000),
                      "median_ratio": round(statistics.median(ratios), 3),
                      "peak_rss_before_mib": round(statistics.median(rss_b) / 1024, 1),
                      "peak_rss_after_mib": round(statistics.median(rss_a) / 1024, 1),
                      "load": round(os.getloadavg()[0], 2)}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="a git revision to compare with (paired, interleaved runs)")
    ap.add_argument("--bare", action="store_true",
                    help="compare with the bare SDK server (one tool, none of our code) instead of a revision")
    ap.add_argument("--no-tools-cache", action="store_true",
                    help="PM_MCP_CACHE_DIR=off: nothing remembered or shipped is used (tools/list built at every start)")
    ap.add_argument("--first-start", action="store_true",
                    help="an empty tools/list cache per run: the first start after an install (the shipped list)")
    ap.add_argument("--after", help="a git revision for the after side of a paired run (default: this tree)")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured runs first (warm the disk cache)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not touch REPORT.md")
    args = ap.parse_args()
    global NO_TOOLS_CACHE, FIRST_START
    NO_TOOLS_CACHE, FIRST_START = args.no_tools_cache, args.first_start
    if NO_TOOLS_CACHE and FIRST_START:
        ap.error("--no-tools-cache and --first-start are two different starts: give one")
    if args.baseline or args.bare:
        if args.baseline and args.bare:
            ap.error("--baseline and --bare are two different baselines: give one")
        return paired(args.baseline, args.pairs, args.after)
    if args.runs < 10:
        ap.error("--runs must be >= 10")
    for _ in range(args.warmup):
        one_run(bytecode=True)
        one_run(bytecode=False)
    inits, lists, raw_inits, raw_lists, n_tools = [], [], [], [], 0
    for i in range(args.runs):  # the two series interleaved, so machine load hits both alike
        t_init, t_list, n_tools = one_run(bytecode=True)
        inits.append(t_init)
        lists.append(t_list)
        r_init, r_list, _ = one_run(bytecode=False)
        raw_inits.append(r_init)
        raw_lists.append(r_list)
        print(f"run {i + 1:2d}: initialize {t_init * 1000:6.0f} ms, tools/list {t_list * 1000:6.0f} ms"
              f" (no bytecode: {r_init * 1000:6.0f} / {r_list * 1000:6.0f} ms)", file=sys.stderr)

    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    def row(label: str, xs: list[float], bold: bool = False) -> str:
        med = ms(statistics.median(xs))
        return f"| {label} | {'**' + med + '**' if bold else med} | {ms(min(xs))} | {ms(max(xs))} |"

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ph = phases()
    med = statistics.median(lists)
    verdict = "meets" if med <= 0.5 else "MISSES"
    ours = {k: v for k, v in ph.items() if k.startswith(("import pm_mcp", "surface"))}
    body = f"""\
`python tools/bench/cold_start.py` — spawn `pm-mcp` (stdio) -> `initialize` -> `tools/list`, raw JSON-RPC,
fresh `PM_MCP_HOME` per run (the SQLite file is created and migrated), {args.runs} measured runs per series
after {args.warmup} warm-up runs, the two series interleaved. Target: median <= 500 ms on a 2-core machine.

| measure | median | min | max |
| --- | --- | --- | --- |
{row("spawn -> tools/list response (compiled bytecode, as installed)", lists, bold=True)}
{row("spawn -> initialize response (compiled bytecode)", inits)}
{row("spawn -> tools/list, no bytecode for pm_mcp (PYTHONDONTWRITEBYTECODE=1)", raw_lists)}
{row("spawn -> initialize, no bytecode for pm_mcp", raw_inits)}

Result: the median {verdict} the 500 ms target ({n_tools} tools listed). 1-minute load average at the end
of the runs: {load:.2f}.

Where the time goes (median of 5 in-process measurements, same machine, same moment, GC paused as in
`pm_mcp.cli`):

| phase | median |
| --- | --- |
""" + "\n".join(f"| {k} | {ms(v)} |" for k, v in ph.items()) + f"""

The rows are not additive with the spawn figure (the interpreter start, ~30 ms, and the JSON-RPC round
trips are not listed). pydantic + the SDK: {ms(ph.get("import pydantic", 0.0) + ph.get("import mcp (SDK, after pydantic)", 0.0))};
ours before the handshake (settings, surface imports, tool registration): {ms(sum(ours.values()))}, the
largest: {", ".join(f"{k} {ms(v)}" for k, v in sorted(ours.items(), key=lambda kv: -kv[1])[:3])}.
The store is opened before `initialize` is answered; the start-up hooks run in the background once the
handshake has been answered (or a tool call needs them), so they are not in the spawn figures.
Floor before any of our code runs: interpreter ~30 ms + pydantic and the SDK + the store
= ~{ms(0.03 + ph.get("import pydantic", 0.0) + ph.get("import mcp (SDK, after pydantic)", 0.0)
       + ph.get("store open + migrations (fresh file)", 0.0))}, so the 500 ms target is out of reach while
the SDK import costs what it does; what is ours is the settings, the surface imports (~100 pydantic models)
and the registration of the 22 tools (the SDK derives each input and output JSON schema).

Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()}, {os.cpu_count()} CPUs,
Python {platform.python_version()}; other engineers' test runs may share the machine, so the max is noisy.
"""
    if _SOURCE_COPY is not None:
        shutil.rmtree(_SOURCE_COPY, ignore_errors=True)
    print(body)
    if not args.no_write:
        write_section(body)
        print(f"wrote the '{SECTION}' section of {REPORT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
