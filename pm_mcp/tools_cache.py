"""The tools/list answer remembered between starts, so a client's first tools/list does not wait for the surface.

Building the tool surface (importing the surface modules and their ~100 pydantic models, then the SDK deriving
every tool's input and output JSON schema) costs about half as much again as importing the SDK itself. A client
asks for tools/list right after the handshake, and the answer depends only on our code and the SDK's: the same
files give the same list. So the list is written to a cache file the first time it is built, under a key made of
what it depends on (the size and modification time of every file of the pm_mcp package, the SDK's and pydantic's
main files, the Python version), and a later start with the same key answers tools/list from that file while the
surface is built in the background.

Nothing else is answered from the cache: a tool call, a prompt or a resource waits until the real surface is
registered (``Surface.ready``). Once it is, the real list is compared with the cached one; a difference (which
the key should make impossible) is logged and the cache is rewritten, and from then on tools/list is the SDK's own.

Where: ``PM_MCP_CACHE_DIR`` or the user's cache directory (``~/.cache/pm-mcp`` on Linux); ``PM_MCP_CACHE_DIR=off``
builds the surface at every start. A cache file that cannot be read or parsed is ignored (and rewritten).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parent
FORMAT = 1


def cache_dir() -> Path | None:
    env = os.environ.get("PM_MCP_CACHE_DIR", "").strip()
    if env.lower() in ("off", "0", "none"):
        return None
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pm-mcp", appauthor=False))


def _dependency_files() -> list[Path]:
    import mcp
    import pydantic

    files = [Path(mcp.__file__), Path(pydantic.__file__).with_name("version.py")]
    server = Path(mcp.__file__).parent / "server" / "mcpserver" / "server.py"
    types_pkg = sys.modules.get("mcp_types")
    if server.is_file():
        files.append(server)
    if types_pkg is not None and getattr(types_pkg, "__file__", None):
        files.append(Path(types_pkg.__file__))
    return files


def source_key() -> str:
    """A digest of what the tool list depends on: our files (path, size, mtime) and the SDK's and pydantic's."""
    h = hashlib.sha256(f"{FORMAT}|{sys.version}".encode())
    for root, dirs, names in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".json")):
                st = os.stat(os.path.join(root, name))
                rel = os.path.relpath(os.path.join(root, name), _PACKAGE)
                h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for f in _dependency_files():
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _path(directory: Path, key: str) -> Path:
    return directory / f"tools-list-{key[:32]}.json"


def load(key: str) -> list[dict[str, Any]] | None:
    """The remembered tools (MCP Tool objects as JSON) for this key, or None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        data = json.loads(_path(directory, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("tools"), list):
        return None
    return data["tools"]


def store(key: str, tools: list[dict[str, Any]]) -> None:
    """Remember the tools for this key (atomically: a half-written file is never read). Files of other keys are
    left alone (another checkout or version may share the directory) unless a month old."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = _path(directory, key)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "tools": tools}, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, target)
        month_ago = time.time() - 30 * 86400
        for old in directory.glob("tools-list-*.json"):
            if old != target and old.stat().st_mtime < month_ago:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only home is no reason not to serve
        log.info("tools/list cache not written (%s): %s", directory, exc)


def dump_tools(tools: list[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
