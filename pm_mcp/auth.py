"""OAuth 2.1 resource server (the MCP authorization spec): access-token checks and the scope each tool needs.

Switched on by ``PM_MCP_AUTH_ISSUER`` for ``serve --http`` (pm_mcp.http_serve); off, nothing here runs and
every request acts as ``principal.LOCAL`` (all scopes).

Tokens. An access token is a JWT signed by the issuer (RS256 or ES256; ``none`` and HS* are never accepted)
with a key from the issuer's JWKS (``PM_MCP_AUTH_JWKS_URL``, else the ``jwks_uri`` of the issuer's RFC 8414
``/.well-known/oauth-authorization-server`` or OpenID ``/.well-known/openid-configuration`` metadata, whose
``issuer`` must be ours). The keys are cached; a token naming an unknown ``kid`` refetches them once (at most one
refetch a second, so random kids cannot make us hammer the issuer). Claims: ``iss`` exactly
``PM_MCP_AUTH_ISSUER``; ``aud`` (a string or a list) contains ``PM_MCP_AUTH_AUDIENCE`` (a trailing slash aside);
``exp`` required and ``nbf`` honoured, with ``LEEWAY_S`` seconds of clock skew; ``sub`` required. Scopes from
``scope`` (space separated, RFC 9068) or ``scp`` (a list or a string).

Owner key. Rows are stored under ``<issuer>#<sub>`` (``owner_key``): unique across issuers (an issuer URL has no
fragment), stable while the issuer URL stays the same, and never equal to the static-token owner ``local`` (a
user whose ``sub`` is "local" does not see the rows written without OAuth). Changing ``PM_MCP_AUTH_ISSUER``
gives everyone new, empty owners.

Scopes per tool (``TOOL_SCOPES``, enforced in pm_mcp.server before a tool runs): ``pm:read`` market data, rules,
edge, sizing, identity; ``pm:paper`` intents, portfolio, orders, watches, the risk-policy tightening, the track
record; ``pm:trade`` in place of ``pm:paper`` for what would create or confirm an intent when the server trades
LIVE (``LIVE_TOOLS``). Resources by URI scheme (``RESOURCE_SCOPES``), prompts ``pm:read``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from pm_mcp.principal import SCOPE_PAPER, SCOPE_READ, SCOPE_TRADE, Principal

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

log = logging.getLogger("pm_mcp")

ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 30
JWKS_REFETCH_MIN_S = 1.0
HTTP_TIMEOUT_S = 5.0

TOOL_SCOPES: dict[str, str] = {
    # market data, rules, edge, sizing, identity
    "search_markets": SCOPE_READ, "get_market": SCOPE_READ, "get_order_book": SCOPE_READ,
    "get_price_history": SCOPE_READ, "get_market_holders": SCOPE_READ, "get_wallet_record": SCOPE_READ,
    "assess_market": SCOPE_READ, "parse_rules": SCOPE_READ, "compare_rules": SCOPE_READ,
    "submit_reading": SCOPE_READ, "compute_edge": SCOPE_READ, "size_position": SCOPE_READ,
    "find_arbitrage": SCOPE_READ, "get_risk_policy": SCOPE_READ, "lookup_agent": SCOPE_READ, "doctor": SCOPE_READ,
    # intents, orders, portfolio, watches (the person's own rows)
    "propose_order": SCOPE_PAPER, "propose_bundle": SCOPE_PAPER, "confirm_order": SCOPE_PAPER,
    "cancel_order": SCOPE_PAPER, "get_order": SCOPE_PAPER, "list_orders": SCOPE_PAPER,
    "get_portfolio": SCOPE_PAPER, "get_track_record": SCOPE_PAPER, "tighten_risk_policy": SCOPE_PAPER,
    "create_watch": SCOPE_PAPER, "list_watches": SCOPE_PAPER, "delete_watch": SCOPE_PAPER,
    "get_alerts": SCOPE_PAPER,
}
# what creates or confirms an intent: pm:trade when the server trades live
LIVE_TOOLS = frozenset({"propose_order", "propose_bundle", "confirm_order"})
RESOURCE_SCOPES = {"market": SCOPE_READ, "erc8004": SCOPE_READ, "watch": SCOPE_PAPER}
SCOPE_MEANING = {SCOPE_READ: "market data, rules, edge and sizing",
                 SCOPE_PAPER: "paper intents, orders, the portfolio and watches",
                 SCOPE_TRADE: "live orders"}


def required_scope(method: str, params: Any, mode: str) -> str | None:
    """The scope a request needs (None: no scope, e.g. tools/list). An unknown tool needs pm:trade, so a tool
    added without an entry fails closed (tests/test_auth_scopes.py checks every registered tool has one)."""
    params = params if isinstance(params, dict) else {}
    if method == "tools/call":
        name = str(params.get("name") or "")
        if mode == "live" and name in LIVE_TOOLS:
            return SCOPE_TRADE
        return TOOL_SCOPES.get(name, SCOPE_TRADE)
    if method in ("resources/read", "resources/subscribe"):
        return RESOURCE_SCOPES.get(str(params.get("uri") or "").partition("://")[0], SCOPE_TRADE)
    if method == "prompts/get":
        return SCOPE_READ
    return None


def scope_refusal(principal: Principal, method: str, params: Any, mode: str) -> str | None:
    """The sentence refusing this request for want of a scope, or None when the principal has it."""
    need = required_scope(method, params, mode)
    if need is None or principal.has(need):
        return None
    what = str((params or {}).get("name") or (params or {}).get("uri") or method) if isinstance(params, dict) \
        else method
    granted = " ".join(sorted(principal.scopes)) or "no pm:* scope"
    live = " while this server trades LIVE" if need == SCOPE_TRADE and mode == "live" else ""
    return (f"{what} needs the OAuth scope {need} ({SCOPE_MEANING[need]}){live}; this access token grants "
            f"{granted}. Sign in again asking for {need}, or ask the operator to grant it.")


def owner_key(issuer: str, subject: str) -> str:
    return f"{issuer}#{subject}"


def scopes_of(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope")
    if raw is None:
        raw = claims.get("scp")
    if isinstance(raw, str):
        return [s for s in raw.split() if s]
    if isinstance(raw, list):
        return [str(s) for s in raw if isinstance(s, str) and s]
    return []


class TokenRejected(Exception):
    """The token is not acceptable (the message says why; it is safe to show the client)."""


class IssuerUnavailable(Exception):
    """The issuer's metadata or keys could not be fetched: no token can be checked right now."""


class JwtVerifier:
    """The SDK's ``TokenVerifier`` (``verify_token``) for JWT access tokens; ``check`` says why a token fails."""

    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None, *, leeway_s: int = LEEWAY_S,
                 timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.issuer = issuer
        self.audience = audience.rstrip("/")
        self.jwks_url = jwks_url
        self.leeway_s = leeway_s
        self.timeout_s = timeout_s
        self.metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] = {}  # kid -> PyJWK
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._http: Any = None

    def _client(self) -> Any:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        import httpx

        try:
            resp = await self._client().get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise IssuerUnavailable(f"{url} did not answer ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise IssuerUnavailable(f"{url} answered HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise IssuerUnavailable(f"{url} did not answer JSON") from None
        if not isinstance(data, dict):
            raise IssuerUnavailable(f"{url} did not answer a JSON object")
        return data

    def metadata_urls(self) -> list[str]:
        """RFC 8414 (well-known inserted before the issuer's path), then OpenID Connect (appended)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.issuer)
        path = parts.path.rstrip("/")
        origin = f"{parts.scheme}://{parts.netloc}"
        return [f"{origin}/.well-known/oauth-authorization-server{path}",
                f"{origin}{path}/.well-known/openid-configuration"]

    async def discover(self) -> dict[str, Any]:
        """The issuer's metadata (cached): the JWKS URL, and the endpoints the approval page signs in with."""
        if self.metadata is not None:
            return self.metadata
        problems = []
        for url in self.metadata_urls():
            try:
                data = await self._get_json(url)
            except IssuerUnavailable as exc:
                problems.append(str(exc))
                continue
            if data.get("issuer") != self.issuer:
                problems.append(f"{url} names the issuer {data.get('issuer')!r}, not {self.issuer!r}")
                continue
            self.metadata = data
            return data
        raise IssuerUnavailable("the issuer's metadata could not be read: " + "; ".join(problems))

    async def _refresh_keys(self) -> None:
        import jwt

        url = self.jwks_url
        if url is None:
            url = (await self.discover()).get("jwks_uri")
            if not isinstance(url, str) or not url:
                raise IssuerUnavailable("the issuer's metadata has no jwks_uri (set PM_MCP_AUTH_JWKS_URL)")
            self.jwks_url = url
        data = await self._get_json(url)
        keys: dict[str, Any] = {}
        for entry in data.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK.from_dict(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue  # a key type or curve we do not use
            keys[str(entry.get("kid") or "")] = key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> Any:
        async with self._lock:
            if not self._fetched_at or (kid not in self._keys
                                        and time.monotonic() - self._fetched_at >= JWKS_REFETCH_MIN_S):
                await self._refresh_keys()
        key = self._keys.get(kid)
        if key is None and kid == "" and len(self._keys) == 1:
            key = next(iter(self._keys.values()))
        if key is None:
            raise TokenRejected("the token is signed with a key the issuer does not publish")
        return key

    async def check(self, token: str) -> AccessToken:
        """The token's AccessToken; raises TokenRejected (why) or IssuerUnavailable."""
        import jwt
        from mcp.server.auth.provider import AccessToken

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the token is not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"the token's algorithm {alg!r} is not accepted (only {' or '.join(ALGORITHMS)})")
        key = await self._key(str(header.get("kid") or ""))
        if getattr(key, "algorithm_name", alg) not in (alg, None):
            raise TokenRejected("the token's algorithm does not match its key")
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=[self.audience, self.audience + "/"],
                                issuer=self.issuer, leeway=self.leeway_s,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(f"the token was not issued for this server (audience {self.audience})") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(f"the token was not issued by {self.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not valid ({type(exc).__name__})") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejected("the token has no sub claim")
        client_id = claims.get("client_id") or claims.get("azp") or ""
        return AccessToken(token=token, client_id=str(client_id), scopes=scopes_of(claims),
                           expires_at=int(claims["exp"]), resource=self.audience, subject=sub,
                           claims={"iss": claims["iss"]})

    async def exchange_code(self, *, code: str, redirect_uri: str, client_id: str, code_verifier: str) -> str:
        """The access token the issuer's token endpoint gives for an authorization code (with its PKCE verifier).
        Raises TokenRejected (the issuer said no) or IssuerUnavailable. The token is not checked here: ``check``."""
        import httpx

        endpoint = (await self.discover()).get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise IssuerUnavailable("the issuer's metadata has no token_endpoint")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": client_id, "code_verifier": code_verifier}
        try:
            resp = await self._client().post(endpoint, data=form, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise IssuerUnavailable(f"{endpoint} did not answer ({type(exc).__name__})") from None
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code != 200 or not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            error = data.get("error") if isinstance(data, dict) else None
            raise TokenRejected(f"the issuer refused the sign-in ({str(error or resp.status_code)[:60]})")
        return data["access_token"]

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's TokenVerifier protocol: the AccessToken, or None for any token we do not accept."""
        try:
            return await self.check(token)
        except (TokenRejected, IssuerUnavailable) as exc:
            log.info("access token refused: %s", exc)
            return None


def principal_of(token: AccessToken) -> Principal:
    """The principal a validated token acts as."""
    issuer = str((token.claims or {}).get("iss") or "")
    return Principal(owner=owner_key(issuer, token.subject or ""), scopes=frozenset(token.scopes),
                     authenticated=True)
