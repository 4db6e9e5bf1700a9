"""The send journal (table ``live_orders``): the exact request each live broker sent to a venue, and the
venue's answer, keyed by (venue, client order id).

It layers under the execution journal (:mod:`pm_mcp.execution.journal`: intents, orders, fills,
positions), which is the order's record: what was proposed, confirmed, filled and held. The send
journal is the wire's record: a live broker writes what it is about to send (client order id, the
venue's order id when it is known in advance, i.e. the Polymarket order hash, and the exact request
body) BEFORE the request leaves. After a timeout, a dropped response or a restart the broker finds the
order again by it (``get_order``), and a second ``submit`` of the same client order id looks the order
up first and re-sends the very same signed bytes only when the venue has no such order: a venue never
sees two different orders for one client order id.

    journal = send_journal_for(state)        # one per process, in state.send_journal
    await journal.put(broker.venue, client_order_id, None, {"body": ...})
    entry = await journal.get(broker.venue, client_order_id)

SQLite when a store is given (survives kill -9), otherwise in memory (unit tests, benchmarks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pm_mcp.store import register_migrations

_LIVE_ORDERS_SQL = """
CREATE TABLE IF NOT EXISTS live_orders (
    venue TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    venue_order_id TEXT,
    sent_at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (venue, client_order_id)
);
CREATE INDEX IF NOT EXISTS live_orders_venue_id ON live_orders(venue, venue_order_id);
"""
register_migrations("live_venues", [_LIVE_ORDERS_SQL])


@dataclass
class JournalEntry:
    venue: str
    client_order_id: str
    venue_order_id: str | None
    sent_at: datetime
    data: dict[str, Any]


class OrderJournal:
    """What each live broker sent, keyed by (venue, client order id). SQLite when a store is given
    (survives kill -9), otherwise in memory (unit tests, benchmarks)."""

    def __init__(self, store: Any | None = None):
        self.store = store
        self._mem: dict[tuple[str, str], JournalEntry] = {}
        self._ready = False

    async def _conn(self):
        if self.store is None:
            return None
        if not self._ready:  # the table exists even if this module was imported after Store.open
            for stmt in _LIVE_ORDERS_SQL.split(";"):
                if stmt.strip():
                    await self.store.conn.execute(stmt)
            self._ready = True
        return self.store.conn

    async def put(self, venue: str, client_order_id: str, venue_order_id: str | None, data: dict[str, Any]) -> None:
        entry = JournalEntry(venue, client_order_id, venue_order_id, datetime.now(UTC), data)
        conn = await self._conn()
        if conn is None:
            self._mem[(venue, client_order_id)] = entry
            return
        await conn.execute(
            "INSERT INTO live_orders (venue, client_order_id, venue_order_id, sent_at, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(venue, client_order_id) DO UPDATE SET venue_order_id = excluded.venue_order_id, "
            "data = excluded.data",
            (venue, client_order_id, venue_order_id, entry.sent_at.isoformat(), json.dumps(data, default=str)))

    async def set_venue_order_id(self, venue: str, client_order_id: str, venue_order_id: str) -> None:
        conn = await self._conn()
        if conn is None:
            e = self._mem.get((venue, client_order_id))
            if e:
                e.venue_order_id = venue_order_id
            return
        await conn.execute("UPDATE live_orders SET venue_order_id = ? WHERE venue = ? AND client_order_id = ?",
                           (venue_order_id, venue, client_order_id))

    async def get(self, venue: str, client_order_id: str) -> JournalEntry | None:
        conn = await self._conn()
        if conn is None:
            return self._mem.get((venue, client_order_id))
        row = await (await conn.execute(
            "SELECT venue, client_order_id, venue_order_id, sent_at, data FROM live_orders "
            "WHERE venue = ? AND client_order_id = ?", (venue, client_order_id))).fetchone()
        return _entry(row) if row else None

    async def by_venue_order_id(self, venue: str, venue_order_id: str) -> JournalEntry | None:
        conn = await self._conn()
        if conn is None:
            return next((e for e in self._mem.values() if e.venue == venue and e.venue_order_id == venue_order_id),
                        None)
        row = await (await conn.execute(
            "SELECT venue, client_order_id, venue_order_id, sent_at, data FROM live_orders "
            "WHERE venue = ? AND venue_order_id = ?", (venue, venue_order_id))).fetchone()
        return _entry(row) if row else None

    async def claimed_venue_ids(self, venue: str) -> set[str]:
        conn = await self._conn()
        if conn is None:
            return {e.venue_order_id for e in self._mem.values() if e.venue == venue and e.venue_order_id}
        rows = await (await conn.execute(
            "SELECT venue_order_id FROM live_orders WHERE venue = ? AND venue_order_id IS NOT NULL", (venue,))
        ).fetchall()
        return {r[0] for r in rows}


def _entry(row) -> JournalEntry:
    return JournalEntry(row[0], row[1], row[2], datetime.fromisoformat(row[3]), json.loads(row[4]))


def send_journal_for(state: Any) -> OrderJournal:
    """The process's send journal (created on first use, on the state's store)."""
    j = getattr(state, "send_journal", None)
    if j is None:
        j = OrderJournal(getattr(state, "store", None))
        state.send_journal = j
    return j


__all__ = ["OrderJournal", "JournalEntry", "send_journal_for"]
