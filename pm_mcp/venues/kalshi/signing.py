"""Kalshi request signing: RSA-PSS (SHA-256, MGF1-SHA-256, salt = 32 bytes) over ``ms timestamp + METHOD + path``.

The path is the URL path from ``/trade-api/v2`` on, without the query string; the body is not signed
(research/kalshi_manifold.md §1.6, §6; the official SDK's ``KalshiAuth.create_auth_headers``). Ed25519
keys (accepted by SDK 3.34) are signed plainly over the same message. ``cryptography`` is imported
lazily. PSS signatures are randomised: test them by verifying, never by comparing.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"


def _pss():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256()


def signed_path(url_or_path: str) -> str:
    """The part of a URL Kalshi signs: its path, without query string or fragment."""
    if "://" in url_or_path:
        return urlsplit(url_or_path).path
    return url_or_path.split("?", 1)[0].split("#", 1)[0]


def message(timestamp_ms: int | str, method: str, url_or_path: str) -> bytes:
    return f"{timestamp_ms}{method.upper()}{signed_path(url_or_path)}".encode()


class KalshiKey:
    """A loaded Kalshi private key (RSA or Ed25519). Its repr never shows the key."""

    __slots__ = ("_key", "kind")

    def __init__(self, pem: str | bytes):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data.strip() + b"\n", password=None)
        except Exception:
            raise ValueError("the Kalshi private key is not a readable unencrypted PEM "
                             "(download it again from Kalshi's API keys page)") from None
        if isinstance(key, rsa.RSAPrivateKey):
            self.kind = "rsa"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self.kind = "ed25519"
        else:
            raise ValueError("the Kalshi private key must be RSA (or Ed25519)")
        self._key = key

    def sign(self, msg: bytes) -> bytes:
        if self.kind == "rsa":
            pss, digest = _pss()
            return self._key.sign(msg, pss, digest)
        return self._key.sign(msg)

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"KalshiKey({self.kind}, <hidden>)"

    __str__ = __repr__


def auth_headers(key_id: str, key: KalshiKey, method: str, url_or_path: str,
                 timestamp_ms: int | None = None) -> dict[str, str]:
    ts = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    sig = key.sign(message(ts, method, url_or_path))
    return {HEADER_KEY: key_id, HEADER_SIGNATURE: base64.b64encode(sig).decode(), HEADER_TIMESTAMP: str(ts)}


def verify(public_pem: bytes | str, headers: dict[str, str], method: str, url_or_path: str) -> bool:
    """True when the headers carry a valid signature for this request (used by the simulator and tests)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    data = public_pem.encode() if isinstance(public_pem, str) else public_pem
    pub = serialization.load_pem_public_key(data)
    h = {k.upper(): v for k, v in headers.items()}
    try:
        sig = base64.b64decode(h[HEADER_SIGNATURE], validate=True)
        msg = message(h[HEADER_TIMESTAMP], method, url_or_path)
        if isinstance(pub, rsa.RSAPublicKey):
            pss, digest = _pss()
            pub.verify(sig, msg, pss, digest)
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, msg)
        else:
            return False
    except (KeyError, ValueError, InvalidSignature):
        return False
    return True
