"""A LIVE standing order needs the person and their factor: the real `pm-mcp` in PM_MCP_MODE=live (confirm auto,
a client that shows dialogs) against the strict Polymarket simulator.

- without a PIN or passkey enrolled the proposal is refused, saying how to enrol;
- with a PIN: the dialog is never offered (confirm_order arms nothing, the callback is never called); the
  approval page states the condition; its link alone is refused; the PIN arms it; the venue received nothing.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conftest import REPO, connect, pm_mcp_command
from tools.sim import start_sim
from tools.sim.polymarket_trading import orders, register_wallet

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

PK = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Hardhat #2 (public test key)
EOA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SAFE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NEWSOM = "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"  # neg-risk, tick 0.001
PIN = "582931"


@pytest.fixture
def live(pm_env, tmp_path):
    with start_sim("polymarket") as sim:
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
        key_file = tmp_path / "polymarket.key"
        key_file.write_text(PK + "\n")
        key_file.chmod(0o600)
        env = {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "auto", "PM_MCP_VENUES": "polymarket",
               "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file), "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2",
               "PM_MCP_POLYMARKET_FUNDER": SAFE, "PM_MCP_HTTP_TIMEOUT_S": "3", "PM_MCP_WATCH_INTERVAL_S": "1"}
        yield sim, env


def standing() -> dict:
    return {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.200",
            "size": "10", "trigger": {"kind": "price_below", "level": "0.2"},
            "valid_until": (datetime.now(UTC) + timedelta(days=2)).isoformat()}


async def test_live_standing_order_needs_the_page_and_the_pin(live):
    sim, env = live
    asked: list[str] = []

    async def person(context, params):
        asked.append(params.message)
        from mcp.types import ElicitResult

        return ElicitResult(action="accept", content={"approve": True})

    async with connect(env, elicitation_callback=person) as client:
        r = await client.call_tool("propose_order", standing())
        assert r.is_error and "PIN or passkey" in r.content[0].text and "set-pin" in r.content[0].text
    done = subprocess.run([*pm_mcp_command(), "set-pin", "--stdin"], input=PIN + "\n", capture_output=True, text=True,
                          env=env, cwd=str(REPO), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    async with connect(env, elicitation_callback=person) as client:
        r = await client.call_tool("propose_order", standing())
        assert not r.is_error, r.content[0].text
        p, text = r.structured_content, r.content[0].text
        assert p["mode"] == "live" and p["confirm_channel"] == "page" and "PIN or passkey" in text
        r = await client.call_tool("confirm_order", {"intent_id": p["intent_id"]})
        assert not r.is_error and "Not placed" in r.content[0].text
        assert asked == []  # never a dialog for a live standing order
        url = p["approval_url"]
        origin = url.split("/i/")[0]
        async with httpx.AsyncClient() as h:
            page = (await h.get(url)).text
            assert "LIVE standing order (REAL MONEY)" in page and "Sent only IF the YES ask is at or below" in page
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            order_hash = re.search(r'name="order_hash" value="([^"]+)"', page).group(1)
            alone = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                                 headers={"Origin": origin})
            assert alone.status_code == 403
            ok = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash, "pin": PIN},
                              headers={"Origin": origin})
            assert ok.status_code == 303, ok.text
        got = await client.call_tool("get_order", {"ref": p["intent_id"]})
        assert got.structured_content["intent"]["status"] == "armed", got.content[0].text
    assert orders(sim) == []
