"""The workflow prompts through the real server and the official client; every tool call a prompt writes,
tool(arg, group.field), names arguments the server's tools/list advertises."""

import re

import pytest

from conftest import connect

pytestmark = pytest.mark.anyio


async def test_prompts_are_listed_and_render_the_workflow(pm_env):
    async with connect(pm_env) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"evaluate_market", "scan_arbitrage"} <= set(prompts)
        args = {a.name: a.required for a in prompts["evaluate_market"].arguments}
        assert args["market"] is True and args["my_probability"] is False

        r = await client.get_prompt("evaluate_market", {"market": "https://kalshi.com/markets/kxfed", "venue": "kalshi",
                                                         "my_probability": "0.62 from the CME FedWatch"})
        text = r.messages[0].content.text
        assert "https://kalshi.com/markets/kxfed" in text and "get_market(market, venue) with venue=kalshi" in text
        assert "I said 0.62 from the CME FedWatch" in text
        # the workflow names the real tools, in order, and keeps the person as the one who confirms
        order = [text.index(t) for t in ("get_market", "parse_rules", "assess_market", "compute_edge",
                                          "size_position", "propose_order")]
        assert order == sorted(order) and "Never confirm on my behalf" in text

        r = await client.get_prompt("evaluate_market", {"market": "559652"})
        assert "ask me for one" in r.messages[0].content.text and "I said" not in r.messages[0].content.text
        assert "get_market(market) " in r.messages[0].content.text  # no venue 'any' passed to a tool

        r = await client.get_prompt("scan_arbitrage", {"topic": "Fed December", "min_profit_usd": "5"})
        text = r.messages[0].content.text
        assert "on 'Fed December'" in text and "minimum profit of 5 USD" in text and "find_arbitrage" in text


CALL = re.compile(r"\b([a-z_]+)\(([^()]*)\)")
GROUP_FIELD = re.compile(r"\b(what_if|options|filters)\.([a-z_]+)\b")


async def test_every_tool_argument_a_prompt_names_is_one_the_tool_takes(pm_env):
    async with connect(pm_env) as client:
        tools = {t.name: t.input_schema.get("properties", {}) for t in (await client.list_tools()).tools}
        texts = []
        for name, args in (("evaluate_market", {"market": "559652"}),
                           ("evaluate_market", {"market": "KXFED-26DEC", "venue": "kalshi", "my_probability": "0.3"}),
                           ("scan_arbitrage", {"topic": "Fed December"}), ("scan_arbitrage", {})):
            texts.append((await client.get_prompt(name, args)).messages[0].content.text)
    called = []
    for text in texts:
        for tool, inner in CALL.findall(text):
            if tool not in tools:
                continue
            called.append(tool)
            for arg in (a.strip() for a in inner.split(",") if a.strip()):
                top, _, field = arg.partition(".")
                assert top in tools[tool], f"{tool}({arg}): {tool} has no argument {top!r}; it takes {list(tools[tool])}"
                if field:
                    assert field in tools[tool][top].get("description", ""), f"{tool}: {top} has no field {field}"
        for group, field in GROUP_FIELD.findall(text):
            owners = [t for t, props in tools.items() if group in props and field in props[group].get("description", "")]
            assert owners, f"{group}.{field}: no tool has a {group!r} argument with a field {field!r}"
    assert {"get_market", "parse_rules", "assess_market", "compute_edge", "size_position", "propose_order",
            "find_arbitrage", "propose_bundle"} <= set(called), called
    # the arguments sizing takes from the market itself are not asked for (they are no top-level arguments)
    assert not any(re.search(r"`(assessment|rules_clarity)`", t) for t in texts)
