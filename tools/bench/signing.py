"""Benchmark: build + sign one Polymarket CLOB V2 order (amounts, struct, EIP-712 hash, signature, POST body).

Ours (pm_mcp.venues.polymarket.signing) vs the official SDKs on this machine, same inputs:
  * py-clob-client-v2 1.2.1 (in-process; our venv's test extra): OrderBuilder.build_order + order_to_json_v2
  * polymarket-client 0.14.0 (its own venv .venv-polymarket-sdk, timed inside that process): amounts,
    build_order_typed_data, sign_typed_data, build_order_signature, post payload
Median of N runs after a warm-up; also the L2 HMAC header alone.

    .venv/bin/python tools/bench/signing.py [-n 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PK = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
FUNDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
OWNER = "00000000-0000-0000-0000-000000000000"


def timeit(fn, n: int) -> dict[str, float]:
    for _ in range(max(5, n // 20)):
        fn()
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    xs.sort()
    return {"median_ms": statistics.median(xs), "p90_ms": xs[int(0.9 * (len(xs) - 1))], "min_ms": xs[0], "n": n}


def ours(n: int) -> dict[str, float]:
    from pm_mcp.venues.polymarket import signing as ps

    key = ps.PrivateKey(PK)

    def run():
        o = ps.build_order(token_id=TOKEN, side="BUY", price=Decimal("0.52"), size=Decimal("100"), tick_size="0.01",
                           neg_risk=True, signer_address=key.address, signature_type=2, funder=FUNDER)
        ps.dumps(ps.order_body(ps.sign_order(o, key), OWNER, "GTC"))
    return timeit(run, n)


def ours_hmac(n: int) -> dict[str, float]:
    from pm_mcp.venues.polymarket import signing as ps

    creds = ps.ApiCreds(OWNER, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "p")
    body = "x" * 900
    return timeit(lambda: ps.l2_headers(FUNDER, creds, "POST", "/order", body), n)


def pcc2(n: int) -> dict[str, float]:
    import py_clob_client_v2.order_builder.builder as b
    from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
    from py_clob_client_v2.signer import Signer

    ob = b.OrderBuilder(Signer(PK, 137), signature_type=2, funder=FUNDER)
    args = OrderArgsV2(token_id=TOKEN, price=0.52, size=100.0, side="BUY", expiration=0, builder_code="0x" + "00" * 32)
    opts = CreateOrderOptions(tick_size="0.01", neg_risk=True)

    def run():
        signed = ob.build_order(args, opts, version=2)
        json.dumps(order_to_json_v2(signed, OWNER, "GTC"), separators=(",", ":"), ensure_ascii=False)
    return timeit(run, n)


PMC_SCRIPT = r"""
import json, statistics, sys, time
from decimal import Decimal
from eth_account import Account
from polymarket._internal.actions.orders.limit import _compute_limit_order_amounts
from polymarket._internal.actions.orders.typed_data import build_order_typed_data, build_order_signature
from polymarket._internal.actions.orders.types import UnsignedOrder
from polymarket._internal.actions.orders.orders import create_signed_order, _generate_salt, _current_timestamp_ms
from polymarket._internal.actions.orders.post import build_post_order_request
pk, funder, token, owner, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
acct = Account.from_key(pk)
def run():
    mk, tk = _compute_limit_order_amounts(price=Decimal("0.52"), size=Decimal("100"), side="BUY",
                                          tick_size=Decimal("0.01"))
    u = UnsignedOrder(chain_id=137, builder="0x" + "00" * 32, exchange_address="0xe2222d279d744050d28e00520010520000310F59",
                      expiration=0, maker=funder, maker_amount=mk, metadata="0x" + "00" * 32, order_type="GTC",
                      salt=_generate_salt(), side="BUY", signature_type=2, signer=acct.address, taker_amount=tk,
                      timestamp=_current_timestamp_ms(), token_id=token)
    sig = acct.sign_typed_data(full_message=build_order_typed_data(u)).signature.hex()
    sig = sig if sig.startswith("0x") else "0x" + sig
    _, payload = build_post_order_request(create_signed_order(u, build_order_signature(u, sig)), owner_api_key=owner)
    json.dumps(payload, separators=(",", ":"))
for _ in range(max(5, n // 20)):
    run()
xs = []
for _ in range(n):
    t0 = time.perf_counter(); run(); xs.append((time.perf_counter() - t0) * 1000)
xs.sort()
print(json.dumps({"median_ms": statistics.median(xs), "p90_ms": xs[int(0.9 * (len(xs) - 1))], "min_ms": xs[0], "n": n}))
"""


def pmc(n: int) -> dict[str, float] | None:
    py = ROOT / ".venv-polymarket-sdk" / "bin" / "python"
    if not py.exists():
        return None
    out = subprocess.run([str(py), "-c", PMC_SCRIPT, PK, FUNDER, TOKEN, OWNER, str(n)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        print(out.stderr[-1000:], file=sys.stderr)
        return None
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500)
    a = ap.parse_args()
    rows = [("pm_mcp (ours)", ours(a.n)), ("py-clob-client-v2 1.2.1", pcc2(a.n)),
            ("polymarket-client 0.14.0", pmc(a.n)), ("pm_mcp L2 HMAC headers only", ours_hmac(a.n))]
    print("| implementation | median ms | p90 ms | min ms | n |\n| --- | --- | --- | --- | --- |")
    for name, r in rows:
        if r is None:
            print(f"| {name} | not installed | | | |")
        else:
            print(f"| {name} | {r['median_ms']:.3f} | {r['p90_ms']:.3f} | {r['min_ms']:.3f} | {r['n']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
