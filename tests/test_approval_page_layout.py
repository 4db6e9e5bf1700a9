"""The approval page on a phone and on a desktop: the real `pm-mcp` (official MCP client over stdio) against the
loopback Polymarket simulator, its page opened in Debian's headless Chromium at 390 px and at 1280 px.

- a 4-leg bundle (a planted Dutch book) whose market ids are 66 characters without a break, with long titles
  and long rule text: the page never scrolls sideways (``document.scrollingElement.scrollWidth <=
  clientWidth``), every leg's cells stay inside the screen, and our numbers still lead (headline, mode, the
  order box with the order hash) before the venue's quoted words;
- the heading says what became of the intent: "Approve this PAPER order ...?" only while it waits for the
  person; rejected, executed (approved and sent) and expired intents say so in the heading and the page title;
  the page after approval (with its orders table) fits 390 px too.
"""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal as D

import pytest

from conftest import connect
from tools.sim import start_sim

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WIDTHS = (390, 1280)
EVENT_ID = "990041"
SLUG = "planted-four-way-race-2026"
NAMES = ("Alice", "Bob", "Carol", "Other")
# 66 characters with no break opportunity (as long as a condition id); each market's slug too, so that a
# re-check finds it by the id
IDS = [f"plantedfourwayrace{name.lower()}".ljust(66, "z") for name in NAMES]
LONG_WORD = "https://example.org/results/" + "x" * 90  # an unbroken run in the venue's rule text

if not os.path.exists(CHROMIUM):  # tools/test.sh installs it; in CI its absence is a failure
    if os.environ.get("CI"):
        raise RuntimeError("/usr/bin/chromium is missing: tools/test.sh should have installed Debian's chromium")
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)", allow_module_level=True)


def plant(sim) -> None:
    """Four mutually exclusive YES markets whose asks sum to 0.88: a Dutch book of four legs."""
    from tools.sim.polymarket import add_market, set_book

    event = {"id": EVENT_ID, "slug": SLUG, "ticker": SLUG, "title": "Who wins the planted four-way race?",
             "description": "Exactly one of the named outcomes resolves Yes; 'Other' covers anyone else.",
             "active": True, "closed": False, "negRisk": True, "enableNegRisk": True, "negRiskAugmented": False,
             "endDate": "2026-12-31T00:00:00Z", "tags": []}
    for i, (mid, name) in enumerate(zip(IDS, NAMES, strict=True), 1):
        yes, no = f"72{i:064d}1", f"72{i:064d}2"
        market = {
            "id": mid, "question": f"Will {name} win the planted four-way race, as announced by the organiser?",
            "slug": mid, "conditionId": "0x" + f"c{i}".rjust(64, "0"), "groupItemTitle": name,
            "description": f"This market resolves to \"Yes\" if {name} wins, as published on {LONG_WORD} by "
                           "December 31, 2026. Otherwise \"No\".",
            "endDate": "2026-12-31T00:00:00Z", "outcomes": json.dumps(["Yes", "No"]),
            "outcomePrices": json.dumps(["0.22", "0.78"]), "clobTokenIds": json.dumps([yes, no]),
            "active": True, "closed": False, "acceptingOrders": True, "enableOrderBook": True,
            "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": True,
            "negRiskMarketID": "0x" + EVENT_ID.rjust(64, "0"), "bestBid": 0.2, "bestAsk": 0.22,
            "updatedAt": "2026-09-01T00:00:00Z", "feesEnabled": False,
        }
        add_market(sim, market, event)
        set_book(sim, yes, [("0.20", "100")], [("0.22", "10")], market=market["conditionId"], neg_risk=True)
        set_book(sim, no, [("0.78", "10")], [("0.80", "100")], market=market["conditionId"], neg_risk=True)


@pytest.fixture
def sim():
    with start_sim("polymarket") as s:
        plant(s)
        yield s


@pytest.fixture
def env(pm_env, sim):
    return {**pm_env, **sim.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "page",
            "PM_MCP_HTTP_TIMEOUT_S": "3"}


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def propose_four_legs(client) -> dict:
    found, text = await call(client, "find_arbitrage", {"markets": [SLUG], "kinds": ["dutch_book"]})
    assert found["total"] == 1, text
    opp = found["opportunities"][0]
    assert len(opp["legs"]) == 4, text
    bundle, text = await call(client, "propose_bundle", {"opportunity_id": opp["id"]})
    intent = bundle["intent"]
    assert intent["status"] == "proposed" and intent["confirm_channel"] == "page", text
    assert sorted(leg["market_id"] for leg in intent["legs"]) == IDS
    return intent


async def widths(page) -> tuple[int, int]:
    return tuple(await page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"))


async def assert_fits(page, width: int) -> None:
    scroll, client = await widths(page)
    assert scroll <= client <= width, (width, scroll, client)
    # nothing of ours is cut off or pushed out of sight either (an element with overflow:hidden would
    # hide it without widening the page): every cell and every line of the order box is on screen
    outside = await page.evaluate("""w => [...document.querySelectorAll('td, th, #summary .line, h1, button')]
        .filter(el => el.getClientRects().length)
        .map(el => [el.tagName, el.id, el.textContent.slice(0, 40), Math.round(el.getBoundingClientRect().right)])
        .filter(x => x[3] > w)""", client)
    assert outside == [], (width, outside)


async def open_at(browser, url: str, width: int):
    page = await browser.new_page(viewport={"width": width, "height": 800})
    await page.goto(url)
    return page


async def test_a_four_leg_bundle_with_long_ids_fits_a_phone_and_a_desktop(env, browser):
    async with connect(env) as client:
        intent = await propose_four_legs(client)
        for width in WIDTHS:
            page = await open_at(browser, intent["approval_url"], width)
            await assert_fits(page, width)
            assert (await page.locator("#headline").inner_text()).startswith("Approve this PAPER order")
            assert await page.title() == "Approve order? (pm-mcp)"
            # our numbers lead; the order hash is shown; the venue's words come after, quoted and labelled
            lines = [x for x in (await page.locator("body").inner_text()).splitlines() if x.strip()]
            assert lines[1].startswith("PAPER: no real money")
            summary = await page.locator("#summary").inner_text()
            assert summary.splitlines()[0].startswith("Leg 1 on Polymarket: BUY ")
            assert intent["order_hash"][:12] in summary
            venue_at = lines.index("What the venue says")
            assert venue_at > max(i for i, x in enumerate(lines) if intent["order_hash"][:12] in x)
            # every 66-character id is on the page in full (wrapped, not cut)
            legs = await page.locator("#legs").inner_text()
            assert all(mid in legs.replace("\n", "") for mid in IDS), legs
            assert await page.locator("#approve").count() == 1 and await page.locator("#reject").count() == 1
            assert await page.locator("input[name=csrf]").count() == 2
            await page.close()
        # rejected: the heading says so, on both widths
        page = await open_at(browser, intent["approval_url"], 390)
        await page.click("#reject")
        await page.wait_for_selector("#reason")
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 800})
            await assert_fits(page, width)
            head = await page.locator("#headline").inner_text()
            assert head.startswith("Rejected:") and "PAPER" in head and "Approve" not in head, head
            assert (await page.title()).startswith("Rejected")
            assert await page.locator("#status").inner_text() == "rejected"
            assert await page.locator("#approve").count() == 0


async def test_an_executed_and_an_expired_order_say_so(env, browser):
    async with connect({**env, "PM_MCP_INTENT_TTL_S": "3"}) as client:
        args = {"venue": "polymarket", "market": IDS[0], "outcome": "Yes", "side": "buy", "limit_price": "0.22",
                "size": "5"}
        placed, _ = await call(client, "propose_order", args)
        waits, _ = await call(client, "propose_order", {**args, "size": "6"})
        page = await open_at(browser, placed["approval_url"], 390)
        await page.click("#approve")
        await page.wait_for_selector("#orders")
        assert await page.locator("#status").inner_text() == "executed"
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 800})
            await assert_fits(page, width)
            head = await page.locator("#headline").inner_text()
            assert head.startswith("Approved and sent:") and "Approve this" not in head, head
            assert (await page.title()).startswith("Approved and sent")
        got, _ = await call(client, "get_order", {"ref": placed["intent_id"]})
        assert got["intent"]["status"] == "executed" and D(str(got["orders"][0]["filled_size"])) == 5
        await page.close()

        await asyncio.sleep(3.5)  # past the 3 s approval window
        for width in WIDTHS:
            page = await open_at(browser, waits["approval_url"], width)
            await assert_fits(page, width)
            assert await page.locator("#status").inner_text() == "expired"
            head = await page.locator("#headline").inner_text()
            assert head.startswith("Expired:") and "not sent" in head and "Approve" not in head, head
            assert (await page.title()).startswith("Expired")
            assert await page.locator("#approve").count() == 0
            await page.close()


def test_every_status_but_proposed_has_its_own_heading():
    from pm_mcp.domain.intents import IntentStatus
    from pm_mcp.execution.approval import _STATUS_HEADINGS

    assert {s.value for s in IntentStatus} - {"proposed"} <= set(_STATUS_HEADINGS)
    assert all(word != "Approve" and "?" not in word + rest for word, rest in _STATUS_HEADINGS.values())
