"""The official MCP Inspector CLI (npm @modelcontextprotocol/inspector, pinned in tools/inspector/, installed by
tools/test.sh) against the real `pm-mcp`: `tools/list --strict` finds no portability problem (exit 0, no
warning), and `tools/call` of every read-only tool succeeds (exit 0; 5 would be a tool error), arguments given
with --tool-args-json as a client sends them, a Polymarket id as a JSON number included. Polymarket simulator
for market data; anvil with the ERC-8004 registries for lookup_agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, connect, pm_mcp_command
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e]

CLI = REPO / "tools" / "inspector" / "node_modules" / ".bin" / "inspector"
NEWSOM = 559652  # as a number, the way the Inspector's own key=value form sends it
PM = {"market": NEWSOM, "venue": "polymarket"}
RECORDED_WALLET = "0x7c3db723f1d4d8cb9c550095203b686cb11e5c6b"

if not CLI.exists():
    pytest.skip("the MCP Inspector CLI is not installed (tools/test.sh runs `npm ci` in tools/inspector)",
                allow_module_level=True)


def inspector(env: dict[str, str], *method: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = pm_mcp_command()
    flags = [f for k, v in env.items() if k.startswith("PM_MCP_") for f in ("-e", f"{k}={v}")]
    run_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(CLI), "--cli", "--format", "json", *flags, "--cwd", str(REPO), *cmd, *method],
                          capture_output=True, text=True, timeout=timeout, env=run_env, cwd=str(REPO))


def call(env: dict[str, str], tool: str, args: dict) -> dict:
    r = inspector(env, "--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(args))
    assert r.returncode == 0, (tool, r.returncode, r.stdout[-1500:], r.stderr[-1500:])
    result = json.loads(r.stdout)["result"]
    assert not result.get("isError") and result.get("structuredContent"), (tool, result)
    return result["structuredContent"]


@pytest.fixture
def env(pm_env):
    with start_sims("polymarket") as group:
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3"}


def test_strict_tools_list_has_no_portability_warning(pm_env):
    r = inspector(pm_env, "--method", "tools/list", "--strict")
    assert r.returncode == 0, (r.returncode, r.stderr[-3000:])
    assert "Warning: tool" not in r.stderr and "Error: tool" not in r.stderr, r.stderr[-3000:]
    listed = json.loads(r.stdout)
    assert len(listed.get("result", listed)["tools"]) >= 29


def _read_only_tools(env) -> set[str]:
    import anyio

    async def names() -> set[str]:
        async with connect(env) as client:
            return {t.name for t in (await client.list_tools()).tools if t.annotations and t.annotations.read_only_hint}

    return anyio.run(names)


def test_every_read_tool_passes_through_the_cli(env):
    read = _read_only_tools(env)
    intent = call(env, "propose_order", {**PM, "outcome": "Yes", "side": "buy", "limit_price": 0.3, "size": 5})
    calls = {
        "size_position": {"p": 0.6, **PM},
        "compute_edge": {"p": 0.6, **PM, "size": 5},
        "get_risk_policy": {},
        "search_markets": {"query": "newsom"},
        "get_market": PM,
        "get_order_book": {**PM, "outcome": "Yes"},
        "get_price_history": {**PM, "outcome": "Yes", "span": {"max_points": 10}},
        "parse_rules": PM,
        "compare_rules": {"a": NEWSOM, "a_venue": "polymarket", "b": NEWSOM, "b_venue": "polymarket"},
        "assess_market": PM,
        "get_order": {"ref": intent["intent_id"]},
        "list_orders": {},
        "get_portfolio": {},
        "get_track_record": {},
        "doctor": {},
        "find_arbitrage": {"markets": [NEWSOM], "kinds": ["yes_no"]},
        "list_watches": {},
        "get_market_holders": {**PM, "signal": True},
        "get_wallet_record": {"wallet": RECORDED_WALLET},
    }
    missing = read - set(calls) - {"lookup_agent"}  # lookup_agent: the test below, on a chain
    assert not missing, f"read tools without a CLI call here: {missing}"
    for tool, args in calls.items():
        assert tool in read, f"{tool} is no longer read-only: move it out of this test"
        call(env, tool, args)


def test_lookup_agent_passes_through_the_cli(chain_env):
    env, agent = chain_env
    out = call(env, "lookup_agent", {"agent": f"31337:{agent}", "options": {"limit": 5}})
    assert out
