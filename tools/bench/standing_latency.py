"""Trigger-to-order latency of a standing order: the real `pm-mcp` server (stdio, official MCP client; the
person accepts in the elicitation dialog) against the loopback Polymarket simulator, paper mode, watch pass
every ``--interval`` s (PM_MCP_WATCH_INTERVAL_S).

    .venv/bin/python tools/bench/standing_latency.py [--n 20] [--interval 1]

Per trial: a standing buy (5 Yes at no more than 0.36 if the ask is at or below 0.36) is proposed and confirmed
(ARMED); after two passes plus a varied phase the book is moved so that the condition holds (t0, in this
process); measured until (a) the order is journaled (its row in ``orders``), (b) the order reaches the paper
venue (its row in ``paper_orders``: the request has left the engine after the full re-check), (c) it is
recorded filled. Then the book is moved back. The latency is the phase of the move inside the poll interval
(~interval/2 on average) plus one pass (book read, evaluation, the trigger transaction) plus the execution
(the re-check reads the market afresh from the venue, the journal, the submit and its verification).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from tools.bench.watch_latency import NEWSOM, YES, cli  # noqa: E402 - after the sys.path lines above


def counts(db: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return (conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'filled'").fetchone()[0])
    finally:
        conn.close()


async def run(n: int, interval: float) -> dict[str, list[float]]:
    from mcp.types import ElicitResult

    from conftest import connect
    from tools.sim import start_sims
    from tools.sim.control import move_book
    from tools.sim.polymarket import set_book

    home = Path(tempfile.mkdtemp(prefix="pm-standing-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}

    async def person(context, params):
        return ElicitResult(action="accept", content={"approve": True})

    out: dict[str, list[float]] = {"order journaled": [], "order at the venue": [], "order filled": []}
    with start_sims("polymarket") as sims:
        sim = sims["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "1000")])
        env.update({**sims.env(), "PM_MCP_HOME": str(home), "PM_MCP_VENUES": "polymarket",
                    "PM_MCP_WATCH_INTERVAL_S": str(interval), "PM_MCP_LOG_LEVEL": "WARNING"})
        db = home / "pm_mcp.sqlite3"
        async with connect(env, elicitation_callback=person) as client:
            for i in range(n):
                until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
                r = await client.call_tool("propose_order", {
                    "venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.36",
                    "size": "5", "trigger": {"kind": "price_below", "level": "0.36"}, "valid_until": until})
                assert not r.is_error, r.content[0].text
                c = await client.call_tool("confirm_order", {"intent_id": r.structured_content["intent_id"]})
                assert not c.is_error and c.structured_content["intent"]["status"] == "armed", c.content[0].text
                await asyncio.sleep(interval * 2.2 + (i % 7) * interval / 7)  # vary the phase in the interval
                before = counts(db)
                t0 = time.perf_counter()
                move_book(sim, YES, bids=[("0.33", "100")], asks=[("0.35", "1000")])
                seen: dict[int, float] = {}
                while len(seen) < 3 and time.perf_counter() - t0 < 10 * interval + 5:
                    now = counts(db)
                    for k in range(3):
                        if k not in seen and now[k] > before[k]:
                            seen[k] = time.perf_counter()
                    await asyncio.sleep(0.005)
                if len(seen) < 3:
                    print(f"trial {i}: not filled ({seen})", file=sys.stderr)
                else:
                    for k, name in enumerate(out):
                        out[name].append(seen[k] - t0)
                move_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "1000")])
                await asyncio.sleep(interval * 1.5)
    return out


def main() -> int:
    return cli(__doc__, run, "order filled")


if __name__ == "__main__":
    raise SystemExit(main())
