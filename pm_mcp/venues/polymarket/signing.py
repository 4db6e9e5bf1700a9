"""Polymarket CLOB V2 signing: exact order amounts, the EIP-712 order, L1 (ClobAuth) and L2 (HMAC) headers.

Pure functions, no I/O. eth_keys / eth_utils / eth_abi are imported lazily inside the functions that
need them (they are slow to import and the server must start fast).

What this reproduces (facts from the official SDKs ``py-clob-client-v2`` 1.2.1 and
``polymarket-client`` 0.14.0; tests/test_polymarket_signing_vs_sdk.py proves byte equality):

* amounts: the per-tick rounding table (price / size / amount decimals); BUY: taker = shares,
  maker = shares x price (pUSD); SELL the other way round; 6-decimal base units. All in ``Decimal``:
  a size of 4.35 stays 4.35 (the float SDK makes it 4.34).
* the V2 order struct ``Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256
  makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,
  bytes32 builder)`` in the domain ``Polymarket CTF Exchange`` / version "2" / chain 137 / the standard
  or neg-risk V2 exchange.
* signature types EOA (0), POLY_PROXY (1), POLY_GNOSIS_SAFE (2) and the deposit wallet POLY_1271 (3,
  ERC-7739 ``TypedDataSign`` wrapped signature; maker = signer = the deposit wallet).
* the POST /order body (the py-clob-client-v2 layout) and its compact JSON serialisation.
* L1 headers (``ClobAuth`` EIP-712, no verifyingContract) and L2 HMAC headers
  (urlsafe-base64 secret; message = timestamp + METHOD + path + exact body).

Unlike the SDKs we do not silently round a price or a size: a price off the tick grid or a size with
more decimals than the venue keeps is a ``ValueError`` that says what to fix (the order a person
confirmed is exactly the order that is signed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import IntEnum
from functools import lru_cache
from typing import Any

# --------------------------------------------------------------------------------------------
# constants

CHAIN_ID_POLYGON = 137
EXCHANGE_DOMAIN_NAME = "Polymarket CTF Exchange"
EXCHANGE_DOMAIN_VERSION = "2"

# V2 exchanges per chain (PCC2 config.py; PMC environments.py); 80002 = Amoy testnet.
EXCHANGES: dict[int, dict[str, str]] = {
    137: {
        "standard": "0xE111180000d2663C0091e4f400237545B87B996B",
        "neg_risk": "0xe2222d279d744050d28e00520010520000310F59",
    },
    80002: {
        "standard": "0xE111180000d2663C0091e4f400237545B87B996B",
        "neg_risk": "0xe2222d279d744050d28e00520010520000310F59",
    },
}
# What a BUY needs pUSD allowance for, and a SELL needs CTF approval for (V2 spenders).
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CONDITIONAL_TOKENS = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
V2_SPENDERS = {
    "CTF Exchange V2": EXCHANGES[137]["standard"],
    "NegRisk CTF Exchange V2": EXCHANGES[137]["neg_risk"],
    "NegRisk Adapter": NEG_RISK_ADAPTER,
}

BYTES32_ZERO = "0x" + "00" * 32
COLLATERAL_DECIMALS = 6
MIN_ORDER_SIZE = Decimal(5)  # shares; the usual `min_order_size` (read the market's own when known)

ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
TYPED_DATA_SIGN_TYPE_STRING = (
    "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
)
CLOB_AUTH_TYPE_STRING = "ClobAuth(address address,string timestamp,uint256 nonce,string message)"
CLOB_AUTH_DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId)"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")


class SignatureType(IntEnum):
    EOA = 0  # maker = signer = the key's address
    POLY_PROXY = 1  # Magic / email accounts: maker = the Polymarket proxy wallet, signer = the EOA
    POLY_GNOSIS_SAFE = 2  # browser-wallet accounts: maker = the Safe, signer = the EOA
    POLY_1271 = 3  # deposit wallet: maker = signer = the deposit wallet, signed by its owner EOA


@dataclass(frozen=True)
class RoundingConfig:
    price: int
    size: int
    amount: int


ROUNDING_CONFIG: dict[Decimal, RoundingConfig] = {
    Decimal("0.1"): RoundingConfig(price=1, size=2, amount=3),
    Decimal("0.01"): RoundingConfig(price=2, size=2, amount=4),
    Decimal("0.005"): RoundingConfig(price=3, size=2, amount=5),
    Decimal("0.0025"): RoundingConfig(price=4, size=2, amount=6),
    Decimal("0.001"): RoundingConfig(price=3, size=2, amount=5),
    Decimal("0.0001"): RoundingConfig(price=4, size=2, amount=6),
}


# --------------------------------------------------------------------------------------------
# exact amounts

def _decimals(x: Decimal) -> int:
    exp = x.normalize().as_tuple().exponent
    return 0 if isinstance(exp, str) else max(0, -exp)


def _quantize(x: Decimal, dp: int, rounding: str) -> Decimal:
    if _decimals(x) <= dp:
        return x
    return x.quantize(Decimal(10) ** -dp, rounding=rounding)


def _round_amount(x: Decimal, amount_dp: int) -> Decimal:
    """The SDKs' overflow rule: ceil at amount_dp + 4, and if that is still too fine, floor at amount_dp."""
    if _decimals(x) <= amount_dp:
        return x
    x = _quantize(x, amount_dp + 4, ROUND_CEILING)
    if _decimals(x) > amount_dp:
        x = _quantize(x, amount_dp, ROUND_FLOOR)
    return x


def to_base_units(x: Decimal) -> int:
    return int((x * (Decimal(10) ** COLLATERAL_DECIMALS)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_base_units(n: int | str) -> Decimal:
    return Decimal(int(n)) / (Decimal(10) ** COLLATERAL_DECIMALS)


def rounding_for(tick_size: Decimal | str) -> RoundingConfig:
    tick = Decimal(str(tick_size))
    cfg = ROUNDING_CONFIG.get(tick)
    if cfg is None:
        known = ", ".join(str(t) for t in ROUNDING_CONFIG)
        raise ValueError(f"tick size {tick} is not one Polymarket uses ({known})")
    return cfg


def check_price(price: Decimal, tick_size: Decimal | str) -> Decimal:
    tick = Decimal(str(tick_size))
    rounding_for(tick)
    if not (tick <= price <= 1 - tick):
        raise ValueError(f"price {price} is outside {tick}..{1 - tick} for tick size {tick}")
    if price % tick != 0:
        lower = (price // tick) * tick
        raise ValueError(f"price {price} is not on the {tick} tick; use {lower} or {lower + tick}")
    return price


def check_size(size: Decimal, tick_size: Decimal | str, min_size: Decimal | None = None) -> Decimal:
    cfg = rounding_for(tick_size)
    if size <= 0:
        raise ValueError("size must be a positive number of shares")
    if _decimals(size) > cfg.size:
        raise ValueError(f"size {size} has more than {cfg.size} decimals; use {_quantize(size, cfg.size, ROUND_FLOOR)}")
    if min_size is not None and size < min_size:
        raise ValueError(f"size {size} is below this market's minimum of {min_size} shares")
    return size


def order_amounts(side: str, price: Decimal, size: Decimal, tick_size: Decimal | str) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 6-decimal base units for a limit order of ``size`` shares at ``price``.

    BUY: the maker gives pUSD (size x price) and takes shares; SELL: gives shares, takes pUSD.
    """
    cfg = rounding_for(tick_size)
    price = check_price(Decimal(price), tick_size)
    size = check_size(Decimal(size), tick_size)
    price = _quantize(price, cfg.price, ROUND_HALF_EVEN)
    shares = _quantize(size, cfg.size, ROUND_FLOOR)
    usd = _round_amount(shares * price, cfg.amount)
    side = side.upper()
    if side == "BUY":
        return to_base_units(usd), to_base_units(shares)
    if side == "SELL":
        return to_base_units(shares), to_base_units(usd)
    raise ValueError("side must be BUY or SELL")


# --------------------------------------------------------------------------------------------
# keys and addresses

class PrivateKey:
    """A secp256k1 key that never shows itself in repr/str/logs."""

    __slots__ = ("_key", "address")

    def __init__(self, hex_key: str):
        from eth_keys import keys

        raw = hex_key.strip()
        raw = raw[2:] if raw.lower().startswith("0x") else raw
        try:
            key_bytes = bytes.fromhex(raw)
            if len(key_bytes) != 32:
                raise ValueError
            self._key = keys.PrivateKey(key_bytes)
        except Exception:
            raise ValueError("the Polymarket private key must be 32 bytes of hex (0x + 64 hex digits)") from None
        self.address: str = self._key.public_key.to_checksum_address()

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte r||s||v with v in {27, 28} (what eth_account produces)."""
        sig = self._key.sign_msg_hash(digest)
        return sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"PrivateKey(address={self.address}, key=<hidden>)"

    __str__ = __repr__


def checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The checksummed address that produced a 65-byte signature over ``digest``."""
    from eth_keys import keys

    if len(signature) != 65:
        raise ValueError("signature must be 65 bytes")
    v = signature[64]
    if v >= 27:
        v -= 27
    sig = keys.Signature(signature[:64] + bytes([v]))
    return sig.recover_public_key_from_msg_hash(digest).to_checksum_address()


# --------------------------------------------------------------------------------------------
# EIP-712 hashing (hand-rolled: every Order field is one static 32-byte word)

def _keccak(data: bytes) -> bytes:
    from eth_utils import keccak

    return keccak(data)


@lru_cache(maxsize=None)
def _type_hash(type_string: str) -> bytes:
    return _keccak(type_string.encode())


def _word_uint(n: int) -> bytes:
    if n < 0 or n >= 1 << 256:
        raise ValueError("uint256 out of range")
    return n.to_bytes(32, "big")


def _word_address(addr: str) -> bytes:
    raw = bytes.fromhex(addr[2:] if addr.lower().startswith("0x") else addr)
    if len(raw) != 20:
        raise ValueError(f"{addr!r} is not a 20-byte address")
    return b"\x00" * 12 + raw


def _word_bytes32(h: str) -> bytes:
    raw = bytes.fromhex(h[2:] if h.lower().startswith("0x") else h)
    if len(raw) > 32:
        raise ValueError("bytes32 value longer than 32 bytes")
    return raw.rjust(32, b"\x00")


@lru_cache(maxsize=64)
def exchange_domain_separator(exchange: str, chain_id: int = CHAIN_ID_POLYGON,
                              version: str = EXCHANGE_DOMAIN_VERSION) -> bytes:
    return _keccak(
        _type_hash(DOMAIN_TYPE_STRING)
        + _keccak(EXCHANGE_DOMAIN_NAME.encode())
        + _keccak(version.encode())
        + _word_uint(chain_id)
        + _word_address(exchange)
    )


def exchange_address(neg_risk: bool, chain_id: int = CHAIN_ID_POLYGON) -> str:
    try:
        ex = EXCHANGES[chain_id]
    except KeyError:
        raise ValueError(f"no Polymarket V2 exchange known for chain {chain_id}") from None
    return ex["neg_risk"] if neg_risk else ex["standard"]


@dataclass(frozen=True)
class UnsignedOrder:
    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: str  # "BUY" | "SELL"
    signature_type: int
    timestamp_ms: int
    metadata: str = BYTES32_ZERO
    builder: str = BYTES32_ZERO
    expiration: int = 0  # unix seconds, GTD only; sent in the body, not signed
    exchange: str = EXCHANGES[137]["standard"]
    chain_id: int = CHAIN_ID_POLYGON
    domain_version: str = EXCHANGE_DOMAIN_VERSION

    @property
    def side_int(self) -> int:
        return 0 if self.side == "BUY" else 1

    def struct_hash(self) -> bytes:
        return _keccak(
            _type_hash(ORDER_TYPE_STRING)
            + _word_uint(self.salt)
            + _word_address(self.maker)
            + _word_address(self.signer)
            + _word_uint(int(self.token_id))
            + _word_uint(self.maker_amount)
            + _word_uint(self.taker_amount)
            + _word_uint(self.side_int)
            + _word_uint(self.signature_type)
            + _word_uint(self.timestamp_ms)
            + _word_bytes32(self.metadata)
            + _word_bytes32(self.builder)
        )

    def domain_separator(self) -> bytes:
        return exchange_domain_separator(self.exchange, self.chain_id, self.domain_version)

    def order_hash(self) -> str:
        """The EIP-712 digest of the order = the exchange's ``hashOrder`` = the CLOB's order id."""
        return "0x" + _keccak(b"\x19\x01" + self.domain_separator() + self.struct_hash()).hex()

    def typed_data(self) -> dict[str, Any]:
        """The standard EIP-712 typed data (for eth_account / wallets / independent checks)."""
        return {
            "primaryType": "Order",
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Order": [
                    {"name": "salt", "type": "uint256"},
                    {"name": "maker", "type": "address"},
                    {"name": "signer", "type": "address"},
                    {"name": "tokenId", "type": "uint256"},
                    {"name": "makerAmount", "type": "uint256"},
                    {"name": "takerAmount", "type": "uint256"},
                    {"name": "side", "type": "uint8"},
                    {"name": "signatureType", "type": "uint8"},
                    {"name": "timestamp", "type": "uint256"},
                    {"name": "metadata", "type": "bytes32"},
                    {"name": "builder", "type": "bytes32"},
                ],
            },
            "domain": {"name": EXCHANGE_DOMAIN_NAME, "version": self.domain_version,
                       "chainId": self.chain_id, "verifyingContract": self.exchange},
            "message": {
                "salt": self.salt, "maker": self.maker, "signer": self.signer, "tokenId": int(self.token_id),
                "makerAmount": self.maker_amount, "takerAmount": self.taker_amount, "side": self.side_int,
                "signatureType": self.signature_type, "timestamp": self.timestamp_ms,
                "metadata": _word_bytes32(self.metadata), "builder": _word_bytes32(self.builder),
            },
        }

    # --- POLY_1271 (deposit wallet, ERC-7739 TypedDataSign) ---------------------------------
    def deposit_wallet_digest(self) -> bytes:
        """What the deposit wallet's owner signs: TypedDataSign{contents: Order, DepositWallet/1/chain/wallet/0}."""
        typed_sign = _keccak(
            _type_hash(TYPED_DATA_SIGN_TYPE_STRING)
            + self.struct_hash()
            + _keccak(b"DepositWallet")
            + _keccak(b"1")
            + _word_uint(self.chain_id)
            + _word_address(self.signer)
            + b"\x00" * 32
        )
        return _keccak(b"\x19\x01" + self.domain_separator() + typed_sign)

@dataclass(frozen=True)
class SignedOrder:
    order: UnsignedOrder
    signature: str  # 0x-hex; 65 bytes, or the ERC-7739 wrapped blob for POLY_1271
    order_hash: str = field(default="")


def new_salt() -> int:
    return secrets.randbits(53)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def build_order(*, token_id: str, side: str, price: Decimal, size: Decimal, tick_size: Decimal | str,
                neg_risk: bool, signer_address: str, signature_type: int = SignatureType.EOA,
                funder: str | None = None, salt: int | None = None, timestamp_ms: int | None = None,
                expiration: int = 0, builder: str = BYTES32_ZERO, metadata: str = BYTES32_ZERO,
                chain_id: int = CHAIN_ID_POLYGON) -> UnsignedOrder:
    """An unsigned V2 limit order of ``size`` shares at ``price`` (exact; raises ValueError if off-grid)."""
    sig_type = SignatureType(int(signature_type))
    side = side.upper()
    maker_amount, taker_amount = order_amounts(side, Decimal(price), Decimal(size), tick_size)
    signer_address = checksum(signer_address)
    if sig_type == SignatureType.EOA:
        maker = checksum(funder) if funder else signer_address
        signer = signer_address
    else:
        if not funder:
            names = {1: "your Polymarket proxy wallet", 2: "your Gnosis Safe", 3: "your deposit wallet"}
            raise ValueError(f"signature type {int(sig_type)} ({sig_type.name}) needs the funder address "
                             f"({names[int(sig_type)]}, shown on polymarket.com as your wallet address)")
        maker = checksum(funder)
        signer = maker if sig_type == SignatureType.POLY_1271 else signer_address
    if str(token_id).strip() == "" or not str(token_id).isdigit():
        raise ValueError("token id must be the decimal CLOB token id")
    return UnsignedOrder(
        salt=new_salt() if salt is None else int(salt),
        maker=maker, signer=signer, token_id=str(token_id),
        maker_amount=maker_amount, taker_amount=taker_amount, side=side,
        signature_type=int(sig_type),
        timestamp_ms=now_ms() if timestamp_ms is None else int(timestamp_ms),
        metadata=metadata, builder=builder, expiration=int(expiration),
        exchange=exchange_address(neg_risk, chain_id), chain_id=chain_id,
    )


def sign_order(order: UnsignedOrder, key: PrivateKey) -> SignedOrder:
    if order.signature_type == SignatureType.POLY_1271:
        inner = key.sign_digest(order.deposit_wallet_digest())
        contents_type = ORDER_TYPE_STRING.encode()
        blob = (inner + order.domain_separator() + order.struct_hash() + contents_type
                + len(contents_type).to_bytes(2, "big"))
        signature = "0x" + blob.hex()
    else:
        if order.signer.lower() != key.address.lower():
            raise ValueError("the order's signer is not the configured key's address")
        signature = "0x" + key.sign_digest(bytes.fromhex(order.order_hash()[2:])).hex()
    return SignedOrder(order=order, signature=signature, order_hash=order.order_hash())


def verify_order_signature(order: UnsignedOrder, signature: str) -> str:
    """The EOA that signed (for POLY_1271: the deposit wallet's owner). Raises ValueError on a malformed
    signature. The caller checks the address against what the signature type requires."""
    raw = bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
    if order.signature_type == SignatureType.POLY_1271:
        contents_type = ORDER_TYPE_STRING.encode()
        expected_tail = (order.domain_separator() + order.struct_hash() + contents_type
                         + len(contents_type).to_bytes(2, "big"))
        if len(raw) != 65 + len(expected_tail) or raw[65:] != expected_tail:
            raise ValueError("POLY_1271 signature wrapper does not match the order")
        return recover_signer(order.deposit_wallet_digest(), raw[:65])
    return recover_signer(bytes.fromhex(order.order_hash()[2:]), raw)


def order_body(signed: SignedOrder, owner: str, order_type: str = "GTC", *, post_only: bool = False,
               defer_exec: bool = False) -> dict[str, Any]:
    """The POST /order body (py-clob-client-v2 ``order_to_json_v2`` layout)."""
    if order_type not in ORDER_TYPES:
        raise ValueError(f"order type must be one of {', '.join(ORDER_TYPES)}")
    if post_only and order_type not in ("GTC", "GTD"):
        raise ValueError("post-only works only with GTC and GTD orders")
    if order_type == "GTD" and not signed.order.expiration:
        raise ValueError("a GTD order needs an expiration (unix seconds, at least 60 s ahead)")
    o = signed.order
    return {
        "order": {
            "salt": o.salt,
            "maker": o.maker,
            "signer": o.signer,
            "tokenId": o.token_id,
            "makerAmount": str(o.maker_amount),
            "takerAmount": str(o.taker_amount),
            "side": o.side,
            "expiration": str(o.expiration),
            "signatureType": o.signature_type,
            "timestamp": str(o.timestamp_ms),
            "metadata": o.metadata,
            "builder": o.builder,
            "signature": signed.signature,
        },
        "owner": owner,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }


def order_from_body(order: dict[str, Any], *, neg_risk: bool, chain_id: int = CHAIN_ID_POLYGON) -> UnsignedOrder:
    """Rebuild the signed struct from a POST /order body's ``order`` (used by the simulator)."""
    return UnsignedOrder(
        salt=int(order["salt"]), maker=checksum(order["maker"]), signer=checksum(order["signer"]),
        token_id=str(order["tokenId"]), maker_amount=int(order["makerAmount"]),
        taker_amount=int(order["takerAmount"]), side=str(order["side"]).upper(),
        signature_type=int(order["signatureType"]), timestamp_ms=int(order["timestamp"]),
        metadata=order.get("metadata") or BYTES32_ZERO, builder=order.get("builder") or BYTES32_ZERO,
        expiration=int(order.get("expiration") or 0), exchange=exchange_address(neg_risk, chain_id),
        chain_id=chain_id,
    )


def dumps(body: Any) -> str:
    """The exact bytes to send and to HMAC (the SDKs' compact form)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# L1: ClobAuth (create / derive API key)

def clob_auth_digest(address: str, timestamp: int | str, nonce: int = 0, chain_id: int = CHAIN_ID_POLYGON) -> bytes:
    domain = _keccak(_type_hash(CLOB_AUTH_DOMAIN_TYPE_STRING) + _keccak(b"ClobAuthDomain") + _keccak(b"1")
                     + _word_uint(chain_id))
    struct = _keccak(_type_hash(CLOB_AUTH_TYPE_STRING) + _word_address(address) + _keccak(str(timestamp).encode())
                     + _word_uint(int(nonce)) + _keccak(CLOB_AUTH_MESSAGE.encode()))
    return _keccak(b"\x19\x01" + domain + struct)


def l1_headers(key: PrivateKey, timestamp: int | None = None, nonce: int = 0,
               chain_id: int = CHAIN_ID_POLYGON) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    sig = key.sign_digest(clob_auth_digest(key.address, ts, nonce, chain_id))
    return {"POLY_ADDRESS": key.address, "POLY_SIGNATURE": "0x" + sig.hex(), "POLY_TIMESTAMP": str(ts),
            "POLY_NONCE": str(int(nonce))}


# --------------------------------------------------------------------------------------------
# L2: HMAC

@dataclass(frozen=True)
class ApiCreds:
    api_key: str = field(repr=False)  # the L2 key is a credential too: never in a repr, a log or a traceback
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


def _b64url_decode(secret: str) -> bytes:
    s = secret.strip()
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hmac_signature(secret: str, timestamp: int | str, method: str, path: str, body: str | None = None) -> str:
    message = f"{timestamp}{method.upper()}{path.split('?', 1)[0]}"
    if body:
        message += body
    digest = hmac.new(_b64url_decode(secret), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def l2_headers(address: str, creds: ApiCreds, method: str, path: str, body: str | None = None,
               timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": hmac_signature(creds.secret, ts, method, path, body),
        "POLY_TIMESTAMP": str(ts),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }
