"""The tools/list answer remembered between starts, so a client's first tools/list does not wait for the surface.

Building the tool surface (importing the surface modules and their ~100 pydantic models, then the SDK deriving
every tool's input and output JSON schema) costs about half as much again as importing the SDK itself. A client
asks for tools/list right after the handshake, and the answer depends only on our code and the SDK's: the same
files give the same list. So the list is written to a cache file the first time it is built, under a key made of
what it depends on (the size and modification time of every file of the pm_mcp package, the SDK's and pydantic's
main files, the Python version), and a later start with the same key answers tools/list from that file while the
surface is built in the background.

The first start after an install has no cache file yet, so the package ships the list too
(``pm_mcp/surface/tools_list.json``, written by the tests, see ``tests/test_tools_cache_shipped.py``). Its key
has to hold across installs, where sizes stay but modification times do not, so it is made of content: the bytes
of every ``.py`` file of the package, the SDK's and pydantic's versions and the Python version
(``content_key``: reading and hashing the ~1.6 MB of source, ~15 ms on a busy 2-core machine). When no cache file matches and the shipped
key is this install's, the shipped list is answered (and copied into the cache under the cheap key). A changed
source file changes the content key, so a shipped list that no longer belongs to its files is never served; the
test fails until it is regenerated.

Nothing else is answered from the cache: a tool call, a prompt or a resource waits until the real surface is
registered (``Surface.ready``). Once it is, the real list is compared with the cached one; a difference (which
the key should make impossible) is logged and the cache is rewritten, and from then on tools/list is the SDK's own.

Where: ``PM_MCP_CACHE_DIR`` or the user's cache directory (``~/.cache/pm-mcp`` on Linux); ``PM_MCP_CACHE_DIR=off``
builds the surface at every start (the shipped list is not used either). A cache file that cannot be read or
parsed is ignored (and rewritten).
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
SHIPPED = _PACKAGE / "surface" / "tools_list.json"
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


def _sdk_versions() -> str | None:
    """The installed SDK's and pydantic's versions, read from the SDK's dist-info folder names (one directory
    listing; importlib.metadata takes ~100x longer). None when the SDK's version cannot be read (a source tree
    on PYTHONPATH): the shipped list is then not used."""
    import mcp
    from pydantic.version import VERSION

    site = Path(mcp.__file__).resolve().parent.parent
    try:
        infos = sorted(e.name for e in os.scandir(site)
                       if e.name.endswith(".dist-info") and e.name.split("-", 1)[0].lower() in ("mcp", "mcp_types"))
    except OSError:
        return None
    if not any(name.lower().startswith("mcp-") for name in infos):
        return None
    return f"{','.join(infos)}|pydantic {VERSION}"


def content_key(package: Path = _PACKAGE) -> str | None:
    """The shipped list's key: what the list depends on, the same in every install of the same files (the bytes of
    every .py file of the package by relative path, the SDK's and pydantic's versions, Python's major.minor)."""
    sdk = _sdk_versions()
    if sdk is None:
        return None
    h = hashlib.sha256(f"{FORMAT}|{sys.version_info[0]}.{sys.version_info[1]}|{sdk}".encode())
    for root, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, package).replace(os.sep, "/")
                with open(path, "rb") as f:
                    data = f.read()
                h.update(f"{rel}|{len(data)}\n".encode())
                h.update(data)
    return h.hexdigest()


def load_shipped(path: Path = SHIPPED) -> list[dict[str, Any]] | None:
    """The list shipped with the package, if it was made from these very files (content_key), else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tools"), list):
        return None
    key = content_key()
    if key is None or data.get("key") != key:
        log.info("the shipped tools/list is not for these files; the tool surface is built before tools/list")
        return None
    return data["tools"]


def write_shipped(tools: list[dict[str, Any]], path: Path = SHIPPED) -> None:
    """Ship ``tools`` (this tree's live list) under this tree's content key (run by the tests on request)."""
    key = content_key()
    if key is None:
        raise RuntimeError("the SDK's version cannot be read here, so no shipped list can be keyed")
    path.write_text(json.dumps({"key": key, "tools": tools}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _path(directory: Path, key: str) -> Path:
    return directory / f"tools-list-{key[:32]}.json"


def load(key: str) -> list[dict[str, Any]] | None:
    """The remembered tools (MCP Tool objects as JSON) for this key, else the shipped list if it belongs to these
    files (copied into the cache, so the next start reads it under the cheap key), or None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        data = json.loads(_path(directory, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("tools"), list):
        return data["tools"]
    shipped = load_shipped()
    if shipped is not None:
        log.info("tools/list answered from the list shipped with the package (its content key matches)")
        store(key, shipped)
    return shipped


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
