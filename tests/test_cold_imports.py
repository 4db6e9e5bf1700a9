"""Guards for the cold-start work (tools/bench/cold_start.py measures the time; nothing here is timed).

Each check runs in a fresh interpreter, so what earlier tests imported cannot hide a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# Modules the server must not load before the MCP handshake: they are needed only by a tool call or
# by the background start-up hooks (venue adapters, http clients, signing, the approval page).
NOT_AT_START = [
    "httpx",
    "tenacity",
    "pygments",  # pulled in by httpx's CLI module
    "web3",
    "eth_account",
    "eth_abi",
    "eth_keys",
    "pm_mcp.venues.polymarket",
    "pm_mcp.venues.kalshi",
    "pm_mcp.venues.manifold",
    "pm_mcp.venues.polymarket.signing",
    "pm_mcp.venues.kalshi.signing",
    "pm_mcp.venues.send_journal",
    "pm_mcp.execution.approval",
    "pm_mcp.domain.matching",
]


def _run(code: str, env_home, cache: str = "off") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({
        "PM_MCP_HOME": str(env_home),
        "PM_MCP_CACHE_DIR": cache,  # off: the surface is built while the server is (what a first start does)
        "PM_MCP_POLYMARKET_GAMMA_URL": "http://127.0.0.1:9/gamma",
        "PM_MCP_POLYMARKET_CLOB_URL": "http://127.0.0.1:9/clob",
        "PM_MCP_POLYMARKET_DATA_URL": "http://127.0.0.1:9/data",
        "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi",
        "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
    })
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_building_the_server_does_not_import_tool_only_dependencies(tmp_path):
    out = _run("""
        import gc, json, sys
        from pm_mcp import cli
        from pm_mcp.settings import load_settings
        mcp = cli._build_server_quickly(load_settings())
        print(json.dumps({"loaded": sorted(m for m in sys.modules),
                          "tools": len(mcp._tool_manager.list_tools()),
                          "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
    """, tmp_path)
    assert out["tools"] >= 20  # the surfaces really were imported and registered
    early = [m for m in NOT_AT_START if m in out["loaded"]]
    assert early == [], f"imported while the server is built (import them on first use): {early}"
    # the market service and the HTTP layer are imported when the components start (after the handshake,
    # pm_mcp.app.start_components), not while the server is built ...
    assert "pm_mcp.markets.service" not in out["loaded"] and "httpx" not in out["loaded"]
    # ... and the collector is running again after the build, with the start-up objects frozen
    assert out["gc_enabled"] is True
    assert out["frozen"] > 10_000


def test_with_a_remembered_tools_list_the_surface_is_not_built_before_the_handshake(tmp_path):
    """pm_mcp.tools_cache: the same files as last time -> tools/list comes from the cache and none of the surface
    modules (nor their ~100 models) is imported while the server is built; the first request that needs the
    surface builds it (tests/test_tools_cache.py drives that through the real server)."""
    out = _run("""
        import asyncio, json, sys
        from mcp.server import MCPServer
        from pm_mcp import server, tools_cache
        probe = MCPServer("probe")
        server.register_surface(probe)
        tools_cache.store(tools_cache.source_key(), tools_cache.dump_tools(asyncio.run(probe.list_tools())))
        for m in [m for m in sys.modules if m.startswith(("pm_mcp.surface", "pm_mcp.domain.rules"))]:
            del sys.modules[m]
        from pm_mcp import cli
        from pm_mcp.settings import load_settings
        mcp = cli._build_server_quickly(load_settings())
        print(json.dumps({"loaded": sorted(m for m in sys.modules if m.startswith("pm_mcp.surface.")),
                          "tools": len(mcp._tool_manager.list_tools())}))
    """, tmp_path, cache=str(tmp_path / "cache"))
    assert out["tools"] == 0, "the surface waits for a request that needs it"
    assert [m for m in out["loaded"] if m != "pm_mcp.surface.render"] == []


def test_start_up_hooks_wait_for_the_handshake_and_start_when_a_tool_needs_them(tmp_path):
    out = _run("""
        import asyncio, json, sys
        from pm_mcp.app import app_lifespan
        from pm_mcp.settings import load_settings

        async def main():
            async with app_lifespan(load_settings()) as state:
                for _ in range(20):
                    await asyncio.sleep(0)
                def running():
                    return sorted(n for n in ("http", "markets", "execution") if getattr(state, n) is not None)

                before = {"started": state.started.is_set(), "services": running(), "httpx": "httpx" in sys.modules}
                await state.wait_started()  # what a tool call does (pm_mcp.server middleware)
                after = {"started": state.started.is_set(), "services": running()}
            return {"before": before, "after": after}

        print(json.dumps(asyncio.run(main())))
    """, tmp_path)
    assert out["before"] == {"started": False, "services": [], "httpx": False}
    assert out["after"]["started"] is True
    assert out["after"]["services"] == ["execution", "http", "markets"]


def test_http_clients_share_one_ssl_context():
    # building a verifying SSL context loads the CA bundle; one per process, not one per venue
    import asyncio

    from pm_mcp.venues.http import HttpPool, make_client

    async def main():
        pool = HttpPool(timeout_s=5)
        try:
            a, b = pool.client("polymarket"), pool.client("kalshi")
            c = make_client(5)
            try:
                ctxs = {id(x._transport._pool._ssl_context) for x in (a, b, c)}
            finally:
                await c.aclose()
        finally:
            await pool.aclose()
        return ctxs

    assert len(asyncio.run(main())) == 1
