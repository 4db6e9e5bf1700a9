"""The approval page's HTTP parsing is strict: the real `pm-mcp` (official MCP client over stdio), raw requests
on a socket to its approval page. A malformed Content-Length is a 400 (not a 500), two Host headers (either
order) are a 400 (not "the last one wins"), and so are two lengths, Transfer-Encoding, folded headers and a
missing Host; the server keeps answering and nothing is approved."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest

from conftest import connect
from tools.sim import start_sims

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NEWSOM = "559652"
YES = "54533043819946592547517511176940999955633860128497669742211153063842200957669"


@pytest.fixture
def env(pm_env):
    from tools.sim.polymarket import set_book

    with start_sims("polymarket") as group:
        sim = group["polymarket"]
        sim.state["markets"][NEWSOM]["orderPriceMinTickSize"] = 0.01
        set_book(sim, YES, bids=[("0.38", "100")], asks=[("0.40", "100")], tick_size="0.01")
        yield {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "page"}


async def raw(port: int, request: bytes) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 15)
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.decode("utf-8", "replace")


async def test_malformed_requests_are_400_and_change_nothing(env):
    async with connect(env) as client:
        r = await client.call_tool("propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                     "side": "buy", "limit_price": "0.40", "size": "5"})
        p = r.structured_content
        url = urlsplit(p["approval_url"])
        port, path = url.port, url.path
        host = f"127.0.0.1:{port}"
        status, page = await raw(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert status == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = f"csrf={csrf}&order_hash={p['order_hash']}".encode()

        def post(headers: str, body: bytes = form) -> bytes:
            return (f"POST {path}/approve HTTP/1.1\r\n{headers}Origin: http://{host}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n\r\n").encode() + body

        cases = {
            "Content-Length abc": post(f"Host: {host}\r\nContent-Length: abc\r\n"),
            "Content-Length -1": post(f"Host: {host}\r\nContent-Length: -1\r\n"),
            "Content-Length +5": post(f"Host: {host}\r\nContent-Length: +{len(form)}\r\n"),
            "Content-Length list": post(f"Host: {host}\r\nContent-Length: {len(form)}, {len(form)}\r\n"),
            "Content-Length empty": post(f"Host: {host}\r\nContent-Length: \r\n"),
            "two Content-Length": post(f"Host: {host}\r\nContent-Length: {len(form)}\r\nContent-Length: 0\r\n"),
            "two Host, good first": post(f"Host: {host}\r\nHost: evil.example\r\nContent-Length: {len(form)}\r\n"),
            "two Host, good last": post(f"Host: evil.example\r\nHost: {host}\r\nContent-Length: {len(form)}\r\n"),
            "no Host": post(f"Content-Length: {len(form)}\r\n"),
            "chunked": post(f"Host: {host}\r\nTransfer-Encoding: chunked\r\n",
                            f"{len(form):x}\r\n".encode() + form + b"\r\n0\r\n\r\n"),
            "folded header": post(f"Host: {host}\r\nContent-Length: {len(form)}\r\nX-A: 1\r\n  folded\r\n"),
            "space before colon": post(f"Host : {host}\r\nContent-Length: {len(form)}\r\n"),
        }
        for name, request in cases.items():
            status, text = await raw(port, request)
            assert status == 400, (name, status, text[:300])
        status, _ = await raw(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\n\r\n".encode())
        assert status == 400
        # still serving, and nothing was approved
        status, page = await raw(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert status == 200 and 'id="status">proposed<' in page
        got = (await client.call_tool("get_order", {"ref": p["intent_id"]})).structured_content
        assert got["intent"]["status"] == "proposed" and got["orders"] == []
        # a well-formed POST with the same fields does approve (the cases above failed on their headers only)
        status, _ = await raw(port, post(f"Host: {host}\r\nContent-Length: {len(form)}\r\n"))
        assert status == 303
        got = (await client.call_tool("get_order", {"ref": p["intent_id"]})).structured_content
        assert got["intent"]["status"] == "executed"
