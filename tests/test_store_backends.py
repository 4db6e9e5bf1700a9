"""One store interface, two backends: the store, the journal and the other tables' SQL run against SQLite (the
embedded default) and PostgreSQL (Debian's server, started for the session by ``tests/pg_server.py``; skipped
with the reason when its binaries are absent). Plus what only PostgreSQL has: replicas migrating an empty
database at the same instant (advisory lock), a database that is not ours, the URL setting."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from pg_server import PgServer, shared_server

import pm_mcp.execution.journal  # noqa: F401 - migrations: approvals, paper orders
import pm_mcp.execution.watches  # noqa: F401 - migrations: watches, alerts, lease
import pm_mcp.markets.catalog  # noqa: F401 - migrations: the local catalog
import pm_mcp.venues.send_journal  # noqa: F401 - migrations: live_orders
from conftest import REPO
from pm_mcp import store as store_mod
from pm_mcp import store_pg
from pm_mcp.domain.intents import IntentStatus
from pm_mcp.execution.journal import Journal, OrderRecord, PositionRecord
from pm_mcp.execution.watches import RunnerLease
from pm_mcp.settings import Settings
from pm_mcp.store import DatabaseBusy, Store, StoreError
from pm_mcp.store_pg import PgStore, masked, open_store, translate
from pm_mcp.venues.send_journal import OrderJournal

pytestmark = pytest.mark.anyio


@pytest.fixture
def pg_server() -> PgServer:
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def open_backend(backend, request, tmp_path):
    """An opener of a store on a fresh database of the test's backend (the same database on every call)."""
    url = request.getfixturevalue("pg_server").new_database() if backend == "postgres" else None
    path = tmp_path / "home" / "pm.sqlite3"

    async def opener() -> Store:
        return await open_store(path, url)

    opener.url = url
    return opener


@pytest.fixture
def isolated_migrations(monkeypatch):
    reg = {"core": store_mod._MIGRATIONS["core"]}
    monkeypatch.setattr(store_mod, "_MIGRATIONS", reg)
    return reg


def _order(i: int, **kw) -> OrderRecord:
    now = datetime.now(UTC) + timedelta(seconds=i)
    base = dict(id=f"o{i}", intent_id=None, client_order_id=f"c{i}", created_at=now, updated_at=now, status="open",
                mode="paper", venue="v1", market_id="m1", event_id="e1", outcome="Yes", side="buy",
                limit_price=D("0.41"), size=D("10"), market_title="Will it", fee_bound=D("0.07"))
    base.update(kw)
    return OrderRecord(**base)


# --- the store ---------------------------------------------------------------------------------------------------
async def test_fresh_database_migrated_journal_and_kv(open_backend, backend):
    s = await open_backend()
    try:
        versions = await s.schema_versions()
        assert {"core", "execution", "watches", "readings", "live_venues"} <= set(versions)
        # the catalog (SQLite FTS5, per process) is in the local file with both backends
        assert ("catalog" in versions) == (backend == "sqlite")
        assert isinstance(s, PgStore) == (backend == "postgres")
        local = await Store.open(s.path, components=())
        assert "catalog" in await local.schema_versions()
        await local.close()
        a = await s.journal("test", "ref-1", {"a": 1})
        b = await s.journal("test", "ref-2", {"b": 2})
        assert 0 < a < b
        await s.kv_set("k", "v1")
        await s.kv_set("k", "v2")
        assert await s.kv_get("k") == "v2" and await s.kv_get("missing") is None
    finally:
        await s.close()
    s = await open_backend()  # reopened: nothing re-applied, identities known again
    try:
        assert await s.journal("test", None, {}) > b
    finally:
        await s.close()


async def test_cursor_api(open_backend):
    store = await open_backend()
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
        row = await (await c.execute("SELECT x, y FROM t WHERE y = ?", ("a",))).fetchone()
        assert dict(row) == {"x": 1, "y": "a"} and tuple(row) == (1, "a")
        assert (await c.execute("UPDATE t SET y = 'z%'")).rowcount == 3
        assert len(await (await c.execute("SELECT x FROM t WHERE y LIKE ?", ("Z%",))).fetchall()) == 3
        assert not c.in_transaction
        async with store.transaction():
            await c.execute("INSERT INTO t (y) VALUES ('d')")
            assert c.in_transaction
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await c.execute("INSERT INTO t (y) VALUES ('e')")
                raise RuntimeError("boom")
        assert [r[0] for r in await (await c.execute("SELECT y FROM t WHERE y IN ('d', 'e')")).fetchall()] == ["d"]
        assert not c.in_transaction
    finally:
        await store.close()


async def test_a_failed_statement_in_a_transaction_undoes_only_itself(open_backend):
    s = await open_backend()
    try:
        async with s.transaction() as c:
            await c.execute("INSERT INTO kv (key, value, updated_at) VALUES ('a', '1', 'x')")
            with pytest.raises(Exception):
                await c.execute("INSERT INTO kv (key, value, updated_at) VALUES ('a', '2', 'x')")  # duplicate key
            await c.execute("INSERT INTO kv (key, value, updated_at) VALUES ('b', '3', 'x')")
        assert await s.kv_get("a") == "1" and await s.kv_get("b") == "3"
    finally:
        await s.close()


async def test_statements_racing_a_commit_on_the_shared_connection(open_backend):
    """Other coroutines' statements while transactions begin and commit on the one connection (the background
    runner reads while an order is proposed): each runs inside the open transaction or after it, never split by
    its COMMIT (a savepoint landing after the COMMIT failed once in CI: 'SAVEPOINT can only be used in
    transaction blocks')."""
    import asyncio

    s = await open_backend()
    try:
        async def writer(i: int) -> None:
            async with s.transaction() as c:
                await c.execute("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, 'x')", (f"w{i}", str(i)))
                await asyncio.sleep(0)
                await c.execute("UPDATE kv SET value = ? WHERE key = ?", (str(i + 1), f"w{i}"))

        async def reader() -> int:
            n = 0
            for _ in range(40):
                rows = await (await s.conn.execute("SELECT count(*) FROM kv")).fetchall()
                n = max(n, rows[0][0])
                await asyncio.sleep(0)
            return n

        results = await asyncio.gather(*(writer(i) for i in range(25)), *(reader() for _ in range(6)))
        assert all(isinstance(r, int) or r is None for r in results)
        for i in range(25):
            assert await s.kv_get(f"w{i}") == str(i + 1)
    finally:
        await s.close()


async def test_component_migrations_apply_once_in_order_and_roll_back(open_backend, isolated_migrations):
    store_mod.register_migrations("demo", ["CREATE TABLE demo (x INTEGER);"])
    s = await open_backend()
    await s.conn.execute("INSERT INTO demo VALUES (1)")
    await s.close()
    store_mod.register_migrations("demo", ["CREATE TABLE demo (x INTEGER);", "ALTER TABLE demo ADD COLUMN y TEXT;"])
    s = await open_backend()
    try:
        assert (await s.schema_versions())["demo"] == 2
        assert [tuple(r) for r in await (await s.conn.execute("SELECT x, y FROM demo")).fetchall()] == [(1, None)]
    finally:
        await s.close()
    store_mod.register_migrations("broken", ["CREATE TABLE ok1 (x INTEGER); CREATE TABLE ok1 (x INTEGER);"])
    with pytest.raises(Exception):
        await open_backend()
    del isolated_migrations["broken"]
    s = await open_backend()
    try:
        assert "broken" not in await s.schema_versions()
        await s.conn.execute("CREATE TABLE ok1 (x INTEGER)")  # the failed script left nothing behind
    finally:
        await s.close()


async def test_newer_schema_is_refused(open_backend, isolated_migrations):
    s = await open_backend()
    await s.conn.execute("INSERT INTO schema_migrations VALUES ('core', 7, 'x')")
    await s.close()
    with pytest.raises(StoreError, match="newer pm-mcp"):
        await open_backend()


# --- the journal's SQL -------------------------------------------------------------------------------------------
async def test_journal_orders_fills_positions_paper(open_backend):
    s = await open_backend()
    j = Journal(s)
    try:
        for i in range(3):
            await j.insert_order(_order(i, status="open" if i < 2 else "filled"))
        o = await j.load_order("c1")
        assert o is not None and o.id == "o1" and o.limit_price == D("0.41") and o.fee_bound == D("0.07")
        assert [x.id for x in await j.open_orders("paper")] == ["o0", "o1"]
        page, total = await j.list_orders("paper", status="open", offset=0, limit=1)
        assert total == 2 and [x.id for x in page] == ["o1"]
        o.filled_size, o.avg_price, o.status = D("4"), D("0.4"), "partially_filled"
        await j.update_order(o)
        assert (await j.load_order("o1")).avg_price == D("0.4")
        since = datetime.now(UTC) - timedelta(minutes=1)
        assert len(await j.buy_orders_since("paper", since)) == 3
        assert len(await j.open_buy_orders_for_event("paper", "e1")) == 2
        assert await j.count_orders() == 3 and await j.count_orders("live") == 0
        at = datetime.now(UTC)
        assert await j.insert_fill("f1", "o1", at, D("0.4"), D("4"), D("0.01"), {"n": 1}) is True
        assert await j.insert_fill("f1", "o1", at, D("0.4"), D("4"), D("0.01"), {"n": 1}) is False  # OR IGNORE
        assert [f["id"] for f in await j.fills_for_order("o1")] == ["f1"]
        p = PositionRecord(mode="paper", venue="v1", market_id="m1", outcome="Yes", size=D("4"), avg_cost=D("0.4"),
                           realized_pnl=D("0"), updated_at=at)
        await j.save_position(p)
        await j.save_position(p.model_copy(update={"size": D("6")}))
        assert (await j.position("paper", "v1", "m1", "Yes")).size == D("6")
        assert len(await j.positions("paper")) == 1
        assert await j.paper_insert("c9", "v1", "open", {"a": 1}) is True
        assert await j.paper_insert("c9", "v1", "open", {"a": 2}) is False
        await j.paper_update("c9", "partially_filled", {"a": 3})
        assert await j.paper_open("v1") == [{"a": 3}] and await j.paper_get("c9") == {"a": 3}
    finally:
        await s.close()


async def test_intent_json_compare_and_set(open_backend):
    """transition() writes json_set(data, '$.key', ?) in one compare-and-set statement; standing orders read
    their counters with json_extract: both as in SQLite, on PostgreSQL too."""
    s = await open_backend()
    try:
        now = store_mod.utcnow_iso()
        data = json.dumps({"intent": {}, "channel": "page"})
        await s.conn.execute(
            "INSERT INTO intents (id, created_at, expires_at, status, mode, venue, market_id, event_id, outcome, side,"
            " limit_price, size, worst_case_cost, fees, order_hash, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("i1", now, now, "armed", "paper", "v1", "m1", None, "Yes", "buy", "0.4", "1", "0.4", "0", "h", data))
        j = Journal(s)
        results = await asyncio.gather(*(j.transition("i1", (IntentStatus.ARMED,), IntentStatus.TRIGGERED,
                                                      reason="r", trigger_no=3, at=f"t{k}", big=2**60 + 1,
                                                      ratio=0.5, none=None, yes=True) for k in range(4)))
        assert sorted(results) == [False, False, False, True]  # one winner
        row = await (await s.conn.execute("SELECT status, data FROM intents WHERE id = ?", ("i1",))).fetchone()
        got = json.loads(row["data"])
        assert row["status"] == IntentStatus.TRIGGERED.value
        assert {k: got[k] for k in ("reason", "trigger_no", "big", "ratio", "none", "yes", "channel")} == {
            "reason": "r", "trigger_no": 3, "big": 2**60 + 1, "ratio": 0.5, "none": None, "yes": 1, "channel": "page"}
        row = await (await s.conn.execute(
            "SELECT json_extract(data, '$.trigger_no'), json_extract(data, '$.executions') FROM intents WHERE id = ?",
            ("i1",))).fetchone()
        assert int(row[0] or 0) == 3 and int(row[1] or 0) == 0
        rows = await (await s.conn.execute("SELECT id FROM intents WHERE id LIKE ?", ("i%",))).fetchall()
        assert [r[0] for r in rows] == ["i1"]
    finally:
        await s.close()


async def test_watch_lease_alert_seq_and_send_journal(open_backend):
    s = await open_backend()
    try:
        a, b = RunnerLease(s, ttl_s=30), RunnerLease(s, ttl_s=30)
        b.host = "elsewhere"  # another machine: its lease is not taken over as a dead local pid
        assert await a.acquire() is True and await a.acquire() is True
        assert await b.acquire() is False
        assert await b.holder_now() == a.holder
        await a.release()
        assert await b.acquire() is True
        now = store_mod.utcnow_iso()
        await s.conn.execute(
            "INSERT INTO watches (id, created_at, expires_at, status, kind, venue, market_id, spec, description,"
            " cooldown_s) VALUES (?,?,?,?,?,?,?,?,?,?)", ("w1", now, now, "active", "price", "v1", "m1", "{}", "d", 0))
        seqs = []
        for n in (1, 2):
            cur = await s.conn.execute("INSERT INTO alerts (watch_id, fire_no, at, text, data) VALUES (?,?,?,?,?)",
                                       ("w1", n, now, "t", "{}"))
            seqs.append(cur.lastrowid)
        assert seqs[0] > 0 and seqs[1] == seqs[0] + 1
        oj = OrderJournal(s)
        await oj.put("v1", "c1", None, {"x": 1})
        await oj.put("v1", "c1", "vo-1", {"x": 2})
        e = await oj.get("v1", "c1")
        assert e.venue_order_id == "vo-1" and e.data == {"x": 2}
        assert await oj.claimed_venue_ids("v1") == {"vo-1"}
    finally:
        await s.close()


async def test_timestamps_sort_as_text_bytes(open_backend):
    """ISO timestamps are TEXT and sort byte by byte (SQLite's BINARY; COLLATE "C" on PostgreSQL)."""
    s = await open_backend()
    try:
        vals = ["2026-01-01T10:00:00+00:00", "2026-01-01T09:59:59.5+00:00", "2026-01-01 10:00:00", "a", "B", "_"]
        for i, v in enumerate(vals):
            await s.conn.execute("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)", (f"k{i}", v, v))
        rows = await (await s.conn.execute("SELECT updated_at FROM kv ORDER BY updated_at")).fetchall()
        assert [r[0] for r in rows] == sorted(vals)
    finally:
        await s.close()


# --- PostgreSQL only -----------------------------------------------------------------------------------------
_MIGRATE_AT = """
import asyncio, sys, time
import pm_mcp.execution.journal, pm_mcp.execution.watches, pm_mcp.markets.catalog, pm_mcp.venues.send_journal
from pm_mcp.store_pg import open_store
async def main():
    while time.time() < float(sys.argv[3]):
        time.sleep(0.001)
    s = await open_store(sys.argv[1], sys.argv[2])
    print(sorted((await s.schema_versions()).items()))
    await s.close()
asyncio.run(main())
"""


async def test_replicas_migrating_an_empty_database_at_the_same_instant(pg_server, tmp_path):
    url = pg_server.new_database()
    start_at = time.time() + 3.0  # all processes imported and waiting by then
    procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE_AT, str(tmp_path / f"r{i}" / "pm.sqlite3"), url,
                               str(start_at)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-2000:] for o in outs]
    assert len({o[0] for o in outs}) == 1  # the same schema for everyone
    rows = pg_server.psql(url, "SELECT component, version, COUNT(*) FROM schema_migrations GROUP BY 1, 2")
    assert rows and all(line.endswith("|1") for line in rows.splitlines())  # each migration applied once
    assert "catalog" not in rows


async def test_one_writer_at_a_time_across_processes_and_busy_is_a_sentence(pg_server, tmp_path, monkeypatch):
    """BEGIN IMMEDIATE on PostgreSQL: the writer advisory lock. A second store's multi-statement write waits for
    the first, and past the lock timeout gets the same DatabaseBusy sentence as SQLite's busy timeout."""
    monkeypatch.setattr(store_pg, "LOCK_TIMEOUT_MS", 300)
    url = pg_server.new_database()
    a = await open_store(tmp_path / "a" / "pm.sqlite3", url)
    b = await open_store(tmp_path / "b" / "pm.sqlite3", url)
    try:
        async with a.transaction():
            await a.kv_set("k", "a")
            t0 = time.monotonic()
            with pytest.raises(DatabaseBusy, match="database is busy"):
                async with b.transaction():
                    pass
            assert 0.25 < time.monotonic() - t0 < 3
        async with b.transaction():  # free again
            await b.kv_set("k", "b")
        assert await a.kv_get("k") == "b"
    finally:
        await a.close()
        await b.close()


async def test_a_database_that_is_not_ours_is_left_alone(pg_server, tmp_path):
    url = pg_server.new_database()
    pg_server.psql(url, "CREATE TABLE notes (t text)")
    with pytest.raises(StoreError, match="not a pm-mcp one"):
        await open_store(tmp_path / "pm.sqlite3", url)
    assert pg_server.psql(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'") \
        .strip() == "1"


async def test_unreachable_server_is_a_sentence_without_the_password(tmp_path):
    url = f"postgresql://pm:s3cret-pw@/nodb?host={tmp_path}"
    with pytest.raises(StoreError, match="cannot connect to the PostgreSQL database") as err:
        await open_store(tmp_path / "pm.sqlite3", url)
    assert "s3cret-pw" not in str(err.value) and "***" in str(err.value)
    assert masked(url) == f"postgresql://pm:***@/nodb?host={tmp_path}"


def test_the_setting_takes_postgres_urls_only(tmp_path):
    s = Settings(home=tmp_path, database_url="postgresql://u:pw-123456789@db:5432/pm")
    assert s.database_url.get_secret_value().startswith("postgresql://") and "pw-123456789" in s.secret_values()
    with pytest.raises(ValueError, match="must be a postgresql:// URL"):
        Settings(home=tmp_path, database_url="mysql://u@db/pm")
    assert Settings(home=tmp_path).database_url is None


def test_dialect_translation():
    ids = {"journal": "seq"}
    assert translate("INSERT INTO journal (a) VALUES (?)", ids) == (
        "INSERT INTO journal (a) VALUES (%s) RETURNING seq", True)
    assert translate("INSERT OR IGNORE INTO fills (a) VALUES (?)", ids) == (
        "INSERT INTO fills (a) VALUES (%s) ON CONFLICT DO NOTHING", False)
    assert translate("SELECT '?', x FROM t WHERE y LIKE ? AND z = '100%'", ids) == (
        "SELECT '?', x FROM t WHERE y ILIKE %s AND z = '100%%'", False)
    with pytest.raises(StoreError, match="no portable form"):
        translate("INSERT OR REPLACE INTO t VALUES (?)", ids)
