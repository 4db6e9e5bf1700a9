"""Verified readings of a market's rules in our store (table ``verified_readings``, migration "readings" in
pm_mcp.store): one per market, bound to the contract hash it was verified against.

    rs = ReadingStore(state.store)
    await rs.put(reading)                               # a VerifiedReading (pm_mcp.domain.reading): replaces
    current, stale_hash = await rs.get(venue, market_id, rules_hash)

``get`` returns the reading only while the market's contract hash is the one it was verified against; a reading
of an earlier rule text comes back as its hash alone (the rules changed: it no longer applies).

A reading is the running principal's (pm_mcp.principal): one person's verified reading never stands in for
another's (each verifies their own); readings stored before owners existed are the local person's.
"""

from __future__ import annotations

from pm_mcp import principal
from pm_mcp.domain.reading import VerifiedReading
from pm_mcp.store import Store, utcnow_iso

__all__ = ["ReadingStore"]


class ReadingStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def put(self, reading: VerifiedReading) -> None:
        if not reading.venue or not reading.market_id:
            raise ValueError("a verified reading is stored for a market (venue and id)")
        await self.store.conn.execute(
            "INSERT INTO verified_readings (owner, venue, market_id, rules_hash, created_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(owner, venue, market_id) DO UPDATE SET "
            "rules_hash = excluded.rules_hash, created_at = excluded.created_at, data = excluded.data",
            (principal.current_owner(), reading.venue, reading.market_id, reading.rules_hash, utcnow_iso(),
             reading.model_dump_json()))
        await self.store.journal("reading_verified", f"{reading.venue}:{reading.market_id}",
                                 {"rules_hash": reading.rules_hash, "items": len(reading.items),
                                  "review": len(reading.of("review")), "adds": len(reading.of("adds"))})

    async def get(self, venue: str, market_id: str, rules_hash: str) -> tuple[VerifiedReading | None, str | None]:
        """(the reading, None) while ``rules_hash`` is current; (None, the old hash) when the rules changed since;
        (None, None) when there is none."""
        row = await (await self.store.conn.execute(
            "SELECT rules_hash, data FROM verified_readings WHERE owner = ? AND venue = ? AND market_id = ?",
            (principal.current_owner(), venue, market_id))).fetchone()
        if row is None:
            return None, None
        if row["rules_hash"] != rules_hash:
            return None, row["rules_hash"]
        return VerifiedReading.model_validate_json(row["data"]), None
