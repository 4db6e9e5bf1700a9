"""'database is locked' at once, although busy_timeout=5000: the cause and its cure.

The cause (reproduced below without pm-mcp, then shown cured with the store's connection):
aiosqlite runs ``execute`` and ``fetchone/fetchall`` as two separate jobs on the connection's worker
thread, and Python's sqlite3 steps a SELECT once inside ``execute``. Between the two jobs the statement is
active, so the connection holds an open (autocommit, implicit) READ transaction. Any other coroutine's
write queued on the same connection in that gap runs inside that read transaction; if the other connection
(the catalog's, or the store's for the catalog) committed since the read began, SQLite cannot upgrade
the stale snapshot and answers SQLITE_BUSY_SNAPSHOT at once: busy_timeout is never consulted for an
upgrade. After a kill -9 the restart reconciles in-flight orders (reads and writes on the store
connection) while the first tool calls write intents and catalog rows: the two connections collide.

The cure: every statement on our connections runs to completion (execute + fetch of all rows) in ONE
worker job (``pm_mcp.store.connect``), so no read transaction ever spans an await; multi-statement writes
start as writes (``BEGIN IMMEDIATE``, ``Store.transaction``) and wait on busy_timeout like any writer.
A remaining SQLITE_BUSY becomes "pm-mcp's database is busy; retry in a moment" (``DatabaseBusy``).

Also the e2e reproduction: kill -9 the real server during writes, restart it, call tools at once.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sqlite3
import stat
import time
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import anyio
import pytest

from conftest import REPO, pm_mcp_command
from pm_mcp.store import DatabaseBusy, Store, connect, is_busy_error

pytestmark = pytest.mark.anyio


async def _interleave(open_conn, path: Path) -> tuple[str | None, float]:
    """Coroutine A reads (execute, then fetch), another connection commits, coroutine B writes on A's
    connection in between: what the restart after a kill -9 does at scale."""
    a = await open_conn(path)
    b = await open_conn(path)
    try:
        for c in (a, b):
            await c.execute("PRAGMA busy_timeout=5000")
        await a.execute("PRAGMA journal_mode=WAL")
        await a.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        await a.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
        cur = await a.execute("SELECT x FROM t")  # coroutine A: the statement is stepped once
        await b.execute("INSERT INTO t VALUES (99)")  # the other connection commits
        t0 = time.monotonic()
        try:
            await a.execute("INSERT INTO t VALUES (100)")  # coroutine B on A's connection
            err = None
        except sqlite3.OperationalError as exc:
            err = str(exc)
        elapsed = time.monotonic() - t0
        rows = await cur.fetchall()  # coroutine A goes on
        assert len(rows) >= 5
        return err, elapsed
    finally:
        await a.close()
        await b.close()


async def test_plain_aiosqlite_reproduces_the_immediate_lock(tmp_path):
    err, elapsed = await _interleave(lambda p: aiosqlite.connect(p, isolation_level=None), tmp_path / "a.db")
    assert err == "database is locked" and elapsed < 1.0  # at once, busy_timeout notwithstanding


async def test_store_connection_never_holds_a_read_across_an_await(tmp_path):
    err, _ = await _interleave(connect, tmp_path / "b.db")
    assert err is None


async def test_store_cursor_api_still_works(tmp_path):
    store = await Store.open(tmp_path / "home" / "pm.sqlite3")
    try:
        c = store.conn
        await c.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
        cur = await c.execute("INSERT INTO t (y) VALUES (?)", ("a",))
        assert cur.lastrowid == 1 and cur.rowcount == 1
        await c.executemany("INSERT INTO t (y) VALUES (?)", [("b",), ("c",)])
        cur = await c.execute("SELECT x, y FROM t ORDER BY x")
        assert (await cur.fetchone())["y"] == "a"
        assert [r[1] for r in await cur.fetchmany(1)] == ["b"]
        assert [r[1] for r in await cur.fetchall()] == ["c"]
        assert await cur.fetchone() is None
        assert [r[1] async for r in await c.execute("SELECT x, y FROM t ORDER BY x")] == ["a", "b", "c"]
        async with c.execute("SELECT COUNT(*) FROM t") as cur:
            assert (await cur.fetchone())[0] == 3
        assert (await c.execute("SELECT 1")).description[0][0] == "1"
        cur = await c.execute("UPDATE t SET y = 'z'")
        assert cur.rowcount == 3
        assert not c.in_transaction
        async with store.transaction():
            await c.execute("INSERT INTO t (y) VALUES ('d')")
            assert c.in_transaction
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await c.execute("INSERT INTO t (y) VALUES ('e')")
                raise RuntimeError("boom")
        assert [r[0] for r in await (await c.execute("SELECT y FROM t WHERE y IN ('d', 'e')")).fetchall()] == ["d"]
    finally:
        await store.close()


async def test_many_coroutines_on_two_connections_never_lock(tmp_path):
    """The restart's pattern at scale: reads and writes on the store connection interleaved with the
    catalog connection's bulk writes."""
    store = await Store.open(tmp_path / "home" / "pm.sqlite3")
    other = await connect(store.path)
    try:
        await store.conn.execute("CREATE TABLE t (x INTEGER)")

        async def reader_writer(i: int) -> None:
            for _ in range(20):
                await (await store.conn.execute("SELECT COUNT(*) FROM t")).fetchone()
                await store.conn.execute("INSERT INTO t VALUES (?)", (i,))

        async def bulk() -> None:
            for _ in range(20):
                await other.execute("BEGIN IMMEDIATE")
                await other.executemany("INSERT INTO t VALUES (?)", [(-1,)] * 50)
                await other.execute("COMMIT")
                await asyncio.sleep(0)

        await asyncio.gather(bulk(), *(reader_writer(i) for i in range(8)))
        n = (await (await store.conn.execute("SELECT COUNT(*) FROM t")).fetchone())[0]
        assert n == 20 * 50 + 8 * 20
    finally:
        await other.close()
        await store.close()


def test_busy_errors_are_recognised_and_readable():
    assert is_busy_error(sqlite3.OperationalError("database is locked"))
    assert is_busy_error(sqlite3.OperationalError("database table is locked"))
    assert not is_busy_error(sqlite3.OperationalError("no such table: x"))
    assert "busy" in str(DatabaseBusy()) and "retry" in str(DatabaseBusy())


async def test_data_directory_0700_and_database_0600(tmp_path):
    home = tmp_path / "fresh" / "home"
    store = await Store.open(home / "pm_mcp.sqlite3")
    try:
        await store.conn.execute("CREATE TABLE t (x)")
        await store.conn.execute("INSERT INTO t VALUES (1)")
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for name in ("pm_mcp.sqlite3", "pm_mcp.sqlite3-wal", "pm_mcp.sqlite3-shm"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    finally:
        await store.close()
    # an existing, too-open directory and database are tightened
    home.chmod(0o755)
    (home / "pm_mcp.sqlite3").chmod(0o644)
    store = await Store.open(home / "pm_mcp.sqlite3")
    await store.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "pm_mcp.sqlite3").stat().st_mode) == 0o600


# --- end to end: kill -9 during writes, restart, call at once ------------------------------------------------

@asynccontextmanager
async def _server(env: dict[str, str], tmp: Path, tag: str):
    from mcp import Client, StdioServerParameters

    log, pidfile = tmp / f"stderr-{tag}.log", tmp / f"pid-{tag}"
    cmd = " ".join(shlex.quote(c) for c in pm_mcp_command())
    script = f"echo $$ > {shlex.quote(str(pidfile))}; exec {cmd} 2>>{shlex.quote(str(log))}"
    params = StdioServerParameters(command="/bin/sh", args=["-c", script], env=env, cwd=str(REPO))
    async with Client(params) as client:
        yield client, int(pidfile.read_text().strip())


NEWSOM = "559652"


def _propose(size: str) -> dict:
    return {"venue": "polymarket", "market": NEWSOM, "outcome": "Yes", "side": "buy", "limit_price": "0.40",
            "size": size}


@pytest.mark.e2e
async def test_first_calls_after_kill9_during_writes_do_not_fail_locked(pm_env, tmp_path):
    from tools.sim import start_sims

    with start_sims("polymarket") as group:
        env = {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_CONFIRM": "host",
               "PM_MCP_HTTP_TIMEOUT_S": "3", "PM_MCP_MAX_DAILY_USD": "100000", "PM_MCP_BANKROLL": "100000",
               "PM_MCP_MAX_EVENT_FRACTION": "1"}
        # 1. writes in flight (proposals, confirmations paused between journal and send, catalog upserts)
        crash_env = {**env, "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S": "30"}
        try:
            async with _server(crash_env, tmp_path, "a") as (client, pid):
                ids = []
                for i in range(6):
                    r = await client.call_tool("propose_order", _propose(str(5 + i)))
                    assert not r.is_error, r.content[0].text
                    ids.append(r.structured_content["intent_id"])

                async def hammer():
                    async def one(fn, args):
                        try:
                            await client.call_tool(fn, args)
                        except Exception:  # noqa: BLE001 - the server dies under us
                            pass

                    async with anyio.create_task_group() as tg:
                        for iid in ids:
                            tg.start_soon(one, "confirm_order", {"intent_id": iid})
                        for i in range(20):
                            tg.start_soon(one, "propose_order", _propose(str(5 + i % 7)))
                            tg.start_soon(one, "search_markets", {"query": "newsom"})

                async with anyio.create_task_group() as tg:
                    tg.start_soon(hammer)
                    await anyio.sleep(1.5)
                    os.kill(pid, signal.SIGKILL)
                    tg.cancel_scope.cancel()
        except BaseException as exc:  # noqa: BLE001 - the client sees its server die
            if isinstance(exc, (AssertionError, KeyboardInterrupt)):
                raise
        home = Path(env["PM_MCP_HOME"])
        assert (home / "pm_mcp.sqlite3-wal").exists(), "the kill left no WAL: the restart would prove little"
        # 2. restart and call at once: reconciliation runs while these write on both connections
        errors: list[str] = []
        async with _server(env, tmp_path, "b") as (client, _pid):
            async def one(fn, args):
                r = await client.call_tool(fn, args)
                if r.is_error:
                    errors.append(f"{fn}: {r.content[0].text}")

            async with anyio.create_task_group() as tg:
                for i in range(25):
                    tg.start_soon(one, "search_markets", {"query": "newsom"})
                    tg.start_soon(one, "propose_order", _propose(str(5 + i % 7)))
                    tg.start_soon(one, "list_orders", {})
                    tg.start_soon(one, "get_portfolio", {})
        log = (tmp_path / "stderr-b.log").read_text(errors="replace")
        assert not [e for e in errors if "locked" in e.lower() or "busy" in e.lower()], errors[:3]
        assert "database is locked" not in log, log[-3000:]
        assert not errors, errors[:3]


@pytest.mark.e2e
async def test_a_database_held_by_another_process_is_a_readable_busy_error(pm_env, tmp_path):
    """Another process holds the write lock longer than busy_timeout: the tool says busy, retry."""
    from tools.sim import start_sims

    with start_sims("polymarket") as group:
        env = {**pm_env, **group.env(), "PM_MCP_VENUES": "polymarket", "PM_MCP_HTTP_TIMEOUT_S": "3"}
        async with _server(env, tmp_path, "busy") as (client, _pid):
            r = await client.call_tool("propose_order", _propose("5"))
            assert not r.is_error, r.content[0].text
            db = Path(env["PM_MCP_HOME"]) / "pm_mcp.sqlite3"
            holder = sqlite3.connect(db, isolation_level=None, timeout=1)
            try:
                holder.execute("BEGIN IMMEDIATE")  # the write lock, held for longer than the server's 5 s
                t0 = time.monotonic()
                r = await client.call_tool("propose_order", _propose("6"))
                waited = time.monotonic() - t0
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            text = r.content[0].text
            assert r.is_error and waited >= 4.5, (waited, text)  # it waited on busy_timeout, then said so
            assert "database is busy" in text and "retry" in text, text
            assert "OperationalError" not in text and "DatabaseBusy" not in text and "locked" not in text
            r = await client.call_tool("propose_order", _propose("6"))  # and the retry works
            assert not r.is_error, r.content[0].text
