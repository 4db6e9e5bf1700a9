"""The scope table (pm_mcp.auth.TOOL_SCOPES): every registered tool and resource template has an entry, live
trading moves proposing and confirming to pm:trade, and a refusal names the scope, what it covers and what the
token has. (Enforced end to end through the real server in tests/test_e2e_oauth.py.)"""

from __future__ import annotations

import pytest
from mcp.server import MCPServer

from pm_mcp.auth import (
    LIVE_TOOLS,
    RESOURCE_SCOPES,
    TOOL_SCOPES,
    JwtVerifier,
    owner_key,
    required_scope,
    scope_refusal,
    scopes_of,
)
from pm_mcp.principal import LOCAL, SCOPE_PAPER, SCOPE_READ, SCOPE_TRADE, Principal
from pm_mcp.server import register_surface


@pytest.fixture(scope="module")
def surface() -> MCPServer:
    mcp = MCPServer("t")
    register_surface(mcp)
    return mcp


@pytest.mark.anyio
async def test_every_tool_and_resource_has_a_scope(surface):
    names = {t.name for t in await surface.list_tools()}
    assert names == set(TOOL_SCOPES), (names ^ set(TOOL_SCOPES))
    schemes = {str(t.uri_template).partition("://")[0] for t in await surface.list_resource_templates()}
    assert schemes <= set(RESOURCE_SCOPES), schemes
    assert LIVE_TOOLS <= names


def test_required_scopes_by_mode():
    call = lambda name: {"name": name, "arguments": {}}  # noqa: E731
    assert required_scope("tools/call", call("search_markets"), "paper") == SCOPE_READ
    assert required_scope("tools/call", call("size_position"), "live") == SCOPE_READ
    assert required_scope("tools/call", call("propose_order"), "paper") == SCOPE_PAPER
    for tool in ("propose_order", "propose_bundle", "confirm_order"):
        assert required_scope("tools/call", call(tool), "live") == SCOPE_TRADE
    assert required_scope("tools/call", call("get_portfolio"), "live") == SCOPE_PAPER
    assert required_scope("tools/call", call("a_tool_nobody_listed"), "paper") == SCOPE_TRADE  # fails closed
    assert required_scope("resources/read", {"uri": "watch://w-1"}, "paper") == SCOPE_PAPER
    assert required_scope("resources/read", {"uri": "market://polymarket/1"}, "paper") == SCOPE_READ
    assert required_scope("resources/subscribe", {"uri": "watch://w-1"}, "paper") == SCOPE_PAPER
    assert required_scope("prompts/get", {"name": "evaluate_market"}, "paper") == SCOPE_READ
    assert required_scope("tools/list", {}, "live") is None


def test_refusals_name_the_scope():
    reader = Principal("iss#a", frozenset({SCOPE_READ}), authenticated=True)
    text = scope_refusal(reader, "tools/call", {"name": "propose_order"}, "paper")
    assert text.startswith("propose_order needs the OAuth scope pm:paper") and "grants pm:read" in text
    paper = Principal("iss#a", frozenset({SCOPE_READ, SCOPE_PAPER}), authenticated=True)
    assert scope_refusal(paper, "tools/call", {"name": "propose_order"}, "paper") is None
    text = scope_refusal(paper, "tools/call", {"name": "confirm_order"}, "live")
    assert "needs the OAuth scope pm:trade (live orders) while this server trades LIVE" in text
    assert scope_refusal(LOCAL, "tools/call", {"name": "confirm_order"}, "live") is None


def test_owner_key_and_scope_claims():
    assert owner_key("https://idp.example.org", "local") == "https://idp.example.org#local" != LOCAL.owner
    assert scopes_of({"scope": "pm:read  pm:paper"}) == ["pm:read", "pm:paper"]
    assert scopes_of({"scp": ["pm:read", 3, ""]}) == ["pm:read"]
    assert scopes_of({"scp": "pm:trade"}) == ["pm:trade"]
    assert scopes_of({}) == []


def test_metadata_urls_follow_rfc_8414_then_openid():
    v = JwtVerifier("https://idp.example.org/tenant/7", "https://pm.example.org/mcp")
    assert v.metadata_urls() == ["https://idp.example.org/.well-known/oauth-authorization-server/tenant/7",
                                 "https://idp.example.org/tenant/7/.well-known/openid-configuration"]
    assert JwtVerifier("https://idp.example.org/", "a").metadata_urls()[0] == \
        "https://idp.example.org/.well-known/oauth-authorization-server"


@pytest.mark.anyio
async def test_a_live_server_refuses_proposing_without_pm_trade_before_anything_else(tmp_path, monkeypatch):
    """The real server object (build_server) in live mode, through the official client in memory, for principals
    set as the OAuth layer sets them: without pm:trade, propose_order and confirm_order are refused by the scope
    check, naming pm:trade, before the tool runs (no venue is reachable; a pm:trade principal gets past the check
    and meets the tool's own answer instead)."""
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    from pm_mcp import principal
    from pm_mcp.server import build_server
    from pm_mcp.settings import Settings

    for k in list(__import__("os").environ):
        if k.startswith("PM_MCP_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PM_MCP_CACHE_DIR", "off")
    settings = Settings(home=tmp_path, mode="live", venues="polymarket", confirm="elicitation",
                        polymarket_gamma_url="http://127.0.0.1:9/g", polymarket_clob_url="http://127.0.0.1:9/c",
                        polymarket_data_url="http://127.0.0.1:9/d", http_timeout_s=1)
    paper_only = Principal("https://idp.test#eve", frozenset({SCOPE_READ, SCOPE_PAPER}), authenticated=True)
    trader = Principal("https://idp.test#tom", frozenset({SCOPE_READ, SCOPE_PAPER, SCOPE_TRADE}), authenticated=True)
    args = {"venue": "polymarket", "market": "559652", "outcome": "Yes", "side": "buy", "limit_price": "0.4",
            "size": "5"}
    async with Client(build_server(settings)) as client:
        with principal.use(paper_only):
            for tool, arguments in (("propose_order", args), ("confirm_order", {"intent_id": "i-1"})):
                r = await client.call_tool(tool, arguments)
                assert r.is_error and r.content[0].text.startswith(f"{tool} needs the OAuth scope pm:trade"), \
                    r.content[0].text
            r = await client.call_tool("get_portfolio", {})
            assert not r.is_error, r.content[0].text  # pm:paper is enough for the portfolio
        with principal.use(Principal("https://idp.test#ann", frozenset({SCOPE_PAPER}), authenticated=True)):
            with pytest.raises(MCPError) as exc:  # resources and prompts: a JSON-RPC error naming the scope
                await client.read_resource("market://polymarket/559652")
            assert exc.value.message.startswith("market://polymarket/559652 needs the OAuth scope pm:read")
            with pytest.raises(MCPError) as exc:
                await client.get_prompt("evaluate_market", {"market": "559652"})
            assert exc.value.message.startswith("evaluate_market needs the OAuth scope pm:read")
            assert exc.value.data == {"required_scope": "pm:read"}
        with principal.use(trader):
            r = await client.call_tool("confirm_order", {"intent_id": "i-1"})
            assert "OAuth scope" not in r.content[0].text
