"""Passkey verification (pm_mcp.execution.presence), against a software authenticator built here with the
`cryptography` package: registration (attestation 'none', CBOR parsed by our own decoder) and assertion, and
every check refusing when its field is wrong: rpIdHash, UP, UV, challenge, origin, type, signature, counter,
credential id, attestation format, truncated or trailing data."""

from __future__ import annotations

import hashlib
import json
import stat
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from pm_mcp.execution import presence
from pm_mcp.execution.presence import FLAG_AT, FLAG_UP, FLAG_UV, WebAuthnError, b64url

ORIGIN = "http://localhost:41234"
CHALLENGE = b"\x01" * 32


def cbor(v) -> bytes:
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
        raise ValueError(n)

    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


class SoftAuthenticator:
    """A passkey in software: ES256 (P-256) or EdDSA (Ed25519), a counter, user verification."""

    def __init__(self, alg: int = -7, rp_id: str = "localhost") -> None:
        self.alg = alg
        self.key = ec.generate_private_key(ec.SECP256R1()) if alg == -7 else ed25519.Ed25519PrivateKey.generate()
        self.cred_id = hashlib.sha256(repr(id(self)).encode()).digest()[:20]
        self.rp_hash = hashlib.sha256(rp_id.encode()).digest()
        self.count = 0

    def cose(self) -> bytes:
        pub = self.key.public_key()
        if self.alg == -7:
            n = pub.public_numbers()
            return cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return cbor({1: 1, 3: -8, -1: 6, -2: pub.public_bytes(Encoding.Raw, PublicFormat.Raw)})

    def client_data(self, kind: str, challenge: bytes = CHALLENGE, origin: str = ORIGIN, **extra) -> bytes:
        return json.dumps({"type": kind, "challenge": b64url(challenge), "origin": origin, "crossOrigin": False,
                           **extra}).encode()

    def register(self, *, flags: int = FLAG_UP | FLAG_UV | FLAG_AT, fmt: str = "none", rp_hash: bytes | None = None,
                 **cd) -> tuple[bytes, bytes]:
        auth = ((rp_hash or self.rp_hash) + bytes([flags]) + struct.pack(">I", self.count) + b"\0" * 16
                + struct.pack(">H", len(self.cred_id)) + self.cred_id + self.cose())
        att = cbor({"fmt": fmt, "attStmt": {}, "authData": auth})
        return att, self.client_data("webauthn.create", **cd)

    def sign(self, *, flags: int = FLAG_UP | FLAG_UV, bump: int = 1, rp_hash: bytes | None = None,
             **cd) -> tuple[bytes, bytes, bytes]:
        self.count += bump
        auth = (rp_hash or self.rp_hash) + bytes([flags]) + struct.pack(">I", self.count)
        client = self.client_data("webauthn.get", **cd)
        signed = auth + hashlib.sha256(client).digest()
        sig = self.key.sign(signed, ec.ECDSA(hashes.SHA256())) if self.alg == -7 else self.key.sign(signed)
        return client, auth, sig


def enrol(home, auth: SoftAuthenticator) -> dict:
    att, client = auth.register()
    record = presence.verify_registration(attestation_object=att, client_data=client, challenge=CHALLENGE,
                                          origin=ORIGIN, credential_id=auth.cred_id)
    presence.add_passkey(home, record, user_id=presence.passkey_user_id(home), name="test key")
    return record


def assertion(home, auth: SoftAuthenticator, *, credential_id: str | None = None, challenge: bytes = CHALLENGE,
              **kw) -> str:
    client, data, sig = auth.sign(**kw)
    return presence.verify_assertion(home, credential_id=credential_id or b64url(auth.cred_id), client_data=client,
                                     authenticator_data=data, signature=sig, challenge=challenge, origin=ORIGIN)


@pytest.mark.parametrize("alg", [-7, -8])
def test_register_then_assert_and_the_counter_is_stored(tmp_path, alg):
    auth = SoftAuthenticator(alg)
    record = enrol(tmp_path, auth)
    assert record["alg"] == alg and record["id"] == b64url(auth.cred_id)
    path = tmp_path / presence.PASSKEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert presence.enrolled_factors(tmp_path) == ["1 passkey"] and presence.has_factor(tmp_path)
    assert assertion(tmp_path, auth) == "test key"
    assert presence.load_passkeys(tmp_path)[0]["sign_count"] == 1
    assert assertion(tmp_path, auth) == "test key"
    assert presence.load_passkeys(tmp_path)[0]["sign_count"] == 2
    with pytest.raises(WebAuthnError, match="already enrolled"):
        enrol(tmp_path, auth)


@pytest.mark.parametrize("change,match", [
    ({"rp_hash": hashlib.sha256(b"evil.example").digest()}, "another site"),
    ({"flags": FLAG_UV | FLAG_AT}, "user presence"),
    ({"flags": FLAG_UP | FLAG_AT}, "did not verify the user"),
    ({"flags": FLAG_UP | FLAG_UV}, "unexpected bytes"),  # AT flag off: the credential data is stray
    ({"fmt": "packed"}, "only 'none'"),
    ({"origin": "http://localhost:9999"}, "origin"),
    ({"origin": "http://127.0.0.1:41234"}, "origin"),
    ({"challenge": b"\x02" * 32}, "challenge"),
    ({"crossOrigin": True}, "frame"),
])
def test_registration_refusals(tmp_path, change, match):
    auth = SoftAuthenticator()
    att, client = auth.register(**change)
    with pytest.raises(WebAuthnError, match=match):
        presence.verify_registration(attestation_object=att, client_data=client, challenge=CHALLENGE, origin=ORIGIN,
                                     credential_id=auth.cred_id)
    assert presence.load_passkeys(tmp_path) == []


def test_registration_refuses_a_mismatched_id_and_a_create_answer_used_as_a_get(tmp_path):
    auth = SoftAuthenticator()
    att, client = auth.register()
    with pytest.raises(WebAuthnError, match="credential id"):
        presence.verify_registration(attestation_object=att, client_data=client, challenge=CHALLENGE, origin=ORIGIN,
                                     credential_id=b"other")
    get_data = auth.client_data("webauthn.get")
    with pytest.raises(WebAuthnError, match="type"):
        presence.verify_registration(attestation_object=att, client_data=get_data, challenge=CHALLENGE, origin=ORIGIN)
    with pytest.raises(WebAuthnError):
        presence.verify_registration(attestation_object=att[:-5], client_data=client, challenge=CHALLENGE,
                                     origin=ORIGIN)


@pytest.mark.parametrize("change,match", [
    ({"rp_hash": hashlib.sha256(b"evil.example").digest()}, "another site"),
    ({"flags": FLAG_UV}, "user presence"),
    ({"flags": FLAG_UP}, "did not verify the user"),
    ({"origin": "http://localhost:1"}, "origin"),
    ({"challenge": b"\x03" * 32}, "challenge"),
    ({"bump": 0}, "counter"),
])
def test_assertion_refusals(tmp_path, change, match):
    auth = SoftAuthenticator()
    enrol(tmp_path, auth)
    assertion(tmp_path, auth)  # counter 1
    with pytest.raises(WebAuthnError, match=match):
        assertion(tmp_path, auth, **change)
    assert presence.load_passkeys(tmp_path)[0]["sign_count"] == 1  # a refused answer changes nothing


def test_assertion_refuses_a_wrong_challenge_argument_bad_signatures_and_unknown_keys(tmp_path):
    auth = SoftAuthenticator()
    enrol(tmp_path, auth)
    with pytest.raises(WebAuthnError, match="challenge"):
        assertion(tmp_path, auth, challenge=b"\x09" * 32)  # the page issued another challenge
    client, data, sig = auth.sign()
    bad = bytearray(sig)
    bad[-1] ^= 1
    with pytest.raises(WebAuthnError, match="signature"):
        presence.verify_assertion(tmp_path, credential_id=b64url(auth.cred_id), client_data=client,
                                  authenticator_data=data, signature=bytes(bad), challenge=CHALLENGE, origin=ORIGIN)
    other = SoftAuthenticator()  # a key that was never enrolled, claiming the enrolled id
    other.cred_id = auth.cred_id
    other.count = 50
    with pytest.raises(WebAuthnError, match="signature"):
        assertion(tmp_path, other)
    with pytest.raises(WebAuthnError, match="not enrolled"):
        assertion(tmp_path, auth, credential_id=b64url(b"unknown"))
    # a replay of a good answer: same counter -> refused
    client, data, sig = auth.sign()
    presence.verify_assertion(tmp_path, credential_id=b64url(auth.cred_id), client_data=client,
                              authenticator_data=data, signature=sig, challenge=CHALLENGE, origin=ORIGIN)
    with pytest.raises(WebAuthnError, match="counter"):
        presence.verify_assertion(tmp_path, credential_id=b64url(auth.cred_id), client_data=client,
                                  authenticator_data=data, signature=sig, challenge=CHALLENGE, origin=ORIGIN)


def test_cbor_decoder_subset():
    assert presence.cbor_decode(cbor({"a": [1, -2, b"\x00", "x"], 3: {-1: True}})) == {
        "a": [1, -2, b"\x00", "x"], 3: {-1: True}}
    assert presence.cbor_decode(bytes.fromhex("1903e8")) == 1000
    assert presence.cbor_decode(bytes.fromhex("f93c00")) == 1.0
    for bad in ("9f01ff",  # indefinite array
                "5a00000010aa",  # truncated byte string
                "a2616101616102",  # duplicate key
                "c100",  # a tag
                "0101"):  # trailing bytes
        with pytest.raises(presence.CborError):
            presence.cbor_decode(bytes.fromhex(bad))


def test_the_page_script_ships_as_package_data():
    """The wheel carries pm_mcp/execution/static/* (checked by hand with `pip wheel`; here: the package-data
    globs in pyproject.toml cover every asset, and the server reads it through importlib.resources)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    from pm_mcp.execution.approval import STATIC_FILES, static_text

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pm_mcp"]
    static = root / "pm_mcp" / "execution" / "static"
    assets = sorted(p.relative_to(root / "pm_mcp").as_posix() for p in static.iterdir() if p.is_file())
    assert assets and {Path(a).name for a in assets} == set(STATIC_FILES)
    for asset in assets:
        assert any(fnmatch.fnmatch(asset, g) for g in globs), (asset, globs)
        assert "navigator.credentials" in static_text(Path(asset).name)
