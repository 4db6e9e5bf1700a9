"""The SQLite store (aiosqlite, WAL): schema migrations and the journal.

Migrations are versioned per component ("core", "catalog", "execution", ...) so that parts of
the code base can own their tables without clashing on version numbers. A component registers its
ordered list of SQL scripts with :func:`register_migrations` at import time; :meth:`Store.open`
applies whatever is missing, each in a transaction. A database that has a component at a newer
version than this code knows, or that is not a SQLite file, raises :class:`StoreError` with advice:
we never silently drop or rewrite data we do not understand.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATIONS: dict[str, list[str]] = {}


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says what to do."""


def register_migrations(component: str, scripts: Sequence[str]) -> None:
    """Declare the ordered schema scripts of a component (version = index + 1).

    Never edit or reorder a script that has shipped: append a new one.
    """
    _MIGRATIONS[component] = list(scripts)


register_migrations(
    "core",
    [
        """
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT,
            data TEXT NOT NULL
        );
        CREATE INDEX journal_ref ON journal(ref);

        CREATE TABLE intents (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            status TEXT NOT NULL,
            mode TEXT NOT NULL,
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            event_id TEXT,
            outcome TEXT NOT NULL,
            side TEXT NOT NULL,
            limit_price TEXT NOT NULL,
            size TEXT NOT NULL,
            worst_case_cost TEXT NOT NULL,
            fees TEXT NOT NULL,
            order_hash TEXT NOT NULL,
            rules_hash TEXT,
            forecast_p TEXT,
            forecast_source TEXT,
            data TEXT NOT NULL
        );
        CREATE INDEX intents_status ON intents(status);

        CREATE TABLE orders (
            id TEXT PRIMARY KEY,
            intent_id TEXT REFERENCES intents(id),
            client_order_id TEXT UNIQUE NOT NULL,
            venue_order_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL,
            mode TEXT NOT NULL,
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            event_id TEXT,
            outcome TEXT NOT NULL,
            side TEXT NOT NULL,
            limit_price TEXT NOT NULL,
            size TEXT NOT NULL,
            filled_size TEXT NOT NULL DEFAULT '0',
            avg_price TEXT,
            fees_paid TEXT NOT NULL DEFAULT '0',
            data TEXT NOT NULL
        );
        CREATE INDEX orders_status ON orders(status);

        CREATE TABLE fills (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES orders(id),
            at TEXT NOT NULL,
            price TEXT NOT NULL,
            size TEXT NOT NULL,
            fee TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX fills_order ON fills(order_id);

        CREATE TABLE positions (
            mode TEXT NOT NULL,
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            event_id TEXT,
            size TEXT NOT NULL,
            avg_cost TEXT NOT NULL,
            realized_pnl TEXT NOT NULL DEFAULT '0',
            updated_at TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (mode, venue, market_id, outcome)
        );

        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    ],
)


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat()


class Store:
    """One aiosqlite connection per process, opened in the server's lifespan."""

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    async def open(cls, path: Path) -> Store:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {path.parent}: {exc}. "
                             "Set PM_MCP_HOME to a writable directory.") from exc
        if path.exists() and path.stat().st_size > 0:
            with open(path, "rb") as fh:
                header = fh.read(16)
            if header != b"SQLite format 3\x00":
                raise StoreError(
                    f"{path} is not a SQLite database (corrupt or another file). pm-mcp will not "
                    "overwrite it: move it aside (your journal may be recoverable from it) or point "
                    "PM_MCP_HOME elsewhere.")
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        store = cls(path, conn)
        try:
            await conn.execute("PRAGMA busy_timeout=5000")
            # read-only checks first: a database we cannot use must be left exactly as it is
            await store._check_readable()
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await store._migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"{path} cannot be read as a pm-mcp database ({exc}). Move it aside or "
                             "point PM_MCP_HOME elsewhere; nothing was changed.") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        await self.conn.close()

    async def _check_readable(self) -> None:
        """Without writing anything: the file is a database, it is ours (or empty), and no component
        is at a newer schema version than this code knows."""
        c = self.conn
        names = {r[0] for r in await (await c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")).fetchall()}
        if not names:
            return
        if "schema_migrations" not in names:
            raise StoreError(
                f"{self.path} is a SQLite database but not a pm-mcp one (no schema_migrations table). pm-mcp "
                "will not add its tables to it: point PM_MCP_HOME elsewhere; nothing was changed.")
        rows = await (await c.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        self._raise_if_newer({r[0]: r[1] for r in rows})

    def _raise_if_newer(self, current: dict[str, int]) -> None:
        for component, version in current.items():
            known = len(_MIGRATIONS.get(component, []))
            if component in _MIGRATIONS and version > known:
                raise StoreError(
                    f"the database {self.path} was written by a newer pm-mcp (schema '{component}' "
                    f"v{version}, this version knows v{known}). Upgrade pm-mcp, or use another "
                    "PM_MCP_HOME; nothing was changed.")

    async def _migrate(self) -> None:
        c = self.conn
        await c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
            " applied_at TEXT NOT NULL, PRIMARY KEY (component, version))")
        rows = await (await c.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        current = {r[0]: r[1] for r in rows}
        self._raise_if_newer(current)
        for component, scripts in _MIGRATIONS.items():
            have = current.get(component, 0)
            for version in range(have + 1, len(scripts) + 1):
                script = scripts[version - 1]
                await c.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in _split_sql(script):
                        await c.execute(stmt)
                    await c.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                    (component, version, utcnow_iso()))
                    await c.execute("COMMIT")
                except BaseException:
                    await c.execute("ROLLBACK")
                    raise
                log.info("applied migration %s v%d", component, version)

    async def schema_versions(self) -> dict[str, int]:
        rows = await (await self.conn.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        return {r[0]: r[1] for r in rows}

    async def journal(self, kind: str, ref: str | None, data: dict[str, Any]) -> int:
        cur = await self.conn.execute(
            "INSERT INTO journal (at, kind, ref, data) VALUES (?, ?, ?, ?)",
            (utcnow_iso(), kind, ref, json.dumps(data, default=str, sort_keys=True)))
        return cur.lastrowid or 0

    async def kv_get(self, key: str) -> str | None:
        row = await (await self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,))).fetchone()
        return row[0] if row else None

    async def kv_set(self, key: str, value: str) -> None:
        await self.conn.execute(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, utcnow_iso()))


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3.complete_statement aware)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
