"""The execution journal: intents, orders, fills and positions in the SQLite store.

Tables ``intents``, ``orders``, ``fills``, ``positions`` and ``journal`` come from the "core"
migration; the "execution" component adds the approval tokens and the paper venue's own book of
orders (the paper broker is a venue: its records are separate from our journal, so looking an order
up "at the venue" means the same thing in paper and live mode).

Every state change is one SQL statement (the connection is in autocommit mode), and every status
change is a compare-and-set (``UPDATE ... WHERE status IN (...)``): a confirmation can be used once,
two approvals of one intent cannot both win.

Owners (pm_mcp.principal): intents, orders, fills and positions belong to the person a request acts for. Every read
takes ``owner``: None (the default) is the principal of the running request or job, :data:`EVERYONE` the
background work's view over all owners (it then acts for each row's owner: ``principal.use(principal.as_owner(
row.owner))``). A row of another owner reads exactly like a row that does not exist. What makes an order happen once
stays global: client order ids are unique across owners, the submit claims and the approval tokens are keyed by id,
and the paper venue's own book (``paper_orders``) is a venue's, reached only through an order its owner holds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from pm_mcp import principal
from pm_mcp.domain.intents import Intent, IntentStatus
from pm_mcp.domain.orders import OPEN_ORDER_STATUSES
from pm_mcp.domain.times import parse_iso  # noqa: F401 - re-exported: the store's rows are read with it
from pm_mcp.store import Store, register_migrations

register_migrations(
    "execution",
    [
        """
        CREATE TABLE approvals (
            token_sha TEXT PRIMARY KEY,
            intent_id TEXT NOT NULL REFERENCES intents(id),
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX approvals_intent ON approvals(intent_id);

        CREATE TABLE paper_orders (
            client_order_id TEXT PRIMARY KEY,
            venue TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX paper_orders_status ON paper_orders(status);
        CREATE INDEX orders_intent ON orders(intent_id);
        CREATE INDEX intents_created ON intents(created_at);
        """,
        # v2: the submit claim of an order (Journal.claim_order): which process may send it, until when
        """
        ALTER TABLE orders ADD COLUMN claim_holder TEXT;
        ALTER TABLE orders ADD COLUMN claim_until REAL;
        """,
        # v3: each person's risk-policy tightenings (tighten_risk_policy): the limits as set (JSON; amounts in
        # `currency`), when, and which process took them. Read by every replica and after a restart; the policy in
        # force is the operator's settings under all of them (pm_mcp.domain.policy.with_tightenings)
        """
        CREATE TABLE policy_tightenings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            owner TEXT NOT NULL,
            currency TEXT NOT NULL,
            limits TEXT NOT NULL,
            created_at TEXT NOT NULL,
            replica TEXT
        );
        CREATE INDEX policy_tightenings_owner ON policy_tightenings(owner, id);
        """,
    ],
)



class _Everyone:
    """The owner filter of background work: every owner's rows (see the module docstring)."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Any = _Everyone()


def owner_filter(owner: Any, column: str = "owner") -> tuple[str, list[Any]]:
    """(SQL condition, its arguments) for ``owner``: None = the running principal's, EVERYONE = no filter."""
    if owner is EVERYONE:
        return "1 = 1", []
    return f"{column} = ?", [principal.current_owner() if owner is None else owner]


def owner_of(owner: str | None) -> str:
    return principal.current_owner() if owner is None else owner


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def D(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


class IntentRecord(BaseModel):
    intent: Intent
    status: IntentStatus
    reason: str | None = None
    channel: str = "page"
    confirmed_via: str | None = None
    confirmed_at: datetime | None = None
    rules: dict[str, str] = Field(default_factory=dict)  # market id -> the venue's rule text (excerpt)
    owner: str = Field(default_factory=principal.current_owner)  # pm_mcp.principal


class OrderRecord(BaseModel):
    id: str
    intent_id: str | None
    leg_index: int = 0
    client_order_id: str
    venue_order_id: str | None = None
    created_at: datetime
    updated_at: datetime
    status: str
    mode: str
    venue: str
    market_id: str
    market_title: str = ""
    event_id: str | None = None
    outcome: str
    side: str
    limit_price: Decimal
    size: Decimal
    time_in_force: str = "GTC"
    filled_size: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fees_paid: Decimal = Decimal(0)
    message: str | None = None
    fee_bound: Decimal = Decimal(0)  # the leg's fee at the limit for the full size
    data: dict[str, Any] = Field(default_factory=dict)
    owner: str = Field(default_factory=principal.current_owner)  # pm_mcp.principal

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.size - self.filled_size)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    def committed_cost(self) -> Decimal:
        """Cash this (buy) order has spent or may still spend: fills + fees + the open remainder at its limit."""
        if self.side != "buy":
            return Decimal(0)
        spent = (self.avg_price or Decimal(0)) * self.filled_size + self.fees_paid
        if self.is_open and self.remaining > 0 and self.size > 0:
            spent += self.remaining * self.limit_price + self.fee_bound * self.remaining / self.size
        return spent


class PositionRecord(BaseModel):
    mode: str
    venue: str
    market_id: str
    outcome: str
    event_id: str | None = None
    size: Decimal
    avg_cost: Decimal
    realized_pnl: Decimal
    updated_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)
    owner: str = Field(default_factory=principal.current_owner)  # pm_mcp.principal


class Journal:
    """SQL for the execution engine. One instance per process, over the shared :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    async def log(self, kind: str, ref: str | None, data: dict[str, Any]) -> None:
        await self.store.journal(kind, ref, data)

    # --- intents ---------------------------------------------------------------------------
    async def insert_intent(self, intent: Intent, status: IntentStatus, *, channel: str, reason: str | None,
                            rules: dict[str, str] | None = None, owner: str | None = None) -> None:
        leg = intent.legs[0]
        data = {"intent": intent.model_dump(mode="json"), "channel": channel, "reason": reason, "rules": rules or {}}
        await self.conn.execute(
            "INSERT INTO intents (id, created_at, expires_at, status, mode, venue, market_id, event_id, outcome, side,"
            " limit_price, size, worst_case_cost, fees, order_hash, rules_hash, forecast_p, forecast_source, data,"
            " owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (intent.id, iso(intent.created_at), iso(intent.expires_at), status.value, intent.mode, leg.venue,
             leg.market_id, leg.event_id, leg.outcome, leg.side, str(leg.limit_price), str(leg.size),
             str(intent.worst_case_cost), str(intent.fees), intent.order_hash, leg.rules_hash,
             None if intent.forecast_p is None else str(intent.forecast_p), intent.forecast_source,
             json.dumps(data, sort_keys=True), owner_of(owner)))

    @staticmethod
    def _intent_from_row(row: Any) -> IntentRecord:
        data = json.loads(row["data"])
        return IntentRecord(intent=Intent.model_validate(data["intent"]), status=IntentStatus(row["status"]),
                            reason=data.get("reason"), channel=data.get("channel", "page"),
                            confirmed_via=data.get("confirmed_via"),
                            confirmed_at=parse_iso(data["confirmed_at"]) if data.get("confirmed_at") else None,
                            rules=data.get("rules") or {}, owner=row["owner"])

    async def load_intent(self, intent_id: str, owner: Any = None) -> IntentRecord | None:
        who, args = owner_filter(owner)
        row = await (await self.conn.execute(f"SELECT status, data, owner FROM intents WHERE id = ? AND {who}",
                                             (intent_id, *args))).fetchone()
        return None if row is None else self._intent_from_row(row)

    async def intents_with_status(self, *statuses: IntentStatus, owner: Any = None) -> list[IntentRecord]:
        q = ",".join("?" for _ in statuses)
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(
            f"SELECT status, data, owner FROM intents WHERE status IN ({q}) AND {who} ORDER BY created_at",
            [*(s.value for s in statuses), *args])).fetchall()
        return [self._intent_from_row(r) for r in rows]

    async def intents_with_forecast(self, mode: str, owner: Any = None) -> list[IntentRecord]:
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(
            f"SELECT status, data, owner FROM intents WHERE mode = ? AND forecast_p IS NOT NULL AND {who}"
            " ORDER BY created_at", (mode, *args))).fetchall()
        return [self._intent_from_row(r) for r in rows]

    async def transition(self, intent_id: str, from_statuses: tuple[IntentStatus, ...], to: IntentStatus, *,
                         reason: str | None = None, owner: Any = None, **extra: Any) -> bool:
        """Compare-and-set the status of the owner's intent; returns False when the intent was not in
        ``from_statuses`` (or is not the owner's)."""
        q = ",".join("?" for _ in from_statuses)
        sets = {"reason": reason} if reason is not None else {}
        sets.update(extra)
        expr = "data"
        args: list[Any] = []
        for k, v in sets.items():
            expr = f"json_set({expr}, '$.{k}', ?)"
            args.append(v if isinstance(v, (str, int, float)) or v is None else str(v))
        who, who_args = owner_filter(owner)
        cur = await self.conn.execute(
            f"UPDATE intents SET status = ?, data = {expr} WHERE id = ? AND status IN ({q}) AND {who}",
            [to.value, *args, intent_id, *[s.value for s in from_statuses], *who_args])
        return cur.rowcount == 1

    # --- policy tightenings -----------------------------------------------------------------
    async def insert_tightening(self, currency: str, limits: dict[str, Any], *, replica: str | None = None,
                                owner: str | None = None) -> None:
        """Store a tightening of the owner's policy (``limits``: name -> value, amounts as decimal strings)."""
        await self.conn.execute(
            "INSERT INTO policy_tightenings (owner, currency, limits, created_at, replica) VALUES (?,?,?,?,?)",
            (owner_of(owner), currency.upper(), json.dumps(limits, sort_keys=True), iso(now_utc()), replica))

    async def tightenings(self, owner: str | None = None) -> list[dict[str, Any]]:
        """The owner's stored tightenings, oldest first: {id, currency, limits, created_at, replica}."""
        rows = await (await self.conn.execute(
            "SELECT id, currency, limits, created_at, replica FROM policy_tightenings WHERE owner = ? ORDER BY id",
            (owner_of(owner),))).fetchall()
        return [{"id": r["id"], "currency": r["currency"], "limits": json.loads(r["limits"]),
                 "created_at": r["created_at"], "replica": r["replica"]} for r in rows]

    async def tightening_owners(self) -> list[tuple[str, int]]:
        """(owner, how many tightenings) for every owner with one (the operator's `pm-mcp policy`)."""
        rows = await (await self.conn.execute(
            "SELECT owner, COUNT(*) FROM policy_tightenings GROUP BY owner ORDER BY owner")).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    async def clear_tightenings(self, owner: str) -> int:
        """Remove every stored tightening of ``owner`` (the operator's undo: the tool itself only tightens)."""
        cur = await self.conn.execute("DELETE FROM policy_tightenings WHERE owner = ?", (owner,))
        return cur.rowcount

    # --- approvals -------------------------------------------------------------------------
    async def insert_approval(self, intent_id: str, token_sha: str, csrf: str) -> None:
        await self.conn.execute("INSERT INTO approvals (intent_id, token_sha, csrf, created_at) VALUES (?,?,?,?)",
                                (intent_id, token_sha, csrf, iso(now_utc())))

    async def approval_by_token(self, token_sha: str) -> tuple[str, str] | None:
        row = await (await self.conn.execute("SELECT intent_id, csrf FROM approvals WHERE token_sha = ?",
                                             (token_sha,))).fetchone()
        return None if row is None else (row[0], row[1])

    # --- orders ----------------------------------------------------------------------------
    async def insert_order(self, o: OrderRecord, *, claim: tuple[str, float] | None = None) -> bool:
        """Journal an order (with its submit claim: holder, until). False when an order with this client order id
        is journaled already: the client order id is unique, so of two processes journaling one leg only one
        wins, and only the winner sends it."""
        data = {**o.data, "leg_index": o.leg_index, "market_title": o.market_title, "time_in_force": o.time_in_force,
                "message": o.message, "fee_bound": str(o.fee_bound)}
        holder, until = claim if claim is not None else (None, None)
        cur = await self.conn.execute(
            "INSERT OR IGNORE INTO orders (id, intent_id, client_order_id, venue_order_id, created_at, updated_at,"
            " status, mode, venue, market_id, event_id, outcome, side, limit_price, size, filled_size, avg_price,"
            " fees_paid, data, claim_holder, claim_until, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (o.id, o.intent_id, o.client_order_id, o.venue_order_id, iso(o.created_at), iso(o.updated_at), o.status,
             o.mode, o.venue, o.market_id, o.event_id, o.outcome, o.side, str(o.limit_price), str(o.size),
             str(o.filled_size), None if o.avg_price is None else str(o.avg_price), str(o.fees_paid),
             json.dumps(data, sort_keys=True, default=str), holder, until, o.owner))
        return cur.rowcount == 1

    async def claim_order(self, order_id: str, holder: str, until: float, *, now: float,
                          take_from: str | None = None) -> bool:
        """Compare-and-set the submit claim of a journaled, unsent (pending) order: True when ``holder`` now has it,
        because it was free, expired (before ``now``), already its own, or held by ``take_from`` (a holder the
        caller found dead). Only the claim's holder sends the order; it checks again right before sending."""
        cond = "claim_holder IS NULL OR claim_holder = ? OR claim_until < ?"
        args: list[Any] = [holder, until, order_id, holder, now]
        if take_from is not None:
            cond += " OR claim_holder = ?"
            args.append(take_from)
        cur = await self.conn.execute(
            f"UPDATE orders SET claim_holder = ?, claim_until = ? WHERE id = ? AND status = 'pending' AND ({cond})",
            args)
        return cur.rowcount == 1

    async def order_claim(self, order_id: str) -> tuple[str | None, float | None]:
        row = await (await self.conn.execute("SELECT claim_holder, claim_until FROM orders WHERE id = ?",
                                             (order_id,))).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    async def release_claims(self, holder: str) -> int:
        """A process that stops cleanly frees its claims (another process may then look its orders up and send)."""
        cur = await self.conn.execute("UPDATE orders SET claim_holder = NULL, claim_until = NULL WHERE claim_holder = ?",
                                      (holder,))
        return cur.rowcount

    async def update_order(self, o: OrderRecord) -> None:
        data = {**o.data, "leg_index": o.leg_index, "market_title": o.market_title, "time_in_force": o.time_in_force,
                "message": o.message, "fee_bound": str(o.fee_bound)}
        await self.conn.execute(
            "UPDATE orders SET venue_order_id = ?, updated_at = ?, status = ?, filled_size = ?, avg_price = ?,"
            " fees_paid = ?, data = ? WHERE id = ?",
            (o.venue_order_id, iso(now_utc()), o.status, str(o.filled_size),
             None if o.avg_price is None else str(o.avg_price), str(o.fees_paid),
             json.dumps(data, sort_keys=True, default=str), o.id))

    @staticmethod
    def _order_from_row(row: Any) -> OrderRecord:
        data = json.loads(row["data"])
        return OrderRecord(
            id=row["id"], intent_id=row["intent_id"], leg_index=int(data.get("leg_index", 0)),
            client_order_id=row["client_order_id"], venue_order_id=row["venue_order_id"],
            created_at=parse_iso(row["created_at"]), updated_at=parse_iso(row["updated_at"]), status=row["status"],
            mode=row["mode"], venue=row["venue"], market_id=row["market_id"],
            market_title=data.get("market_title", ""), event_id=row["event_id"], outcome=row["outcome"],
            side=row["side"], limit_price=D(row["limit_price"]), size=D(row["size"]),
            time_in_force=data.get("time_in_force", "GTC"), filled_size=D(row["filled_size"]),
            avg_price=None if row["avg_price"] is None else D(row["avg_price"]), fees_paid=D(row["fees_paid"]),
            message=data.get("message"), fee_bound=D(data.get("fee_bound", "0")),
            data={k: v for k, v in data.items()
                  if k not in ("leg_index", "market_title", "time_in_force", "message", "fee_bound")},
            owner=row["owner"])

    async def load_order(self, order_id: str, owner: Any = None) -> OrderRecord | None:
        who, args = owner_filter(owner)
        row = await (await self.conn.execute(f"SELECT * FROM orders WHERE (id = ? OR client_order_id = ?) AND {who}",
                                             (order_id, order_id, *args))).fetchone()
        return None if row is None else self._order_from_row(row)

    async def orders_for_intent(self, intent_id: str, owner: Any = None) -> list[OrderRecord]:
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(f"SELECT * FROM orders WHERE intent_id = ? AND {who} ORDER BY created_at",
                                              (intent_id, *args))).fetchall()
        return sorted((self._order_from_row(r) for r in rows), key=lambda o: o.leg_index)

    async def open_orders(self, mode: str, owner: Any = None) -> list[OrderRecord]:
        q = ",".join("?" for _ in OPEN_ORDER_STATUSES)
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(
            f"SELECT * FROM orders WHERE mode = ? AND status IN ({q}) AND {who} ORDER BY created_at",
            (mode, *OPEN_ORDER_STATUSES, *args))).fetchall()
        return [self._order_from_row(r) for r in rows]

    async def list_orders(self, mode: str, *, status: str | None, offset: int, limit: int,
                          owner: Any = None) -> tuple[list[OrderRecord], int]:
        who, who_args = owner_filter(owner)
        where = f"mode = ? AND {who}"
        args: list[Any] = [mode, *who_args]
        if status == "open":
            where += f" AND status IN ({','.join('?' for _ in OPEN_ORDER_STATUSES)})"
            args += list(OPEN_ORDER_STATUSES)
        elif status:
            where += " AND status = ?"
            args.append(status)
        total = (await (await self.conn.execute(f"SELECT COUNT(*) FROM orders WHERE {where}", args)).fetchone())[0]
        rows = await (await self.conn.execute(
            f"SELECT * FROM orders WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset])).fetchall()
        return [self._order_from_row(r) for r in rows], int(total)

    async def buy_orders_since(self, mode: str, since: datetime, owner: Any = None) -> list[OrderRecord]:
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(
            f"SELECT * FROM orders WHERE mode = ? AND side = 'buy' AND created_at >= ? AND {who}",
            (mode, iso(since), *args))).fetchall()
        return [self._order_from_row(r) for r in rows]

    async def open_buy_orders_for_event(self, mode: str, event_id: str, owner: Any = None) -> list[OrderRecord]:
        q = ",".join("?" for _ in OPEN_ORDER_STATUSES)
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(
            f"SELECT * FROM orders WHERE mode = ? AND side = 'buy' AND (event_id = ? OR market_id = ?)"
            f" AND status IN ({q}) AND {who}", (mode, event_id, event_id, *OPEN_ORDER_STATUSES, *args))).fetchall()
        return [self._order_from_row(r) for r in rows]

    async def count_orders(self, mode: str | None = None, owner: Any = EVERYONE) -> int:
        """Orders journaled (by every owner unless ``owner`` is given: a count, never a row)."""
        who, args = owner_filter(owner)
        if mode is None:
            row = await (await self.conn.execute(f"SELECT COUNT(*) FROM orders WHERE {who}", args)).fetchone()
        else:
            row = await (await self.conn.execute(f"SELECT COUNT(*) FROM orders WHERE mode = ? AND {who}",
                                                 (mode, *args))).fetchone()
        return int(row[0])

    # --- fills -----------------------------------------------------------------------------
    async def insert_fill(self, fill_id: str, order_id: str, at: datetime, price: Decimal, size: Decimal, fee: Decimal,
                          data: dict[str, Any], owner: str | None = None) -> bool:
        """A fill of ``order_id`` (its owner's: pass the order's owner)."""
        cur = await self.conn.execute(
            "INSERT OR IGNORE INTO fills (id, order_id, at, price, size, fee, data, owner) VALUES (?,?,?,?,?,?,?,?)",
            (fill_id, order_id, iso(at), str(price), str(size), str(fee), json.dumps(data, default=str),
             owner_of(owner)))
        return cur.rowcount == 1

    async def fills_for_order(self, order_id: str, owner: Any = None) -> list[dict[str, Any]]:
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(f"SELECT * FROM fills WHERE order_id = ? AND {who} ORDER BY at",
                                              (order_id, *args))).fetchall()
        return [dict(r) for r in rows]

    # --- positions -------------------------------------------------------------------------
    @staticmethod
    def _position_from_row(row: Any) -> PositionRecord:
        return PositionRecord(mode=row["mode"], venue=row["venue"], market_id=row["market_id"], outcome=row["outcome"],
                              event_id=row["event_id"], size=D(row["size"]), avg_cost=D(row["avg_cost"]),
                              realized_pnl=D(row["realized_pnl"]), updated_at=parse_iso(row["updated_at"]),
                              data=json.loads(row["data"] or "{}"), owner=row["owner"])

    async def position(self, mode: str, venue: str, market_id: str, outcome: str,
                       owner: str | None = None) -> PositionRecord | None:
        row = await (await self.conn.execute(
            "SELECT * FROM positions WHERE owner = ? AND mode = ? AND venue = ? AND market_id = ? AND outcome = ?",
            (owner_of(owner), mode, venue, market_id, outcome))).fetchone()
        return None if row is None else self._position_from_row(row)

    async def positions(self, mode: str, owner: Any = None) -> list[PositionRecord]:
        who, args = owner_filter(owner)
        rows = await (await self.conn.execute(f"SELECT * FROM positions WHERE mode = ? AND {who} ORDER BY updated_at",
                                              (mode, *args))).fetchall()
        return [self._position_from_row(r) for r in rows]

    async def save_position(self, p: PositionRecord) -> None:
        """Insert or update the position of ``p.owner``."""
        await self.conn.execute(
            "INSERT INTO positions (owner, mode, venue, market_id, outcome, event_id, size, avg_cost, realized_pnl,"
            " updated_at, data) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(owner, mode, venue, market_id, outcome)"
            " DO UPDATE SET event_id = excluded.event_id, size = excluded.size, avg_cost = excluded.avg_cost,"
            " realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at, data = excluded.data",
            (p.owner, p.mode, p.venue, p.market_id, p.outcome, p.event_id, str(p.size), str(p.avg_cost),
             str(p.realized_pnl), iso(now_utc()), json.dumps(p.data, default=str)))

    # --- paper venue -----------------------------------------------------------------------
    async def paper_get(self, client_order_id: str) -> dict[str, Any] | None:
        row = await (await self.conn.execute("SELECT data FROM paper_orders WHERE client_order_id = ?",
                                             (client_order_id,))).fetchone()
        return None if row is None else json.loads(row[0])

    async def paper_insert(self, client_order_id: str, venue: str, status: str, data: dict[str, Any]) -> bool:
        cur = await self.conn.execute(
            "INSERT OR IGNORE INTO paper_orders (client_order_id, venue, created_at, updated_at, status, data)"
            " VALUES (?,?,?,?,?,?)",
            (client_order_id, venue, iso(now_utc()), iso(now_utc()), status, json.dumps(data, default=str)))
        return cur.rowcount == 1

    async def paper_update(self, client_order_id: str, status: str, data: dict[str, Any]) -> None:
        await self.conn.execute("UPDATE paper_orders SET status = ?, updated_at = ?, data = ? WHERE client_order_id = ?",
                                (status, iso(now_utc()), json.dumps(data, default=str), client_order_id))

    async def paper_open(self, venue: str) -> list[dict[str, Any]]:
        rows = await (await self.conn.execute(
            "SELECT data FROM paper_orders WHERE venue = ? AND status IN ('open', 'partially_filled')"
            " ORDER BY created_at", (venue,))).fetchall()
        return [json.loads(r[0]) for r in rows]
