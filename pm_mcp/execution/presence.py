"""Presence factors: proof that the PERSON, not just whoever holds the approval link, approves a LIVE order.

The approval URL is handed to the assistant; an assistant that also has a browser or HTTP tool can open
it and click Approve. So in live mode the page also asks for something the assistant cannot give:

- a PIN set with ``pm-mcp set-pin`` (read from the terminal), stored as a salted scrypt hash in the data
  directory; wrong PINs are counted and, after ``MAX_TRIES`` in a row, locked out for a time that doubles
  with every further wrong PIN (the counter survives restarts; a correct PIN resets it);
- a passkey (WebAuthn with user verification) enrolled with ``pm-mcp enroll``; the relying party is
  ``localhost`` (browsers treat ``http://localhost:<port>`` as a secure context), the attestation is
  ``none``, and an assertion counts only when the rpIdHash, the UP and UV flags, the challenge (single use,
  bound to one intent), the origin, the signature and the signature counter all check out.

Files (mode 0600, in ``PM_MCP_HOME``; a file others could write is refused): ``presence_pin.json``,
``presence_pin_attempts.json``, ``presence_passkeys.json``; ``presence.lock`` serialises updates across
processes. Nothing here ever logs a PIN or a key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PIN_FILE = "presence_pin.json"
PIN_ATTEMPTS_FILE = "presence_pin_attempts.json"
PASSKEYS_FILE = "presence_passkeys.json"
LOCK_FILE = "presence.lock"

MIN_PIN_LEN = 6
MAX_PIN_LEN = 128
MAX_TRIES = 5  # wrong PINs in a row before a lock-out
LOCKOUT = timedelta(seconds=60)  # the first lock-out; doubles with every further wrong PIN
MAX_LOCKOUT = timedelta(days=1)
# scrypt: 32 MiB, ~0.1 s per try on a laptop
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024

RP_ID = "localhost"  # WebAuthn's relying party: the approval page is served as http://localhost:<port>
ASSERTION_FIELDS = ("passkey_id", "passkey_client_data", "passkey_authenticator_data", "passkey_signature")

ENROL_ADVICE = ("set a PIN with `pm-mcp set-pin` or enrol a passkey with `pm-mcp enroll` (run it in a terminal, "
                "with the same PM_MCP_HOME as the server)")


class PresenceError(Exception):
    """A presence factor could not be stored or read; the message says what to do."""


# --- files ----------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def _path(home: Path, name: str) -> Path:
    return Path(home).expanduser() / name


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` as JSON, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)


def _read_private(path: Path) -> dict[str, Any] | None:
    """The JSON in ``path`` (None when absent). Refuses a file that others could change."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if os.name == "posix":
        if st.st_mode & 0o022:
            raise PresenceError(f"{path} can be changed by other users (mode {oct(st.st_mode & 0o777)}); it is "
                                f"ignored. Run `chmod 600 {path}` or set the factor again")
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise PresenceError(f"{path} belongs to another user; it is ignored. Set the factor again")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PresenceError(f"{path} is unreadable ({type(exc).__name__}); set the factor again") from None
    if not isinstance(data, dict):
        raise PresenceError(f"{path} is not a presence file; set the factor again")
    return data


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """An exclusive lock over the presence files (across threads and processes)."""
    path = _path(home, LOCK_FILE)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    s = str(text).strip()
    if not s or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in s):
        raise ValueError("not base64url")
    s = s.rstrip("=")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# --- PIN ------------------------------------------------------------------------------------------
def _normalise_pin(pin: str) -> str:
    return unicodedata.normalize("NFC", str(pin)).strip()


def validate_new_pin(pin: str) -> str:
    """The PIN as it will be stored, or ValueError with advice."""
    p = _normalise_pin(pin)
    if len(p) < MIN_PIN_LEN:
        raise ValueError(f"the PIN needs at least {MIN_PIN_LEN} digits or characters")
    if len(p) > MAX_PIN_LEN:
        raise ValueError(f"the PIN can have at most {MAX_PIN_LEN} characters")
    if any(unicodedata.category(c).startswith("C") for c in p):
        raise ValueError("the PIN cannot contain control characters")
    if len(set(p)) == 1:
        raise ValueError("the PIN cannot be one character repeated")
    return p


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32)


def set_pin(home: Path, pin: str) -> None:
    """Store a new PIN (salted scrypt hash; a fresh random salt) and reset the wrong-PIN counter."""
    p = validate_new_pin(pin)
    salt = secrets.token_bytes(16)
    digest = _scrypt(p, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    with _locked(home):
        _write_private(_path(home, PIN_FILE), {
            "v": 1, "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": b64url(salt),
            "hash": b64url(digest), "created_at": _now().isoformat()})
        _write_private(_path(home, PIN_ATTEMPTS_FILE), _fresh_attempts(b64url(salt)))


def remove_pin(home: Path) -> bool:
    with _locked(home):
        found = False
        for name in (PIN_FILE, PIN_ATTEMPTS_FILE):
            with contextlib.suppress(FileNotFoundError):
                _path(home, name).unlink()
                found = True
        return found


def pin_enrolled(home: Path) -> bool:
    try:
        data = _read_private(_path(home, PIN_FILE))
    except PresenceError:
        return False
    return bool(data and data.get("hash") and data.get("salt"))


def _fresh_attempts(salt_id: str) -> dict[str, Any]:
    return {"pin": salt_id, "failures": 0, "total_failures": 0, "locked_until": None, "last_failure": None}


@dataclass(frozen=True)
class PinResult:
    ok: bool
    message: str  # a sentence for the person (never the PIN)
    failures: int = 0  # wrong PINs in a row after this attempt
    total_failures: int = 0
    locked_until: datetime | None = None


def lockout_for(failures: int) -> timedelta:
    """How long the PIN is locked after ``failures`` wrong PINs in a row (zero below MAX_TRIES)."""
    if failures < MAX_TRIES:
        return timedelta(0)
    return min(MAX_LOCKOUT, LOCKOUT * (2 ** min(failures - MAX_TRIES, 20)))


def check_pin(home: Path, pin: str, *, now: datetime | None = None) -> PinResult:
    """Check a PIN typed on the approval page. Counted, rate-limited, constant-time compared.

    Blocking (scrypt): call it in a thread from async code."""
    now = now or _now()
    with _locked(home):
        try:
            stored = _read_private(_path(home, PIN_FILE))
        except PresenceError as exc:
            return PinResult(False, str(exc))
        if not stored:
            return PinResult(False, f"no PIN is set up; {ENROL_ADVICE}")
        salt_id = str(stored.get("salt", ""))
        try:
            attempts = _read_private(_path(home, PIN_ATTEMPTS_FILE)) or {}
        except PresenceError:
            attempts = {}
        if attempts.get("pin") != salt_id:  # counters belong to the PIN they were counted for
            attempts = _fresh_attempts(salt_id) | {"total_failures": int(attempts.get("total_failures", 0) or 0)}
        failures = int(attempts.get("failures", 0) or 0)
        total = int(attempts.get("total_failures", 0) or 0)
        locked_raw = attempts.get("locked_until")
        locked_until = datetime.fromisoformat(locked_raw) if locked_raw else None
        if locked_until is not None and now < locked_until:
            return PinResult(False, f"too many wrong PINs ({failures} in a row): the PIN is locked until "
                                    f"{locked_until.strftime('%Y-%m-%d %H:%M:%S UTC')}; nothing was placed",
                             failures, total, locked_until)
        try:
            digest = _scrypt(_normalise_pin(pin)[:MAX_PIN_LEN], b64url_decode(salt_id), int(stored["n"]),
                             int(stored["r"]), int(stored["p"]))
            good = hmac.compare_digest(digest, b64url_decode(str(stored["hash"])))
        except (KeyError, ValueError, TypeError):
            return PinResult(False, "the stored PIN is unreadable; set it again with `pm-mcp set-pin`")
        if good:
            attempts.update({"failures": 0, "locked_until": None})
            _write_private(_path(home, PIN_ATTEMPTS_FILE), attempts)
            return PinResult(True, "PIN accepted", 0, total, None)
        failures += 1
        total += 1
        wait = lockout_for(failures)
        locked_until = now + wait if wait else None
        attempts.update({"failures": failures, "total_failures": total, "last_failure": now.isoformat(),
                         "locked_until": locked_until.isoformat() if locked_until else None})
        _write_private(_path(home, PIN_ATTEMPTS_FILE), attempts)
        if locked_until is not None:
            msg = (f"wrong PIN ({failures} in a row): the PIN is now locked until "
                   f"{locked_until.strftime('%Y-%m-%d %H:%M:%S UTC')}; nothing was placed")
        else:
            msg = (f"wrong PIN ({failures} of {MAX_TRIES} tries before a lock-out); nothing was placed")
        return PinResult(False, msg, failures, total, locked_until)


# --- what is enrolled -------------------------------------------------------------------------------
def enrolled_factors(home: Path) -> list[str]:
    """Human names of the factors that can approve a live order: ['PIN', '2 passkeys']."""
    out = []
    if pin_enrolled(home):
        out.append("PIN")
    n = len(load_passkeys(home))
    if n:
        out.append(f"{n} passkey" + ("s" if n > 1 else ""))
    return out


def has_factor(home: Path) -> bool:
    return bool(enrolled_factors(home))


def live_page_refusal(home: Path, mode: str, channel: str | None, allowed: tuple[str, ...]) -> str | None:
    """Why a LIVE proposal whose confirmation would be the approval page alone must be refused (None: fine)."""
    if mode != "live":
        return None
    chosen = channel if channel in allowed else (allowed[0] if allowed else None)
    if chosen != "page" or has_factor(home):
        return None
    return ("live orders confirmed on the approval page need a presence factor, because the link alone could be "
            f"opened by anything that has it: {ENROL_ADVICE}. Nothing was proposed or placed")


# --- passkeys (storage; the WebAuthn checks follow) ---------------------------------------------------
def load_passkeys(home: Path) -> list[dict[str, Any]]:
    try:
        data = _read_private(_path(home, PASSKEYS_FILE))
    except PresenceError:
        return []
    creds = (data or {}).get("credentials") or []
    return [c for c in creds if isinstance(c, dict) and c.get("id") and c.get("cose")]


def passkey_user_id(home: Path) -> str:
    """The WebAuthn user handle of this installation (b64url): the stored one, or a new random one."""
    try:
        data = _read_private(_path(home, PASSKEYS_FILE)) or {}
    except PresenceError:
        data = {}
    return str(data.get("user_id") or b64url(secrets.token_bytes(16)))


def add_passkey(home: Path, record: dict[str, Any], *, user_id: str, name: str) -> None:
    """Store a verified new credential (see :func:`verify_registration`)."""
    with _locked(home):
        data = _read_private(_path(home, PASSKEYS_FILE)) or {}
        creds = [c for c in data.get("credentials") or [] if isinstance(c, dict)]
        if any(c.get("id") == record["id"] for c in creds):
            raise WebAuthnError("this passkey is already enrolled")
        creds.append({**record, "name": str(name)[:60] or "passkey", "created_at": _now().isoformat()})
        _write_private(_path(home, PASSKEYS_FILE), {"v": 1, "rp_id": RP_ID, "user_id": data.get("user_id") or user_id,
                                                    "credentials": creds})


def remove_passkeys(home: Path) -> int:
    with _locked(home):
        n = len(load_passkeys(home))
        with contextlib.suppress(FileNotFoundError):
            _path(home, PASSKEYS_FILE).unlink()
        return n


# --- WebAuthn ---------------------------------------------------------------------------------------
class WebAuthnError(ValueError):
    """A registration or assertion that does not verify; the message says which check failed."""


FLAG_UP, FLAG_UV, FLAG_AT, FLAG_ED = 0x01, 0x04, 0x40, 0x80
COSE_ES256, COSE_EDDSA, COSE_RS256 = -7, -8, -257
SUPPORTED_ALGS = (COSE_ES256, COSE_EDDSA, COSE_RS256)  # what the enrolment page asks for, in this order


class CborError(WebAuthnError):
    pass


def cbor_decode(data: bytes) -> Any:
    """Decode one CBOR item that spans all of ``data`` (the definite-length subset WebAuthn uses)."""
    value, end = cbor_item(data, 0)
    if end != len(data):
        raise CborError("trailing bytes after the CBOR item")
    return value


def cbor_item(data: bytes, pos: int, depth: int = 0) -> tuple[Any, int]:
    """Decode the CBOR item at ``pos``; returns (value, position after it)."""
    if depth > 16:
        raise CborError("CBOR nested too deeply")
    if pos >= len(data):
        raise CborError("truncated CBOR")
    initial = data[pos]
    pos += 1
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        arg = info
    elif info <= 27:
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise CborError("truncated CBOR")
        arg = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    else:
        raise CborError("indefinite-length or reserved CBOR items are not accepted")
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major in (2, 3):
        if pos + arg > len(data):
            raise CborError("truncated CBOR string")
        raw = data[pos:pos + arg]
        pos += arg
        if major == 2:
            return bytes(raw), pos
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError:
            raise CborError("CBOR text is not UTF-8") from None
    if major == 4:
        if arg > len(data):
            raise CborError("CBOR array longer than its data")
        items = []
        for _ in range(arg):
            item, pos = cbor_item(data, pos, depth + 1)
            items.append(item)
        return items, pos
    if major == 5:
        if arg > len(data):
            raise CborError("CBOR map longer than its data")
        out: dict[Any, Any] = {}
        for _ in range(arg):
            key, pos = cbor_item(data, pos, depth + 1)
            if not isinstance(key, (int, str, bytes)) or isinstance(key, bool):
                raise CborError("CBOR map key of an unexpected type")
            if key in out:
                raise CborError("duplicate CBOR map key")
            out[key], pos = cbor_item(data, pos, depth + 1)
        return out, pos
    if major == 6:
        raise CborError("CBOR tags are not accepted")
    simple = {20: False, 21: True, 22: None, 23: None}
    if info in simple:
        return simple[info], pos
    if info in (25, 26, 27):
        fmt = {25: ">e", 26: ">f", 27: ">d"}[info]
        return struct.unpack(fmt, arg.to_bytes(1 << (info - 24), "big"))[0], pos
    raise CborError("unsupported CBOR simple value")


def cose_public_key(cose: Any) -> tuple[int, Any]:
    """(algorithm, public key object) from a COSE_Key map: ES256 (P-256), EdDSA (Ed25519) or RS256."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if not isinstance(cose, dict):
        raise WebAuthnError("the credential public key is not a COSE key")
    kty, alg = cose.get(1), cose.get(3)
    try:
        if kty == 2 and alg == COSE_ES256:
            x, y = cose.get(-2), cose.get(-3)
            if cose.get(-1) != 1 or not isinstance(x, bytes) or not isinstance(y, bytes) or len(x) != 32 \
                    or len(y) != 32:
                raise WebAuthnError("ES256 key is not a P-256 point")
            return alg, ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        if kty == 1 and alg == COSE_EDDSA:
            x = cose.get(-2)
            if cose.get(-1) != 6 or not isinstance(x, bytes) or len(x) != 32:
                raise WebAuthnError("EdDSA key is not Ed25519")
            return alg, ed25519.Ed25519PublicKey.from_public_bytes(x)
        if kty == 3 and alg == COSE_RS256:
            n, e = cose.get(-1), cose.get(-2)
            if not isinstance(n, bytes) or not isinstance(e, bytes):
                raise WebAuthnError("RS256 key is malformed")
            key = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
            if key.key_size < 2048:
                raise WebAuthnError("RS256 key shorter than 2048 bits")
            return alg, key
    except ValueError as exc:
        if isinstance(exc, WebAuthnError):
            raise
        raise WebAuthnError(f"the credential public key is invalid ({exc})") from None
    raise WebAuthnError(f"unsupported key (kty {kty!r}, alg {alg!r}); ES256, EdDSA and RS256 are accepted")


def verify_signature(alg: int, key: Any, signature: bytes, signed: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    try:
        if alg == COSE_ES256:
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        elif alg == COSE_EDDSA:
            key.verify(signature, signed)
        elif alg == COSE_RS256:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise WebAuthnError(f"unsupported algorithm {alg}")
    except (InvalidSignature, ValueError, TypeError) as exc:
        if isinstance(exc, WebAuthnError):
            raise
        raise WebAuthnError("the passkey's signature does not verify") from None


@dataclass(frozen=True)
class AuthenticatorData:
    rp_id_hash: bytes
    flags: int
    sign_count: int
    aaguid: bytes | None = None
    credential_id: bytes | None = None
    cose_key: bytes | None = None  # the COSE_Key bytes as the authenticator wrote them


def parse_authenticator_data(data: bytes) -> AuthenticatorData:
    if len(data) < 37:
        raise WebAuthnError("authenticator data is too short")
    rp_id_hash, flags, count = data[:32], data[32], int.from_bytes(data[33:37], "big")
    pos = 37
    aaguid = cred_id = cose = None
    if flags & FLAG_AT:
        if len(data) < pos + 18:
            raise WebAuthnError("attested credential data is truncated")
        aaguid = data[pos:pos + 16]
        n = int.from_bytes(data[pos + 16:pos + 18], "big")
        pos += 18
        if not 0 < n <= 1023 or pos + n > len(data):
            raise WebAuthnError("credential id length is invalid")
        cred_id = data[pos:pos + n]
        pos += n
        _, end = cbor_item(data, pos)
        cose = data[pos:end]
        pos = end
    if flags & FLAG_ED:
        ext, pos = cbor_item(data, pos)
        if not isinstance(ext, dict):
            raise WebAuthnError("authenticator extensions are not a map")
    if pos != len(data):
        raise WebAuthnError("unexpected bytes after the authenticator data")
    return AuthenticatorData(bytes(rp_id_hash), flags, count, aaguid and bytes(aaguid), cred_id and bytes(cred_id),
                             cose and bytes(cose))


def check_client_data(raw: bytes, *, kind: str, challenge: bytes, origin: str) -> dict[str, Any]:
    """clientDataJSON: the ceremony type, OUR challenge, OUR origin, not embedded cross-origin."""
    try:
        data = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebAuthnError("clientDataJSON is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != kind:
        raise WebAuthnError(f"clientDataJSON type is not {kind}")
    try:
        got = b64url_decode(str(data.get("challenge", "")))
    except ValueError:
        raise WebAuthnError("clientDataJSON challenge is not base64url") from None
    if not hmac.compare_digest(got, challenge):
        raise WebAuthnError("the challenge is not the one this page issued")
    if data.get("origin") != origin:
        raise WebAuthnError(f"the origin {str(data.get('origin'))[:80]!r} is not {origin}")
    if data.get("crossOrigin") is True or data.get("topOrigin") not in (None, origin):
        raise WebAuthnError("the ceremony ran inside another site's frame")
    return data


def _check_flags(ad: AuthenticatorData, rp_id: str) -> None:
    if not hmac.compare_digest(ad.rp_id_hash, hashlib.sha256(rp_id.encode("ascii")).digest()):
        raise WebAuthnError(f"the passkey answered for another site (rpIdHash is not sha256({rp_id!r}))")
    if not ad.flags & FLAG_UP:
        raise WebAuthnError("the authenticator did not report user presence (UP flag)")
    if not ad.flags & FLAG_UV:
        raise WebAuthnError("the authenticator did not verify the user (UV flag): use a passkey unlocked by a "
                            "fingerprint, face or the device PIN")


def verify_registration(*, attestation_object: bytes, client_data: bytes, challenge: bytes, origin: str,
                        credential_id: bytes | None = None, rp_id: str = RP_ID) -> dict[str, Any]:
    """Verify a navigator.credentials.create() answer (attestation 'none'); the record to store."""
    check_client_data(client_data, kind="webauthn.create", challenge=challenge, origin=origin)
    att = cbor_decode(attestation_object)
    if not isinstance(att, dict) or not isinstance(att.get("authData"), bytes):
        raise WebAuthnError("the attestation object is malformed")
    if att.get("fmt") != "none" or att.get("attStmt") != {}:
        raise WebAuthnError(f"attestation format {str(att.get('fmt'))[:20]!r}: only 'none' is accepted")
    ad = parse_authenticator_data(att["authData"])
    _check_flags(ad, rp_id)
    if ad.credential_id is None or ad.cose_key is None:
        raise WebAuthnError("the authenticator data carries no new credential (AT flag)")
    if credential_id is not None and not hmac.compare_digest(credential_id, ad.credential_id):
        raise WebAuthnError("the credential id does not match the authenticator data")
    alg, _key = cose_public_key(cbor_decode(ad.cose_key))
    return {"id": b64url(ad.credential_id), "alg": alg, "cose": b64url(ad.cose_key), "sign_count": ad.sign_count,
            "aaguid": (ad.aaguid or b"").hex()}


def verify_assertion(home: Path, *, credential_id: str, client_data: bytes, authenticator_data: bytes,
                     signature: bytes, challenge: bytes, origin: str, rp_id: str = RP_ID,
                     now: datetime | None = None) -> str:
    """Verify a navigator.credentials.get() answer against the enrolled passkeys; returns the passkey's name.

    Checks: an enrolled credential; clientDataJSON (type, challenge, origin); rpIdHash; UP and UV; the
    signature over authenticatorData || sha256(clientDataJSON); a signature counter that went up (unless the
    authenticator keeps none: both zero). The new counter is stored."""
    with _locked(home):
        try:
            data = _read_private(_path(home, PASSKEYS_FILE)) or {}
        except PresenceError as exc:
            raise WebAuthnError(str(exc)) from None
        creds = [c for c in data.get("credentials") or [] if isinstance(c, dict)]
        cred = next((c for c in creds if hmac.compare_digest(str(c.get("id", "")), str(credential_id))), None)
        if cred is None:
            raise WebAuthnError("this passkey is not enrolled here (pm-mcp enroll adds one)")
        check_client_data(client_data, kind="webauthn.get", challenge=challenge, origin=origin)
        ad = parse_authenticator_data(authenticator_data)
        _check_flags(ad, rp_id)
        try:
            alg, key = cose_public_key(cbor_decode(b64url_decode(str(cred["cose"]))))
        except (KeyError, ValueError) as exc:
            raise WebAuthnError(f"the stored passkey is unreadable ({exc}); enrol it again") from None
        if alg != cred.get("alg"):
            raise WebAuthnError("the stored passkey's algorithm changed; enrol it again")
        verify_signature(alg, key, signature, authenticator_data + hashlib.sha256(client_data).digest())
        stored = int(cred.get("sign_count", 0) or 0)
        if (ad.sign_count or stored) and ad.sign_count <= stored:
            raise WebAuthnError(f"the signature counter did not go up ({ad.sign_count} after {stored}): a copied "
                                "passkey? Nothing was placed")
        cred["sign_count"] = ad.sign_count
        cred["last_used"] = (now or _now()).isoformat()
        data["credentials"] = creds
        _write_private(_path(home, PASSKEYS_FILE), data)
        return str(cred.get("name") or "passkey")
