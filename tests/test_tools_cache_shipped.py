"""The tools/list shipped with the package (pm_mcp/surface/tools_list.json, read by pm_mcp.tools_cache): it is this
tree's live list under this tree's content key, so the first start after an install (no cache file yet) answers
tools/list from it; a copy of the package keys the same (modification times do not count), and a copy with one
source file changed is never answered from it. Real `pm-mcp` processes over stdio.

The shipped list goes stale with any change of a pm_mcp .py file (its key is their content); regenerate it with

    PM_MCP_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest -q tests/test_tools_cache_shipped.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO, connect, pm_mcp_command
from pm_mcp import tools_cache

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SHIPPED_USED = "answered from the list shipped with the package"
SHIPPED_REFUSED = "the shipped tools/list is not for these files"


async def live_tools(env: dict[str, str]) -> list[dict]:
    """The list the surface builds (PM_MCP_CACHE_DIR=off: nothing remembered or shipped is used)."""
    async with connect({**env, "PM_MCP_CACHE_DIR": "off"}) as client:
        return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in (await client.list_tools()).tools]


def first_tools_list(env: dict[str, str], cwd=REPO) -> tuple[list[dict], str]:
    """A raw stdio session: initialize, then tools/list; (the tools answered, the server's log)."""
    proc = subprocess.Popen(pm_mcp_command(), env=env, cwd=str(cwd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        send = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "shipped-list-test", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}]
        for msg in send:
            proc.stdin.write(json.dumps(msg) + "\n")
            proc.stdin.flush()
        tools = None
        while tools is None:
            line = proc.stdout.readline()
            assert line, "the server ended before answering tools/list"
            reply = json.loads(line)
            if reply.get("id") == 2:
                tools = reply["result"]["tools"]
        _out, err = proc.communicate(timeout=30)  # closes stdin: the server ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return tools, err


async def test_the_shipped_list_is_this_trees_live_list(pm_env):
    live = await live_tools(pm_env)
    if os.environ.get("PM_MCP_UPDATE_SNAPSHOT") == "1":
        tools_cache.write_shipped(live)
    shipped = json.loads(tools_cache.SHIPPED.read_text(encoding="utf-8"))
    regenerate = "regenerate it: PM_MCP_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest -q tests/test_tools_cache_shipped.py"
    assert shipped["tools"] == live, f"the shipped tools/list is not the live one; {regenerate}"
    assert shipped["key"] == tools_cache.content_key(), f"pm_mcp's sources changed since the list was shipped; {regenerate}"


async def test_the_first_start_answers_from_the_shipped_list(pm_env, tmp_path):
    if json.loads(tools_cache.SHIPPED.read_text(encoding="utf-8"))["key"] != tools_cache.content_key():
        pytest.fail("the shipped list is stale (see test_the_shipped_list_is_this_trees_live_list)")
    cache = tmp_path / "cache"  # empty: no start has remembered anything yet
    tools, log = first_tools_list({**pm_env, "PM_MCP_CACHE_DIR": str(cache)})
    assert SHIPPED_USED in log, log[-2000:]
    assert tools == await live_tools(pm_env)
    (copied,) = cache.glob("tools-list-*.json")  # the next start reads it under the cheap key
    assert json.loads(copied.read_text())["tools"] == tools
    again, log = first_tools_list({**pm_env, "PM_MCP_CACHE_DIR": str(cache)})
    assert again == tools and SHIPPED_USED not in log and SHIPPED_REFUSED not in log


async def test_a_changed_source_is_never_answered_from_the_shipped_list(pm_env, tmp_path):
    copy = tmp_path / "src" / "pm_mcp"
    shutil.copytree(REPO / "pm_mcp", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert tools_cache.content_key(copy) == tools_cache.content_key(), "same files, other mtimes: the same key"
    strategy = copy / "surface" / "strategy.py"
    strategy.write_text(strategy.read_text(encoding="utf-8").replace(
        '"Stake for one outcome', '"CHANGED: stake for one outcome', 1), encoding="utf-8")
    assert tools_cache.content_key(copy) != tools_cache.content_key()
    env = {**pm_env, "PM_MCP_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(copy.parent), pm_env.get("PYTHONPATH")]))}
    tools, log = first_tools_list(env, cwd=copy.parent)
    assert SHIPPED_USED not in log and SHIPPED_REFUSED in log, log[-2000:]
    size = next(t for t in tools if t["name"] == "size_position")
    assert size["description"].startswith("CHANGED"), "the copy's own surface answered"
