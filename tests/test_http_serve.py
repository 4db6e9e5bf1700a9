"""The pieces of `serve --http` for replicas, without a network: the settings (PM_MCP_STATE_KEYS,
PM_MCP_PUBLIC_URL, PM_MCP_ALLOWED_HOSTS) and their errors, the host allowlist, the Prometheus text
(pm_mcp.metrics), the routes' token rules (/healthz open and mute, /metrics and /mcp behind the token), and the
approval page read from ASGI as strictly as from its own socket. End to end: tests/test_e2e_balancer.py."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pm_mcp.execution.approval import BadRequest, asgi_request, host_allowed
from pm_mcp.http_serve import HttpRoutes, allowed_hosts, start_warnings, transport_security
from pm_mcp.metrics import Metrics, result_outcome, tool_metrics_middleware
from pm_mcp.settings import Settings, describe_config_error

KEY = "k" * 32


def settings(**kw) -> Settings:
    return Settings(home="/tmp/pm-mcp-unused", **kw)


def config_error(monkeypatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as exc:
        Settings(home="/tmp/pm-mcp-unused")
    [line] = describe_config_error(exc.value)
    return line


def test_settings_errors_name_the_variable_the_value_and_what_is_allowed(monkeypatch):
    line = config_error(monkeypatch, "PM_MCP_PUBLIC_URL", "ftp://example.org")
    assert line.startswith("PM_MCP_PUBLIC_URL must be an http:// or https:// URL") and "'ftp://example.org'" in line
    assert "no path" in config_error(monkeypatch, "PM_MCP_PUBLIC_URL", "https://example.org/pm")
    monkeypatch.delenv("PM_MCP_PUBLIC_URL")
    line = config_error(monkeypatch, "PM_MCP_STATE_KEYS", "short-key")
    assert line.startswith("PM_MCP_STATE_KEYS must be") and "32 characters" in line
    assert "short-key" not in line  # a secret is never repeated
    assert "twice" in config_error(monkeypatch, "PM_MCP_STATE_KEYS", f"{KEY},{KEY}")
    monkeypatch.delenv("PM_MCP_STATE_KEYS")
    line = config_error(monkeypatch, "PM_MCP_ALLOWED_HOSTS", "https://pm.example.org/")
    assert line.startswith("PM_MCP_ALLOWED_HOSTS must be Host header values") and "https://pm.example.org/" in line


def test_settings_normalise_and_keep_keys_secret():
    s = settings(public_url="HTTPS://PM.Example.org/", state_keys=f" {KEY} , {'n' * 40} ",
                 allowed_hosts="PM.example.org, 10.0.0.5:*")
    assert s.public_url == "https://pm.example.org"
    assert s.state_key_list == [KEY, "n" * 40] and KEY not in repr(s)
    assert KEY in s.secret_values()  # redacted from every log line
    assert s.allowed_host_list == ["pm.example.org", "10.0.0.5:*"]
    assert settings(state_keys=" , ").state_keys is None


def test_host_allowlist():
    allowed = ["pm.example.org", "10.0.0.5:*"]
    assert host_allowed("pm.example.org", allowed) and host_allowed("PM.example.org", allowed)
    assert host_allowed("10.0.0.5:8765", allowed)
    assert not host_allowed("10.0.0.5:", allowed) and not host_allowed("10.0.0.5:80x", allowed)
    assert not host_allowed("evil.example.org", allowed) and not host_allowed("pm.example.org:8080", allowed)
    assert not host_allowed("10.0.0.55:80", allowed)


def test_transport_security_follows_the_public_url_unless_hosts_are_given():
    s = settings(public_url="https://pm.example.org")
    assert allowed_hosts(s) == ["pm.example.org"]
    sec = transport_security(s, "0.0.0.0")
    assert sec.enable_dns_rebinding_protection and sec.allowed_hosts == ["pm.example.org"]
    assert sec.allowed_origins == ["https://pm.example.org"]
    s = settings(public_url="https://pm.example.org", allowed_hosts="lb.internal:8080")
    assert transport_security(s, "0.0.0.0").allowed_hosts == ["lb.internal:8080"]
    assert transport_security(settings(), "127.0.0.1") is None  # the SDK's loopback default
    assert not transport_security(settings(), "0.0.0.0").enable_dns_rebinding_protection  # the token guards it


def test_start_warnings():
    assert any("PM_MCP_STATE_KEYS is not set" in w for w in start_warnings(settings()))
    assert start_warnings(settings(state_keys=KEY)) == []
    assert any("PM_MCP_DATABASE_URL" in w for w in start_warnings(settings(state_keys=KEY, public_url="http://a")))


SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eInf]+$')


def test_metrics_text_is_the_prometheus_format():
    m = Metrics()
    m.request("tools/call")
    m.tool_call("get_market", "ok", 0.003)
    m.tool_call("get_market", "ok", 0.2)
    m.tool_call("get_market", "error", 40.0)
    m.tool_call('bad"name\n', "ok", 0.1)
    m.venue_error("polymarket", "VenueUnavailable")
    text = m.render(["# HELP pm_mcp_extra x", "# TYPE pm_mcp_extra gauge", "pm_mcp_extra 1"])
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.match(line), line
    assert 'pm_mcp_tool_calls_total{tool="get_market",outcome="ok"} 2' in text
    assert 'pm_mcp_tool_calls_total{tool="other",outcome="ok"} 1' in text  # an odd name never becomes a label
    buckets = [int(v) for v in re.findall(r'^pm_mcp_tool_call_seconds_bucket\{tool="get_market",le="[^"]+"\} (\d+)$',
                                          text, re.M)]
    assert buckets == sorted(buckets) and buckets[0] == 1 and buckets[-1] == 3  # cumulative, +Inf = count
    assert 'pm_mcp_tool_call_seconds_bucket{tool="get_market",le="0.25"} 2' in text
    assert 'pm_mcp_tool_call_seconds_count{tool="get_market"} 3' in text
    assert 'pm_mcp_venue_errors_total{venue="polymarket",kind="VenueUnavailable"} 1' in text
    assert "pm_mcp_extra 1" in text


def test_metrics_labels_are_bounded():
    m = Metrics()
    for i in range(300):
        m.tool_call(f"tool_{i}", "ok", 0.01)
    assert len(m.tool_seconds) <= 101 and "other" in m.tool_seconds


@pytest.mark.anyio
async def test_the_middleware_times_tool_calls_by_outcome():
    m = Metrics()
    mw = tool_metrics_middleware(m)

    class Ctx:
        def __init__(self, method, params):
            self.method, self.params = method, params

    async def ok(_ctx):
        return {"content": [], "isError": False}

    async def err(_ctx):
        return {"content": [], "isError": True}

    async def boom(_ctx):
        raise RuntimeError("no answer")

    await mw(Ctx("tools/list", {}), ok)
    await mw(Ctx("tools/call", {"name": "get_order"}), ok)
    await mw(Ctx("tools/call", {"name": "get_order"}), err)
    with pytest.raises(RuntimeError):
        await mw(Ctx("tools/call", {"name": "get_order"}), boom)
    assert m.requests == {"tools/list": 1, "tools/call": 3}
    assert m.tool_calls == {("get_order", "ok"): 1, ("get_order", "error"): 1, ("get_order", "exception"): 1}
    assert result_outcome({"resultType": "input_required", "inputRequests": {}}) == "input_required"


async def _asgi(app, method: str, path: str, headers: list[tuple[bytes, bytes]] = (), body: bytes = b""):
    sent = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
               "headers": list(headers)}, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.anyio
async def test_routes_health_is_open_and_mute_everything_else_needs_the_token():
    reached = []

    async def inner(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    routes = HttpRoutes(inner, "secret-token-" + "y" * 30)
    assert await _asgi(routes, "GET", "/healthz") == (503, b"unavailable\n")  # no state yet: not ready
    assert (await _asgi(routes, "POST", "/healthz"))[0] == 405
    for path in ("/mcp", "/metrics", "/i/abc", "/"):
        status, body = await _asgi(routes, "GET", path)
        assert status == 401 and b"secret-token" not in body
    good = [(b"authorization", b"Bearer secret-token-" + b"y" * 30)]
    assert (await _asgi(routes, "POST", "/mcp", good))[0] == 204 and reached == ["/mcp"]
    status, body = await _asgi(routes, "GET", "/metrics", good)
    assert status == 200 and b"pm_mcp_store_up 0" in body and reached == ["/mcp"]


@pytest.mark.anyio
async def test_asgi_page_requests_are_read_strictly():
    async def read(headers, body=b"", more=False):
        parts = [{"type": "http.request", "body": body, "more_body": more}]

        async def receive():
            return parts.pop(0) if parts else {"type": "http.request", "body": b"", "more_body": False}

        return await asgi_request({"type": "http", "method": "POST", "path": "/i/t/approve", "query_string": b"a=1",
                                   "headers": headers}, receive)

    method, target, headers, body = await read([(b"host", b"pm.example.org"), (b"content-length", b"3")], b"a=b")
    assert (method, target, body) == ("POST", "/i/t/approve?a=1", b"a=b") and headers["host"] == "pm.example.org"
    bad = [
        [(b"host", b"a"), (b"host", b"b")],
        [(b"host", b"a"), (b"transfer-encoding", b"chunked")],
        [(b"host", b"a"), (b"content-length", b"-1")],
        [(b"host", b"a"), (b"content-length", b"99999999")],
    ]
    for headers in bad:
        with pytest.raises(BadRequest):
            await read(headers)
    with pytest.raises(BadRequest):  # a body longer than announced
        await read([(b"host", b"a"), (b"content-length", b"1")], b"abc")
    with pytest.raises(BadRequest):  # shorter than announced
        await read([(b"host", b"a"), (b"content-length", b"9")], b"abc")


def test_stdio_refuses_a_public_url(pm_env):
    env = {**pm_env, "PM_MCP_PUBLIC_URL": "https://pm.example.org"}
    r = subprocess.run([sys.executable, "-m", "pm_mcp", "serve"], env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "PM_MCP_PUBLIC_URL is for `pm-mcp serve --http`" in r.stderr


def test_a_hosted_service_refuses_live_mode(pm_env):
    """#16 item 5: no per-user venue credentials yet, so live trading behind a public URL is refused at start."""
    env = {**pm_env, "PM_MCP_PUBLIC_URL": "https://pm.example.org", "PM_MCP_MODE": "live",
           "PM_MCP_HTTP_TOKEN": "t" * 40}
    r = subprocess.run([sys.executable, "-m", "pm_mcp", "serve", "--http", "--port", "0"], env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "PM_MCP_MODE=live is refused with PM_MCP_PUBLIC_URL" in r.stderr
    assert "t" * 40 not in r.stderr + r.stdout
