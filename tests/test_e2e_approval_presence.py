"""A LIVE order needs the person, not just the link: the real `pm-mcp` (official MCP client over stdio) in
PM_MCP_MODE=live with PM_MCP_CONFIRM=page against the strict Polymarket simulator (it records every order it
receives), the approval page driven in Debian's headless Chromium.

- live + the page channel + no factor enrolled: the proposal is refused (saying how to enrol), doctor fails;
- the link alone (Chromium clicking Approve, or a direct POST with the page's CSRF token) is refused, nothing
  is sent; a wrong PIN is refused and counted; after MAX_TRIES wrong PINs even the right one is locked out;
- the right PIN sends exactly one order; PM_MCP_OPEN_BROWSER=1 opens the page without showing its URL;
- a passkey (Chromium's virtual authenticator over the DevTools protocol: CTAP2, internal, resident key, user
  verification) enrolled with `pm-mcp enroll` approves, and the venue receives exactly one order.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import REPO, connect, pm_mcp_command
from pm_mcp.execution import presence
from tools.sim import start_sim
from tools.sim.polymarket_trading import orders, register_wallet

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PK = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Hardhat #2 (public test key)
EOA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SAFE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NEWSOM = "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"  # neg-risk, tick 0.001
ORDER = {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.234",
         "size": "10"}
PIN = "582931"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("/usr/bin/chromium is missing: tools/test.sh should have installed Debian's chromium")
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)", allow_module_level=True)


@pytest.fixture
def live(pm_env, tmp_path):
    with start_sim("polymarket") as sim:
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
        key_file = tmp_path / "polymarket.key"
        key_file.write_text(PK + "\n")
        key_file.chmod(0o600)
        env = {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "page", "PM_MCP_VENUES": "polymarket",
               "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file), "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2",
               "PM_MCP_POLYMARKET_FUNDER": SAFE, "PM_MCP_HTTP_TIMEOUT_S": "3"}
        yield sim, env


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


def cli(args: list[str], env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*pm_mcp_command(), *args], check=False, input=stdin, capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=60)


async def call(client, tool: str, args: dict | None = None):
    r = await client.call_tool(tool, args or {})
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def page_fields(url: str) -> tuple[str, str, str]:
    async with httpx.AsyncClient() as h:
        page = await h.get(url)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    order_hash = re.search(r'name="order_hash" value="([^"]+)"', page.text).group(1)
    return page.text, csrf, order_hash


async def test_live_page_without_a_factor_refuses_to_propose_and_doctor_fails(live):
    sim, env = live
    async with connect(env) as client:
        r = await client.call_tool("propose_order", ORDER)
        assert r.is_error
        text = r.content[0].text
        assert "pm-mcp set-pin" in text and "pm-mcp enroll" in text, text
        d, text = await call(client, "doctor")
        check = {c["name"]: c for c in d["checks"]}["presence factor"]
        assert check["status"] == "fail" and "pm-mcp set-pin" in check["advice"], text
    assert orders(sim) == []


async def test_live_link_alone_and_wrong_pin_are_refused_right_pin_sends_one_order(live, browser, tmp_path):
    sim, env = live
    r = cli(["set-pin", "--stdin"], env, PIN + "\n")
    assert r.returncode == 0, r.stderr
    opened = tmp_path / "opened.txt"
    opener = tmp_path / "browser.sh"
    opener.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    opener.chmod(0o700)
    env = {**env, "PM_MCP_OPEN_BROWSER": "1", "BROWSER": str(opener)}
    async with connect(env) as client:
        d, _ = await call(client, "doctor")
        assert {c["name"]: c["status"] for c in d["checks"]}["presence factor"] == "pass"
        p, text = await call(client, "propose_order", ORDER)
        assert p["mode"] == "live" and p["status"] == "proposed" and p["confirm_channel"] == "page"
        # the page was opened in the person's browser; its address is not shown to the assistant
        assert p["approval_url"] is None and "opened in the person's browser" in text
        [url] = opened.read_text().split()
        token = url.rsplit("/", 1)[1]
        assert url.startswith("http://localhost:") and token not in text and token not in json.dumps(p)
        again, text = await call(client, "get_order", {"ref": p["intent_id"]})
        assert again["intent"]["approval_url"] is None and token not in text
        assert opened.read_text().split() == [url]  # opened once, not at every read

        page = await browser.new_page()
        await page.goto(url)
        assert await page.locator("#mode").inner_text() == "LIVE: real money"
        assert "needs your PIN" in await page.locator("#presence").inner_text()
        # 1. the link alone: clicking Approve without the PIN
        await page.click("#approve")
        await page.wait_for_selector("#notice")
        assert "needs your PIN" in await page.locator("#notice").inner_text()
        assert orders(sim) == []
        # 2. a wrong PIN: refused and counted
        await page.fill("#pin", "000000")
        await page.click("#approve")
        await page.wait_for_selector("#notice")
        assert f"Wrong PIN (1 of {presence.MAX_TRIES}" in await page.locator("#notice").inner_text()
        assert await page.locator("#status").inner_text() == "proposed"
        attempts = json.loads((Path(env["PM_MCP_HOME"]) / presence.PIN_ATTEMPTS_FILE).read_text())
        assert attempts["failures"] == 1
        assert orders(sim) == []
        # 3. the right PIN: sent, exactly once
        await page.fill("#pin", PIN)
        await page.click("#approve")
        await page.wait_for_selector("#orders")
        assert await page.locator("#status").inner_text() == "executed"
        assert len(orders(sim)) == 1
        got, text = await call(client, "get_order", {"ref": p["intent_id"]})
        assert got["intent"]["status"] == "executed" and len(got["orders"]) == 1, text
        await page.reload()
        assert await page.locator("#approve").count() == 0
    assert len(orders(sim)) == 1


async def test_wrong_pins_lock_the_pin_and_a_direct_post_without_a_factor_is_refused(live):
    sim, env = live
    assert cli(["set-pin", "--stdin"], env, PIN + "\n").returncode == 0
    async with connect(env) as client:
        p, text = await call(client, "propose_order", ORDER)
        url = p["approval_url"]
        assert url.startswith("http://localhost:") and url in text
        _, csrf, order_hash = await page_fields(url)
        origin = url.split("/i/")[0]
        async with httpx.AsyncClient(timeout=20) as h:
            async def approve(**extra):
                return await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash, **extra},
                                    headers={"Origin": origin})

            r = await approve()  # what an assistant with an HTTP tool can do with the link
            assert r.status_code == 403 and "needs your PIN" in r.text
            for n in range(1, presence.MAX_TRIES + 1):
                r = await approve(pin=f"00000{n}")
                assert r.status_code == 403, r.text
            assert "locked until" in r.text
            r = await approve(pin=PIN)  # locked: even the right PIN is refused now
            assert r.status_code == 403 and "locked until" in r.text
        got, _ = await call(client, "get_order", {"ref": p["intent_id"]})
        assert got["intent"]["status"] == "proposed" and got["orders"] == []
    assert orders(sim) == []
    home = Path(env["PM_MCP_HOME"])
    assert json.loads((home / presence.PIN_ATTEMPTS_FILE).read_text())["failures"] == presence.MAX_TRIES
    assert stat.S_IMODE((home / presence.PIN_ATTEMPTS_FILE).stat().st_mode) == 0o600


VIRTUAL_AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                         "hasUserVerification": True, "isUserVerified": True}


async def enrol_passkey(env: dict, browser):
    """`pm-mcp enroll --no-browser` in a subprocess; its page in Chromium with a virtual authenticator."""
    proc = await asyncio.create_subprocess_exec(*pm_mcp_command(), "enroll", "--no-browser", "--timeout", "60",
                                                "--name", "test laptop", env=env, cwd=str(REPO),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out = b""
        while b"/e/" not in out:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, (await proc.stderr.read()).decode()
            out += line
        url = re.search(r"http://localhost:\d+/e/\S+", out.decode()).group(0)
        page = await browser.new_page()
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("WebAuthn.enable")
        authenticator = (await cdp.send("WebAuthn.addVirtualAuthenticator",
                                        {"options": VIRTUAL_AUTHENTICATOR}))["authenticatorId"]
        await page.goto(url)
        await page.click("#create")
        await page.wait_for_selector("#done", timeout=20_000)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        rest = (await proc.stdout.read()).decode()
        assert "Passkey saved" in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    creds = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert len(creds) == 1 and creds[0]["rpId"] == "localhost"
    # the enrolment page works once
    async with httpx.AsyncClient() as h:
        with pytest.raises(httpx.HTTPError):
            await h.get(url, timeout=3)
    return page, cdp, authenticator


async def test_passkey_enrolled_with_pm_mcp_enroll_approves_a_live_order(live, browser):
    sim, env = live
    page, _cdp, _authenticator = await enrol_passkey(env, browser)
    home = Path(env["PM_MCP_HOME"])
    stored = presence.load_passkeys(home)
    assert len(stored) == 1 and stored[0]["name"] == "test laptop" and stored[0]["alg"] == -7
    assert stat.S_IMODE((home / presence.PASSKEYS_FILE).stat().st_mode) == 0o600
    count_before = stored[0]["sign_count"]
    async with connect(env) as client:
        d, _ = await call(client, "doctor")
        assert {c["name"]: c["detail"] for c in d["checks"]}["presence factor"].endswith("1 passkey")
        p, text = await call(client, "propose_order", ORDER)
        url = p["approval_url"]
        assert url.startswith("http://localhost:") and p["status"] == "proposed"
        # the link alone (an assistant's HTTP tool): refused
        _, csrf, order_hash = await page_fields(url)
        async with httpx.AsyncClient() as h:
            r = await h.get(url)
            csp = r.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            r = await h.post(url + "/approve", data={"csrf": csrf, "order_hash": order_hash},
                             headers={"Origin": url.split("/i/")[0]})
        assert r.status_code == 403 and "needs your passkey" in r.text
        assert orders(sim) == []
        # the person's browser with the passkey: approved and sent, exactly once
        posted: list[str] = []
        page.on("request", lambda req: posted.append(req.post_data or "") if req.url.endswith("/approve") else None)
        await page.goto(url)
        assert "needs your passkey" in await page.locator("#presence").inner_text()
        assert await page.locator("#approve").count() == 0
        await page.click("#approve-passkey")
        await page.wait_for_selector("#orders", timeout=20_000)
        assert await page.locator("#status").inner_text() == "executed"
        assert len(orders(sim)) == 1
        got, text = await call(client, "get_order", {"ref": p["intent_id"]})
        assert got["intent"]["status"] == "executed" and len(got["orders"]) == 1, text
        assert presence.load_passkeys(home)[0]["sign_count"] > count_before
        # the captured answer replayed for another order: refused (its challenge was single use and bound to
        # the first intent)
        [body] = posted
        assert "passkey_signature=" in body
        p2, _ = await call(client, "propose_order", ORDER)
        _, csrf2, hash2 = await page_fields(p2["approval_url"])
        replay = dict(x.split("=", 1) for x in body.split("&"))
        replay.update({"csrf": csrf2, "order_hash": hash2})
        async with httpx.AsyncClient() as h:
            r = await h.post(p2["approval_url"] + "/approve", content="&".join(f"{k}={v}" for k, v in replay.items()),
                             headers={"Origin": url.split("/i/")[0],
                                      "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 403 and "not for this page" in r.text
        got, _ = await call(client, "get_order", {"ref": p2["intent_id"]})
        assert got["intent"]["status"] == "proposed" and got["orders"] == []
    assert len(orders(sim)) == 1
