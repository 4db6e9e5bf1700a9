"""No secret anywhere: a LIVE conversation (Polymarket simulator: EIP-712 + HMAC verified, L2 credentials
derived from the private key) plus ERC-8004 lookups through RPC URLs that carry API keys (a real anvil node,
the key in the query; an unreachable one, the key in the path), all at PM_MCP_LOG_LEVEL=DEBUG (web3's,
httpx's and our loggers at their chattiest). Afterwards every table (all columns of all rows), the raw
database and WAL files, every log line and every tool output are searched for each secret: the private key
(with and without 0x, any case), the L2 API key, secret and passphrase, both RPC keys, the Manifold key.
Also: the data directory is 0700, the database and its -wal / -shm files 0600.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import stat
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from conftest import REPO, pm_mcp_command

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PK = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Hardhat #2 (public test key)
EOA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SAFE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NEWSOM = "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568"
RPC_QUERY_KEY = "RPCQUERYSECRET4242"
RPC_PATH_KEY = "RPCPATHSECRET1717"
MANIFOLD_KEY = "manifold-SECRET-9d1f3e2a"


@asynccontextmanager
async def _server(env: dict[str, str], tmp: Path, tag: str):
    from mcp import Client, StdioServerParameters

    log = tmp / f"stderr-{tag}.log"
    cmd = " ".join(shlex.quote(c) for c in pm_mcp_command())
    params = StdioServerParameters(command="/bin/sh", args=["-c", f"exec {cmd} 2>>{shlex.quote(str(log))}"],
                                   env=env, cwd=str(REPO))
    async with Client(params) as client:
        yield client


@pytest.fixture
def chain():
    from tools.devnet.devnet import Registries, deploy, start_anvil

    node = start_anvil()
    try:
        addrs = deploy(node.rpc_url)
        agent = Registries(node.rpc_url, addrs).register("", owner=1)
        yield node.rpc_url, addrs, agent
    finally:
        node.stop()


def _db_texts(home: Path) -> list[str]:
    """Every value of every column of every table, and the raw bytes of the database files."""
    out: list[str] = []
    conn = sqlite3.connect(f"file:{home / 'pm_mcp.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"live_orders", "orders", "intents", "journal"} <= set(tables)
        for t in tables:
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                for v in row:
                    out.append(v.decode("latin-1") if isinstance(v, bytes) else str(v))
        assert conn.execute("SELECT COUNT(*) FROM live_orders").fetchone()[0] >= 1, "nothing was sent live"
    finally:
        conn.close()
    for name in ("pm_mcp.sqlite3", "pm_mcp.sqlite3-wal"):
        p = home / name
        if p.exists():
            out.append(p.read_bytes().decode("latin-1"))
    return out


async def test_no_secret_in_any_table_log_line_or_tool_output(pm_env, tmp_path, chain):
    from tools.sim import start_sim
    from tools.sim.polymarket_trading import orders, register_wallet

    rpc, addrs, agent = chain
    home = Path(pm_env["PM_MCP_HOME"])
    key_file = tmp_path / "polymarket.key"
    key_file.write_text(PK + "\n")
    key_file.chmod(0o600)
    outputs: list[str] = []

    async def call(client, tool, args=None, ok=True):
        r = await client.call_tool(tool, args or {})
        outputs.extend(c.text for c in r.content if getattr(c, "text", None))
        outputs.append(json.dumps(r.structured_content, default=str))
        if ok:
            assert not r.is_error, r.content[0].text
        return r

    with start_sim("polymarket") as sim:
        register_wallet(sim, EOA, funder=SAFE, signature_type=2, balance="500")
        env = {**pm_env, **sim.env(), "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "host", "PM_MCP_VENUES": "polymarket",
               "PM_MCP_POLYMARKET_PRIVATE_KEY_FILE": str(key_file), "PM_MCP_POLYMARKET_SIGNATURE_TYPE": "2",
               "PM_MCP_POLYMARKET_FUNDER": SAFE, "PM_MCP_HTTP_TIMEOUT_S": "3", "PM_MCP_LOG_LEVEL": "DEBUG",
               "PM_MCP_MANIFOLD_API_KEY": MANIFOLD_KEY,
               "PM_MCP_RPC_URLS": f"31337={rpc}/?apikey={RPC_QUERY_KEY},8453=http://127.0.0.1:9/v3/{RPC_PATH_KEY}",
               "PM_MCP_ERC8004_IDENTITY": addrs["identity"], "PM_MCP_ERC8004_REPUTATION": addrs["reputation"],
               "PM_MCP_ERC8004_VALIDATION": addrs["validation"]}
        async with _server(env, tmp_path, "a") as client:
            await call(client, "search_markets", {"query": "newsom nomination"})
            await call(client, "get_market", {"market": NEWSOM})
            prop = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                        "side": "buy", "limit_price": "0.234", "size": "10"})
            intent_id = prop.structured_content["intent_id"]
            await call(client, "confirm_order", {"intent_id": intent_id})
            assert len(orders(sim)) == 1
            await call(client, "get_order", {"ref": intent_id})
            # a resting order, then cancelled (DELETE with an L2-signed body)
            prop = await call(client, "propose_order", {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes",
                                                        "side": "buy", "limit_price": "0.05", "size": "10"})
            done = await call(client, "confirm_order", {"intent_id": prop.structured_content["intent_id"]})
            await call(client, "cancel_order", {"ref": done.structured_content["orders"][0]["order_id"]}, ok=False)
            await call(client, "list_orders", {})
            await call(client, "get_portfolio", {})
            await call(client, "doctor", {})
            await call(client, "lookup_agent", {"agent": f"31337:{agent}"})
            await call(client, "lookup_agent", {"agent": "8453:1"}, ok=False)  # unreachable: its error, its logs
            await call(client, "lookup_agent", {"agent": "31337:999999"}, ok=False)
            # files while the server runs (WAL mode: -wal and -shm exist now)
            assert stat.S_IMODE(home.stat().st_mode) == 0o700
            for name in ("pm_mcp.sqlite3", "pm_mcp.sqlite3-wal", "pm_mcp.sqlite3-shm"):
                assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
            tables = _db_texts(home)
        api_keys = list(sim.state["pm_trading"]["api_keys"].values())
    assert api_keys, "no L2 credentials were derived: the scan would prove nothing"
    secrets = {"private key": PK, "private key (no 0x)": PK[2:], "private key (upper)": PK[2:].upper(),
               "RPC key (query)": RPC_QUERY_KEY, "RPC key (path)": RPC_PATH_KEY, "Manifold key": MANIFOLD_KEY}
    for i, k in enumerate(api_keys):
        secrets[f"L2 api key {i}"] = k["apiKey"]
        secrets[f"L2 secret {i}"] = k["secret"]
        secrets[f"L2 secret {i} (unpadded)"] = k["secret"].rstrip("=")
        secrets[f"L2 passphrase {i}"] = k["passphrase"]
    log = (tmp_path / "stderr-a.log").read_text(errors="replace")
    assert log.count("\n") > 50 and " DEBUG " in log, "the DEBUG log is nearly empty: the scan would prove little"
    where = {"log": [log], "tool outputs": outputs, "database": tables}
    leaks = [f"{name} in {place}" for name, secret in secrets.items() for place, blobs in where.items()
             if any(secret in b for b in blobs)]
    assert not leaks, leaks


# --- the pieces ---------------------------------------------------------------------------------------------

def test_log_formatter_redacts_registered_secrets_in_messages_and_tracebacks():
    import io
    import logging

    from pm_mcp import redaction

    redaction.register_secret("0x" + "ab12" * 16)
    redaction.register_url_secrets("https://rpc.example/v2/URLPATHKEY99?apikey=URLQUERYKEY77")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    lg = logging.getLogger("test.redaction")
    lg.addHandler(handler)
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    redaction.install_log_redaction(lg)
    try:
        lg.debug("session cached: %s", "https://rpc.example/v2/URLPATHKEY99?apikey=URLQUERYKEY77")
        lg.info("key %s", ("AB12" * 16))  # another case, no 0x
        try:
            raise ValueError("bad key " + "ab12" * 16)
        except ValueError:
            lg.exception("failed")
    finally:
        lg.removeHandler(handler)
    out = buf.getvalue()
    for s in ("URLPATHKEY99", "URLQUERYKEY77", "ab12ab12ab12", "AB12AB12AB12"):
        assert s not in out, s
    assert out.count(redaction.MASK) >= 3 and "Traceback" in out and "rpc.example" in out


def test_chatty_loggers_are_held_at_info():
    import logging

    from pm_mcp import redaction

    logging.getLogger("aiosqlite").setLevel(logging.DEBUG)
    redaction.quiet_chatty_loggers()
    assert logging.getLogger("aiosqlite").getEffectiveLevel() >= logging.INFO  # it logs SQL parameters
    assert logging.getLogger("web3._utils.http_session_manager").getEffectiveLevel() >= logging.WARNING


def test_polymarket_journal_body_carries_no_api_key_and_is_restored_on_send():
    from pm_mcp.venues.polymarket.broker import OWNER_PLACEHOLDER, journal_body, wire_body

    key = "70871c63-7346-fea7-58d1-fd7c248b60b7"
    body = '{"order":{"salt":1,"signature":"0xabc"},"owner":"' + key + '","orderType":"GTC"}'
    stored = journal_body(body, key)
    assert key not in stored and OWNER_PLACEHOLDER in stored
    assert wire_body(stored, key) == body  # the very same bytes go out
    assert wire_body(body, key) == body  # a body journaled by an older version is sent as it was


def test_polymarket_api_credentials_never_show_in_a_repr():
    from pm_mcp.venues.polymarket.signing import ApiCreds

    creds = ApiCreds(api_key="key-FAKE-9191", secret="c2VjcmV0LUZBS0U=", passphrase="pass-FAKE-8181")
    text = repr(creds) + str(creds)
    assert "key-FAKE-9191" not in text and "c2VjcmV0LUZBS0U=" not in text and "pass-FAKE-8181" not in text
