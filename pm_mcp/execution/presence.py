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
