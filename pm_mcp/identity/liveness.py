"""Does each advertised http(s) endpoint (MCP, A2A, web) answer? Only run when the caller asks."""

from __future__ import annotations

import asyncio
import time

import httpx

from pm_mcp.identity.models import LivenessProbe, Service
from pm_mcp.identity.registration import FetchError, check_url_allowed

PROBE_TIMEOUT_S = 3.0
MAX_PROBES = 10
_MCP_PING = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "pm-mcp-liveness", "version": "1"}}}


async def _probe(client: httpx.AsyncClient, svc: Service, timeout: float) -> LivenessProbe:
    probe = LivenessProbe(service=svc.kind if svc.kind != "other" else svc.name, endpoint=svc.endpoint,
                          answered=False)
    try:
        check_url_allowed(svc.endpoint)
    except FetchError as exc:
        probe.detail = f"not probed: {exc}"
        return probe
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            if svc.kind == "MCP":
                resp = await client.post(svc.endpoint, json=_MCP_PING, headers={
                    "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"})
            else:
                resp = await client.get(svc.endpoint, headers={"Accept": "application/json, text/html;q=0.5"})
    except TimeoutError:
        probe.detail = f"no answer within {timeout:g} s"
        return probe
    except httpx.HTTPError as exc:
        probe.detail = f"unreachable ({type(exc).__name__})"
        return probe
    probe.latency_ms = round((time.perf_counter() - t0) * 1000)
    probe.status = resp.status_code
    probe.answered = resp.status_code < 500
    body = resp.content[:2000]
    if svc.kind == "MCP":
        probe.detail = "speaks MCP (JSON-RPC reply)" if b'"jsonrpc"' in body else f"HTTP {resp.status_code}"
    elif svc.kind == "A2A":
        probe.detail = ("agent card served" if resp.status_code == 200 and body.lstrip()[:1] == b"{"
                        else f"HTTP {resp.status_code}")
    else:
        probe.detail = f"HTTP {resp.status_code}"
    return probe


async def check_liveness(client: httpx.AsyncClient, services: list[Service],
                         timeout: float = PROBE_TIMEOUT_S) -> list[LivenessProbe]:
    targets = [s for s in services if s.kind in ("MCP", "A2A", "web", "OASF")
               and s.endpoint.lower().startswith(("https://", "http://"))][:MAX_PROBES]
    return list(await asyncio.gather(*(_probe(client, s, timeout) for s in targets)))
