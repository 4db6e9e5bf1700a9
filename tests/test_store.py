import sqlite3

import pytest

from pm_mcp import store as store_mod
from pm_mcp.store import Store, StoreError


@pytest.fixture
def isolated_migrations(monkeypatch):
    """A private migration registry: core plus whatever a test registers (others' components are not needed)."""
    reg = {"core": store_mod._MIGRATIONS["core"]}
    monkeypatch.setattr(store_mod, "_MIGRATIONS", reg)
    return reg


@pytest.mark.anyio
async def test_fresh_database_is_wal_and_migrated(tmp_path, isolated_migrations):
    s = await Store.open(tmp_path / "d" / "pm.sqlite3")
    try:
        mode = (await (await s.conn.execute("PRAGMA journal_mode")).fetchone())[0]
        assert mode == "wal"
        assert await s.schema_versions() == {"core": len(isolated_migrations["core"])}
        tables = {r[0] for r in await (await s.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")).fetchall()}
        assert {"journal", "intents", "orders", "fills", "positions", "kv"} <= tables
        seq = await s.journal("test", "ref-1", {"a": 1})
        assert seq > 0
        await s.kv_set("k", "v1")
        await s.kv_set("k", "v2")
        assert await s.kv_get("k") == "v2" and await s.kv_get("missing") is None
    finally:
        await s.close()


@pytest.mark.anyio
async def test_component_migrations_apply_once_and_in_order(tmp_path, isolated_migrations):
    path = tmp_path / "pm.sqlite3"
    store_mod.register_migrations("demo", ["CREATE TABLE demo (x INTEGER);"])
    s = await Store.open(path)
    await s.conn.execute("INSERT INTO demo VALUES (1)")
    await s.close()
    store_mod.register_migrations("demo", ["CREATE TABLE demo (x INTEGER);", "ALTER TABLE demo ADD COLUMN y TEXT;"])
    s = await Store.open(path)
    try:
        assert (await s.schema_versions())["demo"] == 2
        rows = await (await s.conn.execute("SELECT x, y FROM demo")).fetchall()
        assert [tuple(r) for r in rows] == [(1, None)]  # data kept across the migration
    finally:
        await s.close()


@pytest.mark.anyio
async def test_failed_migration_rolls_back(tmp_path, isolated_migrations):
    store_mod.register_migrations("broken", ["CREATE TABLE ok1 (x INTEGER); CREATE TABLE ok1 (x INTEGER);"])
    with pytest.raises(Exception):
        await Store.open(tmp_path / "pm.sqlite3")
    con = sqlite3.connect(tmp_path / "pm.sqlite3")
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    versions = dict(con.execute("SELECT component, MAX(version) FROM schema_migrations GROUP BY component"))
    con.close()
    assert "ok1" not in names and "broken" not in versions


@pytest.mark.anyio
async def test_newer_schema_refused_without_writing(tmp_path, isolated_migrations):
    path = tmp_path / "pm.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE schema_migrations (component TEXT, version INTEGER, applied_at TEXT)")
    con.execute("INSERT INTO schema_migrations VALUES ('core', 7, 'x')")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer pm-mcp"):
        await Store.open(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "pm.sqlite3-wal").exists()


@pytest.mark.anyio
async def test_not_sqlite_and_foreign_sqlite(tmp_path, isolated_migrations):
    p = tmp_path / "a.sqlite3"
    p.write_bytes(b"hello world, not a database")
    with pytest.raises(StoreError, match="not a SQLite database"):
        await Store.open(p)
    q = tmp_path / "b.sqlite3"
    con = sqlite3.connect(q)
    con.execute("CREATE TABLE notes (t TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a pm-mcp one"):
        await Store.open(q)
