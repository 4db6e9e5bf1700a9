"""`pm-mcp serve --http`: Streamable HTTP, as one process or as N identical replicas behind a load balancer.

Routes (one port):

- ``/mcp``: the MCP endpoint (the SDK's), behind the bearer token (``PM_MCP_HTTP_TOKEN`` or the stored one);
- ``/i/<token>``, ``/static/...``: the approval page, when ``PM_MCP_PUBLIC_URL`` is set (otherwise it keeps its
  own loopback port). The page's unguessable token is its credential, a person's browser has no bearer token;
  Host and Origin must be the public URL's (pm_mcp.execution.approval);
- ``/healthz``: no token (a balancer's probe has none). ``200 ok`` when this replica can serve (its components
  started, its store answers within 2 s), else ``503 unavailable``; it says nothing else;
- ``/metrics``: behind the bearer token; the Prometheus text format (pm_mcp.metrics);
- anything else: the bearer token, then the SDK (404).

OAuth (``PM_MCP_AUTH_ISSUER`` set; pm_mcp.auth): ``/mcp`` and everything not named here want an access token from
that issuer instead of the static token, which no longer opens them (it would act for nobody in particular). No
token: 401 with ``WWW-Authenticate: Bearer resource_metadata="<public_url>/.well-known/oauth-protected-resource/mcp"``
(RFC 9728); a bad, expired, foreign or wrong-audience one: the same with ``error="invalid_token"`` and why; a valid
token without any pm:* scope: 403 ``error="insufficient_scope"``. A valid token's request runs as its principal
(``principal.use``: owner ``<issuer>#<sub>``, its scopes), and as the SDK's authenticated user (``scope["user"]``,
``auth_context_var``: legacy sessions and dialog state are bound to that person). The protected-resource metadata
is served without a token at ``/.well-known/oauth-protected-resource`` and ``.../oauth-protected-resource/mcp``.
``/metrics`` stays behind the static token (PM_MCP_HTTP_TOKEN or the stored one): a scraper has no sign-in, and
the figures are the whole process's, not one person's. The issuer unreachable (its keys unknown): 503.

Replicas. A 2026-07-28 client sends every request on its own (no session), so any replica can answer any
request: round robin works. A dialog (``confirm_order``'s "Place this order?") is two requests whose second
carries the first's sealed request state: every replica must hold the same ``PM_MCP_STATE_KEYS`` (without them
each process uses a key of its own and warns at start). A legacy (2025-era) client holds an ``Mcp-Session-Id``
session that lives in one process: the balancer must send it back to that replica (session affinity on that
header; tools/deploy/haproxy.cfg does it). Shared state lives in the PostgreSQL store (``PM_MCP_DATABASE_URL``);
``PM_MCP_ALLOWED_HOSTS`` (default: the public URL's host) is the transport's Host allowlist.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pm_mcp import __version__
from pm_mcp.settings import is_loopback

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from pm_mcp.app import AppState
    from pm_mcp.settings import Settings

log = logging.getLogger("pm_mcp")

HTTP_TOKEN_FILE = "http_token"
HEALTH_TIMEOUT_S = 2.0
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
UNAUTHORIZED = (b'{"error":"missing or wrong bearer token (PM_MCP_HTTP_TOKEN, or the http_token file in the data '
                b'directory)"}')


def stored_http_token(home: Path) -> tuple[str, Path, bool]:
    """(token, path, freshly generated): the bearer token kept 0600 in the data directory. A stored token is
    reused across restarts; one that is empty or readable by others is replaced by a new one."""
    import secrets
    import stat

    from pm_mcp.settings import ensure_private_dir, write_private_file

    path = Path(ensure_private_dir(Path(home))) / HTTP_TOKEN_FILE
    try:
        st = path.stat()
        stored = path.read_text(encoding="utf-8").strip() if stat.S_ISREG(st.st_mode) else ""
        if len(stored) >= 32 and not stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
            return stored, path, False
        if stored:
            log.warning("the stored HTTP token %s was readable by others or too short; replacing it", path)
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    write_private_file(path, token + "\n")
    return token, path, True


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host values the MCP transport accepts: PM_MCP_ALLOWED_HOSTS, else the public URL's host, else none
    (the SDK's own rule: loopback names on a loopback bind, no check otherwise)."""
    if settings.allowed_host_list:
        return list(settings.allowed_host_list)
    if settings.public_url:
        return [urlsplit(settings.public_url).netloc]
    return []


def transport_security(settings: Settings, host: str) -> Any:
    """The SDK's TransportSecuritySettings for this bind (None: the SDK's default for loopback binds)."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = allowed_hosts(settings)
    if hosts:
        schemes = [urlsplit(settings.public_url).scheme] if settings.public_url else ["http", "https"]
        return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                         allowed_origins=[f"{s}://{h}" for h in hosts for s in schemes])
    if not is_loopback(host):
        # DNS-rebinding protection only makes sense for loopback binds; the bearer token guards the rest
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return None


def start_warnings(settings: Settings) -> list[str]:
    """What an operator of replicas should know at start (printed to stderr, never a secret)."""
    out = []
    if settings.state_keys is None:
        out.append("PM_MCP_STATE_KEYS is not set: this process seals dialog state with a key of its own. That is fine "
                   "for one process; behind a load balancer a dialog whose answer reaches another replica fails. Give "
                   "every replica the same PM_MCP_STATE_KEYS (python3 -c 'import secrets; print(secrets.token_hex(32))').")
    if settings.oauth and settings.state_keys is None:
        out.append("PM_MCP_AUTH_ISSUER is set but PM_MCP_STATE_KEYS is not: the approval page's sign-in cookies are "
                   "signed with a key of this process's own; behind a load balancer a person signed in on one replica "
                   "is asked to sign in again on another.")
    if settings.public_url and settings.database_url is None:
        out.append("PM_MCP_PUBLIC_URL is set but PM_MCP_DATABASE_URL is not: this process serves approval pages from "
                   "its own SQLite file; replicas need one shared PostgreSQL database.")
    return out


class HttpRoutes:
    """The ASGI app `serve --http` runs: our routes beside the SDK's app (``inner``); see the module docstring."""

    def __init__(self, inner: Any, token: str, oauth: OAuthGate | None = None) -> None:
        from pm_mcp.metrics import PROCESS_METRICS

        self.inner = inner
        self.expected = f"Bearer {token}".encode()
        self.oauth = oauth
        self.metrics = PROCESS_METRICS
        self.state: AppState | None = None  # set by the server's lifespan (build_server(on_state=...))

    def on_state(self, state: AppState | None) -> None:
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.inner(scope, receive, send)
            return
        path = scope.get("path", "")
        if kind == "http" and path == "/healthz":
            await self.health(scope, send)
            return
        if kind == "http" and self._page_path(path):
            await self.page(scope, receive, send)
            return
        if self.oauth is not None:
            if kind == "http" and path in self.oauth.metadata_paths:
                await self.oauth.metadata(scope, send)
            elif kind == "http" and path == "/metrics":
                await (self.scrape(scope, send) if self._authorized(scope)
                       else _answer(send, 401, UNAUTHORIZED, "application/json", [(b"www-authenticate", b"Bearer")]))
            else:
                await self.oauth.guard(scope, receive, send, self.inner)
            return
        if not self._authorized(scope):
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _answer(send, 401, UNAUTHORIZED, "application/json", [(b"www-authenticate", b"Bearer")])
            return
        if kind == "http" and path == "/metrics":
            await self.scrape(scope, send)
            return
        await self.inner(scope, receive, send)

    def _authorized(self, scope: dict[str, Any]) -> bool:
        got = b""
        for name, value in scope.get("headers") or []:
            if name.lower() == b"authorization":
                got = value
                break
        return hmac.compare_digest(got, self.expected)

    def _page_path(self, path: str) -> bool:
        from pm_mcp.execution.approval import SIGN_IN_PREFIX, STATIC_PREFIX

        state = self.state
        if state is None or not state.settings.public_url:
            return False
        return path.startswith("/i/") or path.startswith(STATIC_PREFIX) or path.startswith(SIGN_IN_PREFIX)

    async def _started_state(self) -> AppState | None:
        state = self.state
        if state is None:
            return None
        try:
            await asyncio.wait_for(state.wait_started(), 30)
        except Exception:  # noqa: BLE001 - a component failed or start-up hangs: the caller answers 503
            return None
        return state

    async def page(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        state = await self._started_state()
        if state is None:
            await _answer(send, 503, b"The approval page is not available yet; try again in a moment.\n")
            return
        if state.approval is None:
            await _answer(send, 404, b"No approval page here (PM_MCP_CONFIRM does not use the page).\n")
            return
        await state.approval.serve_asgi(scope, receive, send)

    async def health(self, scope: dict[str, Any], send: Any) -> None:
        if scope.get("method") not in ("GET", "HEAD"):
            await _answer(send, 405, b"", extra=[(b"allow", b"GET, HEAD")])
            return
        ok = await self._healthy()
        body = b"ok\n" if ok else b"unavailable\n"
        await _answer(send, 200 if ok else 503, b"" if scope.get("method") == "HEAD" else body,
                      length=len(body))

    async def _healthy(self) -> bool:
        state = self.state
        if state is None:
            return False
        state.start_hooks()
        if not state.started.is_set() or state.startup_error is not None:
            return False
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await (await state.store.conn.execute("SELECT 1")).fetchall()
        except Exception:  # noqa: BLE001 - any failure is "unavailable"; the reason goes to the log only
            log.warning("health check: the store did not answer", exc_info=True)
            return False
        return True

    async def scrape(self, scope: dict[str, Any], send: Any) -> None:
        from pm_mcp.metrics import CONTENT_TYPE

        if scope.get("method") not in ("GET", "HEAD"):
            await _answer(send, 405, b"", extra=[(b"allow", b"GET, HEAD")])
            return
        text = self.metrics.render(await self.store_gauges())
        await _answer(send, 200, text.encode("utf-8"), CONTENT_TYPE)

    async def store_gauges(self) -> list[str]:
        """Orders by state and intents by status, read from the store at scrape time."""
        from pm_mcp.metrics import family

        state = self.state
        lines: list[str] = []
        up = 0
        if state is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT_S):
                    orders = await (await state.store.conn.execute(
                        "SELECT status, COUNT(*) FROM orders GROUP BY status")).fetchall()
                    intents = await (await state.store.conn.execute(
                        "SELECT status, COUNT(*) FROM intents GROUP BY status")).fetchall()
                up = 1
                lines += family("pm_mcp_orders", "gauge", "Orders in the store by state (a shared store: the same "
                                "figures on every replica).", ((("state",), (str(s),), int(n)) for s, n in orders))
                lines += family("pm_mcp_intents", "gauge", "Order intents in the store by status.",
                                ((("status",), (str(s),), int(n)) for s, n in intents))
            except Exception:  # noqa: BLE001 - reported as pm_mcp_store_up 0
                log.warning("metrics: the store did not answer", exc_info=True)
        return lines + family("pm_mcp_store_up", "gauge", "1 when the store answered this scrape.", [((), (), up)])


METADATA_PATH = "/.well-known/oauth-protected-resource"


class OAuthGate:
    """The resource server's door (see the module docstring): the metadata document, and each request's token
    checked by ``verifier`` (pm_mcp.auth.JwtVerifier) before the request runs as the token's principal."""

    def __init__(self, settings: Settings, verifier: Any) -> None:
        from pm_mcp.principal import ALL_SCOPES

        assert settings.public_url and settings.auth_issuer
        self.verifier = verifier
        self.resource = settings.mcp_resource_url
        self.metadata_url = f"{settings.public_url}{METADATA_PATH}/mcp"
        self.metadata_paths = (METADATA_PATH, METADATA_PATH + "/mcp")
        self.document = {"resource": self.resource, "authorization_servers": [settings.auth_issuer],
                         "scopes_supported": sorted(ALL_SCOPES), "bearer_methods_supported": ["header"],
                         "resource_name": "pm-mcp"}

    def challenge(self, error: str | None = None, description: str | None = None,
                  scope: str | None = None) -> bytes:
        parts = []
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append('error_description="{}"'.format(description.replace('"', "'").replace("\\", "/")))
        if scope:
            parts.append(f'scope="{scope}"')
        parts.append(f'resource_metadata="{self.metadata_url}"')
        return ("Bearer " + ", ".join(parts)).encode("ascii", "replace")

    async def metadata(self, scope: dict[str, Any], send: Any) -> None:
        import json

        cors = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"GET, OPTIONS")]
        if scope.get("method") == "OPTIONS":
            await _answer(send, 204, b"", extra=cors)
        elif scope.get("method") not in ("GET", "HEAD"):
            await _answer(send, 405, b"", extra=[(b"allow", b"GET, OPTIONS")])
        else:
            await _answer(send, 200, json.dumps(self.document).encode(), "application/json", cors)

    async def _refuse(self, scope: dict[str, Any], send: Any, status: int, error: str | None, description: str,
                      need: str | None = None) -> None:
        import json

        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": error or "unauthorized", "error_description": description}).encode()
        await _answer(send, status, body, "application/json",
                      [(b"www-authenticate", self.challenge(error, description if error else None, need))])

    async def guard(self, scope: dict[str, Any], receive: Any, send: Any, inner: Any) -> None:
        from mcp.server.auth.middleware.auth_context import auth_context_var
        from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
        from starlette.authentication import AuthCredentials

        from pm_mcp import principal
        from pm_mcp.auth import IssuerUnavailable, TokenRejected, principal_of
        from pm_mcp.principal import ALL_SCOPES, SCOPE_READ

        got = b""
        for name, value in scope.get("headers") or []:
            if name.lower() == b"authorization":
                got = value
                break
        if not got:
            await self._refuse(scope, send, 401, None, "an access token is required (Authorization: Bearer <token> "
                               f"from the issuer named at {self.metadata_url})")
            return
        kind, _, token = got.decode("latin-1").partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            await self._refuse(scope, send, 401, "invalid_request", "the Authorization header must be 'Bearer <token>'")
            return
        try:
            access = await self.verifier.check(token.strip())
        except TokenRejected as exc:
            await self._refuse(scope, send, 401, "invalid_token", str(exc))
            return
        except IssuerUnavailable as exc:
            log.warning("OAuth: cannot check access tokens: %s", exc)
            await _answer(send, 503, b'{"error":"temporarily_unavailable","error_description":"the issuer\'s keys '
                          b'could not be fetched; try again shortly"}', "application/json", [(b"retry-after", b"5")])
            return
        who = principal_of(access)
        if not who.scopes & ALL_SCOPES:
            await self._refuse(scope, send, 403, "insufficient_scope", "the token grants none of "
                               + ", ".join(sorted(ALL_SCOPES)), SCOPE_READ)
            return
        user = AuthenticatedUser(access)
        reset = auth_context_var.set(user)
        try:
            with principal.use(who):
                await inner({**scope, "user": user, "auth": AuthCredentials(access.scopes)}, receive, send)
        finally:
            auth_context_var.reset(reset)


async def _answer(send: Any, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
                  extra: list[tuple[bytes, bytes]] | None = None, length: int | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body) if length is None
                                                                              else length).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_http(settings: Settings, host: str, port: int,
               build: Callable[[Callable[[AppState | None], None]], MCPServer]) -> int:
    """Check the token and the store, build the server (``build(on_state)``), then serve until stopped."""
    from pm_mcp import redaction
    from pm_mcp.store import StoreError

    token = settings.http_token.get_secret_value() if settings.http_token else ""
    if not is_loopback(host) and not token and not settings.oauth:
        print(f"pm-mcp: refusing to serve on {host}: binding anything but loopback requires a bearer "
              "token. Set PM_MCP_HTTP_TOKEN to a long random string (clients then send "
              "'Authorization: Bearer <token>'), or bind 127.0.0.1.", file=sys.stderr)
        return 2
    if not token:
        # HTTP is authenticated, always: on loopback too any local process (another user's, a browser
        # tab's DNS-rebound fetch) could otherwise call tools and answer its own confirmation dialogs.
        try:
            token, token_path, fresh = stored_http_token(settings.home)
            redaction.register_secret(token)
        except OSError as exc:
            print(f"pm-mcp: cannot store the HTTP bearer token in {settings.home} ({exc.strerror or exc}); set "
                  "PM_MCP_HTTP_TOKEN or PM_MCP_HOME to a writable directory.", file=sys.stderr)
            return 2
        who = "a /metrics scraper must" if settings.oauth else "clients must"
        print(f"pm-mcp: PM_MCP_HTTP_TOKEN is not set; {who} send 'Authorization: Bearer <token>' with the "
              f"token {'generated into' if fresh else 'stored in'} {token_path} (mode 0600, reused across "
              "restarts; delete the file for a new one).", file=sys.stderr, flush=True)
    try:  # open (and migrate) the store once before binding: a bad database is a clear error, not a failed lifespan
        asyncio.run(_preflight(settings))
    except StoreError as exc:
        print(f"pm-mcp: {exc}", file=sys.stderr)
        return 2
    for warning in start_warnings(settings):
        print(f"pm-mcp: warning: {warning}", file=sys.stderr, flush=True)
    oauth = None
    if settings.oauth:
        from pm_mcp.auth import JwtVerifier

        problem = asyncio.run(_issuer_problem(settings))
        if problem:
            print(f"pm-mcp: warning: {problem}; until it answers, requests with a token get 503.", file=sys.stderr,
                  flush=True)

        oauth = OAuthGate(settings, JwtVerifier(settings.auth_issuer, settings.effective_auth_audience,
                                                settings.auth_jwks_url))
        print(f"pm-mcp: OAuth on: /mcp takes access tokens from {settings.auth_issuer} for the audience "
              f"{settings.effective_auth_audience}; /metrics keeps the static token.", file=sys.stderr, flush=True)
    routes = HttpRoutes(None, token, oauth)
    mcp = build(routes.on_state)
    return run_app(mcp, routes, settings, host, port)


async def _issuer_problem(settings: Settings) -> str | None:
    """Why the issuer's metadata or keys cannot be read now (a start-up hint for the operator; not fatal)."""
    from pm_mcp.auth import IssuerUnavailable, JwtVerifier

    probe = JwtVerifier(settings.auth_issuer, settings.effective_auth_audience or "", settings.auth_jwks_url,
                        timeout_s=3.0)
    try:
        if settings.auth_jwks_url is None or settings.auth_page_client_id:
            await probe.discover()
        await probe._refresh_keys()  # noqa: SLF001 - the same read the first token will make
    except IssuerUnavailable as exc:
        return str(exc)
    finally:
        await probe.aclose()
    return None


async def _preflight(settings: Settings) -> None:
    from pm_mcp.store_pg import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    store = await open_store(settings.db_path, url)
    await store.close()


def run_app(mcp: MCPServer, routes: HttpRoutes, settings: Settings, host: str, port: int) -> int:
    """Every HTTP request goes through ``routes`` (nothing unauthenticated reaches the SDK): that includes the
    client's answer to a dialog (``confirm_order``'s "Place this order?"), a POST to /mcp, so a dialog answered
    over an unauthenticated connection never reaches the engine."""
    import uvicorn

    from pm_mcp.metrics import tool_metrics_middleware

    mcp.middleware.insert(0, tool_metrics_middleware(routes.metrics))
    routes.inner = mcp.streamable_http_app(host=host, transport_security=transport_security(settings, host))
    where = f"http://{host}:{port}/mcp" + (f" (public URL {settings.public_url})" if settings.public_url else "")
    print(f"pm-mcp {__version__}: serving MCP (Streamable HTTP) on {where}", file=sys.stderr, flush=True)
    config = uvicorn.Config(routes, host=host, port=port, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn shut down gracefully (lifespan included), then re-raised the signal
        pass
    print("pm-mcp: stopped.", file=sys.stderr, flush=True)
    return 0
