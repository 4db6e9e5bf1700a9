"""Run a venue simulator by hand: ``python -m tools.sim polymarket --port 8801 [--synthetic 50000] [--world 3000]``.

Prints the PM_MCP_* variables to point a server at it; faults via the control endpoint, e.g.
``curl -X POST localhost:8801/_sim/faults -d '{"kind":"status","status":429,"retry_after":1,"times":2}'``.
"""

from __future__ import annotations

import argparse
import sys
import time

from tools.sim.base import build_sim


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.sim", description=__doc__.splitlines()[0])
    p.add_argument("venue", help="polymarket | kalshi | manifold (a module in tools/sim)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--latency", type=float, default=0.0, help="added latency per request, seconds")
    p.add_argument("--synthetic", type=int, default=0, help="add N synthetic markets (benchmarks)")
    p.add_argument("--world", type=int, default=0, help="add the SYNTHETIC world (tools/sim/world.py), about N markets")
    args = p.parse_args(argv)
    options: dict = {"synthetic": args.synthetic} if args.synthetic else {}
    if args.world:
        options["world"] = args.world
    sim = build_sim(args.venue, port=args.port, host=args.host, **options).start()
    sim.set_latency(args.latency)
    print(f"{args.venue} simulator on {sim.url}  (Ctrl-C to stop)", file=sys.stderr)
    for k, v in sim.env().items():
        print(f"export {k}={v}")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
