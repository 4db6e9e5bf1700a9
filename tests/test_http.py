"""The shared venue HTTP layer against the simulator's fault knobs (real loopback HTTP, no mocks)."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import httpx
import pytest

from pm_mcp.venues.base import Blocked, NotFound, UnknownOrderState, VenueError, VenueUnavailable
from pm_mcp.venues.http import HttpPool, VenueHttp, parse_retry_after
from tools.sim import Sim, SimResponse, start_sim

pytestmark = pytest.mark.anyio
MARKET = "/markets/559652"


@pytest.fixture
def sim():
    with start_sim("polymarket", plugins=[]) as s:
        yield s


@pytest.fixture
async def http(sim):
    async with VenueHttp("polymarket", sim.url + "/gamma", timeout_s=1.0, backoff_s=0.01, backoff_max_s=0.05,
                         max_retry_after_s=2.0) as h:
        yield h


async def test_plain_get(http, sim):
    body = await http.get_json(MARKET)
    assert body["id"] == "559652"
    assert sim.count(path=MARKET) == 1 and sim.log[-1].status == 200


async def test_5xx_n_times_then_ok_is_retried(http, sim):
    sim.inject("status", status=503, times=2)
    body = await http.get_json(MARKET)
    assert body["id"] == "559652"
    assert [e.status for e in sim.log] == [503, 503, 200]


async def test_5xx_forever_gives_up_with_venue_unavailable(http, sim):
    sim.inject("status", status=500, times=None)
    with pytest.raises(VenueUnavailable) as exc:
        await http.get_json(MARKET)
    assert exc.value.status == 500 and exc.value.retryable
    assert "server error" in str(exc.value) and "gave up after 4 attempts" in str(exc.value)
    assert sim.count(path=MARKET) == 4


async def test_429_honours_retry_after(http, sim):
    sim.inject("status", status=429, retry_after=1, times=1)
    t0 = time.monotonic()
    await http.get_json(MARKET)
    waited = time.monotonic() - t0
    assert waited >= 0.95, waited  # slept the Retry-After second, not the 10 ms backoff
    assert [e.status for e in sim.log] == [429, 200]


async def test_429_retry_after_is_capped(sim):
    async with VenueHttp("polymarket", sim.url + "/gamma", timeout_s=1, max_retry_after_s=0.2,
                         backoff_s=0.01) as h:
        sim.inject("status", status=429, retry_after=120, times=1)
        t0 = time.monotonic()
        await h.get_json(MARKET)
        assert time.monotonic() - t0 < 2


async def test_429_without_retry_after_uses_backoff(http, sim):
    sim.inject("status", status=429, times=2)
    t0 = time.monotonic()
    await http.get_json(MARKET)
    assert time.monotonic() - t0 < 1
    assert [e.status for e in sim.log] == [429, 429, 200]


async def test_429_forever_is_rate_limit_error(http, sim):
    sim.inject("status", status=429, times=None)
    with pytest.raises(VenueUnavailable, match="rate-limiting"):
        await http.get_json(MARKET)


async def test_html_page_is_blocked_and_not_retried(http, sim):
    sim.inject("html403")
    with pytest.raises(Blocked) as exc:
        await http.get_json(MARKET)
    assert exc.value.status == 403
    assert "HTML page instead of data" in str(exc.value) and "geoblock" in str(exc.value)
    assert sim.count(path=MARKET) == 1


async def test_html_with_200_is_blocked_too(http, sim):
    sim.add_route("GET", "/gamma/cf", lambda req: SimResponse(200, b"<html><body>Just a moment...</body></html>",
                                                               "text/html"))
    with pytest.raises(Blocked):
        await http.get_json("/cf")


async def test_malformed_json_is_a_clear_error(http, sim):
    sim.inject("malformed")
    with pytest.raises(VenueError) as exc:
        await http.get_json(MARKET)
    assert "malformed JSON" in str(exc.value) and not isinstance(exc.value, (Blocked, NotFound))


async def test_404_is_not_found_with_the_venue_message(http, sim):
    with pytest.raises(NotFound) as exc:
        await http.get_json("/markets/999999999")
    assert exc.value.status == 404 and "market not found" in str(exc.value)
    assert sim.count() == 1  # never retried


async def test_other_4xx_carries_the_venue_text_and_is_not_retried(http, sim):
    sim.inject("status", status=400, times=None)
    with pytest.raises(VenueError) as exc:
        await http.get_json(MARKET)
    assert exc.value.status == 400 and "refused the request" in str(exc.value)
    assert sim.count() == 1


async def test_slow_body_hits_the_deadline_then_retries(http, sim):
    sim.inject("slow_body", seconds=4, times=1)
    t0 = time.monotonic()
    body = await http.get_json(MARKET)  # first attempt times out (1.5 s deadline), second succeeds
    assert body["id"] == "559652"
    assert 1.2 < time.monotonic() - t0 < 4
    assert sim.count(path=MARKET) == 2


async def test_latency_below_timeout_is_fine(http, sim):
    sim.set_latency(0.2)
    t0 = time.monotonic()
    await http.get_json(MARKET)
    assert time.monotonic() - t0 >= 0.2


async def test_dropped_connection_read_is_retried(http, sim):
    sim.inject("drop", times=1)
    assert (await http.get_json(MARKET))["id"] == "559652"
    assert sim.count(path=MARKET) == 2


async def test_connect_error_is_unavailable(sim):
    async with VenueHttp("kalshi", "http://127.0.0.1:9/x", timeout_s=1, backoff_s=0.01, attempts=2) as h:
        with pytest.raises(VenueUnavailable, match="cannot connect to Kalshi"):
            await h.get_json("/markets")


async def test_post_is_never_retried(http, sim):
    seen = []

    def handler(req):
        seen.append(req.json())
        return 503, {"error": "Trading is currently disabled"}

    sim.add_route("POST", "/gamma/order", handler)
    with pytest.raises(VenueUnavailable, match="Trading is currently disabled"):
        await http.request_json("POST", "/order", json={"a": 1})
    assert seen == [{"a": 1}]  # one attempt only


async def test_post_timeout_is_unknown_order_state(http, sim):
    sim.add_route("POST", "/gamma/order", lambda req: {"ok": True})
    sim.inject("slow_body", seconds=4, path="/gamma/order")
    with pytest.raises(UnknownOrderState, match="may have been processed"):
        await http.request_json("POST", "/order", json={"a": 1})
    assert sim.count(path="/gamma/order") == 1


async def test_post_dropped_is_unknown_order_state(http, sim):
    sim.add_route("POST", "/gamma/order", lambda req: {"ok": True})
    sim.inject("drop", path="/gamma/order")
    with pytest.raises(UnknownOrderState):
        await http.request_json("POST", "/order", json={})


async def test_post_with_retry_true_is_retried(http, sim):
    sim.add_route("POST", "/gamma/books-like", lambda req: [{"ok": 1}])
    sim.inject("status", status=502, times=1, path="/gamma/books-like")
    assert await http.request_json("POST", "/books-like", json=[], retry=True) == [{"ok": 1}]


async def test_get_with_retry_false_single_attempt(http, sim):
    sim.inject("status", status=503, times=1)
    with pytest.raises(VenueUnavailable):
        await http.get_json(MARKET, retry=False)
    assert sim.count() == 1


async def test_expect_returns_the_response(http, sim):
    sim.add_route("POST", "/gamma/order", lambda req: (400, {"error": "invalid signature"}))
    resp = await http.request("POST", "/order", json={}, expect=(400,))
    assert resp.status_code == 400 and resp.json() == {"error": "invalid signature"}


async def test_pool_shares_one_client_per_venue_and_closes(sim):
    pool = HttpPool(timeout_s=1)
    a = pool.for_venue("polymarket", sim.url + "/gamma")
    b = pool.for_venue("polymarket", sim.url + "/clob")
    c = pool.for_venue("kalshi", sim.url)
    assert a.client is b.client is a.at(sim.url + "/data").client
    assert c.client is not a.client
    assert (await a.get_json(MARKET))["id"] == "559652"
    await pool.aclose()
    assert a.client.is_closed and c.client.is_closed


async def test_control_endpoint_sets_faults(sim):
    async with httpx.AsyncClient() as c:
        r = await c.post(sim.url + "/_sim/faults", json={"kind": "status", "status": 429, "retry_after": 0,
                                                         "times": 1})
        assert r.json()["ok"]
        assert (await c.get(sim.url + "/gamma" + MARKET)).status_code == 429
        assert (await c.get(sim.url + "/gamma" + MARKET)).status_code == 200
        assert (await c.post(sim.url + "/_sim/faults", json={"kind": "nope"})).status_code == 400
        log = (await c.get(sim.url + "/_sim/log")).json()
        assert [e["status"] for e in log] == [429, 200]


async def test_parallel_requests_overlap(sim):
    """The sim serves requests concurrently (latency is per request, not serialised)."""
    sim.set_latency(0.3)
    async with VenueHttp("polymarket", sim.url + "/gamma", timeout_s=2) as h:
        t0 = time.monotonic()
        await asyncio.gather(*(h.get_json(MARKET) for _ in range(4)))
        assert time.monotonic() - t0 < 1.0


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_route_specificity_and_override():
    s = Sim("x")
    s.add_route("GET", "/a/{id}", lambda r: "generic")
    s.add_route("GET", "/a/keyset", lambda r: "keyset")
    s.add_route("GET", "/b/{rest:path}", lambda r: r.params["rest"])
    with s:
        with httpx.Client() as c:
            assert c.get(s.url + "/a/keyset").text == "keyset"
            assert c.get(s.url + "/a/7").text == "generic"
            assert c.get(s.url + "/b/x/y/z").text == "x/y/z"
            assert c.post(s.url + "/a/7").status_code == 405
            assert c.get(s.url + "/nope").status_code == 404
            s.add_route("GET", "/a/{id}", lambda r: "override")  # a plugin overriding a venue route
            assert c.get(s.url + "/a/7").text == "override"


async def test_exit_stack_cleanup_pattern(sim):
    async with AsyncExitStack() as stack:
        pool = HttpPool(timeout_s=1)
        stack.push_async_callback(pool.aclose)
        h = pool.for_venue("polymarket", sim.url + "/gamma")
        await h.get_json(MARKET)
    assert h.client.is_closed
