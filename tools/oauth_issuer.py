"""A small OAuth 2.1 authorization server for tests: JWKS, metadata, authorize (code + PKCE) and token endpoints.

Everything on 127.0.0.1, stdlib ``http.server`` in a thread; the signing keys (one RSA 2048 key for RS256 and
one P-256 key for ES256) are generated per run with ``cryptography`` and never written anywhere. Tokens are JWTs
signed with pyjwt. It is not a real identity provider: whoever names a user on the authorize endpoint is signed
in as that user.

Python API
----------
::

    from tools.oauth_issuer import start_issuer

    with start_issuer(audience="http://127.0.0.1:8765/mcp") as iss:
        iss.url                      # "http://127.0.0.1:<port>": the issuer (the `iss` of every token)
        iss.jwks_url                 # iss.url + "/jwks"
        iss.env()                    # {"PM_MCP_AUTH_ISSUER": iss.url, "PM_MCP_AUTH_AUDIENCE": audience}
        token = iss.mint("alice", scopes=("pm:read", "pm:paper"))        # a valid access token
        iss.mint("alice", exp_in=-60)                 # expired a minute ago
        iss.mint("alice", aud="http://elsewhere/mcp") # another audience (aud=[...] for a list)
        iss.mint("alice", iss="http://evil.test")     # another issuer
        iss.mint("alice", alg="ES256")                # signed with the P-256 key (default RS256)
        iss.mint("alice", foreign_key=True)           # signed by a key the JWKS does not hold (bad signature)
        iss.mint("alice", scope_claim="scp")          # scopes as a `scp` list instead of a `scope` string
        iss.mint("alice", nbf_in=3600)                # not valid before an hour from now
        iss.mint("alice", extra={"azp": "x"})         # more claims; a claim set to None is left out
        iss.mint(None)                                # no `sub`
        iss.rotate()                                  # a new RSA key (new kid) that mint() uses from now on;
                                                      # the JWKS serves the new one and keeps the old
        iss.count("/jwks")                            # how many times a path was requested
        iss.grants["bob"] = {"pm:read"}               # what the authorize endpoint grants bob at most
                                                      # (default: whatever the client asks for)

The constructor's ``audience`` is the default `aud` of minted tokens and of tokens the token endpoint issues
(an RFC 8707 ``resource`` parameter on authorize overrides it). ``default_scopes`` (default pm:read pm:paper
pm:trade) is what authorize grants when the client asks for no scope. ``token_ttl_s`` (default 300) their life.

HTTP endpoints
--------------
- ``GET /.well-known/oauth-authorization-server`` and ``/.well-known/openid-configuration``: RFC 8414 metadata
  (issuer, authorization_endpoint, token_endpoint, jwks_uri, scopes_supported, response_types ``code``,
  grant type ``authorization_code``, code challenge method ``S256``);
- ``GET /jwks``: the public keys (RFC 7517);
- ``GET /authorize?response_type=code&client_id=..&redirect_uri=..&state=..&code_challenge=..
  &code_challenge_method=S256[&scope=..][&resource=..][&user=alice]``: with ``user`` (or ``login_hint``), signs
  that user in and redirects (302) to ``redirect_uri?code=..&state=..``; without, answers a sign-in form (one
  text field ``user``, a button "Sign in") that submits the same query with the user added. Bad requests get
  400 naming the parameter; ``code_challenge_method`` must be S256;
- ``POST /token`` (form): ``grant_type=authorization_code&code=..&redirect_uri=..&client_id=..&code_verifier=..``
  -> ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``; a code is good once, for 60 s, for the
  client and redirect URI it was issued to, and only with the verifier whose S256 is its challenge; any mismatch
  is 400 ``invalid_grant``.

Run by hand: ``python -m tools.oauth_issuer --port 9400 --audience http://127.0.0.1:8765/mcp``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

DEFAULT_SCOPES = ("pm:read", "pm:paper", "pm:trade")
CODE_TTL_S = 60


class _Key:
    def __init__(self, alg: str) -> None:
        self.alg = alg
        self.kid = f"{alg.lower()}-{uuid.uuid4().hex[:12]}"
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk = {**jwk, "kid": self.kid, "alg": alg, "use": "sig"}


class Issuer:
    """The issuer's state and its token minting; ``start_issuer`` serves it over HTTP."""

    def __init__(self, audience: str | None = None, default_scopes: Iterable[str] = DEFAULT_SCOPES,
                 token_ttl_s: int = 300) -> None:
        self.audience = audience
        self.default_scopes = tuple(default_scopes)
        self.token_ttl_s = token_ttl_s
        self.url = ""  # set once the server has a port
        self.keys = [_Key("RS256"), _Key("ES256")]
        self.rsa = self.keys[0]
        self.foreign = _Key("RS256")  # never published
        self.grants: dict[str, set[str]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def jwks_url(self) -> str:
        return self.url + "/jwks"

    def env(self) -> dict[str, str]:
        out = {"PM_MCP_AUTH_ISSUER": self.url}
        if self.audience:
            out["PM_MCP_AUTH_AUDIENCE"] = self.audience
        return out

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests[path]

    def rotate(self) -> str:
        """A new RSA signing key; the JWKS keeps the old ones. Returns the new kid."""
        key = _Key("RS256")
        with self.lock:
            self.keys.append(key)
            self.rsa = key
        return key.kid

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            return {"keys": [k.jwk for k in self.keys]}

    def metadata(self) -> dict[str, Any]:
        return {"issuer": self.url, "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token", "jwks_uri": self.jwks_url,
                "scopes_supported": list(DEFAULT_SCOPES), "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"]}

    def mint(self, sub: str | None, scopes: Iterable[str] = DEFAULT_SCOPES, *, aud: str | list[str] | None = None,
             exp_in: int | None = None, nbf_in: int | None = None, iss: str | None = None, alg: str = "RS256",
             foreign_key: bool = False, scope_claim: str = "scope", client_id: str = "test-client",
             extra: dict[str, Any] | None = None) -> str:
        """A signed access token; see the module docstring for what each argument changes."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": iss if iss is not None else self.url, "sub": sub,
                                  "aud": aud if aud is not None else self.audience, "iat": now,
                                  "exp": now + (self.token_ttl_s if exp_in is None else exp_in),
                                  "jti": secrets.token_hex(8), "client_id": client_id}
        if nbf_in is not None:
            claims["nbf"] = now + nbf_in
        scopes = list(scopes)
        claims[scope_claim] = scopes if scope_claim == "scp" else " ".join(scopes)
        claims.update(extra or {})
        claims = {k: v for k, v in claims.items() if v is not None}
        if foreign_key:
            key = self.foreign
        else:
            with self.lock:
                key = self.rsa if alg == "RS256" else next(k for k in self.keys if k.alg == alg)
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})

    # --- the authorization-code flow --------------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        for name in ("response_type", "client_id", "redirect_uri", "code_challenge"):
            if not query.get(name):
                return _bad(f"missing parameter {name}")
        if query["response_type"] != "code":
            return _bad(f"response_type must be code, got {query['response_type']!r}")
        if query.get("code_challenge_method", "plain") != "S256":
            return _bad("code_challenge_method must be S256")
        redirect = urlsplit(query["redirect_uri"])
        if redirect.scheme not in ("http", "https") or not redirect.netloc:
            return _bad("redirect_uri must be an absolute http(s) URL")
        user = query.get("user") or query.get("login_hint")
        if not user:
            return 200, {"content-type": "text/html; charset=utf-8"}, _sign_in_form(query)
        asked = (query.get("scope") or "").split() or list(self.default_scopes)
        allowed = self.grants.get(user)
        granted = [s for s in asked if allowed is None or s in allowed]
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"user": user, "scopes": granted, "client_id": query["client_id"],
                                "redirect_uri": query["redirect_uri"], "challenge": query["code_challenge"],
                                "resource": query.get("resource"), "expires": time.time() + CODE_TTL_S}
        params = {"code": code, **({"state": query["state"]} if query.get("state") else {}), "iss": self.url}
        sep = "&" if redirect.query else "?"
        return 302, {"location": query["redirect_uri"] + sep + urlencode(params)}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        with self.lock:
            entry = self.codes.pop(form.get("code") or "", None)
        if entry is None or entry["expires"] < time.time():
            return _json(400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"})
        verifier = form.get("code_verifier") or ""
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("client_id") != entry["client_id"] or form.get("redirect_uri") != entry["redirect_uri"] \
                or not secrets.compare_digest(challenge, entry["challenge"]):
            return _json(400, {"error": "invalid_grant", "error_description": "client, redirect_uri or PKCE "
                                                                               "verifier does not match"})
        token = self.mint(entry["user"], entry["scopes"], aud=entry["resource"] or None, client_id=entry["client_id"])
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s,
                           "scope": " ".join(entry["scopes"])})


def _json(status: int, obj: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", "cache-control": "no-store"}, json.dumps(obj).encode()


def _bad(message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(400, {"error": "invalid_request", "error_description": message})


def _sign_in_form(query: dict[str, str]) -> bytes:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in query.items() if k not in ("user", "login_hint"))
    return ("<!doctype html><title>Test issuer: sign in</title><h1>Sign in (test issuer)</h1>"
            f'<form method="get" action="/authorize">{hidden}<label>User <input name="user" id="user"></label>'
            '<button type="submit">Sign in</button></form>').encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        iss = self.server.issuer
        parts = urlsplit(self.path)
        with iss.lock:
            iss.requests[parts.path] += 1
        if parts.path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            self._reply(*_json(200, iss.metadata()))
        elif parts.path == "/jwks":
            self._reply(*_json(200, iss.jwks()))
        elif parts.path == "/authorize":
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._reply(*iss.authorize(query))
        else:
            self._reply(*_json(404, {"error": "not found"}))

    def do_POST(self) -> None:  # noqa: N802
        iss = self.server.issuer
        parts = urlsplit(self.path)
        with iss.lock:
            iss.requests[parts.path] += 1
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if parts.path != "/token":
            self._reply(*_json(404, {"error": "not found"}))
            return
        self._reply(*iss.token({k: v[-1] for k, v in parse_qs(body).items()}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, issuer: Issuer, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.issuer = issuer


@contextmanager
def start_issuer(audience: str | None = None, *, port: int = 0, default_scopes: Iterable[str] = DEFAULT_SCOPES,
                 token_ttl_s: int = 300) -> Iterator[Issuer]:
    """Serve a fresh issuer on 127.0.0.1:``port`` (0: a free one) for the duration of the block."""
    issuer = Issuer(audience, default_scopes, token_ttl_s)
    server = _Server(issuer, port)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oauth-issuer", daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.oauth_issuer", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--audience", default=None)
    args = parser.parse_args(argv)
    with start_issuer(args.audience, port=args.port) as iss:
        print(f"issuer {iss.url} (audience {args.audience}); a token for 'alice': {iss.mint('alice')}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
