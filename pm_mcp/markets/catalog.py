"""The local market catalog: every market we have seen, in SQLite with an FTS5 index.

Tables (migration component "catalog"): ``catalog_markets`` (one row per venue market: the
normalised Market as JSON plus filter columns), ``catalog_fts`` (FTS5, external content, porter
stemming: "cutting" finds "cut") over title, body (event title, category, rule text) and outcome
labels, kept in sync by triggers; ``catalog_refs`` (slug / condition id / token id / ticker -> market,
to resolve what people paste); ``catalog_refresh`` (when each venue was last listed).

The catalog uses its own connection (``pm_mcp.store.connect``) to the store's database file (WAL: readers
never block, writers wait on busy_timeout), so its bulk writes never interleave with another component's
transaction on the shared connection; its bulk writes start as writes (BEGIN IMMEDIATE).

Freshness: a row's ``fetched_at`` is when a venue last returned it; answers carry ``stale`` when it is
older than ``settings.catalog_ttl_s``. Volume/liquidity are stored as REAL for filtering and
ordering only; the exact Decimal values live in the JSON.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import aiosqlite

from pm_mcp.domain.models import Market
from pm_mcp.domain.vocabulary import with_equivalents
from pm_mcp.store import connect as store_connect
from pm_mcp.store import register_migrations

register_migrations("catalog", [
    """
    CREATE TABLE catalog_markets (
        rid INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        market_id TEXT NOT NULL,
        slug TEXT,
        event_id TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        outcomes TEXT NOT NULL,
        status TEXT NOT NULL,
        category TEXT,
        close_time TEXT,
        volume REAL,
        liquidity REAL,
        fetched_at REAL NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (venue, market_id)
    );
    CREATE INDEX catalog_markets_status ON catalog_markets(status, venue);

    CREATE VIRTUAL TABLE catalog_fts USING fts5(
        title, body, outcomes,
        content='catalog_markets', content_rowid='rid',
        tokenize='porter unicode61 remove_diacritics 2'
    );

    CREATE TRIGGER catalog_markets_ai AFTER INSERT ON catalog_markets BEGIN
        INSERT INTO catalog_fts(rowid, title, body, outcomes) VALUES (new.rid, new.title, new.body, new.outcomes);
    END;
    CREATE TRIGGER catalog_markets_ad AFTER DELETE ON catalog_markets BEGIN
        INSERT INTO catalog_fts(catalog_fts, rowid, title, body, outcomes)
            VALUES ('delete', old.rid, old.title, old.body, old.outcomes);
    END;
    CREATE TRIGGER catalog_markets_au AFTER UPDATE ON catalog_markets BEGIN
        INSERT INTO catalog_fts(catalog_fts, rowid, title, body, outcomes)
            VALUES ('delete', old.rid, old.title, old.body, old.outcomes);
        INSERT INTO catalog_fts(rowid, title, body, outcomes) VALUES (new.rid, new.title, new.body, new.outcomes);
    END;

    CREATE TABLE catalog_refs (
        ref TEXT NOT NULL,
        venue TEXT NOT NULL,
        market_id TEXT NOT NULL,
        PRIMARY KEY (ref, venue, market_id)
    );

    CREATE TABLE catalog_refresh (
        venue TEXT PRIMARY KEY,
        refreshed_at REAL NOT NULL,
        count INTEGER NOT NULL
    );
    """,
    # v2: markets now carry their currency, size step and volume unit; cached copies from before did not
    # (a Manifold market read back would have said USD), so the cache starts over (it refills from the venues)
    """
    DELETE FROM catalog_refs;
    DELETE FROM catalog_markets;
    DELETE FROM catalog_refresh;
    """,
])

DECODED_CACHE = 4096  # decoded markets kept (rid -> market), least recently used dropped
PARTIAL_GROUPS = 4  # queries of 3 to this many terms take as partial matches those of every term but the commonest
TOKENIZE = "porter unicode61 remove_diacritics 2"  # catalog_fts's tokenizer (the v1 script): stems are looked up alike
BODY_CHARS = 1500  # rule text indexed per market (titles and outcomes carry most of the signal)
STOPWORDS = frozenset("a an and are be by for from has have in is it of on or the to was will with what who "
                      "when does do did at as this that".split())
_WORD = re.compile(r"\w+", re.UNICODE)

_UPSERT = """
INSERT INTO catalog_markets (venue, market_id, slug, event_id, title, body, outcomes, status, category,
                             close_time, volume, liquidity, fetched_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (venue, market_id) DO UPDATE SET
    slug = excluded.slug, event_id = excluded.event_id, title = excluded.title, body = excluded.body,
    outcomes = excluded.outcomes, status = excluded.status, category = excluded.category,
    close_time = excluded.close_time, volume = excluded.volume, liquidity = excluded.liquidity,
    fetched_at = excluded.fetched_at, data = excluded.data
"""


@dataclass
class CatalogHit:
    market: Market
    score: float  # higher = more relevant
    fetched_at: float
    stale: bool


@dataclass
class CatalogFilters:
    venues: Sequence[str] | None = None
    statuses: Sequence[str] | None = None  # MarketStatus values
    closes_before: datetime | None = None
    closes_after: datetime | None = None
    min_liquidity: float | None = None
    min_volume: float | None = None
    category: str | None = None

    def sql(self) -> tuple[str, list]:
        where, args = [], []
        if self.venues:
            where.append(f"m.venue IN ({','.join('?' * len(self.venues))})")
            args += list(self.venues)
        if self.statuses:
            where.append(f"m.status IN ({','.join('?' * len(self.statuses))})")
            args += list(self.statuses)
        if self.closes_before is not None:
            where.append("m.close_time IS NOT NULL AND m.close_time < ?")
            args.append(iso(self.closes_before))
        if self.closes_after is not None:
            where.append("m.close_time IS NOT NULL AND m.close_time > ?")
            args.append(iso(self.closes_after))
        if self.min_liquidity is not None:
            where.append("m.liquidity >= ?")
            args.append(self.min_liquidity)
        if self.min_volume is not None:
            where.append("m.volume >= ?")
            args.append(self.min_volume)
        if self.category:
            where.append("m.category = ? COLLATE NOCASE")
            args.append(self.category)
        return (" AND ".join(where), args)

    def accepts(self, m: Market) -> bool:
        """The same filters in Python (for live venue results)."""
        if self.venues and m.venue not in self.venues:
            return False
        if self.statuses and m.status.value not in self.statuses:
            return False
        if self.closes_before is not None and (m.close_time is None or m.close_time >= self.closes_before):
            return False
        if self.closes_after is not None and (m.close_time is None or m.close_time <= self.closes_after):
            return False
        if self.min_liquidity is not None and (m.liquidity is None or float(m.liquidity) < self.min_liquidity):
            return False
        if self.min_volume is not None and (m.volume is None or float(m.volume) < self.min_volume):
            return False
        if self.category and (m.category or "").lower() != self.category.lower():
            return False
        return True


def iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fts_terms(query: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS]
    return kept or words


def fts_query(terms: Sequence[str], mode: str = "and") -> str:
    """An FTS5 MATCH expression of quoted terms (prefix matching from 3 characters): every term ("and"), any
    term ("or"), or every term but one ("all_but_one": an OR of the AND of each term left out, far cheaper
    than "or" over a large index because each branch is an intersection)."""
    quoted = ['"' + t.replace('"', '""') + '"' + ("*" if len(t) >= 3 else "") for t in terms]
    if mode == "all_but_one" and len(quoted) >= 3:
        return " OR ".join("(" + " ".join(quoted[:i] + quoted[i + 1:]) + ")" for i in range(len(quoted)))
    return (" OR " if mode == "or" else " ").join(quoted)


_stemmer_lock = threading.Lock()
_stemmer: sqlite3.Connection | None = None


@lru_cache(maxsize=4096)
def fts_stem(word: str) -> str:
    """The token catalog_fts stores for ``word`` (its porter stem: "nominations" -> "nomin"), as SQLite's own
    tokenizer gives it: the word written into a one-row in-memory FTS5 table with the same tokenizer and read
    back from its fts5vocab instance table (about 0.3 ms, then cached). The word itself if it has no token."""
    global _stemmer
    with _stemmer_lock:
        if _stemmer is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.execute(f"CREATE VIRTUAL TABLE stem USING fts5(w, tokenize='{TOKENIZE}')")
            conn.execute("CREATE VIRTUAL TABLE stem_vocab USING fts5vocab(stem, 'instance')")
            _stemmer = conn
        _stemmer.execute("INSERT INTO stem(rowid, w) VALUES (1, ?)", (word,))
        try:
            row = _stemmer.execute("SELECT term FROM stem_vocab ORDER BY offset LIMIT 1").fetchone()
        finally:
            _stemmer.execute("DELETE FROM stem")
    return row[0] if row else word


def market_refs(m: Market) -> set[str]:
    refs = {m.id.lower()}
    if m.slug:
        refs.add(m.slug.lower())
    if m.condition_id:
        refs.add(m.condition_id.lower())
    for o in m.outcomes:
        for r in (o.token_id, o.ticker, o.answer_id):
            if r:
                refs.add(r.lower())
    return refs


def _row(m: Market, fetched_at: float) -> tuple:
    names = f"{m.title} | {m.event_title or ''}".lower()
    also = with_equivalents(names)[len(names):]  # the other names of what it is about ("super bowl" for "pro football")
    body = " ".join(x for x in (m.event_title or "", also, m.category or "", m.rule_text[:BODY_CHARS]) if x)
    return (m.venue, m.id, m.slug, m.event_id, m.title, body, " ".join(o.label for o in m.outcomes),
            m.status.value, m.category, iso(m.close_time) if m.close_time else None,
            float(m.volume) if m.volume is not None else None,
            float(m.liquidity) if m.liquidity is not None else None, fetched_at, m.model_dump_json())


class Catalog:
    def __init__(self, conn: aiosqlite.Connection, ttl_s: float):
        self.conn = conn
        self.ttl_s = ttl_s
        self._write_lock = asyncio.Lock()  # one write transaction at a time on this connection
        self.bad_rows = 0  # rows that did not read back as markets since the last rebuild
        self._decoded: OrderedDict[int, tuple[str, Market]] = OrderedDict()  # rid -> (its JSON, the market)
        self._vocab = False  # temp.catalog_vocab created on this connection

    @classmethod
    async def open(cls, path: Path, ttl_s: float) -> Catalog:
        """Open a catalog connection on an existing store database (migrations already applied)."""
        # pm_mcp.store.connect: busy_timeout from the first statement, and every statement runs to completion
        # in one worker job, so no read transaction of this connection is ever left open across an await
        # (a write queued behind it would need an upgrade and fail at once with "database is locked")
        conn = await store_connect(path)
        await conn.execute("PRAGMA synchronous=NORMAL")
        return cls(conn, ttl_s)

    async def close(self) -> None:
        await self.conn.close()

    # --- writes ---------------------------------------------------------------------------------
    async def upsert(self, markets: Iterable[Market], fetched_at: float | None = None) -> int:
        """Write markets (replacing their rows). A market listed without its outcomes (a venue's search lists a
        multiple-choice market without its answers) keeps the outcomes its stored copy has, so its answers stay
        searchable."""
        at = time.time() if fetched_at is None else fetched_at
        markets = await self._keep_known_outcomes(list(markets))
        rows, refs = [], []
        for m in markets:
            rows.append(_row(m, at))
            refs += [(r, m.venue, m.id) for r in market_refs(m)]
        if not rows:
            return 0
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await self.conn.executemany(_UPSERT, rows)
                await self.conn.executemany(
                    "INSERT OR IGNORE INTO catalog_refs (ref, venue, market_id) VALUES (?, ?, ?)", refs)
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
        return len(rows)

    async def _keep_known_outcomes(self, markets: list[Market]) -> list[Market]:
        bare = [m for m in markets if not m.outcomes]
        if not bare:
            return markets
        known: dict[tuple[str, str], Market] = {}
        for i in range(0, len(bare), 200):
            chunk = bare[i:i + 200]
            cond = " OR ".join("(venue = ? AND market_id = ?)" for _ in chunk)
            rows = await (await self.conn.execute(
                f"SELECT rid, data FROM catalog_markets WHERE {cond}",
                [x for m in chunk for x in (m.venue, m.id)])).fetchall()
            for rid, data in rows:
                old = self._decode(data, rid)
                if old is not None and old.outcomes:
                    known[(old.venue, old.id)] = old
        return [m.model_copy(update={"outcomes": known[(m.venue, m.id)].outcomes})
                if not m.outcomes and (m.venue, m.id) in known else m for m in markets]

    async def mark_refreshed(self, venue: str, count: int, at: float | None = None) -> None:
        async with self._write_lock:
            await self.conn.execute(
                "INSERT INTO catalog_refresh (venue, refreshed_at, count) VALUES (?, ?, ?) ON CONFLICT(venue) DO "
                "UPDATE SET refreshed_at = excluded.refreshed_at, count = excluded.count",
                (venue, time.time() if at is None else at, count))

    async def last_refresh(self, venue: str) -> float | None:
        row = await (await self.conn.execute("SELECT refreshed_at FROM catalog_refresh WHERE venue = ?",
                                             (venue,))).fetchone()
        return row[0] if row else None

    # --- reads ----------------------------------------------------------------------------------
    def is_stale(self, fetched_at: float, now: float | None = None) -> bool:
        return ((time.time() if now is None else now) - fetched_at) > self.ttl_s

    async def count(self, venue: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM catalog_markets" + (" WHERE venue = ?" if venue else "")
        row = await (await self.conn.execute(sql, (venue,) if venue else ())).fetchone()
        return int(row[0])

    async def get(self, venue: str, market_id: str) -> tuple[Market, float] | None:
        row = await (await self.conn.execute(
            "SELECT data, fetched_at FROM catalog_markets WHERE venue = ? AND market_id = ?",
            (venue, market_id))).fetchone()
        m = self._decode(row[0]) if row else None
        return (m, row[1]) if m is not None else None

    async def lookup(self, ref: str, venue: str | None = None) -> list[tuple[str, str]]:
        """(venue, market_id) pairs a pasted id / slug / condition id / token id / ticker refers to."""
        sql = "SELECT venue, market_id FROM catalog_refs WHERE ref = ?"
        args: list = [ref.strip().lower()]
        if venue:
            sql += " AND venue = ?"
            args.append(venue)
        rows = await (await self.conn.execute(sql + " LIMIT 10", args)).fetchall()
        return [(r[0], r[1]) for r in rows]

    async def search(self, query: str, filters: CatalogFilters | None = None, *, limit: int = 20,
                     offset: int = 0, now: float | None = None) -> list[CatalogHit]:
        """Relevance-ranked (bm25: title x10, outcomes x3, body x1) local search with filters."""
        filters = filters or CatalogFilters()
        terms = fts_terms(query)
        now = time.time() if now is None else now
        if not terms:
            return await self._browse(filters, limit, offset, now)
        want = offset + limit
        hits = await self._match(fts_query(terms, "and"), filters, want, now)
        # partial matches, the best-scoring candidates only. Of 3 or 4 terms, those with every term but the commonest
        # (the most documents hold it, from the index's own vocabulary): the ranking drops a market that misses two
        # of them anyway, the commonest word tells least, and one intersection of the rarer words is cheap where an
        # OR of common words matches half the index (the slow step). Of 2 terms (one may be a word the ranking
        # counts little) or 5 and more: any term.
        if len(hits) < want and len(terms) > 1:
            if 3 <= len(terms) <= PARTIAL_GROUPS:
                match = fts_query(await self._without_commonest(terms), "and")
            else:
                match = fts_query(terms, "or")
            seen = {(h.market.venue, h.market.id) for h in hits}
            extra = await self._match(match, filters, want, now, exhaustive=False)
            for h in extra:
                if (h.market.venue, h.market.id) not in seen:
                    h.score -= 1000.0  # partial matches rank after every full match
                    hits.append(h)
                    if len(hits) >= want:
                        break
        return hits[offset:offset + limit]

    async def doc_freqs(self, terms: Sequence[str]) -> list[int]:
        """How many markets hold each term as the search matches it (a prefix of 3+ letters: every stored token
        starting with its stem, summed, so a market holding two of them counts twice), from an fts5vocab table
        over catalog_fts (created on this connection, in its temp schema): an index read, no scoring."""
        if not self._vocab:
            await self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.catalog_vocab USING fts5vocab(main, catalog_fts, row)")
            self._vocab = True
        parts, args = [], []
        for t in terms:
            stem = fts_stem(t)
            if len(t) >= 3:
                parts.append("(SELECT COALESCE(SUM(doc), 0) FROM temp.catalog_vocab WHERE term >= ? AND term < ?)")
                args += [stem, stem + "\U0010ffff"]
            else:
                parts.append("(SELECT COALESCE(SUM(doc), 0) FROM temp.catalog_vocab WHERE term = ?)")
                args.append(stem)
        row = await (await self.conn.execute("SELECT " + ", ".join(parts), args)).fetchone()
        return [int(x) for x in row]

    async def _without_commonest(self, terms: Sequence[str]) -> list[str]:
        """The terms without the one the most markets hold (of equal counts, the later one: people name the
        subject first)."""
        freqs = await self.doc_freqs(terms)
        drop = max(range(len(terms)), key=lambda i: (freqs[i], i))
        return [t for i, t in enumerate(terms) if i != drop]

    async def _match(self, match: str, filters: CatalogFilters, want: int, now: float, *,
                     exhaustive: bool = True) -> list[CatalogHit]:
        # Stage 1: the best-scoring candidates from the FTS index alone (joining every match before the
        # LIMIT is what makes common words slow), then the filters on those. Stage 2 (only when the
        # filters threw too many away): the full join.
        where, args = filters.sql()
        cand = max(want * 5, 100)
        # the rule-sized JSON is read only for the rows kept (a sorter carrying it for every candidate costs more
        # than the lookups)
        sql = ("SELECT t.r, (SELECT data FROM catalog_markets WHERE rid = t.r), t.fetched_at, t.score FROM "
               "(SELECT s.r, m.fetched_at, s.score FROM (SELECT rowid AS r, bm25(catalog_fts, 10.0, 1.0, 3.0) "
               "AS score FROM catalog_fts WHERE catalog_fts MATCH ? ORDER BY score LIMIT ?) s "
               "JOIN catalog_markets m ON m.rid = s.r" + (f" WHERE {where}" if where else "") +
               " ORDER BY s.score LIMIT ?) t ORDER BY t.score")
        rows = await (await self.conn.execute(sql, [match, cand, *args, want])).fetchall()
        if len(rows) < want and where and exhaustive:
            n = await (await self.conn.execute(
                "SELECT COUNT(*) FROM (SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH ? LIMIT ?)",
                (match, cand + 1))).fetchone()
            if n[0] > cand:  # more matches exist beyond the candidates: filter all of them
                sql = ("SELECT m.rid, m.data, m.fetched_at, bm25(catalog_fts, 10.0, 1.0, 3.0) AS score "
                       "FROM catalog_fts JOIN catalog_markets m ON m.rid = catalog_fts.rowid "
                       f"WHERE catalog_fts MATCH ? AND {where} ORDER BY score LIMIT ?")
                rows = await (await self.conn.execute(sql, [match, *args, want])).fetchall()
        return [CatalogHit(m, -float(r[3]), r[2], self.is_stale(r[2], now)) for r in rows
                if (m := self._decode(r[1], r[0])) is not None]

    def _decode(self, data: str, rid: int | None = None) -> Market | None:
        """A stored row as a Market; None (and the row is dropped at the next rebuild) when it no longer reads.
        Rows read before (the same rid and the very same JSON) come from a bounded cache of decoded markets:
        the same markets are candidates search after search, and decoding is most of a row's cost."""
        if rid is not None:
            got = self._decoded.get(rid)
            if got is not None and got[0] == data:
                self._decoded.move_to_end(rid)
                return got[1]
        try:
            m = Market.model_validate_json(data)
        except ValueError:  # pydantic's ValidationError is a ValueError: a corrupted or outdated row
            self.bad_rows += 1
            return None
        if rid is not None:
            self._decoded[rid] = (data, m)
            if len(self._decoded) > DECODED_CACHE:
                self._decoded.popitem(last=False)
        return m

    async def rebuild(self) -> int:
        """Rebuild the FTS index from the rows and delete the rows that no longer read as markets (a damaged
        or outdated catalog is rebuilt, not trusted). Returns the rows deleted."""
        bad = []
        for rid, data in await (await self.conn.execute("SELECT rid, data FROM catalog_markets")).fetchall():
            try:
                Market.model_validate_json(data)
            except ValueError:
                bad.append((rid,))
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await self.conn.executemany("DELETE FROM catalog_markets WHERE rid = ?", bad)
                await self.conn.execute("INSERT INTO catalog_fts(catalog_fts) VALUES ('rebuild')")
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
        self.bad_rows = 0
        return len(bad)

    async def _browse(self, filters: CatalogFilters, limit: int, offset: int, now: float) -> list[CatalogHit]:
        where, args = filters.sql()
        sql = ("SELECT m.rid, m.data, m.fetched_at FROM catalog_markets m" + (f" WHERE {where}" if where else "") +
               " ORDER BY m.volume DESC LIMIT ? OFFSET ?")
        rows = await (await self.conn.execute(sql, [*args, limit, offset])).fetchall()
        return [CatalogHit(m, 0.0, r[2], self.is_stale(r[2], now)) for r in rows
                if (m := self._decode(r[1], r[0])) is not None]
