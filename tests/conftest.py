"""Shared test harness: start the real `pm-mcp` process and talk to it with the official MCP client.

Fixtures:
- ``pm_env``: a dict of environment variables for a server with its own PM_MCP_HOME in a tmp dir
  (add PM_MCP_*_URL entries pointing at simulators before connecting).
- ``connect(env, **client_kwargs)``: async context manager yielding an ``mcp.Client`` connected over
  stdio to a fresh `pm-mcp` subprocess.
Tests are async with ``@pytest.mark.anyio`` (the anyio pytest plugin; backend asyncio).
"""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(REPO))  # so tests can import tools.* (simulators, devnet helpers)


def pm_mcp_command() -> list[str]:
    exe = shutil.which("pm-mcp", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    return [sys.executable, "-m", "pm_mcp"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def tools_cache_dir(tmp_path_factory) -> Path:
    """One remembered-tools/list directory for the session's servers (pm_mcp.tools_cache), not the user's."""
    return tmp_path_factory.mktemp("tools-cache")


@pytest.fixture
def pm_env(tmp_path, tools_cache_dir) -> dict[str, str]:
    """Environment for a server under test: isolated data dir, no production URLs reachable.

    Every venue URL points at a closed loopback port unless a test overrides it, so a forgotten
    override fails fast instead of touching the internet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")}
    env.update({
        "PM_MCP_HOME": str(tmp_path / "home"),
        "PM_MCP_CACHE_DIR": str(tools_cache_dir),
        "PM_MCP_LOG_LEVEL": "INFO",
        "PM_MCP_POLYMARKET_GAMMA_URL": "http://127.0.0.1:9/gamma",
        "PM_MCP_POLYMARKET_CLOB_URL": "http://127.0.0.1:9/clob",
        "PM_MCP_POLYMARKET_DATA_URL": "http://127.0.0.1:9/data",
        "PM_MCP_KALSHI_URL": "http://127.0.0.1:9/kalshi",
        "PM_MCP_MANIFOLD_URL": "http://127.0.0.1:9/manifold",
        "PM_MCP_IPFS_GATEWAY": "http://127.0.0.1:9/ipfs/",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@asynccontextmanager
async def connect(env: dict[str, str], **client_kwargs):
    from mcp import Client, StdioServerParameters

    cmd = pm_mcp_command()
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=str(REPO))
    async with Client(params, **client_kwargs) as client:
        yield client


@pytest.fixture
def mcp_connect():
    return connect


@pytest.fixture
def chain_env(pm_env):
    """(env, agent id): an anvil node with the ERC-8004 registries deployed and one agent registered (owner 8), and
    a server environment pointing at it."""
    from tools.devnet.devnet import Registries, deploy, pm_mcp_env, start_anvil

    node = start_anvil()
    try:
        addrs = deploy(node.rpc_url)
        agent = Registries(node.rpc_url, addrs).register("", owner=8)
        yield {**pm_env, **pm_mcp_env(node.rpc_url, addrs)}, agent
    finally:
        node.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """Each test that takes it runs on both store backends: None (SQLite in the test's home), then a new, empty
    database on the shared throwaway PostgreSQL server (tests/pg_server.py; skipped where PostgreSQL is missing)."""
    if request.param == "sqlite":
        return None
    from pg_server import shared_server

    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server.new_database()
