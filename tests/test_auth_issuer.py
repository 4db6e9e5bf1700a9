"""The test issuer (tools/oauth_issuer.py) over loopback HTTP: its tokens verify against its own JWKS, the
authorization-code flow with PKCE works once, and a wrong verifier, a reused code or a foreign key fail."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tools.oauth_issuer import start_issuer

AUD = "http://127.0.0.1:1/mcp"


def _verify(iss, token: str) -> dict:
    keys = jwt.PyJWKSet.from_dict(httpx.get(iss.jwks_url).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["RS256", "ES256"], audience=AUD, issuer=iss.url)


def test_minted_tokens_verify_against_the_published_keys():
    with start_issuer(AUD) as iss:
        meta = httpx.get(iss.url + "/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == iss.url and meta["jwks_uri"] == iss.jwks_url
        assert httpx.get(iss.url + "/.well-known/openid-configuration").json() == meta
        claims = _verify(iss, iss.mint("alice", scopes=("pm:read",)))
        assert claims["sub"] == "alice" and claims["scope"] == "pm:read"
        assert _verify(iss, iss.mint("bob", alg="ES256", scope_claim="scp"))["scp"] == list(
            ("pm:read", "pm:paper", "pm:trade"))
        iss.rotate()
        assert _verify(iss, iss.mint("carol"))["sub"] == "carol"
        with pytest.raises(StopIteration):  # its kid is not published
            _verify(iss, iss.mint("mallory", foreign_key=True))
        with pytest.raises(jwt.ExpiredSignatureError):
            _verify(iss, iss.mint("alice", exp_in=-120))
        assert "sub" not in jwt.decode(iss.mint(None), options={"verify_signature": False})
        assert iss.count("/jwks") >= 4


def test_authorization_code_with_pkce():
    with start_issuer(AUD) as iss, httpx.Client(base_url=iss.url) as http:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = {"response_type": "code", "client_id": "page", "redirect_uri": "http://127.0.0.1:2/cb", "state": "s1",
             "code_challenge": challenge, "code_challenge_method": "S256", "scope": "pm:read pm:paper"}
        form = http.get("/authorize", params=q)
        assert form.status_code == 200 and 'name="user"' in form.text
        assert http.get("/authorize", params={**q, "code_challenge_method": "plain"}).status_code == 400
        iss.grants["alice"] = {"pm:read"}
        got = http.get("/authorize", params={**q, "user": "alice"})
        assert got.status_code == 302
        back = parse_qs(urlsplit(got.headers["location"]).query)
        assert back["state"] == ["s1"]
        code = back["code"][0]
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": q["redirect_uri"],
                "client_id": "page", "code_verifier": "wrong" + verifier}
        assert http.post("/token", data=body).json()["error"] == "invalid_grant"  # and the code is spent
        code = parse_qs(urlsplit(http.get("/authorize", params={**q, "user": "alice"}).headers["location"]).query)
        body["code"], body["code_verifier"] = code["code"][0], verifier
        answer = http.post("/token", data=body).json()
        assert answer["token_type"] == "Bearer" and answer["scope"] == "pm:read"
        assert _verify(iss, answer["access_token"])["sub"] == "alice"
        assert http.post("/token", data=body).json()["error"] == "invalid_grant"  # once only
