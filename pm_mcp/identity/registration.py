"""Fetch and check an agent's registration file (the document its agentURI points at).

https (plain http only for loopback hosts), ipfs:// through the configured gateway, and data: URIs;
at most MAX_FILE_BYTES and FETCH_TIMEOUT_S. The file is checked against the ERC-8004 registration-v1
shape; the older ``endpoints`` key is read as ``services``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import urllib.parse
from typing import Any

import httpx

from pm_mcp.identity.models import RegistrationFile, RegistrationRef, Service

MAX_FILE_BYTES = 1_000_000
FETCH_TIMEOUT_S = 5.0
REGISTRATION_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"
_KINDS = {"mcp": "MCP", "a2a": "A2A", "ens": "ENS", "did": "DID", "agentwallet": "wallet", "wallet": "wallet",
          "web": "web", "website": "web", "oasf": "OASF", "email": "email"}


class FetchError(Exception):
    """The registration file could not be read; the message says why."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url_allowed(url: str) -> None:
    """https anywhere public; plain http only on loopback; never private/link-local literal IPs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise FetchError(f"unsupported URL {url[:120]!r}")
    if is_loopback_host(host):
        return
    if parts.scheme == "http":
        raise FetchError("plain http is only fetched from loopback hosts; the agent should serve https")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        raise FetchError(f"refusing to fetch from a private/link-local address ({host})")


def ipfs_to_gateway(uri: str, gateway: str) -> str:
    path = uri[len("ipfs://"):]
    if path.startswith("ipfs/"):
        path = path[len("ipfs/"):]
    if not path:
        raise FetchError("ipfs:// URI without a CID")
    return gateway.rstrip("/") + "/" + path


def decode_data_uri(uri: str) -> bytes:
    try:
        header, payload = uri[len("data:"):].split(",", 1)
    except ValueError:
        raise FetchError("malformed data: URI (no comma)") from None
    if len(payload) > MAX_FILE_BYTES * 4 // 3 + 8:
        raise FetchError(f"data: URI is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    if header.endswith(";base64"):
        try:
            raw = base64.b64decode(payload, validate=False)
        except Exception:
            raise FetchError("data: URI has invalid base64") from None
    else:
        raw = urllib.parse.unquote_to_bytes(payload)
    if len(raw) > MAX_FILE_BYTES:
        raise FetchError(f"data: URI is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    return raw


async def _fetch_http(client: httpx.AsyncClient, url: str) -> bytes:
    check_url_allowed(url)
    for _hop in range(4):  # follow at most 3 redirects, checking each target
        async with client.stream("GET", url, headers={"Accept": "application/json"},
                                 follow_redirects=False) as resp:
            if resp.is_redirect and resp.headers.get("location"):
                url = str(resp.url.join(resp.headers["location"]))
                check_url_allowed(url)
                continue
            if resp.status_code >= 400:
                raise FetchError(f"HTTP {resp.status_code} from {resp.url.host}")
            length = resp.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_FILE_BYTES:
                raise FetchError(f"file is {int(length):,} bytes; the limit is {MAX_FILE_BYTES:,}")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body.extend(chunk)
                if len(body) > MAX_FILE_BYTES:
                    raise FetchError(f"file is larger than the {MAX_FILE_BYTES:,}-byte limit")
            ctype = resp.headers.get("content-type", "")
            if "html" in ctype.lower():
                raise FetchError(f"the server returned HTML ({ctype.split(';')[0]}), not a JSON registration file")
            return bytes(body)
    raise FetchError("too many redirects")


async def fetch_registration_bytes(uri: str, client: httpx.AsyncClient, ipfs_gateway: str,
                                   timeout: float = FETCH_TIMEOUT_S) -> bytes:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme == "data":
        return decode_data_uri(uri)
    if scheme == "ipfs":
        url = ipfs_to_gateway(uri, ipfs_gateway)
    elif scheme in ("https", "http"):
        url = uri
    else:
        raise FetchError(f"unsupported URI scheme {scheme or '(none)'!r}; expected https, ipfs or data")
    try:
        return await asyncio.wait_for(_fetch_http(client, url), timeout)
    except asyncio.TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch ({type(exc).__name__})") from None


def _kind(name: str, endpoint: str) -> str:
    k = _KINDS.get(name.strip().lower().replace("-", "").replace("_", ""))
    if k:
        return k
    if endpoint.startswith("did:"):
        return "DID"
    if endpoint.endswith(".eth"):
        return "ENS"
    return "other"


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def parse_registration(raw: bytes, *, uri_scheme: str, chain_id: int, identity_registry: str,
                       agent_id: int) -> RegistrationFile:
    """Check a registration file against the spec. Never raises: problems are listed."""
    out = RegistrationFile(uri_scheme=uri_scheme, fetched=True, size_bytes=len(raw))
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if text[:1] == "<":
        out.problems.append("the file is HTML, not JSON")
        return out
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        out.problems.append(f"the file is not JSON ({exc.msg} at line {exc.lineno})")
        return out
    if not isinstance(doc, dict):
        out.problems.append("the file is JSON but not an object")
        return out
    out.type = _str(doc.get("type"))
    out.name = _str(doc.get("name"))
    out.description = _str(doc.get("description"))
    out.image = _str(doc.get("image"))
    out.active = doc.get("active") if isinstance(doc.get("active"), bool) else None
    out.x402_support = doc.get("x402Support") if isinstance(doc.get("x402Support"), bool) else None
    if out.type != REGISTRATION_TYPE:
        out.problems.append(f"type is {out.type!r}, expected {REGISTRATION_TYPE!r}")
    for key in ("name", "description"):
        if not getattr(out, key):
            out.problems.append(f"missing {key}")

    services = doc.get("services")
    if services is None and "endpoints" in doc:
        services = doc.get("endpoints")
        out.uses_legacy_endpoints_key = True
        out.problems.append("uses the pre-2026 'endpoints' key (now 'services')")
    if services is None:
        out.problems.append("no services listed")
        services = []
    if not isinstance(services, list):
        out.problems.append("services is not a list")
        services = []
    for i, s in enumerate(services[:100]):
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not isinstance(s.get("endpoint"), str):
            out.problems.append(f"services[{i}] needs string 'name' and 'endpoint'")
            continue
        version = s.get("version")
        out.services.append(Service(kind=_kind(s["name"], s["endpoint"]), name=s["name"][:100],
                                    endpoint=s["endpoint"][:500],
                                    version=str(version)[:50] if version is not None else None))

    expected_registry = f"eip155:{chain_id}:{identity_registry}".lower()
    regs = doc.get("registrations")
    if regs is None:
        out.problems.append("no registrations entry (the spec says an agent SHOULD list one)")
    elif not isinstance(regs, list):
        out.problems.append("registrations is not a list")
    else:
        for i, r in enumerate(regs[:50]):
            if not isinstance(r, dict) or "agentId" not in r or "agentRegistry" not in r:
                out.problems.append(f"registrations[{i}] needs agentId and agentRegistry")
                continue
            rid, rreg = r.get("agentId"), r.get("agentRegistry")
            try:
                same_id = int(rid) == agent_id  # type: ignore[arg-type]
            except (TypeError, ValueError):
                same_id = False
            matches = same_id and isinstance(rreg, str) and rreg.strip().lower() == expected_registry
            out.registrations.append(RegistrationRef(
                agent_id=rid if isinstance(rid, (int, str)) else None,
                agent_registry=rreg if isinstance(rreg, str) else None, matches_this_agent=matches))
        if out.registrations:
            out.points_back = any(r.matches_this_agent for r in out.registrations)
            if not out.points_back:
                out.problems.append(f"no registrations entry points back to {expected_registry} agent {agent_id}")
    trust = doc.get("supportedTrust")
    if isinstance(trust, list):
        out.supported_trust = [t for t in trust if isinstance(t, str)][:20]
    out.valid = out.type == REGISTRATION_TYPE and bool(out.name) and isinstance(services, list)
    return out
