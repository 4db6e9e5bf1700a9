"""`pm-mcp serve --http` as an OAuth 2.1 resource server (PM_MCP_AUTH_ISSUER), end to end: the real process on
127.0.0.1, the test issuer (tools/oauth_issuer.py: keys generated per run) and the Polymarket simulator; the official
MCP client over Streamable HTTP, and plain HTTP for what a client sees before it has a token.

- no token, expired, wrong audience, wrong issuer, bad signature, HS256/none, no sub, the static token: 401 with
  WWW-Authenticate naming the protected-resource metadata (and error="invalid_token" when a token was sent);
- a token with no pm:* scope: 403 insufficient_scope; the metadata document at both well-known paths;
- a pm:read token can search and size but not propose (the error names pm:paper); pm:paper proposes;
- an ES256 token and a `scp` claim work; a rotated key (unknown kid) is fetched once;
- a legacy session opened by one person is not usable with another person's token;
- /healthz open, /metrics only with the static token;
- start refusals: PM_MCP_CONFIRM=host (unless PM_MCP_ALLOW_HOST_CONFIRM=1), no PM_MCP_PUBLIC_URL, stdio, an http://
  public URL off loopback, live trading in hosted mode.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from conftest import REPO, pm_mcp_command
from tools.deploy import cluster
from tools.oauth_issuer import Issuer, start_issuer
from tools.sim import start_sims
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
STATIC = "oauth-test-static-token-" + "s" * 24
PAGE_CLIENT = "pm-approval-page"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@dataclass
class Served:
    url: str  # the public URL
    issuer: object
    proc: subprocess.Popen
    log: Path

    @property
    def mcp(self) -> str:
        return self.url + "/mcp"


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({"PM_MCP_HOME": str(home), "PM_MCP_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
                "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi", "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
                "PM_MCP_IPFS_GATEWAY": "http://127.0.0.1:9/ipfs/", "PM_MCP_HTTP_TOKEN": STATIC, **extra})
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oauth")
    port = cluster.free_port()
    public = f"http://127.0.0.1:{port}"
    with start_issuer(audience=public + "/mcp") as iss, start_sims("polymarket") as sims:
        sim = sims["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "1000"), ("0.42", "1000")], tick_size="0.01")
        env = _env(tmp / "home", {**sims.env(), **iss.env(), "PM_MCP_VENUES": "polymarket",
                                  "PM_MCP_PUBLIC_URL": public, "PM_MCP_HTTP_TIMEOUT_S": "3",
                                  "PM_MCP_AUTH_PAGE_CLIENT_ID": PAGE_CLIENT, "PM_MCP_CONFIRM": "page"})
        log = tmp / "server.log"
        proc = cluster.start_replica(pm_mcp_command(), env, port, log, cwd=str(REPO))
        try:
            cluster.wait_healthy(port, proc, log_path=log)
            assert "could not be read" not in log.read_text()  # the issuer answered at start
            yield Served(public, iss, proc, log)
        finally:
            cluster.stop(proc)


@asynccontextmanager
async def client_with(served: Served, token: str, **kwargs):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(served.mcp, http_client=http), **kwargs) as client:
            yield client


def _post_init(served: Served, token: str | None) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token is not None:
        headers["authorization"] = token if token.startswith(("Basic ", "Bearer ")) else f"Bearer {token}"
    return httpx.post(served.mcp, json=INIT, headers=headers, timeout=30)


def _challenge(r: httpx.Response) -> str:
    assert r.status_code == 401, (r.status_code, r.text)
    value = r.headers["www-authenticate"]
    assert value.startswith("Bearer ")
    assert f'resource_metadata="{"http://127.0.0.1"}' in value and "/.well-known/oauth-protected-resource/mcp" in value
    return value


def _tampered(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "mallory"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def test_requests_without_a_good_token_get_401_naming_the_metadata(served):
    iss = served.issuer
    value = _challenge(_post_init(served, None))
    assert "error=" not in value  # RFC 6750: no error code when no credentials were sent
    kid = jwt.get_unverified_header(iss.mint("alice"))["kid"]
    cases = {
        "expired": (iss.mint("alice", exp_in=-300), "expired"),
        "wrong audience": (iss.mint("alice", aud="http://127.0.0.1:1/mcp"), "not issued for this server"),
        "wrong issuer": (iss.mint("alice", iss="http://127.0.0.1:2"), "not issued by"),
        "foreign key": (iss.mint("alice", foreign_key=True), "does not publish"),
        "tampered": (_tampered(iss.mint("alice")), "signature"),
        "hs256": (jwt.encode({"iss": iss.url, "sub": "a", "aud": served.mcp, "exp": int(time.time()) + 60},
                             "k" * 32, algorithm="HS256", headers={"kid": kid}), "'HS256' is not accepted"),
        "none": (jwt.encode({"iss": iss.url, "sub": "a", "aud": served.mcp, "exp": int(time.time()) + 60}, None,
                            algorithm="none"), "'none' is not accepted"),
        "no sub": (iss.mint(None), "no sub claim"),
        "not yet valid": (iss.mint("alice", nbf_in=3600), "not valid yet"),
        "garbage": ("not-a-jwt", "not a JWT"),
        "the static token": (STATIC, "not a JWT"),
    }
    for name, (token, why) in cases.items():
        value = _challenge(_post_init(served, token))
        assert 'error="invalid_token"' in value and why in value, (name, value)
    value = _challenge(_post_init(served, "Basic dXNlcjpwdw=="))
    assert 'error="invalid_request"' in value
    # a token within its leeway is fine; one minted for the audience with a trailing slash too
    assert _post_init(served, iss.mint("alice", exp_in=-5)).status_code == 200
    assert _post_init(served, iss.mint("alice", aud=[served.mcp + "/", "other"])).status_code == 200


def test_a_token_without_any_pm_scope_is_403(served):
    r = _post_init(served, served.issuer.mint("alice", scopes=("openid", "email")))
    assert r.status_code == 403
    value = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in value and 'scope="pm:read"' in value and "resource_metadata=" in value


def test_protected_resource_metadata(served):
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        r = httpx.get(served.url + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        doc = r.json()
        assert doc["resource"] == served.mcp
        assert doc["authorization_servers"] == [served.issuer.url]
        assert doc["scopes_supported"] == ["pm:paper", "pm:read", "pm:trade"]
        assert doc["bearer_methods_supported"] == ["header"]
    # a client follows it to the issuer's own metadata
    meta = httpx.get(doc["authorization_servers"][0] + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["issuer"] == served.issuer.url and meta["code_challenge_methods_supported"] == ["S256"]


def test_healthz_open_metrics_only_with_the_static_token(served):
    assert httpx.get(served.url + "/healthz", timeout=10).text == "ok\n"
    assert httpx.get(served.url + "/metrics", timeout=10).status_code == 401
    r = httpx.get(served.url + "/metrics", headers={"authorization": f"Bearer {served.issuer.mint('alice')}"},
                  timeout=10)
    assert r.status_code == 401  # a person's token does not read the whole process's figures
    r = httpx.get(served.url + "/metrics", headers={"authorization": f"Bearer {STATIC}"}, timeout=10)
    assert r.status_code == 200 and "pm_mcp_store_up 1" in r.text


async def _call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    return r.is_error, r.content[0].text if r.content else "", r.structured_content


PROPOSE = {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.40",
           "size": "5"}


async def test_scopes_are_enforced_per_tool(served):
    iss = served.issuer
    async with client_with(served, iss.mint("reader", scopes=("pm:read",))) as client:
        err, text, found = await _call(client, "search_markets", {"query": "newsom"})
        assert not err and found["results"], text
        err, text, _ = await _call(client, "size_position", {"venue": "polymarket", "market": NEWSOM, "p": "0.6"})
        assert not err, text
        err, text, _ = await _call(client, "propose_order", PROPOSE)
        assert err and "pm:paper" in text and "propose_order" in text, text
        err, text, _ = await _call(client, "get_portfolio", {})
        assert err and "pm:paper" in text, text
    async with client_with(served, iss.mint("trader", scopes=("pm:read", "pm:paper"))) as client:
        err, text, prop = await _call(client, "propose_order", PROPOSE)
        assert not err, text
        assert prop["approval_url"].startswith(served.url + "/i/")
        err, text, _ = await _call(client, "get_order", {"ref": prop["intent_id"]})
        assert not err, text
    async with client_with(served, iss.mint("paper-only", scopes=("pm:paper",))) as client:
        err, text, _ = await _call(client, "get_market", {"venue": "polymarket", "market": NEWSOM})
        assert err and "pm:read" in text, text


async def test_es256_scp_and_a_rotated_key(served):
    iss = served.issuer
    async with client_with(served, iss.mint("ec-user", alg="ES256", scope_claim="scp")) as client:
        err, text, _ = await _call(client, "get_risk_policy", {})
        assert not err, text
    before = iss.count("/jwks")
    iss.rotate()
    time.sleep(1.1)  # the verifier refetches on an unknown kid at most once a second
    token = iss.mint("rotated")
    assert _post_init(served, token).status_code == 200
    assert iss.count("/jwks") == before + 1
    assert _post_init(served, iss.mint("rotated-again")).status_code == 200
    assert iss.count("/jwks") == before + 1  # cached
    # random kids do not make the server fetch the keys on every request
    for _ in range(5):
        _challenge(_post_init(served, iss.mint("x", foreign_key=True)))
    assert iss.count("/jwks") <= before + 2


async def test_a_legacy_session_belongs_to_the_person_who_opened_it(served):
    iss = served.issuer
    headers = {**MCP_HEADERS, "authorization": f"Bearer {iss.mint('alice')}"}
    r = httpx.post(served.mcp, json=INIT, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    session = r.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert httpx.post(served.mcp, json=note, headers={**headers, "mcp-session-id": session, "mcp-protocol-version":
                                                      "2025-06-18"}, timeout=30).status_code == 202
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    ok = httpx.post(served.mcp, json=listing, headers={**headers, "mcp-session-id": session,
                                                       "mcp-protocol-version": "2025-06-18"}, timeout=30)
    assert ok.status_code == 200
    bob = {**headers, "authorization": f"Bearer {iss.mint('bob')}", "mcp-session-id": session,
           "mcp-protocol-version": "2025-06-18"}
    assert httpx.post(served.mcp, json=listing, headers=bob, timeout=30).status_code == 404


def _start(tmp: Path, extra: dict[str, str], args: tuple[str, ...] = ("serve", "--http")) -> subprocess.CompletedProcess:
    port = cluster.free_port()
    env = _env(tmp, {"PM_MCP_AUTH_ISSUER": "http://127.0.0.1:9", "PM_MCP_AUTH_PAGE_CLIENT_ID": PAGE_CLIENT, **extra})
    if "--http" in args:
        args = (*args, "--host", "127.0.0.1", "--port", str(port))
    return subprocess.run([*pm_mcp_command(), *args], env=env, cwd=str(REPO), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_start_refusals(tmp_path):
    public = "http://127.0.0.1:8765"
    r = _start(tmp_path / "a", {"PM_MCP_PUBLIC_URL": public, "PM_MCP_CONFIRM": "host"})
    assert r.returncode == 2 and "PM_MCP_CONFIRM=host is refused" in r.stderr and "PM_MCP_ALLOW_HOST_CONFIRM=1" in r.stderr
    r = _start(tmp_path / "b", {})
    assert r.returncode == 2 and "PM_MCP_AUTH_ISSUER needs PM_MCP_PUBLIC_URL" in r.stderr, r.stderr
    r = _start(tmp_path / "c", {}, ("serve",))
    assert r.returncode == 2 and "PM_MCP_AUTH_ISSUER is for `pm-mcp serve --http`" in r.stderr, r.stderr
    r = _start(tmp_path / "d", {"PM_MCP_PUBLIC_URL": "http://pm.example.org"})
    assert r.returncode == 2 and "must be an https:// URL with PM_MCP_AUTH_ISSUER" in r.stderr, r.stderr
    r = _start(tmp_path / "e", {"PM_MCP_PUBLIC_URL": public, "PM_MCP_MODE": "live"})
    assert r.returncode == 2 and "PM_MCP_MODE=live is refused with PM_MCP_PUBLIC_URL" in r.stderr, r.stderr
    r = subprocess.run([*pm_mcp_command(), "serve", "--http", "--port", str(cluster.free_port())], cwd=str(REPO),
                       env={**_env(tmp_path / "g", {"PM_MCP_AUTH_ISSUER": "http://127.0.0.1:9",
                                                    "PM_MCP_PUBLIC_URL": public})},
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "PM_MCP_AUTH_PAGE_CLIENT_ID is not set" in r.stderr, r.stderr
    assert f"{public}/auth/callback" in r.stderr
    r = _start(tmp_path / "f", {"PM_MCP_AUTH_ISSUER": "http://idp.example.org"})
    assert r.returncode == 2 and "PM_MCP_AUTH_ISSUER must be an https:// URL" in r.stderr
    assert "'http://idp.example.org'" in r.stderr


def test_host_confirm_starts_when_the_operator_allows_it(tmp_path):
    port = cluster.free_port()
    env = _env(tmp_path, {"PM_MCP_AUTH_ISSUER": "http://127.0.0.1:9", "PM_MCP_PUBLIC_URL": f"http://127.0.0.1:{port}",
                          "PM_MCP_CONFIRM": "host", "PM_MCP_ALLOW_HOST_CONFIRM": "1"})
    proc = cluster.start_replica(pm_mcp_command(), env, port, tmp_path / "log", cwd=str(REPO))
    try:
        cluster.wait_healthy(port, proc, log_path=tmp_path / "log")
        assert "warning: the issuer's metadata could not be read" in (tmp_path / "log").read_text()
        # the issuer does not answer: a token cannot be checked, which is 503, not a 401 that sends clients to sign in
        token = Issuer().mint("alice")  # an RS256 token whose keys the server cannot fetch
        r = httpx.post(f"http://127.0.0.1:{port}/mcp", json=INIT,
                       headers={**MCP_HEADERS, "authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
    finally:
        cluster.stop(proc)


# --- the approval page signs the person in at the issuer -------------------------------------------------------------

def _sign_in(served: Served, http: httpx.Client, url: str, user: str) -> httpx.Response:
    """Open an approval link as a browser would without a session: to the issuer, sign in as ``user``, back."""
    first = http.get(url)
    assert first.status_code == 303, (first.status_code, first.text)
    to_issuer = first.headers["location"]
    assert to_issuer.startswith(served.issuer.url + "/authorize?")
    q = parse_qs(urlsplit(to_issuer).query)
    assert q["client_id"] == [PAGE_CLIENT] and q["code_challenge_method"] == ["S256"]
    assert q["redirect_uri"] == [served.url + "/auth/callback"] and q["resource"] == [served.mcp]
    assert "pm:paper" in q["scope"][0].split()
    signed = http.get(to_issuer + "&" + urlencode({"user": user}))
    assert signed.status_code == 302 and signed.headers["location"].startswith(served.url + "/auth/callback?")
    back = http.get(signed.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == urlsplit(url).path, (back.status_code, back.text)
    cookie = back.headers["set-cookie"]
    assert cookie.startswith("pm_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    return http.get(url)


def _form(page: httpx.Response) -> dict[str, str]:
    return {"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1),
            "order_hash": re.search(r'name="order_hash" value="([^"]+)"', page.text).group(1)}


async def test_the_page_signs_the_person_in_and_only_the_owner_sees_it(served):
    iss = served.issuer
    async with client_with(served, iss.mint("alice", scopes=("pm:read", "pm:paper"))) as client:
        err, text, prop = await _call(client, "propose_order", PROPOSE)
        assert not err, text
        url, intent_id = prop["approval_url"], prop["intent_id"]
        with httpx.Client(timeout=30) as bob:
            page = _sign_in(served, bob, url, "bob")
            assert page.status_code == 404 and intent_id not in page.text  # bob learns nothing
            r = bob.post(url + "/approve", data={"csrf": "x", "order_hash": "y"}, headers={"Origin": served.url})
            assert r.status_code == 404
        with httpx.Client(timeout=30) as stranger:
            r = stranger.post(url + "/approve", data={"csrf": "x", "order_hash": "y"}, headers={"Origin": served.url})
            assert r.status_code == 403 and "Sign in" in r.text
            stranger.cookies.set("pm_session", "eyJvd25lciI6ImFsaWNlIn0.AAAA")  # forged: not signed by us
            assert stranger.get(url).status_code == 303
            # a sign-in answer that is not for this browser is refused
            r = stranger.get(served.url + "/auth/callback?code=abc&state=def")
            assert r.status_code == 400 and "stale" in r.text
        with httpx.Client(timeout=30) as alice:
            page = _sign_in(served, alice, url, "alice")
            assert page.status_code == 200 and "Approve" in page.text
            r = alice.post(url + "/approve", data=_form(page), headers={"Origin": served.url})
            assert r.status_code == 303, r.text
        err, text, order = await _call(client, "get_order", {"ref": intent_id})
        assert not err and order["intent"]["status"] in ("executed", "confirmed", "executing"), text


async def test_a_sign_in_without_pm_paper_cannot_approve(served):
    iss = served.issuer
    async with client_with(served, iss.mint("carol", scopes=("pm:read", "pm:paper"))) as client:
        err, text, prop = await _call(client, "propose_order", PROPOSE)
        assert not err, text
    iss.grants["carol"] = {"pm:read"}  # the issuer grants carol less than the page asks for
    try:
        with httpx.Client(timeout=30) as carol:
            page = _sign_in(served, carol, prop["approval_url"], "carol")
            assert page.status_code == 200
            r = carol.post(prop["approval_url"] + "/approve", data=_form(page), headers={"Origin": served.url})
            assert r.status_code == 403 and "does not grant pm:paper" in r.text
    finally:
        del iss.grants["carol"]


async def test_the_page_sign_in_in_a_real_browser(served):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("/usr/bin/chromium is missing: tools/test.sh should have installed Debian's chromium")
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    from playwright.async_api import async_playwright

    iss = served.issuer
    async with client_with(served, iss.mint("dave", scopes=("pm:read", "pm:paper"))) as client:
        err, text, prop = await _call(client, "propose_order", PROPOSE)
        assert not err, text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(prop["approval_url"])
                assert page.url.startswith(iss.url + "/authorize")  # the issuer's sign-in form
                await page.fill("#user", "dave")
                await page.click("button[type=submit]")
                await page.wait_for_url(prop["approval_url"])
                await page.click("button:has-text('Approve')")
                await page.wait_for_load_state()
                assert "Approved" in await page.content()
                cookies = {c["name"]: c for c in await page.context.cookies()}
                assert cookies["pm_session"]["httpOnly"] and cookies["pm_session"]["sameSite"] == "Lax"
            finally:
                await browser.close()
        err, text, order = await _call(client, "get_order", {"ref": prop["intent_id"]})
        assert not err and order["intent"]["status"] in ("executed", "confirmed", "executing"), text


async def test_the_sign_in_crosses_replicas_that_share_the_state_keys(tmp_path):
    """Two replicas on one data directory (one SQLite file) with the same PM_MCP_STATE_KEYS: the sign-in started
    on one finishes on the other, and the page is approved there. A third with other keys does not accept the
    first one's sign-in answer or session (it asks the person to sign in again)."""
    import secrets

    ports = [cluster.free_port() for _ in range(3)]
    public = f"http://127.0.0.1:{ports[0]}"
    keys = secrets.token_hex(32)
    with start_issuer(audience=public + "/mcp") as iss, start_sims("polymarket") as sims:
        sim = sims["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "1000")], tick_size="0.01")
        base = {**sims.env(), **iss.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_PUBLIC_URL": public,
                "PM_MCP_ALLOWED_HOSTS": "127.0.0.1:*", "PM_MCP_AUTH_PAGE_CLIENT_ID": PAGE_CLIENT,
                "PM_MCP_CONFIRM": "page", "PM_MCP_HTTP_TIMEOUT_S": "3"}
        procs = []
        try:
            # all three at once, as a deployment starts them: the two on one new SQLite file make their first start
            # together (the store serialises it: tests/test_store_first_start_race.py)
            for i, port in enumerate(ports):
                home = tmp_path / ("home" if i < 2 else "home-other")
                env = _env(home, {**base, "PM_MCP_STATE_KEYS": keys if i < 2 else secrets.token_hex(32)})
                procs.append(cluster.start_replica(pm_mcp_command(), env, port, tmp_path / f"r{i}.log", cwd=str(REPO)))
            for i, (port, proc) in enumerate(zip(ports, procs, strict=True)):
                cluster.wait_healthy(port, proc, log_path=tmp_path / f"r{i}.log")
            served = Served(public, iss, procs[0], tmp_path / "r0.log")
            on = lambda url, i: url.replace(f":{ports[0]}/", f":{ports[i]}/", 1)  # noqa: E731 - the same URL, replica i
            async with client_with(served, iss.mint("erin", scopes=("pm:read", "pm:paper"))) as client:
                err, text, prop = await _call(client, "propose_order", PROPOSE)
                assert not err, text
                url = prop["approval_url"]
                with httpx.Client(timeout=30) as erin:
                    to_issuer = erin.get(url).headers["location"]  # replica 0 starts the sign-in
                    callback = erin.get(to_issuer + "&user=erin").headers["location"]
                    other = erin.get(on(callback, 2))  # replica 2 has other keys: the answer is not its own
                    assert other.status_code == 400 and "stale" in other.text
                    back = erin.get(on(callback, 1))  # replica 1 finishes it
                    assert back.status_code == 303, back.text
                    assert erin.get(on(url, 2)).status_code == 303  # replica 2 asks erin to sign in again
                    page = erin.get(on(url, 1))
                    assert page.status_code == 200 and "Approve" in page.text
                    r = erin.post(on(url, 1) + "/approve", data=_form(page), headers={"Origin": public})
                    assert r.status_code == 303, r.text
                err, text, order = await _call(client, "get_order", {"ref": prop["intent_id"]})
                assert not err and order["intent"]["status"] in ("executed", "confirmed", "executing"), text
        finally:
            for proc in procs:
                cluster.stop(proc)
