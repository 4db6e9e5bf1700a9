"""Claude Desktop one-click (issue #17 item 2): `python -m tools.bundle` builds an MCP Bundle that the official
mcpb CLI validates and packs; its manifest exposes the settings a person sets (mode, bankroll and caps,
confirmation channel; live keys as sensitive fields, the Kalshi key as a file), each mapped onto a real PM_MCP_*
setting; unpacked and started the way its manifest says (defaults substituted), it serves every tool.

The CLI is @anthropic-ai/mcpb from npm, pinned in tools/bundle/package.json (`npm ci` there; tools/test.sh).
The real host installs the dependencies with uv; offline, the test starts the bundle's entry point with this
venv's Python (same dependencies), so what it checks is the bundle's own files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from pm_mcp.settings import Settings

MCPB = REPO / "tools" / "bundle" / "node_modules" / ".bin" / "mcpb"
pytestmark = pytest.mark.skipif(not MCPB.exists(), reason="the mcpb CLI is not installed (npm ci in tools/bundle)")


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("bundle")
    out = tmp / "pm-mcp.mcpb"
    r = _run([sys.executable, "-m", "tools.bundle", "--out", out], cwd=REPO)
    assert "Manifest schema validation passes!" in r.stdout, r.stdout
    unpacked = tmp / "unpacked"
    _run([MCPB, "unpack", out, unpacked])
    return out, unpacked


def _host_env(manifest: dict, bundle_dir: Path, pm_env: dict, **chosen: str) -> dict[str, str]:
    """mcp_config.env as a host fills it: ${user_config.KEY} -> the person's value, else the field's default."""
    values = {k: str(chosen.get(k, f.get("default", ""))) for k, f in manifest["user_config"].items()}
    env = dict(pm_env)
    for var, template in manifest["server"]["mcp_config"]["env"].items():
        value = template.replace("${__dirname}", str(bundle_dir))
        for key, v in values.items():
            value = value.replace(f"${{user_config.{key}}}", v)
        env[var] = value
    return env


def test_the_manifest_exposes_what_a_person_sets(bundle):
    _, unpacked = bundle
    m = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))
    assert m["manifest_version"] == "0.4" and m["server"]["type"] == "uv"
    assert (unpacked / "pyproject.toml").is_file() and (unpacked / m["server"]["entry_point"]).is_file()
    assert not (unpacked / "server" / "lib").exists() and not (unpacked / ".venv").exists()
    fields = m["user_config"]
    for key in ("mode", "confirm", "bankroll", "max_order_usd", "max_event_fraction", "max_daily_usd",
                "kelly_fraction"):
        assert key in fields and "default" in fields[key], key
    assert fields["polymarket_private_key"]["sensitive"] and fields["manifold_api_key"]["sensitive"]
    assert fields["kalshi_private_key_file"]["type"] == "file"
    env = m["server"]["mcp_config"]["env"]
    assert sorted(env.values()) == sorted(f"${{user_config.{k}}}" for k in fields)  # every field is passed on
    for var in env:
        assert var.startswith("PM_MCP_") and var[len("PM_MCP_"):].lower() in Settings.model_fields, var
    assert set(m["compatibility"]["platforms"]) <= {"darwin", "linux", "win32"}


def test_the_packed_bundle_holds_the_whole_package(bundle):
    _, unpacked = bundle
    shipped = {p.relative_to(REPO).as_posix() for p in (REPO / "pm_mcp").rglob("*")
               if p.is_file() and p.suffix in (".py", ".json", ".html", ".js") and "__pycache__" not in p.parts}
    bundled = {p.relative_to(unpacked).as_posix() for p in (unpacked / "pm_mcp").rglob("*") if p.is_file()}
    assert shipped <= bundled, sorted(shipped - bundled)


@pytest.mark.anyio
async def test_the_unpacked_bundle_starts_with_the_defaults_and_lists_every_tool(bundle, pm_env):
    from mcp import Client, StdioServerParameters

    _, unpacked = bundle
    m = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))
    env = _host_env(m, unpacked, pm_env, bankroll="2500")
    entry = unpacked / m["server"]["entry_point"]
    r = _run([sys.executable, entry, "doctor"], env=env, cwd="/")
    assert "[not set] manifold api key" in r.stdout and "bankroll            $2500" in r.stdout, r.stdout
    params = StdioServerParameters(command=sys.executable, args=[str(entry)], env=env, cwd="/")
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        policy = await client.call_tool("get_risk_policy", {})
    snapshot = json.loads((REPO / "tests" / "fixtures" / "tools_list.json").read_text(encoding="utf-8"))
    assert set(snapshot["tools"]) <= names
    assert not policy.is_error and policy.structured_content["bankroll"] == "2500"
