"""The workflow prompts through the real server and the official client."""

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
        assert "https://kalshi.com/markets/kxfed" in text and "(venue kalshi)" in text
        assert "I said 0.62 from the CME FedWatch" in text
        # the workflow names the real tools, in order, and keeps the person as the one who confirms
        order = [text.index(t) for t in ("get_market", "parse_rules", "assess_market", "compute_edge",
                                          "size_position", "propose_order")]
        assert order == sorted(order) and "Never confirm on my behalf" in text

        r = await client.get_prompt("evaluate_market", {"market": "559652"})
        assert "ask me for one" in r.messages[0].content.text and "I said" not in r.messages[0].content.text

        r = await client.get_prompt("scan_arbitrage", {"topic": "Fed December", "min_profit_usd": "5"})
        text = r.messages[0].content.text
        assert "on 'Fed December'" in text and "minimum profit of 5 USD" in text and "find_arbitrage" in text
