"""Benchmark: signal following (issue #18) through the real `pm-mcp` server on the Polymarket simulator.

    .venv/bin/python tools/bench/signals.py [--runs 7] [--positions 1000]

What is measured (wall time of the MCP tools/call as the client sees it, median / max over ``--runs`` warm
calls after one warm-up; Data API requests per answer counted at the simulator):
1. get_wallet_record for a SYNTHETIC wallet with ``--positions`` closed (resolved) positions, 1 open, 30 trades;
2. get_market_holders of the recorded Newsom 2028 market (SYNTHETIC holder table), without the signal;
3. the same with signal=true, side, tier and max_tier (the top holders' records read: up to 10 wallets);
4. get_wallet_record with ``max_positions`` below the history (the bounded read, the cut said).
Nothing is asserted; the figures go to tools/bench/REPORT.md ("Signals").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from conftest import connect  # noqa: E402
from tools.sim import start_sim  # noqa: E402
from tools.sim.polymarket_data import add_wallet  # noqa: E402

NEWSOM = "559652"


def server_env(sim_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({"PM_MCP_HOME": tempfile.mkdtemp(prefix="pm-bench-signals-"), "PM_MCP_VENUES": "polymarket",
                "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi", "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
                "PM_MCP_LOG_LEVEL": "WARNING", **sim_env})
    return env


async def timed(client, sim, tool: str, args: dict, runs: int) -> dict:
    r = await client.call_tool(tool, args)  # warm-up (market lookup cached, connections open)
    assert not r.is_error, r.content[0].text
    times, reqs = [], []
    for _ in range(runs):
        sim.reset_log()
        t0 = time.perf_counter()
        r = await client.call_tool(tool, args)
        times.append((time.perf_counter() - t0) * 1000)
        assert not r.is_error, r.content[0].text
        reqs.append(sim.count(path="/data/"))
    return {"median_ms": statistics.median(times), "max_ms": max(times), "requests": max(reqs),
            "answer_requests": r.structured_content.get("requests"), "out": r.structured_content}


async def main(runs: int, positions: int) -> None:
    with start_sim("polymarket") as sim:
        big = add_wallet(sim, "bench-big", resolved=positions, win_rate=0.6, trades=30)
        async with connect(server_env(sim.env())) as client:
            rows = [
                (f"get_wallet_record, {positions} closed positions", "get_wallet_record", {"wallet": big}),
                ("get_market_holders (no signal)", "get_market_holders", {"market": NEWSOM}),
                ("get_market_holders, signal + tier move", "get_market_holders",
                 {"market": NEWSOM, "signal": True, "side": "Yes", "tier": "medium", "max_tier": "high"}),
                (f"get_wallet_record, max_positions={positions // 4} (bounded)", "get_wallet_record",
                 {"wallet": big, "max_positions": positions // 4}),
            ]
            print("| answer | median ms | max ms | Data API requests (sim) | pages (answer) |")
            print("|---|---|---|---|---|")
            for label, tool, args in rows:
                m = await timed(client, sim, tool, args, runs)
                print(f"| {label} | {m['median_ms']:.0f} | {m['max_ms']:.0f} | {m['requests']} | "
                      f"{m['answer_requests']} |")
    print(f"\n{runs} warm runs each after one warm-up; python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--positions", type=int, default=1000)
    a = p.parse_args()
    asyncio.run(main(a.runs, a.positions))
