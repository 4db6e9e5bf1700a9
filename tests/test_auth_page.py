"""The approval page's sign-in cookie (pm_mcp.execution.approval.PageSignIn): signed with a key derived from
PM_MCP_STATE_KEYS (so replicas with the same keys read each other's cookies, and a rotated-out key still opens
one), tamper-proof, expiring, and set with the attributes a browser needs. The whole flow runs end to end in
tests/test_e2e_oauth.py."""

from __future__ import annotations

import time

from pm_mcp.execution.approval import PageSignIn
from pm_mcp.settings import Settings

A, B = "a" * 32, "b" * 32


def sign_in(public_url: str = "https://pm.example.org", keys: str | None = f"{A}") -> PageSignIn:
    s = Settings(home="/tmp/pm-mcp-unused", public_url=public_url, auth_issuer="https://login.example.org",
                 auth_page_client_id="page", state_keys=keys)
    return PageSignIn(s)


def test_sealed_values_open_on_replicas_with_the_same_keys_only():
    one, other = sign_in(keys=A), sign_in(keys=A)
    value = one.seal({"owner": "https://login.example.org#alice", "scopes": ["pm:paper"], "exp": time.time() + 60})
    assert other.unseal(value)["owner"] == "https://login.example.org#alice"
    assert sign_in(keys=f"{B},{A}").unseal(value) is not None  # rotation: the old key still opens
    assert sign_in(keys=B).unseal(value) is None
    assert sign_in(keys=None).unseal(value) is None  # without keys: a key of this process's own
    body, sig = value.split(".")
    assert one.unseal(body[:-2] + "xx." + sig) is None and one.unseal(body + "." + sig[:-2] + "AA") is None
    assert one.unseal(one.seal({"owner": "x", "exp": time.time() - 1})) is None  # expired
    assert one.unseal(one.seal({"owner": "x"})) is None  # no expiry at all
    assert one.unseal(None) is None and one.unseal("garbage") is None


def test_principal_from_the_cookie_header():
    page = sign_in()
    value = page.seal({"owner": "iss#bob", "scopes": ["pm:paper", "pm:read"], "exp": time.time() + 60})
    who = page.principal({"cookie": f"other=1; {page.session_name}={value}; x=y"})
    assert who is not None and who.owner == "iss#bob" and who.has("pm:paper") and who.authenticated
    assert page.principal({"cookie": f"pm_session={value}"}) is None  # on https only the __Host- name counts
    assert page.principal({}) is None


def test_cookie_attributes():
    secure = sign_in("https://pm.example.org")
    assert secure.session_name == "__Host-pm_session"
    assert secure.set_cookie(secure.session_name, "v", 300) == \
        "__Host-pm_session=v; Max-Age=300; Path=/; HttpOnly; SameSite=Lax; Secure"
    plain = sign_in("http://127.0.0.1:8765")
    assert plain.session_name == "pm_session" and "Secure" not in plain.set_cookie("pm_session", "v", 5)
    assert plain.scopes == "pm:paper"
