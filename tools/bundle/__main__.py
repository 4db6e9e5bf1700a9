"""Build the MCP Bundle (`.mcpb`) for Claude Desktop's one-click install, with the official `mcpb` CLI.

    python -m tools.bundle                       # -> dist/pm-mcp-<version>.mcpb
    python -m tools.bundle --out /tmp/x.mcpb --mcpb /path/to/mcpb

The bundle uses the manifest's `uv` server type (manifest 0.4): it carries pm-mcp's source and pyproject.toml,
not its dependencies. The host installs Python and the dependencies with uv on the person's machine, so the
compiled ones (pydantic-core, cryptography, ...) are the right build for that machine's platform; the first
start needs the network for that. If the host runs `mcp_config` as written instead, that is
`uv run --directory <bundle> pm-mcp` (uv must then be on the host's PATH).

The manifest's user_config is what a person sets in the install dialog: the mode, the bankroll and the caps, the
confirmation channel, and the live credentials (secrets marked sensitive, the Kalshi key as a file). Every field
has a default: a blank optional field arrives as "" and pm-mcp reads an empty variable as unset.

Steps: stage the files in a temporary directory, `mcpb validate` the manifest, `mcpb pack` the directory.
The CLI comes from npm (@anthropic-ai/mcpb, pinned in tools/bundle/package.json; `npm ci` there installs it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE_FILES = (".py", ".json", ".html", ".js")
PLATFORMS = ["darwin", "linux"]  # not win32: the data directory's owner check uses POSIX calls (os.getuid)

LAUNCHER = '''\
"""The bundle's entry point: pm-mcp over stdio (the host starts it with uv in the bundle's directory)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bundled pm_mcp package

from pm_mcp.cli import main  # noqa: E402 - after the path is set

raise SystemExit(main())
'''

# user_config key -> (PM_MCP_* variable, the field)
USER_CONFIG: dict[str, tuple[str, dict]] = {
    "mode": ("PM_MCP_MODE", {
        "type": "string", "title": "Mode", "default": "paper",
        "description": "paper (simulated fills against the venues' live books; the default) or live (real orders; "
                       "needs one venue's credentials below)."}),
    "confirm": ("PM_MCP_CONFIRM", {
        "type": "string", "title": "Confirmation channel", "default": "auto",
        "description": "How you confirm each order: auto (a dialog when the client has one, else the local "
                       "approval page), elicitation, page or host. Claude Desktop uses the approval page."}),
    "bankroll": ("PM_MCP_BANKROLL", {
        "type": "number", "title": "Bankroll (USD)", "default": 1000, "min": 1,
        "description": "The paper bankroll and the base of the caps."}),
    "max_order_usd": ("PM_MCP_MAX_ORDER_USD", {
        "type": "number", "title": "Largest order (USD)", "default": 100, "min": 1,
        "description": "No single order costs more than this (fees included)."}),
    "max_event_fraction": ("PM_MCP_MAX_EVENT_FRACTION", {
        "type": "number", "title": "Most on one event (fraction of bankroll)", "default": 0.15, "min": 0.01,
        "max": 1, "description": "The exposure cap for one event, e.g. 0.15 = 15% of the bankroll."}),
    "max_daily_usd": ("PM_MCP_MAX_DAILY_USD", {
        "type": "number", "title": "Daily spend cap (USD)", "default": 500, "min": 1,
        "description": "At most this much is spent on orders per day."}),
    "kelly_fraction": ("PM_MCP_KELLY_FRACTION", {
        "type": "number", "title": "Kelly fraction", "default": 0.25, "min": 0.01, "max": 1,
        "description": "The fractional Kelly multiplier (1/10 to 1/4 recommended)."}),
    "polymarket_private_key": ("PM_MCP_POLYMARKET_PRIVATE_KEY", {
        "type": "string", "title": "Polymarket private key (live only)", "default": "", "sensitive": True,
        "description": "The wallet key that signs Polymarket orders (64 hex characters). Leave empty for paper."}),
    "polymarket_signature_type": ("PM_MCP_POLYMARKET_SIGNATURE_TYPE", {
        "type": "string", "title": "Polymarket signature type (live only)", "default": "0",
        "description": "0 plain wallet, 1 email/Magic account, 2 browser-wallet account (Gnosis Safe), "
                       "3 deposit wallet."}),
    "polymarket_funder": ("PM_MCP_POLYMARKET_FUNDER", {
        "type": "string", "title": "Polymarket funder address (live, types 1-3)", "default": "",
        "description": "The wallet address shown on your Polymarket profile (0x + 40 hex)."}),
    "kalshi_key_id": ("PM_MCP_KALSHI_KEY_ID", {
        "type": "string", "title": "Kalshi API key id (live only)", "default": "",
        "description": "The key id shown when you created the Kalshi API key."}),
    "kalshi_private_key_file": ("PM_MCP_KALSHI_PRIVATE_KEY_FILE", {
        "type": "file", "title": "Kalshi private key file (live only)", "default": "",
        "description": "The RSA .pem file Kalshi let you download with that key."}),
    "manifold_api_key": ("PM_MCP_MANIFOLD_API_KEY", {
        "type": "string", "title": "Manifold API key (live only)", "default": "", "sensitive": True,
        "description": "From your Manifold profile page."}),
}


def manifest() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = {var: f"${{user_config.{key}}}" for key, (var, _field) in USER_CONFIG.items()}
    return {
        "manifest_version": "0.4",
        "name": project["name"],
        "display_name": "pm-mcp: prediction markets (Polymarket, Kalshi, Manifold)",
        "version": project["version"],
        "description": project["description"],
        "long_description": "Find markets, read their rules, price the edge after fees and depth, size inside hard "
                            "caps, and place an order only after you confirm it. Paper trading by default.",
        "author": {"name": "pm-mcp maintainers"},
        "license": project.get("license", "MIT"),
        "keywords": ["prediction markets", "polymarket", "kalshi", "manifold", "trading"],
        "server": {
            "type": "uv",
            "entry_point": "server/main.py",
            "mcp_config": {"command": "uv", "args": ["run", "--directory", "${__dirname}", "pm-mcp"], "env": env},
        },
        "tools_generated": True,
        "prompts_generated": True,
        "compatibility": {"platforms": PLATFORMS, "runtimes": {"python": project["requires-python"]}},
        "user_config": {key: field for key, (_var, field) in USER_CONFIG.items()},
    }


def stage(dest: Path) -> Path:
    """The bundle's files: manifest.json, pyproject.toml, README.md (the project's readme), pm_mcp/, server/."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n", encoding="utf-8")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for path in sorted((ROOT / "pm_mcp").rglob("*")):
        if path.is_file() and path.suffix in PACKAGE_FILES and "__pycache__" not in path.parts:
            target = dest / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (dest / "server").mkdir(exist_ok=True)
    (dest / "server" / "main.py").write_text(LAUNCHER, encoding="utf-8")
    return dest


def mcpb_command(explicit: str | None) -> list[str]:
    for candidate in (explicit, HERE / "node_modules" / ".bin" / "mcpb", shutil.which("mcpb")):
        if candidate and Path(candidate).exists():
            return [str(candidate)]
    raise SystemExit("tools/bundle: the mcpb CLI is missing; run `npm ci` in tools/bundle (or pass --mcpb)")


def build(out: Path, mcpb: list[str]) -> Path:
    with tempfile.TemporaryDirectory(prefix="pm-mcp-bundle-") as tmp:
        staged = stage(Path(tmp) / "pm-mcp")
        subprocess.run([*mcpb, "validate", str(staged / "manifest.json")], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*mcpb, "pack", str(staged), str(out)], check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="the .mcpb to write (default: dist/pm-mcp-<version>.mcpb)")
    parser.add_argument("--mcpb", help="the mcpb CLI (default: tools/bundle/node_modules/.bin/mcpb, then PATH)")
    parser.add_argument("--stage-only", type=Path, metavar="DIR", help="only write the bundle's files to DIR")
    args = parser.parse_args(argv)
    if args.stage_only:
        print(stage(args.stage_only))
        return 0
    out = args.out or ROOT / "dist" / f"pm-mcp-{manifest()['version']}.mcpb"
    print(build(out, mcpb_command(args.mcpb)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
