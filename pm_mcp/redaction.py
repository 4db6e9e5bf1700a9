"""Secrets out of logs and answers: a process-wide registry of secret values and a log formatter that
replaces them.

    register_secret(api_secret)               # settings' secrets at start-up, derived ones when derived
    register_url_secrets(rpc_url)             # the key parts of a URL (path segments of 8+ characters, query
                                              # values, userinfo): the host stays readable
    redact(text) -> text with "[redacted]"
    install_log_redaction()                   # every handler of the root logger formats through redact()

Why a registry and not only "never log it": third-party loggers at DEBUG print what they hold (web3's
HTTPSessionManager prints the provider URL with its key; aiosqlite's logs every statement with its
parameters, i.e. every stored body). Those loggers are also held at INFO (``quiet_chatty_loggers``); the
formatter is the net for whatever else prints a value we know is secret. Stdlib only: imported by the CLI
before anything heavy.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "[redacted]"
_MIN_LEN = 6
_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()

# loggers that print data (bodies, SQL parameters, URLs) at DEBUG: never below INFO
CHATTY_LOGGERS = ("aiosqlite", "web3")


def register_secret(value: str | None) -> None:
    """Remember a secret value (and its hex variants) so that redact() removes it."""
    if not value:
        return
    value = str(value).strip()
    if len(value) < _MIN_LEN:
        return
    variants = {value}
    if re.fullmatch(r"(0x)?[0-9a-fA-F]{16,}", value):
        bare = value[2:] if value.lower().startswith("0x") else value
        variants |= {bare, bare.lower(), bare.upper(), "0x" + bare.lower()}
    if value.endswith("="):  # base64 secrets are sometimes printed unpadded
        variants.add(value.rstrip("="))
    global _ordered
    with _lock:
        _secrets.update(v for v in variants if len(v) >= _MIN_LEN)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def register_secrets(values: Iterable[str | None]) -> None:
    for v in values:
        register_secret(v)


def url_secret_parts(url: str) -> list[str]:
    """The parts of a URL that may be a credential: userinfo, path segments of 8+ characters, query values."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return [url]
    out: list[str] = []
    if parts.username:
        out.append(parts.username)
    if parts.password:
        out.append(parts.password)
    segments = [seg for seg in parts.path.split("/") if len(seg) >= 8]
    out += segments + [urllib.parse.unquote(seg) for seg in segments]
    for pair in parts.query.split("&"):  # raw and decoded values: a logger may print either
        raw = pair.split("=", 1)[1] if "=" in pair else pair
        out += [raw, urllib.parse.unquote_plus(raw)]
    return [p for p in dict.fromkeys(out) if len(p) >= _MIN_LEN]


def register_url_secrets(url: str | None) -> None:
    if url:
        register_secrets(url_secret_parts(url))


def redact(text: str) -> str:
    if not text:
        return text
    for s in _ordered:
        if s in text:
            text = text.replace(s, MASK)
    return text


def has_secrets() -> bool:
    return bool(_ordered)


class RedactingFormatter(logging.Formatter):
    """Formats with the wrapped formatter, then removes every registered secret (message, traceback, stack)."""

    def __init__(self, inner: logging.Formatter | None = None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def quiet_chatty_loggers() -> None:
    for name in CHATTY_LOGGERS:
        lg = logging.getLogger(name)
        if lg.getEffectiveLevel() < logging.INFO or lg.level < logging.INFO:
            lg.setLevel(logging.INFO)
    logging.getLogger("web3").setLevel(logging.WARNING)  # its INFO lines name provider URLs too


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (the root logger by default) formats through redact(); idempotent."""
    logger = logger or logging.getLogger()
    for h in logger.handlers:
        if not isinstance(h.formatter, RedactingFormatter):
            h.setFormatter(RedactingFormatter(h.formatter))
    quiet_chatty_loggers()
