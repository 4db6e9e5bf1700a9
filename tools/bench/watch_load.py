"""Watch load: one runner (`pm-mcp watch`, no client) watching about 1,000 markets across the three venues of the
loopback simulators' SYNTHETIC world, polling every ``--interval`` s (PM_MCP_WATCH_INTERVAL_S, default 15 as in
production). Measured over ``--minutes``: requests per minute per venue (the simulators' logs) against each venue's
documented limit, the runner's CPU (user + system time from /proc) and its RSS (sampled every 5 s).

    .venv/bin/python tools/bench/watch_load.py [--markets 1000] [--minutes 10] [--interval 15] [--mode both]

``--mode before`` runs with PM_MCP_WATCH_BATCHING=0 (one read per market and per book, as before batching),
``after`` with batching (the default), ``both`` runs before then after on the same watches. The watches are
created once through the real server (official MCP client, stdio) and the server is closed before the runner
starts: one watch per market, 80% on a book (price_below / spread_above on Yes, never true), 20% on the market
itself (settlement_change / rules_change, which need the market fresh every pass).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

VENUES = ("polymarket", "kalshi", "manifold")
# documented limits in requests per minute for what the runner reads (see each venue package's POLL_BUDGET)
LIMITS = {"polymarket": ("CLOB /books 500 per 10 s; Gamma /markets 300 per 10 s", 1800),
          "kalshi": ("Basic tier 20 reads/s (200 tokens/s at 10 a read)", 1200),
          "manifold": ("500 per minute per IP", 500)}
TICKS = os.sysconf("SC_CLK_TCK")


def candidates(sim, venue: str) -> list[tuple[str, str]]:
    """(id, outcome) of the simulator's markets that are open with a close time ahead (the world's and the recorded;
    a Manifold multiple-choice market is watched on its first answer)."""
    now = time.time()
    out = []
    for mid, m in sim.state["markets"].items():
        if venue == "polymarket":
            ok = m.get("active") and not m.get("closed") and m.get("clobTokenIds")
        elif venue == "kalshi":
            ok = m.get("status") == "active" and m.get("close_time", "") > time.strftime("%Y-%m-%dT%H:%M:%S")
        else:
            ok = (not m.get("isResolved") and m.get("mechanism") in ("cpmm-1", "cpmm-multi-1")
                  and (m.get("closeTime") or 0) > now * 1000)
        if ok:
            answers = m.get("answers") or [] if venue == "manifold" else []
            out.append((str(mid), str(answers[0]["text"]) if answers else "Yes"))
    return out


async def create_watches(env: dict[str, str], sims, per_venue: int) -> dict[str, int]:
    from conftest import connect

    made: dict[str, int] = {}
    kinds = [{"kind": "price_below", "level": "0.001"}] * 2 + [{"kind": "spread_above", "level": "0.99"}] * 2 + [
        {"kind": "price_below", "level": "0.002"}] * 4 + [{"kind": "settlement_change"}, {"kind": "rules_change"}]
    async with connect(env, mode="legacy") as client:
        for venue in VENUES:
            ids = candidates(sims[venue], venue)
            made[venue] = 0
            i = 0
            while made[venue] < per_venue and i < len(ids):
                batch = ids[i:i + min(8, per_venue - made[venue])]
                i += len(batch)

                async def one(j: int, mid: str, outcome: str) -> bool:
                    kind = kinds[(made[venue] + j) % len(kinds)]
                    args = {"market": mid, "venue": venue, **kind, **({"outcome": outcome} if "level" in kind else {})}
                    r = await client.call_tool("create_watch", args)
                    return not r.is_error

                got = await asyncio.gather(*(one(j, mid, o) for j, (mid, o) in enumerate(batch)))
                made[venue] += sum(got)
            print(f"{venue}: {made[venue]} watches on {made[venue]} markets", file=sys.stderr)
    return made


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def freshness(db: Path) -> dict[str, tuple[float, int, int]]:
    """Per venue at the end of a run: (the oldest last check among its watches in seconds, watches whose note says
    "not checked since", watches whose note says the budget stretched the pass)."""
    import sqlite3
    from datetime import UTC, datetime

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT venue, last_checked_at, note FROM watches WHERE status = 'active'").fetchall()
    finally:
        conn.close()
    now = datetime.now(UTC)
    out: dict[str, tuple[float, int, int]] = {}
    for venue, at, note in rows:
        age = (now - datetime.fromisoformat(at.replace("Z", "+00:00"))).total_seconds() if at else float("inf")
        old, stale, paced = out.get(venue, (0.0, 0, 0))
        out[venue] = (max(old, age), stale + ("not checked since" in (note or "")),
                      paced + ("request limit" in (note or "")))
    return out


def run_runner(env: dict[str, str], sims, minutes: float, batching: bool, log: Path) -> dict:
    from conftest import pm_mcp_command

    env = {**env, "PM_MCP_WATCH_BATCHING": "1" if batching else "0"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*pm_mcp_command(), "watch"], env=env, cwd=str(REPO), stdout=fh, stderr=fh)
    try:
        time.sleep(min(30.0, minutes * 60 / 4))  # start-up and the first passes (market caches) are not measured
        for sim in sims.values():
            sim.reset_log()
        cpu0, t0 = proc_cpu_s(proc.pid), time.monotonic()
        rss: list[float] = []
        while time.monotonic() - t0 < minutes * 60:
            if proc.poll() is not None:
                raise RuntimeError(f"the runner exited ({proc.returncode}); see {log}")
            rss.append(proc_rss_mb(proc.pid))
            time.sleep(5)
        wall = time.monotonic() - t0
        cpu = proc_cpu_s(proc.pid) - cpu0
        reqs = {v: len(sims[v].log) for v in VENUES}
        fresh = freshness(Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"wall_s": wall, "cpu_s": cpu, "rss_peak": max(rss), "rss_last": rss[-1],
            "per_min": {v: reqs[v] * 60 / wall for v in VENUES}, "fresh": fresh}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markets", type=int, default=1000, help="markets watched in all (split over the three venues)")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--interval", type=float, default=15.0)
    p.add_argument("--mode", choices=("before", "after", "both"), default="both")
    args = p.parse_args()
    from tools.sim import SimGroup, build_sim

    per_venue = -(-args.markets // 3)
    home = Path(tempfile.mkdtemp(prefix="pm-watch-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    results: dict[str, dict] = {}
    sims = SimGroup()
    # the world's size counts Manifold answers, about four a multiple-choice market
    for v in VENUES:
        sims[v] = build_sim(v, world=per_venue * (4 if v == "manifold" else 1) + 60).start()
    try:
        env.update({**sims.env(), "PM_MCP_HOME": str(home), "PM_MCP_VENUES": ",".join(VENUES),
                    "PM_MCP_WATCH_INTERVAL_S": str(args.interval), "PM_MCP_LOG_LEVEL": "WARNING",
                    "PM_MCP_HTTP_TIMEOUT_S": "30"})
        t = time.monotonic()
        made = asyncio.run(create_watches(env, sims, per_venue))
        print(f"created {sum(made.values())} watches in {time.monotonic() - t:.0f} s", file=sys.stderr)
        modes = ["before", "after"] if args.mode == "both" else [args.mode]
        for mode in modes:
            print(f"running the runner ({mode}) for {args.minutes:g} min ...", file=sys.stderr)
            results[mode] = run_runner(env, sims, args.minutes, mode == "after", home / f"runner-{mode}.log")
    finally:
        for sim in sims.values():
            sim.stop()
    total = sum(made.values())
    print(f"\n{total} markets watched ({', '.join(f'{v} {made[v]}' for v in VENUES)}), one watch each, interval "
          f"{args.interval:g} s, measured {args.minutes:g} min per mode\n")
    print("| | " + " | ".join(modes) + " | documented limit |")
    print("|---|" + "---|" * len(modes) + "---|")
    for v in VENUES:
        cells = " | ".join(f"{results[m]['per_min'][v]:.0f}" for m in modes)
        print(f"| {v} requests/min | {cells} | {LIMITS[v][1]}/min ({LIMITS[v][0]}) |")
    for v in VENUES:
        cells = " | ".join("{:.0f} s, {} not checked, {} paced".format(*results[m]["fresh"].get(v, (0, 0, 0)))
                           for m in modes)
        print(f"| {v}: oldest check at the end, notes | {cells} | |")
    for label, key, fmt in (("runner CPU (share of one core)", "cpu", "{:.1%}"), ("RSS peak", "rss_peak", "{:.0f} MB"),
                            ("RSS at the end", "rss_last", "{:.0f} MB")):
        cells = " | ".join(fmt.format(results[m]["cpu_s"] / results[m]["wall_s"] if key == "cpu" else results[m][key])
                           for m in modes)
        print(f"| {label} | {cells} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
