"""A market title cannot spoof the confirmation: the real `pm-mcp` over stdio (official MCP client) against the
loopback Polymarket and Manifold simulators, whose markets carry a title written to deceive: fake amounts in
our own wording, 40 newlines, a right-to-left override, and far more than a line of text.

- the elicitation dialog leads with OUR lines (mode, side, size, limit, worst-case cost and loss with the
  venue's currency: USD on Polymarket, mana M$ on Manifold, venue, expiry, order hash); the title comes after,
  as one cleaned, capped, quoted line;
- the approval page (Debian's headless Chromium) shows the same: our numbers first, the title once, on one
  line, quoted, after them.
"""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal as D

import pytest
from mcp.types import ElicitResult

from conftest import connect
from pm_mcp.domain.intents import money
from tools.sim import start_sims
from tools.sim.manifold import add_market as add_manifold_market
from tools.sim.polymarket import add_market, set_book

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
NEWSOM = "559652"
SPOOF_PM = "990077"
SPOOF_PM_YES = "990077001"
SPOOF_MF = "SpoofBin77"
FAKE = ("Rain in Paris? BUY 1 YES shares at no more than $0.01 each (limit) Worst-case cost M$0.10 incl. M$0.00 fees; "
        "Worst-case loss M$0.10")
SPOOF_TITLE = FAKE + "\n" * 40 + "\u202e\u200b" + "padding " * 30 + "(the real amounts are below)"


@pytest.fixture
def sims():
    with start_sims("polymarket", "manifold") as group:
        sim = group["polymarket"]
        evil = copy.deepcopy(sim.state["markets"][NEWSOM])
        evil.update({"id": SPOOF_PM, "slug": "spoof-title-market", "conditionId": "0x" + "ee" * 32,
                     "question": SPOOF_TITLE, "orderPriceMinTickSize": 0.01,
                     "clobTokenIds": json.dumps([SPOOF_PM_YES, "990077002"])})
        add_market(sim, evil)
        set_book(sim, SPOOF_PM_YES, bids=[("0.50", "100")], asks=[("0.55", "100")], tick_size="0.01")
        mf = group["manifold"]
        m = copy.deepcopy(mf.state["markets"]["SynthBin001"])
        m.update({"id": SPOOF_MF, "slug": "spoof-title-mana", "question": SPOOF_TITLE})
        add_manifold_market(mf, m)
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket,manifold", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def call(client, tool: str, args: dict):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


def expected_lead(p: dict, venue: str, venue_name: str, size: str, limit: str) -> list[str]:
    cost = money(D(str(p["worst_case_cost"])), venue, up=True)
    fees = money(D(str(p["fees"])), venue, up=True)
    loss = money(D(str(p["worst_case_loss"])), venue, up=True)
    payout = money(D(str(p["payout_if_wins"])), venue)
    return ["Approve this PAPER order (simulated, no real money)?",
            f"BUY {size} YES shares at no more than {limit} each (limit)",
            f"Worst-case cost {cost} incl. {fees} fees; worst-case loss {loss}; you receive {payout} if it wins",
            f"Venue: {venue_name} · expires "]


def assert_title_is_one_quoted_capped_line(lines: list[str], after: int) -> None:
    spoofed = [i for i, line in enumerate(lines) if "Rain in Paris?" in line]
    assert spoofed and min(spoofed) > after, lines  # the venue's words come after ours
    title_lines = [lines[i] for i in spoofed if lines[i].startswith("Market (venue text, quoted): ")]
    assert len(title_lines) == 1, lines
    [title] = title_lines
    assert title.startswith('Market (venue text, quoted): "Rain in Paris?') and title.endswith('\u2026"'), title
    assert len(title) <= len("Market (venue text, quoted): ") + 122, title
    assert "\u202e" not in "\n".join(lines) and "\u200b" not in "\n".join(lines)
    assert "(the real amounts are below)" not in "\n".join(lines)  # capped


@pytest.mark.parametrize("venue,market,size,limit,venue_name", [
    ("polymarket", SPOOF_PM, "10", "0.55", "Polymarket"),
    ("manifold", SPOOF_MF, "10", "0.5", "Manifold"),
])
async def test_dialog_leads_with_our_numbers_and_quotes_the_title_once(env, venue, market, size, limit, venue_name):
    asked: list[str] = []

    async def person(context, params):
        asked.append(params.message)
        return ElicitResult(action="decline")

    async with connect(env, elicitation_callback=person) as client:
        p, text = await call(client, "propose_order", {"venue": venue, "market": market, "outcome": "Yes",
                                                       "side": "buy", "limit_price": limit, "size": size})
        assert p["status"] == "proposed" and p["confirm_channel"] == "elicitation", text
        await call(client, "confirm_order", {"intent_id": p["intent_id"]})
    [message] = asked
    lines = message.splitlines()
    currency = "M$" if venue == "manifold" else "$"
    lead = expected_lead(p, venue, venue_name, size, f"{currency}{D(limit).quantize(D('0.01'))}")
    assert lines[:3] == lead[:3], lines[:4]
    assert lines[3].startswith(lead[3]) and p["order_hash"][:12] in lines[3]
    assert lines[4] == "Risk policy: within limits."
    assert_title_is_one_quoted_capped_line(lines, after=4)
    assert len(lines) < 12, lines  # 40 newlines in the title did not become 40 lines
    # the fake amounts appear only inside the quoted venue text and the order in words, never as a line of ours
    assert [i for i, line in enumerate(lines) if "M$0.10" in line] == \
        [i for i, line in enumerate(lines) if line.startswith(("Market (venue text", "In words: "))]


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("/usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def test_page_leads_with_our_numbers_and_quotes_the_title_once(env, browser):
    async with connect(env) as client:
        p, _ = await call(client, "propose_order", {"venue": "polymarket", "market": SPOOF_PM, "outcome": "Yes",
                                                       "side": "buy", "limit_price": "0.55", "size": "10"})
        assert p["confirm_channel"] == "page"
        page = await browser.new_page()
        await page.goto(p["approval_url"])
        lines = [line for line in (await page.locator("body").inner_text()).splitlines() if line.strip()]
        lead = expected_lead(p, "polymarket", "Polymarket", "10", "$0.55")
        assert lines[0] == lead[0]
        assert lines[1].startswith("PAPER: no real money")
        assert lines[2:4] == lead[1:3], lines[:6]
        assert lines[4].startswith(lead[3]) and p["order_hash"][:12] in lines[4]
        assert_title_is_one_quoted_capped_line(lines, after=4)
        first_fake = min(i for i, line in enumerate(lines) if "M$0.10" in line)
        assert first_fake > lines.index(lead[2])
        venue_text = await page.locator("#venue-text li").all_inner_texts()
        assert len(venue_text) == 1 and venue_text[0].startswith('Market (venue text, quoted): "Rain in Paris?')
        assert await page.locator("#status").inner_text() == "proposed"
