"""Kalshi RSA-PSS request signing: verified with the public key, and checked against the official SDK.

PSS signatures are randomised (fresh salt each time), so equality with the SDK is impossible by design;
what must agree is the signed message, the headers and that each side's signature verifies under the
other side's procedure (research/kalshi_manifold.md §6).
"""

from __future__ import annotations

import base64
from unittest import mock

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from pm_mcp.venues.kalshi import signing as ks

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
TS = 1703123456789
URL = "https://external-api.kalshi.com/trade-api/v2/portfolio/orders?limit=5&status=resting"
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _raw_verify(pub, sig_b64: str, msg: bytes) -> bool:
    try:
        pub.verify(base64.b64decode(sig_b64), msg, PSS, hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def test_message_is_ms_timestamp_method_and_path_without_query():
    assert ks.message(TS, "get", URL) == b"1703123456789GET/trade-api/v2/portfolio/orders"
    assert ks.signed_path("/trade-api/v2/portfolio/orders?limit=5") == "/trade-api/v2/portfolio/orders"


def test_headers_verify_with_public_key_and_wrong_messages_do_not(rsa_pem):
    key = ks.KalshiKey(rsa_pem)
    h = ks.auth_headers(KEY_ID, key, "GET", URL, timestamp_ms=TS)
    assert h[ks.HEADER_KEY] == KEY_ID and h[ks.HEADER_TIMESTAMP] == "1703123456789"
    assert len(h[ks.HEADER_SIGNATURE]) == 344  # base64 of 256 bytes
    pub = serialization.load_pem_private_key(rsa_pem, None).public_key()
    assert _raw_verify(pub, h[ks.HEADER_SIGNATURE], b"1703123456789GET/trade-api/v2/portfolio/orders")
    # the usual mistakes must NOT verify
    for wrong in (b"1703123456789GET/trade-api/v2/portfolio/orders?limit=5&status=resting",
                  b"1703123456789GET/portfolio/orders", b"1703123456789get/trade-api/v2/portfolio/orders",
                  b"1703123456GET/trade-api/v2/portfolio/orders"):
        assert not _raw_verify(pub, h[ks.HEADER_SIGNATURE], wrong)
    assert ks.verify(key.public_pem(), h, "GET", "/trade-api/v2/portfolio/orders")
    assert not ks.verify(key.public_pem(), h, "POST", "/trade-api/v2/portfolio/orders")
    # two signatures of the same request differ (random salt) and both verify
    h2 = ks.auth_headers(KEY_ID, key, "GET", URL, timestamp_ms=TS)
    assert h2[ks.HEADER_SIGNATURE] != h[ks.HEADER_SIGNATURE]
    assert ks.verify(key.public_pem(), h2, "GET", URL)


def test_agrees_with_official_sdk(rsa_pem):
    from kalshi_python_sync.auth import KalshiAuth

    sdk = KalshiAuth(KEY_ID, rsa_pem.decode())
    key = ks.KalshiKey(rsa_pem)
    for method, url in (("GET", URL), ("POST", "https://demo-api.kalshi.co/trade-api/v2/portfolio/events/orders"),
                        ("DELETE", "/trade-api/v2/portfolio/events/orders/abc?x=1")):
        with mock.patch("time.time", return_value=TS / 1000):
            theirs = sdk.create_auth_headers(method, url)
        ours = ks.auth_headers(KEY_ID, key, method, url, timestamp_ms=TS)
        assert {k: v for k, v in theirs.items() if k != ks.HEADER_SIGNATURE} == \
               {k: v for k, v in ours.items() if k != ks.HEADER_SIGNATURE}
        assert ks.verify(key.public_pem(), theirs, method, url)  # the SDK's signature passes our check
        pub = sdk.private_key.public_key()
        msg = (theirs[ks.HEADER_TIMESTAMP] + method + ks.signed_path(url)).encode()
        assert _raw_verify(pub, ours[ks.HEADER_SIGNATURE], msg)  # ours passes the SDK's message rule


def test_ed25519_keys_sign_the_same_message():
    priv = ed25519.Ed25519PrivateKey.generate()
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    key = ks.KalshiKey(pem)
    h = ks.auth_headers(KEY_ID, key, "POST", "/trade-api/v2/portfolio/events/orders", timestamp_ms=TS)
    priv.public_key().verify(base64.b64decode(h[ks.HEADER_SIGNATURE]),
                             b"1703123456789POST/trade-api/v2/portfolio/events/orders")
    assert ks.verify(key.public_pem(), h, "POST", "/trade-api/v2/portfolio/events/orders")


def test_bad_pem_is_a_clear_error_without_echoing_the_key():
    with pytest.raises(ValueError) as exc:
        ks.KalshiKey("-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETMATERIAL\n-----END PRIVATE KEY-----")
    assert "PEM" in str(exc.value) and "SECRETMATERIAL" not in str(exc.value)
    assert "hidden" in repr(ks.KalshiKey(rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))
