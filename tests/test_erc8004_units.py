"""Pure parts of the ERC-8004 lookup: input forms, the registration-file check, URL policy, per-tag maths.

Also: the ABI text in pm_mcp/identity/abi.py matches the compiled devnet registries, and importing
the server does not import web3."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pm_mcp.identity import abi
from pm_mcp.identity.chains import MAINNET_IDENTITY, TESTNET_IDENTITY, chain_by_id
from pm_mcp.identity.lookup import build_reputation, build_validations
from pm_mcp.identity.refs import parse_agent_ref, parse_chain
from pm_mcp.identity.registration import (
    REGISTRATION_TYPE,
    FetchError,
    check_url_allowed,
    decode_data_uri,
    ipfs_to_gateway,
    parse_registration,
)
from pm_mcp.identity.rpc import LogScan

REPO = Path(__file__).resolve().parents[1]
REG = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


# ------------------------------------------------------------------ input forms
@pytest.mark.parametrize("text, chain, expect", [
    ("8453:1234", None, (8453, 1234, None, None)),
    ("eip155:8453:0x8004A169FB4a3325136EB29fA0ceB6D2e539a432:7", None,
     (8453, 7, None, "0x8004a169fb4a3325136eb29fa0ceb6d2e539a432")),
    ("base 1234", None, (8453, 1234, None, None)),
    ("Base Sepolia 12", None, (84532, 12, None, None)),
    ("base:#5", None, (8453, 5, None, None)),
    ("1234 on base", None, (8453, 1234, None, None)),
    ("agent 3 on arbitrum", None, (42161, 3, None, None)),
    ("0", None, (None, 0, None, None)),
    ("17", "base", (8453, 17, None, None)),
    ("17", 84532, (84532, 17, None, None)),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "31337",
     (31337, None, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", None)),
    ("eip155:1:0x70997970C51812dc3A010C7d01b50e0d17dc79C8", None,
     (1, None, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", None)),
    ("anvil 3", None, (31337, 3, None, None)),
])
def test_agent_forms(text, chain, expect):
    ref = parse_agent_ref(text, chain)
    assert (ref.chain_id, ref.agent_id, ref.address, ref.registry) == expect


@pytest.mark.parametrize("text, chain, fragment", [
    ("", None, "empty"),
    ("foo 12", None, "unknown chain 'foo'"),
    ("8453:abc", None, "cannot read"),
    ("eip155:1:0x12:3", None, "malformed CAIP id"),
    ("base -1", None, "cannot read"),
    ("8453:5", "base sepolia", "drop one"),
    ("12", "atlantis", "unknown chain"),
    ("8453:" + "9" * 80, None, "larger than uint256"),
])
def test_agent_forms_rejected_with_advice(text, chain, fragment):
    with pytest.raises(ValueError) as info:
        parse_agent_ref(text, chain)
    assert fragment in str(info.value)


def test_chain_table_shares_proxy_addresses():
    assert chain_by_id(8453).identity == chain_by_id(1).identity == MAINNET_IDENTITY
    assert chain_by_id(84532).identity == chain_by_id(11155111).identity == TESTNET_IDENTITY
    assert chain_by_id(8453).validation != chain_by_id(84532).validation
    assert parse_chain("eip155:10") == 10 and parse_chain("optimism") == 10


# ------------------------------------------------------------------ registration file
def _file(**over):
    doc = {"type": REGISTRATION_TYPE, "name": "Alpha", "description": "test agent",
           "services": [{"name": "MCP", "endpoint": "https://a.example/mcp", "version": "2025-06-18"},
                        {"name": "A2A", "endpoint": "https://a.example/.well-known/agent-card.json"},
                        {"name": "ENS", "endpoint": "alpha.eth"}, {"name": "DID", "endpoint": "did:web:a.example"},
                        {"name": "agentWallet", "endpoint": "eip155:8453:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
                        {"name": "web", "endpoint": "https://a.example/"}],
           "registrations": [{"agentId": 4, "agentRegistry": f"eip155:31337:{REG}"}],
           "supportedTrust": ["reputation"]}
    doc.update(over)
    return json.dumps(doc).encode()


def _parse(raw, agent_id=4):
    return parse_registration(raw, uri_scheme="https", chain_id=31337, identity_registry=REG, agent_id=agent_id)


def test_registration_valid_and_points_back():
    r = _parse(_file())
    assert r.valid and r.points_back is True and not r.uses_legacy_endpoints_key
    assert [s.kind for s in r.services] == ["MCP", "A2A", "ENS", "DID", "wallet", "web"]
    assert r.services[0].version == "2025-06-18"
    assert r.problems == []


def test_registration_pointing_elsewhere():
    r = _parse(_file(registrations=[{"agentId": 4, "agentRegistry": f"eip155:8453:{REG}"},
                                    {"agentId": 5, "agentRegistry": f"eip155:31337:{REG}"}]))
    assert r.points_back is False
    assert any("points back" in p for p in r.problems)
    assert _parse(_file(), agent_id=5).points_back is False


def test_registration_legacy_endpoints_key():
    doc = json.loads(_file())
    doc["endpoints"] = doc.pop("services")
    r = _parse(json.dumps(doc).encode())
    assert r.uses_legacy_endpoints_key and len(r.services) == 6
    assert any("endpoints" in p for p in r.problems)


@pytest.mark.parametrize("raw, fragment", [
    (b"<!doctype html><html><body>hi</body></html>", "HTML"),
    (b"name: alpha", "not JSON"),
    (b"[1, 2]", "not an object"),
])
def test_registration_not_json(raw, fragment):
    r = _parse(raw)
    assert not r.valid and r.fetched and any(fragment in p for p in r.problems)


def test_registration_bad_parts_are_listed_not_raised():
    r = _parse(_file(type="x", services=[{"name": 3}], registrations=[{"agentId": 4}]))
    assert not r.valid and r.points_back is None
    joined = " ".join(r.problems)
    assert "expected" in joined and "services[0]" in joined and "registrations[0]" in joined


def test_data_uri_forms():
    body = _file()
    assert decode_data_uri("data:application/json;base64," + base64.b64encode(body).decode()) == body
    assert decode_data_uri("data:application/json,%7B%22a%22%3A1%7D") == b'{"a":1}'
    with pytest.raises(FetchError, match="larger"):
        decode_data_uri("data:application/json;base64," + "A" * 2_000_000)


@pytest.mark.parametrize("url, ok", [
    ("https://agent.example/a.json", True),
    ("http://127.0.0.1:8080/a.json", True),
    ("http://localhost/a.json", True),
    ("http://agent.example/a.json", False),
    ("https://192.168.1.1/a.json", False),
    ("https://169.254.169.254/latest", False),
    ("ftp://agent.example/a.json", False),
])
def test_url_policy(url, ok):
    if ok:
        check_url_allowed(url)
    else:
        with pytest.raises(FetchError):
            check_url_allowed(url)


def test_ipfs_gateway_paths():
    assert ipfs_to_gateway("ipfs://bafyabc/agent.json", "https://gw.example/ipfs/") == \
        "https://gw.example/ipfs/bafyabc/agent.json"
    assert ipfs_to_gateway("ipfs://ipfs/bafyabc", "http://127.0.0.1:1/ipfs") == "http://127.0.0.1:1/ipfs/bafyabc"


# ------------------------------------------------------------------ per-tag maths
A, B, C = ("0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40)


def test_reputation_is_per_tag_never_mixed():
    state = ([A, B, A, C, B], [1, 1, 2, 1, 2], [87, 60, 9977, 10, -32], [0, 0, 2, 0, 1],
             ["starred", "starred", "uptime", "starred", "tradingYield"], ["", "", "", "", "day"],
             [False, False, False, True, False])
    rep = build_reputation(REG, state, [], None, limit=10, offset=0)
    tags = {(t.tag1, t.tag2): t for t in rep.tags}
    assert tags[("starred", "")].count == 2 and tags[("starred", "")].clients == 2
    assert Decimal(tags[("starred", "")].average) == Decimal("73.5")
    assert tags[("starred", "")].revoked == 1 and tags[("starred", "")].min == "60"
    assert tags[("uptime", "")].average == "99.77"
    assert tags[("tradingYield", "day")].average == "-3.2"
    assert rep.feedback_count == 4 and rep.revoked_count == 1 and rep.client_count == 2
    # the registry's own getSummary over all tags would report 93-ish; no number here mixes units
    assert all(Decimal(t.average) != Decimal(93) for t in rep.tags)
    page = build_reputation(REG, state, [], None, limit=2, offset=2)
    assert page.recent_total == 5 and len(page.recent) == 2 and page.recent_offset == 2


def test_pending_validation_is_not_zero():
    h1, h2 = b"\x01" * 32, b"\x02" * 32
    state = [(h1, (A, 1, 0, b"\0" * 32, "", 100)), (h2, (A, 1, 0, b"\0" * 32, "", 100))]
    resp = abi.event("ValidationResponse")
    log = {"topics": [resp.topic0, abi.topic_address(A), abi.topic_uint(1), "0x" + h2.hex()],
           "data": "0x" + __import__("eth_abi").encode(["uint8", "string", "bytes32", "string"],
                                                      [0, "ipfs://r", b"\0" * 32, "zk"]).hex(),
           "blockNumber": "0x5", "logIndex": "0x0"}
    v = build_validations(REG, state, LogScan(logs=[log], complete=True))
    by = {i.request_hash: i for i in v.requests}
    assert by["0x" + h1.hex()].status == "pending" and by["0x" + h1.hex()].response is None
    assert by["0x" + h2.hex()].status == "answered" and by["0x" + h2.hex()].response == 0
    assert (v.answered, v.pending) == (1, 1)
    partial = build_validations(REG, state[:1], LogScan(logs=[], complete=False))
    assert partial.requests[0].status == "unknown"


# ------------------------------------------------------------------ ABI text vs compiled registries
def _artifact_selectors() -> tuple[set[str], set[str]]:
    from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector

    fns, evs = set(), set()
    for name in ("IdentityRegistry", "ReputationRegistry", "ValidationRegistry"):
        art = json.loads((REPO / "tools/devnet/artifacts" / f"{name}.json").read_text())
        for item in art["abi"]:
            if item["type"] == "function":
                fns.add(function_abi_to_4byte_selector(item).hex())
            elif item["type"] == "event":
                evs.add("0x" + event_abi_to_log_topic(item).hex())
    return fns, evs


def test_abi_matches_compiled_registries():
    fns, evs = _artifact_selectors()
    for name in abi.FUNCTIONS:
        assert abi.function(name).selector.hex() in fns, name
    for name in abi.EVENTS:
        assert abi.event(name).topic0 in evs, name
    # the selectors published for the reference implementation
    assert abi.function("readAllFeedback").selector.hex() == "d9d84224"
    assert abi.function("getValidationStatus").selector.hex() == "ff2febfc"
    assert abi.function("reputationSummary").selector.hex() == "81bbba58"


def test_server_import_does_not_import_web3():
    code = ("import sys, pm_mcp.server; from pm_mcp.settings import Settings; "
            "pm_mcp.server.build_server(Settings()); "
            "bad = [m for m in sys.modules if m == 'web3' or m.startswith(('web3.', 'eth_abi', 'eth_account'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
