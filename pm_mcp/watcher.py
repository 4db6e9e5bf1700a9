"""``pm-mcp watch``: the background runner without an MCP client, on the same data directory.

It starts the same components as the server (market data, the execution engine and its runner) and waits:
the runner syncs resting orders and, while this process holds the store's runner lease, checks the watches
(pm_mcp.execution.runner / pm_mcp.execution.watches). A server started on the same directory finds the lease
taken and only delivers the alerts to its client; whichever process stops, the other takes over.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pm_mcp.app import app_lifespan
from pm_mcp.settings import Settings

log = logging.getLogger(__name__)


async def run_watcher(settings: Settings, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread / platform without signals
            pass
    async with app_lifespan(settings, background=False):
        print(f"pm-mcp watch: checking watches every {settings.watch_interval_s:g} s with the data in "
              f"{settings.home} ({settings.mode} mode); Ctrl-C stops", file=sys.stderr, flush=True)
        await stop.wait()
    print("pm-mcp watch: stopped", file=sys.stderr, flush=True)
    return 0
