"""End-to-end: parse_rules, compare_rules and assess_market through the official MCP client against the
real `pm-mcp` process, with raw text and with markets served by the loopback venue simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CORPUS = {e["id"]: e for e in json.loads((Path(__file__).parent / "fixtures/rules/corpus.json").read_text())}
NEWSOM = "559652"
POPE_URL = "https://kalshi.com/markets/kxnewpope/who-will-the-next-pope-be/KXNEWPOPE-70-PPIZ"
TOT = "KXEPLGAME-26MAR22TOTNFO-TOT"


@pytest.fixture
def sims():
    with start_sims("polymarket", "kalshi", "manifold") as group:
        yield group


@pytest.fixture
def env(pm_env, sims):
    return {**pm_env, **sims.env(), "PM_MCP_VENUES": "polymarket,kalshi,manifold", "PM_MCP_HTTP_TIMEOUT_S": "3"}


async def ok(client, tool, args):
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    return r.structured_content, r.content[0].text


async def err(client, tool, args) -> str:
    r = await client.call_tool(tool, args)
    assert r.is_error, r.content[0].text
    return r.content[0].text


def spans_exact(analysis: dict, text: str, title: str = "") -> int:
    n = 0

    def walk(o):
        nonlocal n
        if isinstance(o, dict):
            if {"start", "end", "quote", "part"} <= set(o):
                src = text if o["part"] == "rules" else title
                assert src[o["start"]:o["end"]] == o["quote"]
                n += 1
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(analysis)
    return n


async def test_rule_tools_listed_with_annotations(pm_env):
    async with connect(pm_env) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("parse_rules", "compare_rules", "assess_market"):
            t = tools[name]
            a = t.annotations
            assert a.read_only_hint is True and a.destructive_hint is False and a.idempotent_hint is True
            assert a.open_world_hint is True and t.title
            assert len(t.description or "") < 600
            assert t.output_schema is not None


async def test_raw_text_parse_and_compare_without_any_venue(pm_env):
    cpi = CORPUS["pm-clob-page-62"]["text"]
    async with connect(pm_env) as client:
        out, text = await ok(client, "parse_rules", {"text": cpi, "venue": "polymarket"})
        a = out["analysis"]
        assert "BLS" in [i["name"] for i in a["sources"]["items"]]
        assert a["condition"]["threshold"]["comparator"] == ">" and a["condition"]["threshold"]["value"] == "0.1"
        assert a["deadline"]["value"]["utc"].startswith("2022-12-13T13:30:00")
        assert spans_exact(a, cpi) >= 5
        assert "Settlement clarity" in text and "rules_hash" in text and a["rules_hash"] in text

        below = ('This market will resolve to "Yes" if the U.S. unemployment rate for March 2026, as reported by '
                 'the Bureau of Labor Statistics (https://www.bls.gov), stays below 4.0%. The data is scheduled to be '
                 'released on April 3, 2026, at 8:30 AM ET.')
        above = below.replace("stays below 4.0%", "exceeds 4.0%")
        out, text = await ok(client, "compare_rules", {"a_text": below, "b_text": above})
        assert out["comparison"]["verdict"] == "not_equivalent" and out["comparison"]["mapping"] == "inverted"
        assert "NOT EQUIVALENT" in text and "\"below 4.0%\"" in text and "\"exceeds 4.0%\"" in text


async def test_market_paths_against_simulators(env):
    async with connect(env) as client:
        out, text = await ok(client, "parse_rules", {"market": NEWSOM, "venue": "polymarket"})
        a = out["analysis"]
        assert out["market"]["id"] == NEWSOM and a["venue"] == "polymarket"
        assert a["multi_outcome"]["kind"] == "neg_risk"
        assert "Democratic Party" in [i["name"] for i in a["sources"]["items"]]
        assert a["oracle"]["name"].startswith("UMA")

        out, text = await ok(client, "parse_rules", {"market": POPE_URL})
        assert out["market"]["venue"] == "kalshi" and out["analysis"]["deadline"]["value"]["date"] == "2070-01-01"

        # same venue, different contracts (cut vs hike)
        out, text = await ok(client, "compare_rules", {"a": "KXFEDDECISION-26SEP-C25", "a_venue": "kalshi",
                                                       "b": "KXFEDDECISION-26SEP-H25", "b_venue": "kalshi"})
        assert out["comparison"]["verdict"] != "equivalent"
        # cross venue: a market against pasted text
        out, _ = await ok(client, "compare_rules", {"a": TOT, "a_venue": "kalshi",
                                                    "b_text": CORPUS["kx-epl-tot"]["text"]})
        assert out["comparison"]["verdict"] == "equivalent"

        out, text = await ok(client, "assess_market", {"market": TOT, "venue": "kalshi"})
        card = out["scorecard"]
        # the recording's close time (2026-04-05) is in the past: the scorecard must say so
        assert card["verdict"] == "avoid" and any("close time has passed" in r for r in card["reasons"])
        assert card["tier_cap"]["max_tier"] == "none"
        assert card["tier_cap"]["max_tier"] in ("none", "low", "medium", "high")
        assert card["books"] and card["books"][0]["best_bid"] is not None, (text, out["warnings"])
        assert "Verdict:" in text and "tier cap" in text
        out, _ = await ok(client, "assess_market", {"market": NEWSOM, "venue": "polymarket"})
        assert out["scorecard"]["market_id"] == NEWSOM


async def test_bad_inputs_are_tool_errors_and_server_stays_up(env):
    async with connect(env) as client:
        assert "market" in await err(client, "parse_rules", {})
        assert "not both" in await err(client, "parse_rules", {"market": NEWSOM, "text": "x"})
        assert "limit" in await err(client, "parse_rules", {"text": "a" * 25_000})
        assert "empty" in await err(client, "parse_rules", {"text": "   "})
        msg = await err(client, "parse_rules", {"market": "KXNOSUCHMARKET-99", "venue": "kalshi"})
        assert msg and "Traceback" not in msg
        assert await err(client, "compare_rules", {"a_text": "Resolves Yes if it rains."})
        assert await err(client, "assess_market", {"market": "  "})
        # still alive and answering
        out, _ = await ok(client, "parse_rules", {"text": "Resolves Yes if it rains in Paris on May 1, 2026."})
        assert out["analysis"]["deadline"]["value"]["date"] == "2026-05-01"


async def test_the_venues_own_settlement_data_is_read_as_words(env):
    # Kalshi lists an event's settlement sources in its metadata, not always in the rule text
    async with connect(env) as client:
        sc, text = await ok(client, "parse_rules", {"market": "KXELONMARS-99", "venue": "kalshi"})
        assert "Venue's own settlement data:" in text and "The Guardian" in text, text
        assert "{'name'" not in text  # never the raw dict
        names = [i["name"] for i in sc["analysis"]["sources"]["venue_items"]]
        assert "The Guardian" in " ".join(names)
