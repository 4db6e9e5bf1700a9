"""The remembered tools/list (pm_mcp.tools_cache): a second start answers tools/list from the cache with exactly
what the first start built, and everything else still reaches the real surface; a damaged or wrong cache is
never trusted past the first tools/list; PM_MCP_CACHE_DIR=off keeps nothing."""

from __future__ import annotations

import json

import pytest

from conftest import connect

pytestmark = pytest.mark.anyio


async def _session(env: dict[str, str]) -> dict:
    async with connect(env) as client:
        caps = client.initialize_result.capabilities if hasattr(client, "initialize_result") else None
        tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in (await client.list_tools()).tools]
        policy = await client.call_tool("get_risk_policy", {})
        prompts = sorted(p.name for p in (await client.list_prompts()).prompts)
        templates = sorted(t.uri_template for t in (await client.list_resource_templates()).resource_templates)
        return {"caps": caps, "tools": tools, "policy": policy.content[0].text, "prompts": prompts,
                "templates": templates, "error": policy.is_error}


def _files(d) -> list:
    return sorted(d.glob("tools-list-*.json"))


async def test_second_start_serves_the_same_list_from_the_cache(pm_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**pm_env, "PM_MCP_CACHE_DIR": str(cache)}
    first = await _session(env)
    files = _files(cache)
    assert len(files) == 1, "the first start remembers its tools/list"
    stored = json.loads(files[0].read_text())["tools"]
    assert stored == first["tools"]
    second = await _session(env)
    assert second["tools"] == first["tools"]
    assert len(second["tools"]) >= 20
    assert not second["error"] and second["policy"] == first["policy"], "a tool call reaches the real surface"
    assert second["prompts"] == first["prompts"] and second["templates"] == first["templates"]
    if first["caps"] is not None:
        assert second["caps"] == first["caps"], "the handshake is the same (resources.subscribe included)"


async def test_a_damaged_cache_is_ignored_and_rewritten(pm_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**pm_env, "PM_MCP_CACHE_DIR": str(cache)}
    first = await _session(env)
    (f,) = _files(cache)
    f.write_text('{"key": "' + "x" * 10)  # half a file
    again = await _session(env)
    assert again["tools"] == first["tools"]
    assert json.loads(f.read_text())["tools"] == first["tools"], "rewritten whole"


async def test_a_wrong_cache_is_corrected_once_the_surface_is_registered(pm_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**pm_env, "PM_MCP_CACHE_DIR": str(cache)}
    first = await _session(env)
    (f,) = _files(cache)
    data = json.loads(f.read_text())
    data["tools"][0]["description"] = "TAMPERED"
    f.write_text(json.dumps(data))
    await _session(env)  # served the tampered list once (the key said it was current), then checked it
    assert json.loads(f.read_text())["tools"] == first["tools"], "the real list replaced the wrong one"
    third = await _session(env)
    assert third["tools"] == first["tools"]


async def test_cache_off_keeps_nothing(pm_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**pm_env, "PM_MCP_CACHE_DIR": "off", "HOME": str(tmp_path / "h"), "XDG_CACHE_HOME": str(cache)}
    out = await _session(env)
    assert out["tools"] and not cache.exists() and not (tmp_path / "h").exists()
