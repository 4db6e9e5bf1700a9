"""The SQLite store (aiosqlite, WAL): schema migrations and the journal.

Migrations are versioned per component ("core", "catalog", "execution", ...) so that parts of
the code base can own their tables without clashing on version numbers. A component registers its
ordered list of SQL scripts with :func:`register_migrations` at import time; :meth:`Store.open`
applies whatever is missing, each in a transaction. A database that has a component at a newer
version than this code knows, or that is not a SQLite file, raises :class:`StoreError` with advice:
we never silently drop or rewrite data we do not understand.

Connections (:func:`connect`; the store's and the catalog's) run every statement to completion in one
job of aiosqlite's worker thread: ``execute`` steps a SELECT through all its rows before it returns (the
cursor hands them out from memory). Plain aiosqlite steps a SELECT once in ``execute`` and the rest in
``fetch*``, a second job: in between, the statement keeps an implicit read transaction open, another
coroutine's write on the same connection runs inside it, and once the other connection has committed
SQLite cannot upgrade that stale snapshot: SQLITE_BUSY_SNAPSHOT, "database is locked" at once,
busy_timeout never consulted. Multi-statement writes start as writes (:meth:`Store.transaction`, ``BEGIN
IMMEDIATE``) and so wait on busy_timeout like any single write. Whatever SQLITE_BUSY / SQLITE_LOCKED is left
(another process holding the file for longer than the timeout) is raised as :class:`DatabaseBusy`, whose
message is a sentence ("pm-mcp's database is busy; retry in a moment").

Files: the data directory is created 0700 (an existing one loses its group/other bits), the database
0600 before SQLite first opens it (SQLite gives its -wal and -shm files the database's mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager as _result

from pm_mcp import principal
from pm_mcp.settings import ensure_private_dir

log = logging.getLogger(__name__)

_MIGRATIONS: dict[str, list[str]] = {}

# Components whose tables stay in the local SQLite file with every backend: the market catalog is a per-process
# cache built on SQLite FTS5 (pm_mcp.markets.catalog opens its own connection to ``Store.path``). With
# PM_MCP_DATABASE_URL set, everything else lives in PostgreSQL (pm_mcp.store_pg).
LOCAL_COMPONENTS = frozenset({"catalog"})


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says what to do."""


BUSY_TIMEOUT_MS = 5000
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class DatabaseBusy(sqlite3.OperationalError):
    """SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: a sentence, not sqlite's words."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("pm-mcp's database is busy (another pm-mcp process or a long write holds it); "
                         "retry in a moment")
        self.detail = detail


def is_busy_error(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseBusy):
        return True
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _BUSY_CODES:
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def _run_to_completion(conn: sqlite3.Connection, sql: str, parameters: Any) -> tuple[sqlite3.Cursor, list]:
    """One worker-thread job: execute and, for a statement with rows, fetch them all (which resets it)."""
    try:
        cur = conn.execute(sql, parameters)
        rows = cur.fetchall() if cur.description is not None else []
    except sqlite3.OperationalError as exc:
        if is_busy_error(exc):
            raise DatabaseBusy(str(exc)) from exc
        raise
    return cur, rows


def _run_many(conn: sqlite3.Connection, sql: str, parameters: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
    try:
        return conn.executemany(sql, parameters)
    except sqlite3.OperationalError as exc:
        if is_busy_error(exc):
            raise DatabaseBusy(str(exc)) from exc
        raise


class BufferedRows:
    """Reading rows that were all fetched when the statement ran: ``_rows`` and a position. Shared by the SQLite
    cursor below and PostgreSQL's (pm_mcp.store_pg.PgCursor)."""

    arraysize: int
    _rows: list
    _pos: int

    async def fetchone(self):
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    async def fetchmany(self, size: int | None = None):
        n = self.arraysize if size is None else size
        out = self._rows[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    async def fetchall(self):
        out = self._rows[self._pos:]
        self._pos = len(self._rows)
        return out

    async def close(self) -> None:
        self._rows, self._pos = [], 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class FetchedCursor(BufferedRows, aiosqlite.Cursor):
    """A cursor whose rows were all read in the job that executed it (see the module docstring)."""

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor, rows: list) -> None:
        aiosqlite.Cursor.__init__(self, conn, cursor)
        self._rows = rows
        self._pos = 0


class AtomicConnection(aiosqlite.Connection):
    """aiosqlite's connection, but no statement stays active between two awaits."""

    @_result
    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> FetchedCursor:
        cur, rows = await self._execute(_run_to_completion, self._conn, sql, [] if parameters is None else parameters)
        return FetchedCursor(self, cur, rows)

    @_result
    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> FetchedCursor:
        cur = await self._execute(_run_many, self._conn, sql, parameters)
        return FetchedCursor(self, cur, [])


def connect(path: Path | str) -> AtomicConnection:
    """An autocommit connection (``isolation_level=None``) with busy_timeout set before its first statement."""
    database = str(path)

    def connector() -> sqlite3.Connection:
        conn = sqlite3.connect(database, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn

    return AtomicConnection(connector, 64)


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite then writes into it)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _tighten(path: Path) -> None:
    """Drop group/other permission bits of a file we own (database, -wal, -shm)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(st.st_mode) & 0o700)
        log.info("tightened %s to mode %o", path, stat.S_IMODE(st.st_mode) & 0o700)


def register_migrations(component: str, scripts: Sequence[str]) -> None:
    """Declare the ordered schema scripts of a component (version = index + 1).

    Never edit or reorder a script that has shipped: append a new one.
    """
    _MIGRATIONS[component] = list(scripts)


# The terms of an order as both the intents and the orders table record them, in this order (one list:
# the two tables must agree). Part of the shipped core v1 script: never edit it; append a migration.
_ORDER_TERMS = """\
            status TEXT NOT NULL,
            mode TEXT NOT NULL,
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            event_id TEXT,
            outcome TEXT NOT NULL,
            side TEXT NOT NULL,
            limit_price TEXT NOT NULL,
            size TEXT NOT NULL,
"""


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
""" + _ORDER_TERMS + """\
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
""" + _ORDER_TERMS + """\
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
        """,
        # v2: every per-user row has an owner (pm_mcp.principal: the OAuth subject, or 'local' with OAuth off, which
        # is also who every row written before owners existed belongs to). A position is one per owner.
        """
        ALTER TABLE intents ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
        CREATE INDEX intents_owner_status ON intents(owner, status);
        ALTER TABLE orders ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
        CREATE INDEX orders_owner_mode_status ON orders(owner, mode, status);
        ALTER TABLE fills ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';

        CREATE TABLE positions_owned (
            owner TEXT NOT NULL DEFAULT 'local',
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
            PRIMARY KEY (owner, mode, venue, market_id, outcome)
        );
        INSERT INTO positions_owned (owner, mode, venue, market_id, outcome, event_id, size, avg_cost, realized_pnl,
                                     updated_at, data)
            SELECT 'local', mode, venue, market_id, outcome, event_id, size, avg_cost, realized_pnl, updated_at, data
            FROM positions;
        DROP TABLE positions;
        ALTER TABLE positions_owned RENAME TO positions;
        """,
    ],
)

# Named locks between processes on one SQLite file (Store.try_lock; PostgreSQL uses advisory locks instead).
register_migrations(
    "locks",
    [
        """
        CREATE TABLE store_locks (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at REAL NOT NULL
        );
        """
    ],
)

# The assistant's verified readings of a market's rules (pm_mcp.markets.readings; pm_mcp.domain.reading): one per
# market, bound to the contract hash it was verified against (a changed rule text, title or label retires it).
register_migrations(
    "readings",
    [
        """
        CREATE TABLE verified_readings (
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            rules_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (venue, market_id)
        );
        """,
        # v2: a reading belongs to the person who submitted it (one per owner and market; earlier ones: 'local')
        """
        CREATE TABLE verified_readings_owned (
            owner TEXT NOT NULL DEFAULT 'local',
            venue TEXT NOT NULL,
            market_id TEXT NOT NULL,
            rules_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (owner, venue, market_id)
        );
        INSERT INTO verified_readings_owned (owner, venue, market_id, rules_hash, created_at, data)
            SELECT 'local', venue, market_id, rules_hash, created_at, data FROM verified_readings;
        DROP TABLE verified_readings;
        ALTER TABLE verified_readings_owned RENAME TO verified_readings;
        """,
    ],
)


def owner_key(key: str, owner: str | None = None) -> str:
    """The kv key of a per-user value: ``key`` itself for the local owner (as before owners existed), else
    ``key`` qualified by the owner (``owner`` None: the principal of the running request or job)."""
    who = principal.current_owner() if owner is None else owner
    return key if who == principal.LOCAL_OWNER else f"{key}@owner:{who}"


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat()


def process_holder() -> str:
    """A name for one holder of a lock or claim: 'host:pid:random' (the random part tells two holders in one
    process apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_gone(holder: str) -> bool:
    """True when ``holder`` (see :func:`process_holder`) names a process on this host that no longer exists (killed,
    crashed). A holder on another host, or one that cannot be told, is taken to be alive: its lock or claim then
    ends only when it expires."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # a process that exited but was not reaped yet (a zombie) still answers kill(pid, 0)
        stat_line = Path(f"/proc/{int(pid)}/stat").read_text()
    except OSError:
        return False
    return stat_line.rpartition(")")[2].split()[:1] == ["Z"]


class Store:
    """One aiosqlite connection per process, opened in the server's lifespan."""

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.conn = conn
        self._tx_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, components: Iterable[str] | None = None) -> Store:
        """Open (creating it) the SQLite database at ``path`` and apply the missing migrations of every
        registered component, or only of ``components`` when given (pm_mcp.store_pg: the local ones)."""
        path = Path(path)
        try:
            ensure_private_dir(path.parent)
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
        try:
            _create_private_file(path)
        except OSError as exc:
            raise StoreError(f"cannot create the database {path}: {exc}. Set PM_MCP_HOME to a writable "
                             "directory.") from exc
        conn = await connect(path)
        conn.row_factory = aiosqlite.Row
        store = cls(path, conn)
        try:
            # read-only checks first: a database we cannot use must be left exactly as it is
            await store._check_readable()
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                _tighten(p)
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await store._migrate(None if components is None else set(components))
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A multi-statement write that starts as a write (``BEGIN IMMEDIATE``: it waits on busy_timeout
        for the file's write lock instead of failing when a read would have to be upgraded), committed at
        the end of the block and rolled back on any exception. One at a time per connection; note that
        other coroutines' statements on this shared connection meanwhile run inside it."""
        async with self._tx_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    # how this backend lists its tables (PgStore: its own)
    _LIST_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"

    def _refusal_words(self) -> tuple[str, str, str, str]:
        """How the refusals of :meth:`_check_readable` name this backend's database (PgStore: its own words):
        a foreign one (before "not a pm-mcp one"), what to do then, this one, and what to use another of."""
        return (f"{self.path} is a SQLite database but", "point PM_MCP_HOME elsewhere", f"the database {self.path}",
                "PM_MCP_HOME")

    async def _check_readable(self) -> None:
        """Without writing anything: the file is a database, it is ours (or empty), and no component
        is at a newer schema version than this code knows."""
        c = self.conn
        names = {r[0] for r in await (await c.execute(self._LIST_TABLES)).fetchall()}
        if not names:
            return
        if "schema_migrations" not in names:
            foreign, instead, _, _ = self._refusal_words()
            raise StoreError(f"{foreign} not a pm-mcp one (no schema_migrations table). pm-mcp will not add its "
                             f"tables to it: {instead}; nothing was changed.")
        rows = await (await c.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        self._raise_if_newer({r[0]: r[1] for r in rows})

    def _raise_if_newer(self, current: dict[str, int]) -> None:
        for component, version in current.items():
            known = len(_MIGRATIONS.get(component, []))
            if component in _MIGRATIONS and version > known:
                _, _, it, other = self._refusal_words()
                raise StoreError(f"{it} was written by a newer pm-mcp (schema '{component}' v{version}, this version "
                                 f"knows v{known}). Upgrade pm-mcp, or use another {other}; nothing was changed.")

    async def _migrate(self, only: set[str] | None = None) -> None:
        c = self.conn
        await c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
            " applied_at TEXT NOT NULL, PRIMARY KEY (component, version))")
        rows = await (await c.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        current = {r[0]: r[1] for r in rows}
        self._raise_if_newer(current)
        for component, scripts in _MIGRATIONS.items():
            if only is not None and component not in only:
                continue
            have = current.get(component, 0)
            for version in range(have + 1, len(scripts) + 1):
                script = scripts[version - 1]
                async with self.transaction():
                    # under the write lock: another process opening the same new file (a second replica, `pm-mcp
                    # watch` beside the stdio server) may have applied this version since we read `current`
                    done = await (await c.execute("SELECT 1 FROM schema_migrations WHERE component = ? AND "
                                                  "version = ?", (component, version))).fetchone()
                    if done is not None:
                        continue
                    for stmt in _split_sql(script):
                        await c.execute(stmt)
                    await c.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                    (component, version, utcnow_iso()))
                log.info("applied migration %s v%d", component, version)

    async def schema_versions(self) -> dict[str, int]:
        rows = await (await self.conn.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component")).fetchall()
        return {r[0]: r[1] for r in rows}

    async def journal(self, kind: str, ref: str | None, data: dict[str, Any]) -> int:
        """Append to the operator's event log (no tool reads it); an entry made for an OAuth user names them."""
        owner = principal.current_owner()
        if owner != principal.LOCAL_OWNER and "owner" not in data:
            data = {**data, "owner": owner}
        cur = await self.conn.execute(
            "INSERT INTO journal (at, kind, ref, data) VALUES (?, ?, ?, ?)",
            (utcnow_iso(), kind, ref, json.dumps(data, default=str, sort_keys=True)))
        return cur.lastrowid or 0

    async def try_lock(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take (or renew) the named lock for ``holder`` unless another live holder has it: one process at a time on
        this database. Here a row that ends ``ttl_s`` from now, or sooner when its process is gone on this host;
        on PostgreSQL a session advisory lock, released by the server when the holder's connection ends."""
        now = time.time()
        async with self.transaction() as c:
            row = await (await c.execute("SELECT holder, expires_at FROM store_locks WHERE name = ?",
                                         (name,))).fetchone()
            if row is not None and row[0] != holder and row[1] > now and not holder_gone(row[0]):
                return False
            await c.execute("INSERT INTO store_locks (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) "
                            "DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
                            (name, holder, now + ttl_s))
        return True

    async def unlock(self, name: str, holder: str) -> None:
        await self.conn.execute("DELETE FROM store_locks WHERE name = ? AND holder = ?", (name, holder))

    async def holder_name(self) -> str:
        """A new holder name for a lock or claim of this process (:func:`process_holder`; PostgreSQL adds its
        session, so that :meth:`holder_alive` can tell from any host)."""
        return process_holder()

    async def holder_alive(self, holder: str) -> bool | None:
        """Whether the database still sees ``holder``'s session: None when it cannot tell (SQLite)."""
        return None

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
