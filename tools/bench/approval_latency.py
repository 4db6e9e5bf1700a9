"""Approval latency: from the person's Approve POST reaching the approval page to the order request
leaving the process (``broker.submit`` called), with the real engine, store, approval page and market
service against the loopback Polymarket simulator, paper broker behind the submit.

    .venv/bin/python tools/bench/approval_latency.py [--n 200]

Measured per approval (server side, time.perf_counter):
  total      = submit called - request parsed by the approval page
  venue I/O  = time inside the fresh market fetch the re-check does (one GET to the venue; loopback here)
  local      = total - venue I/O: our own overhead (CSRF/hash checks, journal writes, re-checks, policy
               from the store, building the request)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def main(n: int) -> dict[str, list[float]]:
    import httpx

    import pm_mcp.execution  # noqa: F401
    import pm_mcp.markets.service  # noqa: F401
    from pm_mcp.app import app_lifespan
    from pm_mcp.execution import LegSpec, confirmation_instructions, propose_intent
    from pm_mcp.execution.approval import ApprovalServer
    from pm_mcp.execution.paper import PaperBroker
    from pm_mcp.settings import Settings
    from tools.sim import start_sim
    from tools.sim.polymarket import set_book

    newsom, yes = "559652", "54533043819946592547517511176940999955633860128497669742211153063842200957669"
    out: dict[str, list[float]] = {"total": [], "venue": [], "local": []}
    with start_sim("polymarket", plugins=[]) as sim, tempfile.TemporaryDirectory() as tmp:
        sim.state["markets"][newsom]["orderPriceMinTickSize"] = 0.01
        set_book(sim, yes, bids=[("0.38", "1000000")], asks=[("0.40", "1000000")], tick_size="0.01")
        urls = {k.removeprefix("PM_MCP_").lower(): v for k, v in sim.env().items()}
        settings = Settings(home=Path(tmp), venues="polymarket", max_daily_usd=10**9, max_event_fraction=1,
                            bankroll=10**9, max_order_usd=10**6, log_level="WARNING", **urls)
        async with app_lifespan(settings, background=False) as state:
            engine = state.execution
            await engine.ready()
            server: ApprovalServer = state.approval
            marks: dict[str, float] = {}
            venue_time = [0.0]
            adapter = engine.markets.adapter("polymarket")
            real_get_market = adapter.get_market

            async def timed_get_market(*a, **kw):
                t = time.perf_counter()
                try:
                    return await real_get_market(*a, **kw)
                finally:
                    if "t0" in marks and "t1" not in marks:
                        venue_time[0] += time.perf_counter() - t

            adapter.get_market = timed_get_market
            paper = PaperBroker("polymarket", engine.journal, engine._fresh_book)

            class Timed:
                venue, mode = "polymarket", "paper"

                async def submit(self, order):
                    marks.setdefault("t1", time.perf_counter())
                    return await paper.submit(order)

                def __getattr__(self, name):
                    return getattr(paper, name)

            engine._brokers["polymarket"] = Timed()
            real_route = server._route

            async def timed_route(*a, **kw):
                if a[0] == "POST":
                    marks["t0"] = time.perf_counter()
                return await real_route(*a, **kw)

            server._route = timed_route
            async with httpx.AsyncClient() as h:
                for i in range(n + 5):
                    rec = await propose_intent(state, [LegSpec(market=newsom, venue="polymarket", outcome="Yes",
                                                               side="buy", limit_price="0.40", size="5")])
                    how = await confirmation_instructions(state, rec, client_can_elicit=False)
                    url = how["approval_url"]
                    page = await h.get(url)
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                    marks.clear()
                    venue_time[0] = 0.0
                    r = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": rec.intent.order_hash},
                                     headers={"Origin": server.origin})
                    assert r.status_code == 303, r.text[:300]
                    if i < 5:
                        continue  # warm-up
                    total = marks["t1"] - marks["t0"]
                    out["total"].append(total * 1000)
                    out["venue"].append(venue_time[0] * 1000)
                    out["local"].append((total - venue_time[0]) * 1000)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    res = asyncio.run(main(args.n))
    print(f"n={args.n}")
    print("| measure | median ms | p90 ms | min ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for k, label in (("total", "approval -> submit (total)"), ("venue", "fresh market fetch (venue I/O, loopback)"),
                     ("local", "local overhead (total - venue I/O)")):
        xs = res[k]
        print(f"| {label} | {statistics.median(xs):.2f} | {pct(xs, 0.9):.2f} | {min(xs):.2f} | {max(xs):.2f} |")
