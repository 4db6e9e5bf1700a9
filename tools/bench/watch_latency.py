"""Trigger-to-alert latency of a watch: the real `pm-mcp` server (stdio, official MCP client, legacy era so
the resources/subscribe notification is used) against the loopback Polymarket simulator, watch pass every
``--interval`` s (PM_MCP_WATCH_INTERVAL_S).

    .venv/bin/python tools/bench/watch_latency.py [--n 20] [--interval 1]

Per trial: the book is moved so that a price_below watch becomes true (t0, in this process); measured until
(a) notifications/resources/updated for watch://<id> reaches the client, (b) the alert row is in the store.
Then the book is moved back and the bench waits two passes so the watch re-arms (cool-down 0). The latency is
the phase of the move inside the poll interval (uniform: ~interval/2 on average) plus one pass (one book
read on loopback, the evaluation, the store write) plus the notification hop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def alert_count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    finally:
        conn.close()


async def run(n: int, interval: float) -> dict[str, list[float]]:
    from mcp.types import ResourceUpdatedNotification

    from conftest import connect
    from tools.sim import start_sims
    from tools.sim.control import move_book
    from tools.sim.polymarket import set_book

    notified: list[float] = []
    home = Path(tempfile.mkdtemp(prefix="pm-watch-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}

    async def on_message(message):
        if isinstance(message, ResourceUpdatedNotification):
            notified.append(time.perf_counter())

    out: dict[str, list[float]] = {"notification": [], "alert_row": []}
    with start_sims("polymarket") as sims:
        sim = sims["polymarket"]
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10")])
        env.update({**sims.env(), "PM_MCP_HOME": str(home), "PM_MCP_VENUES": "polymarket",
                    "PM_MCP_WATCH_INTERVAL_S": str(interval), "PM_MCP_LOG_LEVEL": "WARNING"})
        async with connect(env, mode="legacy", message_handler=on_message) as client:
            r = await client.call_tool("create_watch", {"kind": "price_below", "market": NEWSOM, "venue": "polymarket",
                                                        "outcome": "Yes", "level": "0.36", "cooldown_s": 0})
            uri = r.structured_content["watch"]["uri"]
            await client.session.subscribe_resource(uri)
            db = home / "pm_mcp.sqlite3"
            for i in range(n):
                await asyncio.sleep(interval * 2.2 + (i % 7) * interval / 7)  # vary the phase in the interval
                before, rows = len(notified), alert_count(db)
                t0 = time.perf_counter()
                move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "10")])
                row_at = None
                while len(notified) == before and time.perf_counter() - t0 < 10 * interval + 5:
                    if row_at is None and alert_count(db) > rows:
                        row_at = time.perf_counter()
                    await asyncio.sleep(0.005)
                if len(notified) == before:
                    print(f"trial {i}: no notification", file=sys.stderr)
                    continue
                out["notification"].append(notified[before] - t0)
                out["alert_row"].append((row_at or notified[before]) - t0)
                move_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "10")])
    return out


def cli(doc: str, run_trials, count_key: str) -> int:
    """``--n`` trials at ``--interval``, then one markdown row per measure (p50, p90, max, mean). Shared with
    tools/bench/standing_latency.py."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args()
    got = asyncio.run(run_trials(args.n, args.interval))
    print(f"| trigger -> (interval {args.interval:g} s, n={len(got[count_key])}) | p50 | p90 | max | mean |")
    print("|---|---|---|---|---|")
    for name, xs in got.items():
        if xs:
            print(f"| {name} | {pct(xs, .5) * 1000:.0f} ms | {pct(xs, .9) * 1000:.0f} ms | {max(xs) * 1000:.0f} ms | "
                  f"{statistics.mean(xs) * 1000:.0f} ms |")
    return 0


def main() -> int:
    return cli(__doc__, run, "notification")


if __name__ == "__main__":
    raise SystemExit(main())
