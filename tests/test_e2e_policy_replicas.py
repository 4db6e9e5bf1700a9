"""A tightened risk policy holds on every replica and after a restart, end to end: real ``pm-mcp serve --http``
processes sharing one PostgreSQL database (tests/pg_server.py; skipped without its binaries), and a stdio server
restarted on its own SQLite file, reached by the official MCP client; the Polymarket simulator serves the market.
Paper mode, everything on 127.0.0.1.

- tighten_risk_policy on replica A: replica B refuses a stake over the tightened cap (and shows the tightened
  policy); a replica started afterwards refuses it too; a stake under the cap still passes;
- the same through a restart of one process on SQLite;
- a setting lowered below a stored tightening wins after the restart;
- the operator lists the stored tightenings and clears one person's with `pm-mcp policy`.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from test_e2e_replicas import TOKEN, call, client_of, pg, replicas  # noqa: F401 - pg: a fixture

from conftest import connect, pm_mcp_command
from tools.sim import start_sim
from tools.sim.polymarket import set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"  # market 559652's Yes


def stake(usd: str) -> dict:
    return {"venue": "polymarket", "market": "559652", "outcome": "Yes", "side": "buy", "limit_price": "0.40",
            "options": {"stake": usd}}


def prepare(sim) -> None:
    sim.state["markets"]["559652"]["orderPriceMinTickSize"] = 0.01
    set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "100")], tick_size="0.01")


async def refused_over(client, usd: str, cap: str) -> None:
    p, text = await call(client, "propose_order", stake(usd))
    assert p["status"] == "rejected" and not p["policy_ok"], text
    [v] = p["policy_violations"]
    assert v["rule"] == "max_order_usd" and Decimal(v["limit"]) == Decimal(cap), text


async def accepted(client, usd: str) -> None:
    p, text = await call(client, "propose_order", stake(usd))
    assert p["status"] == "proposed" and p["policy_ok"], text


async def test_tightened_on_one_replica_refused_on_the_other_and_on_a_later_one(pm_env, pg, tmp_path):  # noqa: F811
    with start_sim("polymarket") as sim:
        prepare(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "page",
               "PM_MCP_HTTP_TOKEN": TOKEN, "PM_MCP_DATABASE_URL": pg.new_database()}
        async with replicas(env, tmp_path, {}, {}) as (a, b), client_of(a) as ca, client_of(b) as cb:
            await accepted(cb, "5")  # the operator's $100 per order
            pol, _ = await call(ca, "tighten_risk_policy", {"max_order_usd": "3"})
            assert pol["changed"] == ["max_order_usd"]
            await refused_over(cb, "5", "3")  # B never served the tightening: it reads it from the store
            await accepted(cb, "2.5")
            shown, _ = await call(cb, "get_risk_policy", {})
            assert Decimal(str(shown["max_order_usd"])) == 3
            r = await cb.call_tool("tighten_risk_policy", {"max_order_usd": "4"})  # looser than A's 3, on B
            assert r.is_error and "only be tightened" in r.content[0].text
        url = env["PM_MCP_DATABASE_URL"]
        assert pg.psql(url, "SELECT owner, currency, limits FROM policy_tightenings").split() == [
            "local|USD|{\"max_order_usd\":", "\"3\"}"]
        listed = pm_mcp_cli({**env, "PM_MCP_HOME": str(tmp_path / "operator")}, "policy")  # the operator, on PG
        assert "local: 1 tightening(s)" in listed and "USD: max_order_usd=3 (by " in listed, listed
        # every replica stopped; one started afterwards (a new data directory) still refuses
        (tmp_path / "later").mkdir()
        async with replicas(env, tmp_path / "later", {}) as (c,), client_of(c) as cc:
            await refused_over(cc, "5", "3")


async def test_tightened_then_restarted_on_sqlite_and_a_lowered_setting_wins(pm_env, tmp_path):
    with start_sim("polymarket") as sim:
        prepare(sim)
        env = {**pm_env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "page"}
        async with connect(env) as client:
            await accepted(client, "5")
            await call(client, "tighten_risk_policy", {"max_order_usd": "4"})
            await refused_over(client, "5", "4")
        async with connect(env) as client:  # a new process on the same data directory
            await refused_over(client, "5", "4")
            await accepted(client, "3")
        async with connect({**env, "PM_MCP_MAX_ORDER_USD": "2"}) as client:  # the operator lowers the cap below it
            await refused_over(client, "3", "2")
            pol, _ = await call(client, "tighten_risk_policy", {})
            assert Decimal(str(pol["max_order_usd"])) == 2 and pol["changed"] == []
        # the operator's view and undo (the tool only tightens)
        listed = pm_mcp_cli(env, "policy")
        assert "local: 1 tightening(s)" in listed and "USD: max_order_usd=4" in listed, listed
        assert "in force (USD): per order 4," in listed, listed
        assert "removed 1 stored tightening(s) of local" in pm_mcp_cli(env, "policy", "--owner", "local", "--clear")
        async with connect(env) as client:
            await accepted(client, "5")


def pm_mcp_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*pm_mcp_command(), *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
