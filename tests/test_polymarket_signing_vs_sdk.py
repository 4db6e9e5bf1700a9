"""Our Polymarket V2 signing equals the official SDKs' output byte for byte.

Two official SDKs, both pinned:

* ``py-clob-client-v2==1.2.1`` lives in our venv (the ``test`` extra; it installs cleanly beside web3 7)
  and is called in-process.
* ``polymarket-client==0.14.0`` (the unified SDK) pins eth-account 0.13 / eth-abi 5, which would
  downgrade our web3 stack, so tools/test.sh installs it in its own venv ``.venv-polymarket-sdk`` and we
  call it in a subprocess (one process for all cases), exchanging JSON.

Salt and timestamp are random / clock-based in both SDKs; we pin them as research/polymarket.md §9
explains (py-clob-client-v2: swap ExchangeOrderBuilderV2 for a partial with a fixed salt and patch
``time.time_ns``; polymarket-client: build its ``UnsignedOrder`` with the salt and timestamp we choose).

The float bug: py-clob-client-v2 floors sizes with binary floats, so a size of 4.35 becomes 4.34
(``floor(4.35 * 100) / 100``). For such sizes we assert the SDK's known wrong amount separately and
compare our order with the Decimal-correct unified SDK instead.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest

from pm_mcp.venues.polymarket import signing as ps

ROOT = Path(__file__).resolve().parents[1]
SDK_VENV_PY = ROOT / ".venv-polymarket-sdk" / "bin" / "python"

PK = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Hardhat #0 (public test key)
EOA = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
FUNDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # stands for the proxy / Safe / deposit wallet
OWNER = "00000000-0000-0000-0000-000000000000"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
SALT = 123456789
TS_MS = 1767225600000

# (tick, price, size) on the grid; sizes chosen so that floats are right (the float-bug cases are below)
GRID = [
    ("0.1", "0.5", "10"),
    ("0.01", "0.52", "100"),
    ("0.01", "0.07", "12.5"),
    ("0.001", "0.123", "25.25"),
    ("0.0001", "0.4321", "7.77"),
]
FLOAT_BUG = [("0.01", "0.52", "4.35"), ("0.001", "0.455", "4.35"), ("0.0001", "0.1234", "16.08")]


def _cases():
    out = []
    for sig_type in (0, 1, 2, 3):
        for neg_risk in (False, True):
            for tick, price, size in GRID:
                for side in ("BUY", "SELL"):
                    out.append((sig_type, neg_risk, tick, price, size, side))
    return out


CASES = _cases()


def _ours(sig_type, neg_risk, tick, price, size, side, order_type="GTC", expiration=0):
    key = ps.PrivateKey(PK)
    unsigned = ps.build_order(token_id=TOKEN, side=side, price=Decimal(price), size=Decimal(size), tick_size=tick,
                              neg_risk=neg_risk, signer_address=key.address, signature_type=sig_type,
                              funder=None if sig_type == 0 else FUNDER, salt=SALT, timestamp_ms=TS_MS,
                              expiration=expiration)
    signed = ps.sign_order(unsigned, key)
    return signed, ps.dumps(ps.order_body(signed, OWNER, order_type))


# ----------------------------------------------------------------------------------------------
# py-clob-client-v2 (in-process)

def _pcc2(sig_type, neg_risk, tick, price, size, side, order_type="GTC", expiration=0):
    import py_clob_client_v2.order_builder.builder as b
    from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
    from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
    from py_clob_client_v2.signer import Signer

    with mock.patch.object(b, "ExchangeOrderBuilderV2",
                           functools.partial(ExchangeOrderBuilderV2, generate_salt=lambda: str(SALT))), \
            mock.patch("time.time_ns", return_value=TS_MS * 1_000_000):
        ob = b.OrderBuilder(Signer(PK, 137), signature_type=sig_type, funder=None if sig_type == 0 else FUNDER)
        signed = ob.build_order(OrderArgsV2(token_id=TOKEN, price=float(price), size=float(size), side=side,
                                            expiration=expiration, builder_code=ps.BYTES32_ZERO),
                                CreateOrderOptions(tick_size=tick, neg_risk=neg_risk), version=2)
        builder = ExchangeOrderBuilderV2(ps.exchange_address(neg_risk), 137, Signer(PK, 137))
        order_hash = builder.build_order_hash(builder.build_order_typed_data(signed))
    body = order_to_json_v2(signed, OWNER, order_type)
    return signed, json.dumps(body, separators=(",", ":"), ensure_ascii=False), order_hash


@pytest.mark.parametrize("sig_type,neg_risk,tick,price,size,side", CASES)
def test_order_equals_py_clob_client_v2(sig_type, neg_risk, tick, price, size, side):
    ours, our_json = _ours(sig_type, neg_risk, tick, price, size, side)
    sdk, sdk_json, sdk_hash = _pcc2(sig_type, neg_risk, tick, price, size, side)
    o = ours.order
    # the struct, field by field
    assert (o.maker, o.signer, o.token_id, str(o.maker_amount), str(o.taker_amount), str(o.timestamp_ms),
            str(o.salt), o.signature_type) == (sdk.maker, sdk.signer, sdk.tokenId, sdk.makerAmount,
                                               sdk.takerAmount, sdk.timestamp, sdk.salt, int(sdk.signatureType))
    assert ours.signature == sdk.signature
    assert ours.order_hash == sdk_hash
    assert our_json == sdk_json  # the exact bytes we send (and HMAC)
    # the maker/signer rules per signature type
    if sig_type == 0:
        assert o.maker == o.signer == EOA
    elif sig_type == 3:
        assert o.maker == o.signer == FUNDER
    else:
        assert (o.maker, o.signer) == (FUNDER, EOA)
    assert o.exchange == (ps.EXCHANGES[137]["neg_risk"] if neg_risk else ps.EXCHANGES[137]["standard"])


@pytest.mark.parametrize("order_type", ["GTD", "FOK", "FAK"])
def test_order_types_and_gtd_expiration_equal_sdk(order_type):
    exp = 1767229200 if order_type == "GTD" else 0
    ours, our_json = _ours(2, True, "0.01", "0.33", "20", "BUY", order_type, exp)
    _sdk, sdk_json, _ = _pcc2(2, True, "0.01", "0.33", "20", "BUY", order_type, exp)
    assert our_json == sdk_json
    assert json.loads(our_json)["orderType"] == order_type
    if order_type == "GTD":
        assert json.loads(our_json)["order"]["expiration"] == str(exp)


@pytest.mark.parametrize("tick,price,size", FLOAT_BUG)
def test_float_bug_in_py_clob_client_v2_is_not_ours(tick, price, size):
    ours, _ = _ours(0, False, tick, price, size, "BUY")
    sdk, _, _ = _pcc2(0, False, tick, price, size, "BUY")
    exact_shares = int(Decimal(size) * 10**6)
    assert ours.order.taker_amount == exact_shares  # we keep the size the person confirmed
    assert int(sdk.takerAmount) == exact_shares - 10_000  # the SDK's float floor loses one cent of shares
    assert ours.order.maker_amount == int(Decimal(size) * Decimal(price) * 10**6)


def test_independent_eip712_check_with_eth_account():
    """Our hand-rolled struct hashing agrees with eth_account's generic EIP-712 encoder."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    for sig_type, neg_risk in ((0, False), (2, True)):
        ours, _ = _ours(sig_type, neg_risk, "0.01", "0.52", "100", "BUY")
        msg = encode_typed_data(full_message=ours.order.typed_data())
        assert Account.recover_message(msg, signature=bytes.fromhex(ours.signature[2:])) == EOA
        assert ps.verify_order_signature(ours.order, ours.signature) == EOA


def test_off_grid_inputs_are_refused_not_rounded():
    with pytest.raises(ValueError, match="not on the 0.01 tick"):
        ps.order_amounts("BUY", Decimal("0.525"), Decimal("10"), "0.01")
    with pytest.raises(ValueError, match="more than 2 decimals"):
        ps.order_amounts("BUY", Decimal("0.52"), Decimal("10.001"), "0.01")
    with pytest.raises(ValueError, match="outside"):
        ps.order_amounts("SELL", Decimal("1"), Decimal("10"), "0.1")
    with pytest.raises(ValueError, match="tick size"):
        ps.order_amounts("BUY", Decimal("0.5"), Decimal("10"), "0.02")
    with pytest.raises(ValueError, match="funder"):
        ps.build_order(token_id=TOKEN, side="BUY", price=Decimal("0.5"), size=Decimal(10), tick_size="0.01",
                       neg_risk=False, signer_address=EOA, signature_type=2)


# ----------------------------------------------------------------------------------------------
# L1 / L2 headers vs py-clob-client-v2

@pytest.mark.parametrize("nonce,ts", [(0, 1767225600), (7, 1800000000)])
def test_l1_headers_equal_sdk(nonce, ts):
    from py_clob_client_v2.headers.headers import create_level_1_headers
    from py_clob_client_v2.signer import Signer

    ours = ps.l1_headers(ps.PrivateKey(PK), timestamp=ts, nonce=nonce)
    assert ours == create_level_1_headers(Signer(PK, 137), nonce=nonce, timestamp=ts)


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/data/orders", None),
    ("DELETE", "/order", '{"orderID":"0xabc"}'),
    ("POST", "/order", None),  # filled below with a real order body
])
def test_l2_headers_equal_sdk(method, path, body):
    from py_clob_client_v2.clob_types import ApiCreds, RequestArgs
    from py_clob_client_v2.headers.headers import create_level_2_headers
    from py_clob_client_v2.signer import Signer

    if method == "POST":
        _, body = _ours(1, False, "0.01", "0.52", "100", "BUY")
    secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    creds = ps.ApiCreds(api_key=OWNER, secret=secret, passphrase="pass-phrase")
    ours = ps.l2_headers(EOA, creds, method, path, body, timestamp=1767225600)
    sdk = create_level_2_headers(Signer(PK, 137), ApiCreds(OWNER, secret, "pass-phrase"),
                                 RequestArgs(method=method, request_path=path, body=body, serialized_body=body),
                                 timestamp=1767225600)
    assert ours == sdk
    if method == "GET":  # research vector
        assert ours["POLY_SIGNATURE"] == "dWrat5kGJKG12lN3uWmqJX90ZbIicxgCmIbz-rFgq1c="


# ----------------------------------------------------------------------------------------------
# polymarket-client (unified SDK, Decimal) in its own venv

_PMC_SCRIPT = r"""
import json, sys
from decimal import Decimal
from eth_account import Account
from polymarket._internal.actions.orders.limit import _compute_limit_order_amounts
from polymarket._internal.actions.orders.typed_data import build_order_typed_data, build_order_signature
from polymarket._internal.actions.orders.types import UnsignedOrder
from polymarket._internal.actions.orders.orders import create_signed_order
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket._internal.l1_auth import sign_api_key_auth
from polymarket._internal.hmac import build_hmac_signature

req = json.load(sys.stdin)
acct = Account.from_key(req["pk"])
out = {"orders": []}
for c in req["orders"]:
    maker_amt, taker_amt = _compute_limit_order_amounts(price=Decimal(c["price"]), size=Decimal(c["size"]),
                                                        side=c["side"], tick_size=Decimal(c["tick"]))
    wallet = acct.address if c["sig_type"] == 0 else req["funder"]
    unsigned = UnsignedOrder(chain_id=137, builder="0x" + "00" * 32, exchange_address=c["exchange"],
                             expiration=0, maker=wallet, maker_amount=maker_amt, metadata="0x" + "00" * 32,
                             order_type="GTC", salt=req["salt"], side=c["side"], signature_type=c["sig_type"],
                             signer=wallet if c["sig_type"] == 3 else acct.address, taker_amount=taker_amt,
                             timestamp=req["ts_ms"], token_id=req["token"])
    sig = acct.sign_typed_data(full_message=build_order_typed_data(unsigned)).signature.hex()
    sig = sig if sig.startswith("0x") else "0x" + sig
    signed = create_signed_order(unsigned, build_order_signature(unsigned, sig))
    _, payload = build_post_order_request(signed, owner_api_key=req["owner"])
    out["orders"].append({"maker_amount": maker_amt, "taker_amount": taker_amt, "signature": signed.signature,
                          "maker": signed.maker, "signer": signed.signer, "payload": payload})
auth = sign_api_key_auth(acct, chain_id=137, timestamp=req["l1_ts"], nonce=0)
out["l1_signature"] = auth.signature
out["hmac"] = build_hmac_signature(secret=req["secret"], timestamp=req["l1_ts"], method="POST", path="/order",
                                   body=req["hmac_body"])
json.dump(out, sys.stdout)
"""

PMC_CASES = [(t, n, *g, s) for t in (0, 1, 2, 3) for n in (False, True) for g in GRID[:3] for s in ("BUY", "SELL")]
PMC_CASES += [(t, False, *g, "BUY") for t in (0, 3) for g in FLOAT_BUG]


@pytest.fixture(scope="module")
def pmc_results():
    if not SDK_VENV_PY.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SDK_VENV_PY} missing: tools/test.sh installs polymarket-client there")
        pytest.skip("polymarket-client venv missing; run tools/test.sh once")
    _, hmac_body = _ours(0, False, "0.01", "0.52", "100", "BUY")
    req = {"pk": PK, "funder": FUNDER, "salt": SALT, "ts_ms": TS_MS, "token": TOKEN, "owner": OWNER,
           "l1_ts": 1767225600, "secret": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "hmac_body": hmac_body,
           "orders": [{"sig_type": t, "exchange": ps.exchange_address(n), "tick": tick, "price": p, "size": sz,
                       "side": side} for (t, n, tick, p, sz, side) in PMC_CASES]}
    proc = subprocess.run([str(SDK_VENV_PY), "-c", _PMC_SCRIPT], input=json.dumps(req), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return req, json.loads(proc.stdout)


def test_orders_equal_unified_sdk_including_float_bug_sizes(pmc_results):
    _req, res = pmc_results
    assert len(res["orders"]) == len(PMC_CASES)
    for case, sdk in zip(PMC_CASES, res["orders"], strict=True):
        ours, our_json = _ours(*case)
        assert (ours.order.maker_amount, ours.order.taker_amount) == (sdk["maker_amount"], sdk["taker_amount"]), case
        assert (ours.order.maker, ours.order.signer) == (sdk["maker"], sdk["signer"]), case
        assert ours.signature == sdk["signature"], case
        # The unified SDK sends the same fields in another key order and omits postOnly when false.
        body = json.loads(our_json)
        assert body.pop("postOnly") is False
        assert body == sdk["payload"], case


def test_float_bug_sizes_are_exact_in_both_decimal_implementations(pmc_results):
    _req, res = pmc_results
    idx = [i for i, c in enumerate(PMC_CASES) if c[4] == "4.35"]
    assert idx
    for i in idx:
        assert res["orders"][i]["taker_amount"] == 4_350_000


def test_l1_and_hmac_equal_unified_sdk(pmc_results):
    req, res = pmc_results
    assert ps.l1_headers(ps.PrivateKey(PK), timestamp=req["l1_ts"])["POLY_SIGNATURE"] == res["l1_signature"]
    assert ps.hmac_signature(req["secret"], req["l1_ts"], "POST", "/order", req["hmac_body"]) == res["hmac"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
