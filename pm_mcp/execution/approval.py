"""The approval page: a loopback web page, served by this process, where the PERSON approves an intent.

- Bound to 127.0.0.1 (and ::1 at the same port, where the machine has it) on ``PM_MCP_APPROVAL_PORT``
  (0 = a free port); stdlib asyncio, no framework; strict HTTP parsing (a malformed Content-Length, a
  repeated Host / Content-Length, Transfer-Encoding, folded headers: 400).
- One unguessable URL per intent (``secrets.token_urlsafe(32)``; only its sha256 is stored). Paper pages
  are ``http://127.0.0.1:<port>/i/<token>``; live pages ``http://localhost:<port>/i/<token>`` (a secure
  context with a domain, which passkeys need).
- GET shows the order: first OUR lines (mode, side, size, limit, worst-case cost and loss with currency,
  venue, expiry, order hash; pm_mcp.execution.summary), then the policy verdict and the buttons, then the
  venue's words (titles, outcomes, rule text) cleaned, capped and quoted. GET never changes anything.
- POST (approve / reject) must carry the page's CSRF token and the order hash it showed, come from
  this origin (``Origin`` equal to the page's origin; ``Sec-Fetch-Site: same-origin`` when sent) and
  name this host (``Host``: 127.0.0.1 / localhost / [::1] on our port; defeats DNS rebinding).
- A PAPER order is approved by the link alone. A LIVE order also needs a presence factor the assistant
  cannot pass (pm_mcp.execution.presence): the PIN set with ``pm-mcp set-pin`` (counted, locked out), or a
  passkey enrolled with ``pm-mcp enroll`` (WebAuthn assertion with user verification against a
  single-use challenge bound to the intent).
- Every piece of text is HTML-escaped; pages have a strict Content-Security-Policy (no scripts, except
  the one passkey script served from package data on pages that use a passkey: ``script-src 'self'``, no
  inline script), cannot be framed, and are never cached.
- :class:`EnrolmentServer` / :func:`run_enrolment`: the page ``pm-mcp enroll`` serves to create a passkey.
- With ``PM_MCP_PUBLIC_URL`` set (replicas of ``serve --http`` behind a load balancer) there is no loopback
  listener: every replica serves the page on its MCP HTTP port (:meth:`ApprovalServer.serve_asgi`, mounted by
  pm_mcp.http_serve) from the shared store, links are ``<public_url>/i/<token>``, and Host / Origin must be the
  public URL's (or a ``PM_MCP_ALLOWED_HOSTS`` entry).
- With OAuth on (``PM_MCP_AUTH_ISSUER``; :class:`PageSignIn`) the link is not enough: the page signs the person in
  at the issuer (authorization code + PKCE S256, as the public client ``PM_MCP_AUTH_PAGE_CLIENT_ID``, asking for
  ``resource=<public_url>/mcp``; back at ``/auth/callback``), checks the access token with the same rules as the MCP
  endpoint (pm_mcp.auth.JwtVerifier) and keeps who it is in a signed cookie (HMAC-SHA256 with a key derived from
  ``PM_MCP_STATE_KEYS``, so every replica reads it; HttpOnly, SameSite=Lax, Secure and ``__Host-`` on https; it
  lasts as long as the access token). Every page request then runs as that person (``principal.use``): an intent
  of someone else's reads like a link that does not exist (404). Approving needs pm:paper (pm:trade for a LIVE
  order); the sign-in asks for them.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import html
import json
import logging
import secrets
from collections.abc import Iterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pm_mcp import principal
from pm_mcp.domain.intents import IntentStatus, money, price_text
from pm_mcp.domain.untrusted import clean_block, clean_inline, quote_inline
from pm_mcp.execution import presence, summary
from pm_mcp.execution.engine import ExecutionEngine, ExecutionError
from pm_mcp.execution.journal import IntentRecord
from pm_mcp.venues.registry import display_name

log = logging.getLogger(__name__)

STATIC_PREFIX = "/static/"  # the page's one script (passkeys), served from package data
SIGN_IN_PREFIX = "/auth/"  # with OAuth on: the sign-in redirect back from the issuer (/auth/callback)
STATIC_FILES = frozenset({"passkey.js"})
# pages that use a passkey run exactly one script: ours, from this origin (no inline script, no eval)
SCRIPT_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'")
CHALLENGE_TTL = timedelta(minutes=10)
MAX_CHALLENGES = 256
MAX_HEADER_BYTES = 16_384
MAX_BODY_BYTES = 8_192
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make Chrome send "Origin: null" on the POST
    "Cache-Control": "no-store",
}
REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 500: "Internal Server Error"}


async def listen_loopback(handler: Any, host: str, port: int) -> list[asyncio.base_events.Server]:
    """Listen on ``host`` (127.0.0.1) and, where the machine has it, on ::1 at the same port: a browser may
    resolve ``localhost`` to either. A free port (0) that is taken on ::1 by someone else is not used (their
    server would receive our page's token), so another one is picked."""
    last: OSError | None = None
    for _ in range(8):
        v4 = await asyncio.start_server(handler, host, port, limit=MAX_HEADER_BYTES)
        got = v4.sockets[0].getsockname()[1]
        try:
            v6 = await asyncio.start_server(handler, "::1", got, limit=MAX_HEADER_BYTES)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and port == 0:
                v4.close()
                await v4.wait_closed()
                last = exc
                continue
            if exc.errno == errno.EADDRINUSE:
                v4.close()
                await v4.wait_closed()
                raise OSError(errno.EADDRINUSE, f"port {got} is taken on ::1 by another program (a browser opening "
                                                "localhost could reach it instead)") from None
            return [v4]  # no IPv6 loopback here: browsers cannot reach ::1 either
        return [v4, v6]
    raise last or OSError("no free loopback port")


class BadRequest(Exception):
    """A request we do not parse: answered with ``status`` (400 / 413), never guessed at."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# headers we read: each must appear at most once (two Host headers, or two lengths, are ambiguous: a proxy
# and we could read different ones)
SINGLE_HEADERS = frozenset({"host", "content-length", "content-type", "origin", "sec-fetch-site",
                            "transfer-encoding"})
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _add_header(headers: dict[str, str], key: str, value: str, shown: str) -> None:
    """One header line into ``headers`` (lower-case keys): a repeat is joined with ", ", except a header that must
    be single (SINGLE_HEADERS), which is a BadRequest naming it as ``shown``."""
    if key in headers:
        if key in SINGLE_HEADERS:
            raise BadRequest(400, f"the {shown} header appears more than once")
        headers[key] += ", " + value
    else:
        headers[key] = value


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Request line and headers of one HTTP/1.x request (``head`` ends with the blank line). Strict: a
    malformed line, an obsolete folded header, a header we read twice, a missing Host or any
    Transfer-Encoding (we only take Content-Length bodies) is a :class:`BadRequest`."""
    text = head.decode("latin-1")
    if not text.endswith("\r\n\r\n"):
        raise BadRequest(400, "malformed request")
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TOKEN_CHARS or not parts[1].startswith("/") \
            or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if "\r" in line or "\n" in line or "\0" in line:
            raise BadRequest(400, "malformed header line")
        if line[:1] in (" ", "\t"):
            raise BadRequest(400, "folded header lines are not accepted")
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= _TOKEN_CHARS:
            raise BadRequest(400, "malformed header line")
        _add_header(headers, name.lower(), value.strip(" \t"), name)
    if version == "HTTP/1.1" and "host" not in headers:
        raise BadRequest(400, "the Host header is missing")
    if "transfer-encoding" in headers:
        raise BadRequest(400, "Transfer-Encoding is not accepted; send a Content-Length")
    return method, target, headers


def body_length(headers: dict[str, str]) -> int:
    """The Content-Length: digits only (no sign, no spaces inside, no list), at most MAX_BODY_BYTES."""
    raw = headers.get("content-length")
    if raw is None or raw == "":
        if raw == "":
            raise BadRequest(400, "the Content-Length header is empty")
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise BadRequest(400, "the Content-Length header is not a number")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise BadRequest(413, "the request body is too large")
    return length


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _LoopbackPages:
    """A tiny HTTP/1.1 server on loopback for our own pages: strict parsing, one request per connection,
    security headers on every answer, Host checked against our port (defeats DNS rebinding)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.want_port = port
        self.port = 0
        self._servers: list[asyncio.base_events.Server] = []

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def localhost_origin(self) -> str:
        """``http://localhost:<port>``: a secure context with a domain, which passkeys (WebAuthn) need."""
        return f"http://localhost:{self.port}"

    async def start(self) -> None:
        self._servers = await listen_loopback(self._handle, self.host, self.want_port)
        self.port = self._servers[0].sockets[0].getsockname()[1]

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    async def _route(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> tuple[int, str, dict[str, str] | None]:
        raise NotImplementedError

    def _our_path(self, method: str, target: str,
                  headers: dict[str, str]) -> tuple[tuple[int, str, dict[str, str] | None] | None, list[str]]:
        """What every page route checks first: the Host (403), our static script (served here); else the
        path's segments for the page's own routing. Returns (the answer when already decided, segments)."""
        if not self._host_ok(headers):
            return (403, _page("Forbidden", "<p>Wrong host.</p>"), None), []
        path = target.split("?", 1)[0]
        static = self._static(method, path)
        if static is not None:
            return static, []
        return None, [s for s in path.split("/") if s]

    def _after_response(self) -> None:
        """Called once an answer has been written (the enrolment server stops after its last one)."""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            try:
                method, target, headers = parse_head(head)
                length = body_length(headers)
            except BadRequest as exc:
                await self._send(writer, exc.status, _page(REASONS.get(exc.status, "Bad request"),
                                                           f"<p>{html.escape(str(exc))}</p>"))
                return
            body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
            status, payload, extra = await self._route(method, target, headers, body)
            await self._send(writer, status, payload, extra)
            self._after_response()
        except (asyncio.IncompleteReadError, TimeoutError):
            return  # the client went away before sending the body it announced
        except Exception:  # noqa: BLE001 - a page request must never take the server down
            log.exception("page server error")
            try:
                await self._send(writer, 500, _page("Error", "<p>Something went wrong; nothing was placed.</p>"))
            except Exception:  # noqa: BLE001
                pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:  # noqa: BLE001
                pass

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: str,
                    extra: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        hdrs = answer_headers(len(data), extra)
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        writer.write(head.encode("latin-1") + b"\r\n" + data)
        await writer.drain()

    def _host_ok(self, headers: dict[str, str]) -> bool:
        return headers.get("host", "") in (f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}")

    def _origin_ok(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if origin not in (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}",
                          f"http://[::1]:{self.port}"):
            return False
        site = headers.get("sec-fetch-site")
        return site in (None, "same-origin")

    @staticmethod
    def _static(method: str, path: str) -> tuple[int, str, dict[str, str] | None] | None:
        """Our one script, from package data (None: not a static path)."""
        if not path.startswith(STATIC_PREFIX):
            return None
        name = path[len(STATIC_PREFIX):]
        if name not in STATIC_FILES:
            return 404, _page("Not found", "<p>No such file.</p>"), None
        if method not in ("GET", "HEAD"):
            return 405, _page("Not allowed", "<p>Read only.</p>"), {"Allow": "GET"}
        return 200, static_text(name), {"Content-Type": "text/javascript; charset=utf-8"}

    @staticmethod
    def _form(headers: dict[str, str], body: bytes) -> dict[str, str] | None:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return None
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def answer_headers(length: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of every page answer: type, length, one request per connection, the security headers."""
    return {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(length), "Connection": "close",
            **SECURITY_HEADERS, **(extra or {})}


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """``host`` (a Host header value, lower case) is one of ``allowed``, where ``name:*`` means any port."""
    host = host.lower()
    for entry in allowed:
        if host == entry or (entry.endswith(":*") and host.startswith(entry[:-1]) and host[len(entry) - 1:].isdigit()):
            return True
    return False


async def asgi_request(scope: dict[str, Any], receive: Any) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) of an ASGI HTTP request, as strictly as :func:`parse_head` reads a raw
    one: a header we read twice, any Transfer-Encoding, a bad or too large Content-Length is a BadRequest."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or []:
        key = raw_name.decode("latin-1").lower()
        _add_header(headers, key, raw_value.decode("latin-1"), key)
    if "transfer-encoding" in headers:
        raise BadRequest(400, "Transfer-Encoding is not accepted; send a Content-Length")
    length = body_length(headers)
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "the client went away")
        body += message.get("body", b"")
        if len(body) > length:
            raise BadRequest(400, "the body is longer than its Content-Length")
        if not message.get("more_body"):
            break
    if len(body) != length:
        raise BadRequest(400, "the body is shorter than its Content-Length")
    path = scope.get("raw_path") or scope.get("path", "/").encode()
    target = path.decode("latin-1") + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string")
                                       else "")
    return scope.get("method", "GET"), target, headers, body


def static_text(name: str) -> str:
    """A file shipped in pm_mcp/execution/static (package data: the wheel carries it)."""
    from importlib.resources import files

    return files("pm_mcp.execution").joinpath("static", name).read_text(encoding="utf-8")


SESSION_COOKIE = "pm_session"
LOGIN_COOKIE = "pm_login"
LOGIN_TTL_S = 600
CALLBACK_PATH = SIGN_IN_PREFIX + "callback"


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageSignIn:
    """The approval page's sign-in with OAuth on (see the module docstring): the redirect to the issuer, the
    callback, and the signed cookie that says who the browser belongs to."""

    def __init__(self, settings: Any, verifier: Any = None) -> None:
        from pm_mcp.auth import JwtVerifier
        from pm_mcp.principal import SCOPE_PAPER, SCOPE_TRADE

        self.public_url = settings.public_url.rstrip("/")
        self.client_id = settings.auth_page_client_id or ""
        self.resource = settings.mcp_resource_url
        self.verifier = verifier or JwtVerifier(settings.auth_issuer, settings.effective_auth_audience,
                                                settings.auth_jwks_url)
        self.secure = self.public_url.startswith("https://")
        prefix = "__Host-" if self.secure else ""  # __Host-: Secure, Path=/, no Domain (a sibling host cannot set it)
        self.session_name, self.login_name = prefix + SESSION_COOKIE, LOGIN_COOKIE
        keys = settings.state_key_list or [secrets.token_hex(32)]  # without PM_MCP_STATE_KEYS: this process only
        self.keys = [hashlib.sha256(b"pm-mcp approval page session\0" + k.encode()).digest() for k in keys]
        self.scopes = f"{SCOPE_PAPER} {SCOPE_TRADE}" if settings.mode == "live" else SCOPE_PAPER

    # --- signed values ---------------------------------------------------------------------------
    def seal(self, data: dict[str, Any]) -> str:
        body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
        return body + "." + _b64(hmac.new(self.keys[0], body.encode(), hashlib.sha256).digest())

    def unseal(self, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body, sig = value.split(".")
        try:
            got = _unb64(sig)
            if not any(hmac.compare_digest(got, hmac.new(k, body.encode(), hashlib.sha256).digest())
                       for k in self.keys):
                return None
            data = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)) \
                or data["exp"] <= datetime.now(UTC).timestamp():
            return None
        return data

    @staticmethod
    def cookie_value(headers: dict[str, str], name: str) -> str | None:
        for part in headers.get("cookie", "").replace(", ", "; ").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    def set_cookie(self, name: str, value: str, max_age: int, path: str = "/") -> str:
        return (f"{name}={value}; Max-Age={max(0, max_age)}; Path={path}; HttpOnly; SameSite=Lax"
                + ("; Secure" if self.secure else ""))

    def principal(self, headers: dict[str, str]) -> principal.Principal | None:
        """The signed-in person of this request (None: not signed in, or the sign-in has expired)."""
        data = self.unseal(self.cookie_value(headers, self.session_name))
        if data is None or not isinstance(data.get("owner"), str) or not isinstance(data.get("scopes"), list):
            return None
        return principal.Principal(data["owner"], frozenset(map(str, data["scopes"])), authenticated=True)

    # --- the flow -----------------------------------------------------------------------------------
    async def redirect(self, return_to: str) -> tuple[int, str, dict[str, str] | None]:
        """303 to the issuer's authorization endpoint, the PKCE verifier and state in a short signed cookie."""
        from urllib.parse import urlencode

        from pm_mcp.auth import IssuerUnavailable

        try:
            endpoint = (await self.verifier.discover()).get("authorization_endpoint")
        except IssuerUnavailable as exc:
            log.warning("approval page: cannot sign people in: %s", exc)
            endpoint = None
        if not isinstance(endpoint, str) or not endpoint:
            return 503, _page("Sign-in unavailable", "<p>The sign-in service cannot be reached right now; try the "
                                                     "link again in a moment. Nothing was placed.</p>"), None
        verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        login = self.seal({"state": state, "verifier": verifier, "return_to": return_to,
                           "exp": int(datetime.now(UTC).timestamp()) + LOGIN_TTL_S})
        query = urlencode({"response_type": "code", "client_id": self.client_id,
                           "redirect_uri": self.public_url + CALLBACK_PATH, "scope": self.scopes, "state": state,
                           "code_challenge": challenge, "code_challenge_method": "S256", "resource": self.resource})
        location = endpoint + ("&" if "?" in endpoint else "?") + query
        return 303, _page("Sign in", f"<p><a href=\"{html.escape(location)}\">Sign in</a> to see this order.</p>"), \
            {"Location": location, "Set-Cookie": self.set_cookie(self.login_name, login, LOGIN_TTL_S, SIGN_IN_PREFIX)}

    async def callback(self, method: str, target: str,
                       headers: dict[str, str]) -> tuple[int, str, dict[str, str] | None]:
        """The issuer sends the browser back here with a code: exchange it, check the token, set the session."""
        from pm_mcp.auth import IssuerUnavailable, TokenRejected, principal_of

        if method not in ("GET", "HEAD"):
            return 405, _page("Not allowed", "<p>Sign-in answers are links.</p>"), {"Allow": "GET"}
        query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
        login = self.unseal(self.cookie_value(headers, self.login_name))
        again = "Open the approval link again to sign in. Nothing was placed."
        if query.get("error"):
            return 403, _page("Not signed in", f"<p>The sign-in did not finish "
                                               f"({html.escape(query['error'][:60])}). {again}</p>"), None
        if login is None or not hmac.compare_digest(str(login.get("state")), query.get("state", "")) \
                or not query.get("code"):
            return 400, _page("Not signed in", f"<p>This sign-in answer is stale or not for this browser. "
                                               f"{again}</p>"), None
        try:
            token = await self.verifier.exchange_code(code=query["code"], redirect_uri=self.public_url + CALLBACK_PATH,
                                                      client_id=self.client_id, code_verifier=str(login["verifier"]))
            access = await self.verifier.check(token)
        except TokenRejected as exc:
            return 403, _page("Not signed in", f"<p>Sign-in refused: {html.escape(str(exc))}. {again}</p>"), None
        except IssuerUnavailable as exc:
            log.warning("approval page: sign-in failed: %s", exc)
            return 503, _page("Sign-in unavailable", f"<p>The sign-in service cannot be reached. {again}</p>"), None
        who = principal_of(access)
        now = int(datetime.now(UTC).timestamp())
        until = max(int(access.expires_at or 0), now + 60)  # a token inside its clock-skew leeway still gets a minute
        session = self.seal({"owner": who.owner, "scopes": sorted(who.scopes), "exp": until})
        back = str(login.get("return_to") or "/")
        if not back.startswith("/i/") or "//" in back or "\\" in back:
            back = "/"
        max_age = until - now
        return 303, _page("Signed in", f"<p>Signed in. <a href=\"{html.escape(back)}\">Back to the order</a></p>"), \
            {"Location": back, "Set-Cookie": self.set_cookie(self.session_name, session, max_age)}


class ApprovalServer(_LoopbackPages):
    def __init__(self, engine: ExecutionEngine, host: str = "127.0.0.1", port: int = 0, *,
                 public_url: str | None = None, allowed_hosts: Iterable[str] = ()) -> None:
        super().__init__(host, port)
        self.engine = engine
        settings = getattr(engine, "settings", None)
        self.sign_in = PageSignIn(settings) if public_url and getattr(settings, "oauth", False) else None
        # set: no listener of our own; `serve --http` serves the page (serve_asgi) at this URL, on every replica
        self.public_url = public_url.rstrip("/") if public_url else None
        self._public_hosts = ((urlsplit(self.public_url).netloc.lower(), *allowed_hosts) if self.public_url
                              else ())
        self.urls: dict[str, str] = {}  # intent id -> its page URL (this process)
        self._pin_lock = asyncio.Lock()  # one PIN check at a time (each is counted)
        self.opened_in_browser: set[str] = set()  # intents whose page PM_MCP_OPEN_BROWSER already opened
        self._challenges: dict[str, tuple[str, datetime]] = {}  # passkey challenge -> (intent id, expiry)

    @property
    def origin(self) -> str:
        return self.public_url or super().origin

    @property
    def localhost_origin(self) -> str:
        return self.public_url or super().localhost_origin

    async def start(self) -> None:
        if self.public_url:
            log.info("approval page served by the HTTP transport at %s/i/...", self.public_url)
            return
        await super().start()
        log.info("approval page listening on %s", self.origin)

    def _host_ok(self, headers: dict[str, str]) -> bool:
        if not self.public_url:
            return super()._host_ok(headers)
        return host_allowed(headers.get("host", ""), self._public_hosts)

    def _origin_ok(self, headers: dict[str, str]) -> bool:
        if not self.public_url:
            return super()._origin_ok(headers)
        origin = urlsplit(headers.get("origin") or "")
        if origin.scheme != urlsplit(self.public_url).scheme or origin.path or not origin.netloc \
                or not host_allowed(origin.netloc, self._public_hosts):
            return False
        return headers.get("sec-fetch-site") in (None, "same-origin")

    async def serve_asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer one page request arriving through an ASGI server (pm_mcp.http_serve), with the same routes,
        checks and headers as the loopback listener."""
        try:
            method, target, headers, body = await asgi_request(scope, receive)
            status, payload, extra = await self._route(method, target, headers, body)
        except BadRequest as exc:
            status, payload, extra = exc.status, _page(REASONS.get(exc.status, "Bad request"),
                                                       f"<p>{html.escape(str(exc))}</p>"), None
        except Exception:  # noqa: BLE001 - a page request must never take the server down
            log.exception("page server error")
            status, payload, extra = 500, _page("Error", "<p>Something went wrong; nothing was placed.</p>"), None
        data = payload.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in answer_headers(len(data), extra).items()]})
        await send({"type": "http.response.body", "body": data})

    async def new_url(self, intent_id: str) -> str:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        await self.engine.journal.insert_approval(intent_id, _sha(token), csrf)
        # live pages are served as localhost (passkeys need a domain); paper pages keep the numeric loopback
        url = f"{self.localhost_origin if self.engine.mode == 'live' else self.origin}/i/{token}"
        self.urls[intent_id] = url
        return url

    async def url_for(self, intent_id: str) -> str:
        """The intent's page URL (a new one after a restart: only token hashes are stored)."""
        return self.urls.get(intent_id) or await self.new_url(intent_id)

    async def _route(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> tuple[int, str, dict[str, str] | None]:
        answer, segs = self._our_path(method, target, headers)
        if answer is not None:
            return answer
        if self.sign_in is not None and segs == [s for s in CALLBACK_PATH.split("/") if s]:
            return await self.sign_in.callback(method, target, headers)
        if len(segs) < 2 or segs[0] != "i" or len(segs) > 3:
            return 404, _page("Not found", "<p>No such page.</p>"), None
        if self.sign_in is None:
            return await self._intent_route(method, headers, body, segs)
        who = self.sign_in.principal(headers)
        if who is None:  # before anything is looked up: a stranger learns nothing about the link
            if method in ("GET", "HEAD") and len(segs) == 2:
                return await self.sign_in.redirect(f"/i/{segs[1]}")
            return 403, _page("Sign in first", "<p>Your sign-in is missing or has expired: open the approval link "
                                               "again to sign in. Nothing was placed.</p>"), None
        with principal.use(who):
            return await self._intent_route(method, headers, body, segs)

    async def _intent_route(self, method: str, headers: dict[str, str], body: bytes,
                            segs: list[str]) -> tuple[int, str, dict[str, str] | None]:
        token = segs[1]
        found = await self.engine.journal.approval_by_token(_sha(token))
        if found is None:
            return 404, _page("Not found", "<p>No such page.</p>"), None
        intent_id, csrf = found
        if self.sign_in is not None:
            # approval tokens are global; the intent is the signed-in person's or, for them, does not exist
            try:
                await self.engine.get_intent(intent_id)
            except ExecutionError:
                return 404, _page("Not found", "<p>No such page.</p>"), None
        if len(segs) == 2:
            if method not in ("GET", "HEAD"):
                return 405, _page("Not allowed", "<p>Use the buttons on the page.</p>"), {"Allow": "GET"}
            rec = await self.engine.get_intent(intent_id)
            orders = await self.engine.journal.orders_for_intent(intent_id)
            return (200, *self._render(rec, orders, csrf=csrf, token=token))
        action = segs[2]
        if method != "POST" or action not in ("approve", "reject"):
            return 405, _page("Not allowed", "<p>Approve and Reject are buttons on the page.</p>"), {"Allow": "POST"}
        if not self._origin_ok(headers):
            return 403, _page("Forbidden", "<p>This request did not come from the approval page; nothing was "
                                           "placed.</p>"), None
        form = self._form(headers, body)
        if form is None:
            return 400, _page("Bad request", "<p>Use the buttons on the page.</p>"), None
        if not hmac.compare_digest(form.get("csrf", ""), csrf):
            return 403, _page("Forbidden", "<p>The page token is missing or wrong; reload the page. Nothing was "
                                           "placed.</p>"), None
        location = {"Location": f"/i/{token}"}
        if action == "approve":
            rec = await self.engine.get_intent(intent_id)
            refusal = self._scope_refusal(rec)
            if refusal is not None:
                orders = await self.engine.journal.orders_for_intent(intent_id)
                return (403, *self._render(rec, orders, csrf=csrf, token=token, notice=refusal))
            if self.needs_presence(rec):
                refusal = await self._check_presence(rec, form)
                if refusal is not None:
                    orders = await self.engine.journal.orders_for_intent(intent_id)
                    return (403, *self._render(rec, orders, csrf=csrf, token=token, notice=refusal))
        try:
            if action == "approve":
                await self.engine.confirm(intent_id, via="page", order_hash=form.get("order_hash", ""))
            else:
                await self.engine.reject(intent_id, via="page", reason="the person rejected it on the approval page")
        except ExecutionError as exc:
            rec = await self.engine.get_intent(intent_id)
            orders = await self.engine.journal.orders_for_intent(intent_id)
            return (409, *self._render(rec, orders, csrf=csrf, token=token, notice=str(exc)))
        return 303, _page("Done", "<p>Done. <a href=\"" + html.escape(location["Location"]) + "\">Back</a></p>"), location

    def _scope_refusal(self, rec: IntentRecord) -> str | None:
        """With OAuth on: approving needs pm:paper, and pm:trade for a LIVE order."""
        from pm_mcp.principal import SCOPE_PAPER, SCOPE_TRADE

        if self.sign_in is None:
            return None
        need = SCOPE_TRADE if self.needs_presence(rec) else SCOPE_PAPER
        if principal.current().has(need):
            return None
        return f"Your sign-in does not grant {need}, which approving this order needs. Nothing was placed."

    # --- presence (live orders) ---------------------------------------------------------------
    def needs_presence(self, rec: IntentRecord) -> bool:
        """A LIVE order (or any order on a live server) needs the person, not just the link."""
        return rec.intent.mode == "live" or self.engine.mode == "live"

    def _factors(self) -> dict[str, Any]:
        home = self.engine.settings.home
        return {"pin": presence.pin_enrolled(home), "passkeys": presence.load_passkeys(home)}

    def _new_challenge(self, rec: IntentRecord) -> str:
        """A single-use passkey challenge bound to this intent (kept in memory only)."""
        now = datetime.now(UTC)
        for key, (_, until) in list(self._challenges.items()):
            if until <= now:
                del self._challenges[key]
        while len(self._challenges) >= MAX_CHALLENGES:
            del self._challenges[next(iter(self._challenges))]
        challenge = presence.b64url(secrets.token_bytes(32))
        self._challenges[challenge] = (rec.intent.id, min(rec.intent.expires_at, now + CHALLENGE_TTL))
        return challenge

    async def _check_presence(self, rec: IntentRecord, form: dict[str, str]) -> str | None:
        """None when the form proves the person is there; otherwise the refusal shown on the page."""
        home = self.engine.settings.home
        intent_id = rec.intent.id
        journal = self.engine.journal
        if form.get("passkey_client_data"):
            return await self._check_passkey(rec, form)
        pin = form.get("pin", "")
        if pin:
            if not presence.pin_enrolled(home):
                await journal.log("presence.refused", intent_id, {"why": "no PIN set"})
                return f"No PIN is set up for this server; {presence.ENROL_ADVICE}. Nothing was placed."
            async with self._pin_lock:
                result = await asyncio.to_thread(presence.check_pin, home, pin)
            await journal.log("presence.pin_ok" if result.ok else "presence.pin_failed", intent_id,
                              {"failures": result.failures, "total_failures": result.total_failures,
                               "locked_until": result.locked_until.isoformat() if result.locked_until else None})
            if result.ok:
                return None
            return _sentence(result.message)
        factors = self._factors()
        await journal.log("presence.refused", intent_id, {"why": "no factor in the request"})
        if not factors["pin"] and not factors["passkeys"]:
            return ("This LIVE order needs your PIN or passkey, and none is set up: "
                    f"{presence.ENROL_ADVICE}. Nothing was placed.")
        return (f"This LIVE order needs your {_factor_names(factors)}: the link alone cannot place it. "
                "Nothing was placed.")

    async def _check_passkey(self, rec: IntentRecord, form: dict[str, str]) -> str | None:
        intent_id = rec.intent.id
        try:
            client_data = presence.b64url_decode(form.get("passkey_client_data", ""))
            auth_data = presence.b64url_decode(form.get("passkey_authenticator_data", ""))
            signature = presence.b64url_decode(form.get("passkey_signature", ""))
            claimed = json.loads(client_data.decode("utf-8")).get("challenge")
        except (ValueError, UnicodeDecodeError, AttributeError):
            await self.engine.journal.log("presence.passkey_failed", intent_id, {"why": "malformed answer"})
            return "The passkey answer is malformed; reload the page and try again. Nothing was placed."
        entry = self._challenges.pop(str(claimed), None)  # single use, even when the rest fails
        if entry is None or entry[0] != intent_id or entry[1] <= datetime.now(UTC):
            await self.engine.journal.log("presence.passkey_failed", intent_id, {"why": "unknown challenge"})
            return ("The passkey answer is not for this page (stale, used before, or for another order); reload the "
                    "page and try again. Nothing was placed.")
        try:
            name = await asyncio.to_thread(
                presence.verify_assertion, self.engine.settings.home, credential_id=form.get("passkey_id", ""),
                client_data=client_data, authenticator_data=auth_data, signature=signature,
                challenge=presence.b64url_decode(str(claimed)), origin=self.localhost_origin)
        except presence.WebAuthnError as exc:
            await self.engine.journal.log("presence.passkey_failed", intent_id, {"why": str(exc)[:200]})
            return f"Passkey refused: {_sentence(str(exc))} Nothing was placed."
        await self.engine.journal.log("presence.passkey_ok", intent_id, {"passkey": name})
        return None

    def _render(self, rec: IntentRecord, orders: list[Any], *, csrf: str, token: str,
                notice: str | None = None) -> tuple[str, dict[str, str] | None]:
        factors = self._factors() if self.needs_presence(rec) else None
        extra = None
        if factors and factors["passkeys"] and rec.status == IntentStatus.PROPOSED and rec.intent.policy.ok:
            factors["challenge"] = self._new_challenge(rec)
            extra = {"Content-Security-Policy": SCRIPT_CSP}
        page = render_intent_page(rec, orders, csrf=csrf, action_base=f"/i/{token}", notice=notice, factors=factors)
        return page, extra


class EnrolmentServer(_LoopbackPages):
    """`pm-mcp enroll`: one page on ``http://localhost:<port>/e/<token>`` that creates a passkey (WebAuthn,
    user verification required, attestation 'none', relying party ``localhost``) and stores it once
    verified. The token is printed to the person's terminal; the server stops after the passkey is saved."""

    def __init__(self, home: Path, *, port: int = 0, name: str = "passkey") -> None:
        super().__init__("127.0.0.1", port)
        self.home = Path(home)
        self.name = name
        self.token = secrets.token_urlsafe(32)
        self.csrf = secrets.token_urlsafe(32)
        self.user_id = presence.passkey_user_id(self.home)
        self.challenge: bytes | None = None
        self.done = asyncio.Event()
        self.saved: str | None = None
        self._finished = False

    @property
    def url(self) -> str:
        return f"{self.localhost_origin}/e/{self.token}"

    def _after_response(self) -> None:
        if self._finished:
            self.done.set()

    async def _route(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> tuple[int, str, dict[str, str] | None]:
        answer, segs = self._our_path(method, target, headers)
        if answer is not None:
            return answer
        if len(segs) not in (2, 3) or segs[0] != "e" or not hmac.compare_digest(segs[1], self.token) \
                or self._finished:
            return 404, _page("Not found", "<p>No such page (each enrolment page works once).</p>"), None
        if len(segs) == 2:
            if method not in ("GET", "HEAD"):
                return 405, _page("Not allowed", "<p>Use the button on the page.</p>"), {"Allow": "GET"}
            return 200, self._enrol_page(headers), {"Content-Security-Policy": SCRIPT_CSP}
        if segs[2] != "finish" or method != "POST":
            return 405, _page("Not allowed", "<p>Use the button on the page.</p>"), {"Allow": "POST"}
        if not self._origin_ok(headers):
            return 403, _page("Forbidden", "<p>This request did not come from the enrolment page.</p>"), None
        form = self._form(headers, body)
        if form is None or not hmac.compare_digest(form.get("csrf", ""), self.csrf):
            return 403, _page("Forbidden", "<p>The page token is missing or wrong; reload the page.</p>"), None
        challenge, self.challenge = self.challenge, None  # single use
        if challenge is None:
            return 400, self._enrol_page(headers, notice="That answer was stale; try again."), \
                {"Content-Security-Policy": SCRIPT_CSP}
        try:
            record = presence.verify_registration(
                attestation_object=presence.b64url_decode(form.get("attestation_object", "")),
                client_data=presence.b64url_decode(form.get("client_data", "")), challenge=challenge,
                origin=self.localhost_origin, credential_id=presence.b64url_decode(form.get("credential_id", "")))
            await asyncio.to_thread(presence.add_passkey, self.home, record, user_id=self.user_id, name=self.name)
        except (presence.WebAuthnError, ValueError) as exc:
            log.warning("passkey enrolment refused: %s", exc)
            return 400, self._enrol_page(headers, notice=f"Not saved: {_sentence(str(exc))} Try again."), \
                {"Content-Security-Policy": SCRIPT_CSP}
        self.saved = record["id"]
        self._finished = True
        return 200, _page("Passkey saved (pm-mcp)", "<h1 id=\"done\">Passkey saved</h1><p>LIVE orders on pm-mcp's "
                                                      "approval page can now be approved with it. You can close this "
                                                      "page.</p>"), None

    def _enrol_page(self, headers: dict[str, str], notice: str | None = None) -> str:
        e = html.escape
        self.challenge = secrets.token_bytes(32)
        existing = presence.load_passkeys(self.home)
        out = ["<h1>Enrol a passkey for pm-mcp</h1>",
               ("<p>The passkey you create here (unlocked by your fingerprint, face or device PIN) approves LIVE "
                "orders on pm-mcp's approval page. An assistant that only has the page's link cannot use it.</p>")]
        if notice:
            out.append(f"<p class=\"notice\" id=\"notice\">{e(notice)}</p>")
        if headers.get("host", "") != f"localhost:{self.port}":
            out.append(f"<p class=\"notice\">Passkeys need this page opened as <a href=\"{e(self.url)}\">"
                       f"{e(self.localhost_origin)}</a>.</p>")
        if existing:
            out.append(f"<p>Already enrolled: {len(existing)} passkey(s).</p>")
        exclude = ",".join(str(c["id"]) for c in existing)
        algs = ",".join(str(a) for a in presence.SUPPORTED_ALGS)
        out.append(f"<form method=\"post\" action=\"/e/{e(self.token)}/finish\" id=\"enrol-form\" "
                   f"data-challenge=\"{e(presence.b64url(self.challenge))}\" data-user-id=\"{e(self.user_id)}\" "
                   f"data-rp-id=\"{e(presence.RP_ID)}\" data-exclude=\"{e(exclude)}\" data-algs=\"{e(algs)}\">"
                   f"<input type=\"hidden\" name=\"csrf\" value=\"{e(self.csrf)}\">"
                   + "".join(f"<input type=\"hidden\" name=\"{n}\" value=\"\">"
                             for n in ("credential_id", "attestation_object", "client_data"))
                   + "<button id=\"create\" type=\"button\">Create passkey</button> "
                     "<span id=\"passkey-status\" role=\"status\"></span></form>")
        out.append(f"<script src=\"{STATIC_PREFIX}passkey.js\"></script>")
        return _page("Enrol a passkey (pm-mcp)", "".join(out))


async def run_enrolment(home: Path, *, port: int = 0, open_browser: bool = True, timeout_s: float = 600.0,
                        name: str = "passkey") -> int:
    """`pm-mcp enroll`: serve the enrolment page, print (and open) its address, wait for the passkey."""
    import sys

    server = EnrolmentServer(home, port=port, name=name)
    await server.start()
    try:
        print(f"Open this page to create a passkey for pm-mcp approvals:\n  {server.url}\n"
              f"(waiting up to {int(timeout_s)} s; Ctrl-C to cancel)", flush=True)
        if open_browser:
            from pm_mcp.execution.browser import open_browser as _open_browser

            if not await _open_browser(server.url):
                print("(no browser could be opened: open the address above yourself)", flush=True)
        try:
            await asyncio.wait_for(server.done.wait(), timeout_s)
        except TimeoutError:
            print("pm-mcp enroll: timed out; no passkey was added", file=sys.stderr)
            return 1
    finally:
        await server.close()
    print(f"Passkey saved in {Path(home).expanduser()}. LIVE orders on the approval page can now be approved "
          "with it.", flush=True)
    return 0


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _factor_names(factors: dict[str, Any]) -> str:
    names = (["PIN"] if factors.get("pin") else []) + (["passkey"] if factors.get("passkeys") else [])
    return " or ".join(names) or "PIN or passkey"


# --- rendering ---------------------------------------------------------------------------------
_CSS = """
body{font:16px/1.45 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111;
overflow-wrap:break-word}
h1{font-size:1.6rem;line-height:1.25}
.mode{display:inline-block;padding:.15rem .6rem;border-radius:.3rem;font-weight:700;color:#fff}
.paper{background:#2b6cb0}.live{background:#c53030}
.order{font-size:1.15rem;border:2px solid #333;border-radius:.4rem;padding:1rem;margin:1rem 0;white-space:pre-wrap;
overflow-wrap:anywhere}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
td.id,td.note{overflow-wrap:anywhere}
.ok{color:#276749}.bad{color:#c53030}.notice{background:#fefcbf;padding:.6rem;border-radius:.3rem}
blockquote{background:#f7f7f7;border-left:4px solid #aaa;margin:0;padding:.5rem 1rem;white-space:pre-wrap;
max-height:16rem;overflow:auto;font-size:.9rem;overflow-wrap:anywhere}
button{font-size:1.1rem;padding:.6rem 1.4rem;margin:0 1rem .5rem 0;border-radius:.4rem;border:1px solid #333;
cursor:pointer;max-width:100%}
#approve{background:#276749;color:#fff}#reject{background:#fff}
@media (max-width:40rem){
body{margin:1rem auto;padding:0 .75rem}.order{font-size:1.05rem;padding:.75rem}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:auto}
table.stack thead{display:none}table.stack tr{border-bottom:2px solid #bbb;padding:.3rem 0}
table.stack td{border:0;padding:.1rem .3rem;overflow-wrap:anywhere}table.stack td:empty{display:none}
table.stack td::before{content:attr(data-label) ": ";font-weight:600}
}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>")


# what became of an intent, for the page's heading once it no longer waits for the person (keyed by the status's
# value: "{m}" is the mode, PAPER or LIVE). Only a PROPOSED intent asks "Approve ...?".
_STATUS_HEADINGS = {
    "confirmed": ("Approved", "this {m} order is being sent"),
    "executing": ("Approved", "this {m} order is being sent"),
    "executed": ("Approved and sent", "this {m} order reached the venue"),
    "rejected": ("Rejected", "this {m} order was not sent"),
    "expired": ("Expired", "this {m} order was not sent"),
    "failed": ("Failed", "this {m} order was not sent in full"),
    "armed": ("Approved", "this {m} standing order waits for its condition"),
    "triggered": ("Triggered", "this {m} standing order is being sent"),
    "cancelled": ("Cancelled", "this {m} order sends nothing more"),
}


def page_heading(rec: IntentRecord, ask: str) -> tuple[str, str]:
    """(the h1, the page title): ``ask`` (the summary's "Approve this ... order?") while the intent waits for
    the person; otherwise what became of it, e.g. "Expired: this PAPER order was not sent"."""
    if rec.status == IntentStatus.PROPOSED:
        return ask, "Approve order? (pm-mcp)"
    word, rest = _STATUS_HEADINGS.get(rec.status.value, (rec.status.value.capitalize(), "this {m} order"))
    mode = rec.intent.mode.upper()
    return f"{word}: {rest.format(m=mode)}", f"{word}: {mode} order (pm-mcp)"


def render_intent_page(rec: IntentRecord, orders: list[Any], *, csrf: str, action_base: str,
                       notice: str | None = None, factors: dict[str, Any] | None = None) -> str:
    """The page. It leads with OUR lines (pm_mcp.execution.summary: mode, side, size, limit, worst-case cost
    and loss with currency, venue, expiry, order hash); the venue's words come after, cleaned and quoted.
    ``factors`` (None for a paper order) says which presence factors a live approval takes; with passkeys it
    carries the page's single-use ``challenge``."""
    e = html.escape
    it = rec.intent
    lines = summary.order_lines(it)
    live = it.mode == "live"
    out: list[str] = []
    heading, title = page_heading(rec, lines[0])
    out.append(f"<h1 id=\"headline\">{e(heading)}</h1><p><span class=\"mode {e(it.mode)}\" id=\"mode\">"
               f"{'LIVE: real money' if live else 'PAPER: no real money'}</span> "
               f"status: <b id=\"status\">{e(rec.status.value)}</b></p>")
    if notice:
        out.append(f"<p class=\"notice\" id=\"notice\">{e(clean_inline(notice, 600))}</p>")
    out.append("<div class=\"order\" id=\"summary\">"
               + "".join(f"<div class=\"line\">{e(line)}</div>" for line in lines[1:]) + "</div>")
    if it.policy.ok:
        out.append("<p class=\"ok\" id=\"policy\">Risk policy: within every limit.</p>")
    else:
        items = "".join(f"<li>{e(v.message)} (rule {e(v.rule)}, limit {e(v.limit)}, value {e(v.value)})</li>"
                        for v in it.policy.violations)
        out.append(f"<div class=\"bad\" id=\"policy\">Risk policy refuses this order:<ul>{items}</ul></div>")
    tier = summary.tier_line(it)
    if tier:
        out.append(f"<p id=\"tier-cap\">{e(tier)}</p>")
    has_factor = factors is not None and bool(factors.get("pin") or factors.get("passkeys"))
    if factors is None:
        out.append("<p id=\"presence\">Paper order: no real money moves, so this link alone approves it.</p>")
    elif has_factor:
        out.append(f"<p id=\"presence\">Live order: approving it needs your {e(_factor_names(factors))}; the link "
                   "alone cannot place it.</p>")
    else:
        out.append("<p id=\"presence\" class=\"bad\">Live order: approving it needs a PIN or passkey, and none is "
                   f"set up: {e(presence.ENROL_ADVICE)}.</p>")
    script = False
    if rec.status == IntentStatus.PROPOSED and it.policy.ok:
        hidden = (f"<input type=\"hidden\" name=\"csrf\" value=\"{e(csrf)}\">"
                  f"<input type=\"hidden\" name=\"order_hash\" value=\"{e(it.order_hash)}\">")
        attrs, fields, buttons = "", "", ""
        passkeys = (factors or {}).get("passkeys") or []
        if passkeys and (factors or {}).get("challenge"):
            script = True
            ids = ",".join(str(c["id"]) for c in passkeys)
            attrs = (f" data-challenge=\"{e(factors['challenge'])}\" data-credentials=\"{e(ids)}\" "
                     f"data-rp-id=\"{e(presence.RP_ID)}\"")
            fields += "".join(f"<input type=\"hidden\" name=\"{n}\" value=\"\">" for n in presence.ASSERTION_FIELDS)
            buttons += ("<button id=\"approve-passkey\" type=\"button\">Approve with passkey</button>"
                        "<span id=\"passkey-status\" role=\"status\"></span> ")
        if factors is not None and factors.get("pin"):
            fields += ("<label for=\"pin\">Your approval PIN </label><input id=\"pin\" name=\"pin\" "
                       "type=\"password\" inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"128\"> ")
            buttons += "<button id=\"approve\" type=\"submit\">Approve with PIN</button>"
        elif not passkeys:
            buttons += "<button id=\"approve\" type=\"submit\">Approve</button>"
        out.append(f"<form method=\"post\" action=\"{e(action_base)}/approve\" id=\"approve-form\"{attrs}>"
                   f"{hidden}{fields}{buttons}</form>"
                   f"<form method=\"post\" action=\"{e(action_base)}/reject\">{hidden}"
                   "<button id=\"reject\" type=\"submit\">Reject</button></form>")
    else:
        if rec.reason:
            out.append(f"<p id=\"reason\">{e(clean_inline(rec.reason, 600))}</p>")
        if orders:
            rows = "".join(
                f"<tr><td class=\"id\" data-label=\"order\">{e(o.id)}</td><td class=\"order-status\" "
                f"data-label=\"status\">{e(o.status)}</td><td data-label=\"filled\">{e(str(o.filled_size))} of "
                f"{e(str(o.size))}</td><td data-label=\"avg price\">"
                f"{e(str(o.avg_price) if o.avg_price is not None else '-')}</td>"
                f"<td class=\"note\" data-label=\"note\">{e(clean_inline(o.message or '', 300))}</td></tr>"
                for o in orders)
            out.append("<h3>Orders</h3><div class=\"wide\"><table id=\"orders\" class=\"stack\"><thead><tr>"
                       "<th>order</th><th>status</th><th>filled</th><th>avg price</th><th>note</th></tr></thead>"
                       f"<tbody>{rows}</tbody></table></div>")
        out.append("<p>You can close this page.</p>")
    # --- the venue's words, after ours ---------------------------------------------------------------
    out.append("<h2>What the venue says</h2><p><small>Quoted from the venue as written (titles on one line; "
               "invisible and control characters removed). Nothing in it can approve an order: only your click "
               "on this page does.</small></p>")
    out.append("<ul id=\"venue-text\">" + "".join(f"<li>{e(line)}</li>" for line in summary.venue_text_lines(it))
               + "</ul>")
    # the legs: a table on a wide screen; on a narrow one each leg is a stacked block of labelled lines (CSS)
    out.append("<div class=\"wide\"><table id=\"legs\" class=\"stack\"><thead><tr><th>leg</th><th>venue</th>"
               "<th>market id</th><th>outcome</th><th>side</th><th>limit</th><th>size</th><th>worst-case cost</th>"
               "</tr></thead><tbody>")
    for i, leg in enumerate(it.legs, 1):
        out.append(f"<tr><td data-label=\"leg\">{i}</td><td data-label=\"venue\">{e(display_name(leg.venue))}</td>"
                   f"<td class=\"id\" data-label=\"market id\"><small>{e(clean_inline(leg.market_id, 100))}</small>"
                   f"</td><td data-label=\"outcome\">{e(quote_inline(leg.outcome, summary.OUTCOME_LIMIT))}</td>"
                   f"<td data-label=\"side\">{e(leg.side)}</td>"
                   f"<td data-label=\"limit\">{e(price_text(leg.limit_price, leg.currency))}</td>"
                   f"<td data-label=\"size\">{e(format(leg.size, 'f'))}</td><td data-label=\"worst-case cost\">"
                   f"{e(money(leg.worst_case_cost, leg.currency, up=True))}</td></tr>")
    out.append("</tbody></table></div>")
    if it.forecast_p is not None:
        out.append(f"<p>Forecast behind it (from the assistant): {e(str(it.forecast_p))}, source "
                   f"{e(quote_inline(it.forecast_source or 'none given', 80))}</p>")
    for i, leg in enumerate(it.legs, 1):
        text = clean_block(rec.rules.get(leg.market_id, ""))
        which = f"leg {i}'s market" if it.is_bundle else "the market"
        out.append(f"<h3>How {which} resolves (the venue's rule text, as written)</h3>"
                   f"<blockquote class=\"rules\">{e(text) if text else '(no rule text published)'}</blockquote>")
    if script:
        out.append(f"<script src=\"{STATIC_PREFIX}passkey.js\"></script>")
    return _page(title, "".join(out))


async def start_approval_server(state: Any, stack: AsyncExitStack, engine: ExecutionEngine) -> ApprovalServer | None:
    if "page" not in engine.allowed_channels():
        return None
    settings = state.settings
    server = ApprovalServer(engine, port=settings.approval_port, public_url=settings.public_url,
                            allowed_hosts=settings.allowed_host_list)
    try:
        await server.start()
    except OSError as exc:
        log.error("approval page could not listen on 127.0.0.1:%s (%s); set PM_MCP_APPROVAL_PORT to a free port "
                  "or 0", state.settings.approval_port, exc)
        return None
    stack.push_async_callback(server.close)
    return server
