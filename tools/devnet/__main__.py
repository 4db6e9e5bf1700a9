"""python -m tools.devnet: start anvil on 127.0.0.1, deploy the registries, print the pm-mcp env, wait."""

from __future__ import annotations

import argparse
import sys
import time

from tools.devnet.devnet import deploy, pm_mcp_env, start_anvil


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.devnet", description=__doc__)
    ap.add_argument("--no-wait", action="store_true", help="deploy, print and exit (stops the node)")
    args = ap.parse_args()
    node = start_anvil()
    addrs = deploy(node.rpc_url)
    print(f"anvil: {node.rpc_url} (chain {addrs['chain_id']}, pid {node.proc.pid})")
    print(f"IdentityRegistry:   {addrs['identity']}")
    print(f"ReputationRegistry: {addrs['reputation']}")
    print(f"ValidationRegistry: {addrs['validation']}")
    print("\n# point pm-mcp at it:")
    for k, v in pm_mcp_env(node.rpc_url, addrs).items():
        print(f"export {k}={v}")
    sys.stdout.flush()
    if args.no_wait:
        node.stop()
        return 0
    print("\nCtrl-C to stop.", flush=True)
    try:
        while node.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
