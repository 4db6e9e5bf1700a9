"""Polymarket's public Data API (v2): a wallet's open and closed positions, activity, trades, portfolio value,
and a market's top holders. Read-only, no credentials; the shared resilient HTTP layer
(:mod:`pm_mcp.venues.http`: timeouts, retries on 429/5xx with Retry-After, errors as sentences).

    api = data_api(state)                                  # base URL: PM_MCP_POLYMARKET_DATA_URL
    page = await api.positions(wallet, status="CLOSED", max_items=1000)   # Page: items, pages, cut, problem
    groups = await api.holders(condition_id, limit=20)     # [(token_id, [Holder, ...]), ...]

``user`` is the proxy / deposit wallet shown on a profile, not the address of the key that signs orders.

Wire shape (https://docs.polymarket.com/api-reference/wallet/list-positions-for-a-user-or-market and the
v2 family): ``GET /v2/positions?user=&status=OPEN|CLOSED&limit=&cursor=``, ``/v2/activity``,
``/v2/trades``, ``/v2/holders?condition=&limit=&include_pnl=true``, ``/v2/value?user=``; lists come in a
``{"data": [...], "pagination": {"has_more", "next_cursor"}}`` envelope (a bare list is accepted too), rows
in snake_case (recorded: tests/fixtures/polymarket/data_v2_*.json). Pagination is bounded: a walk stops at
``max_items`` and says so (``Page.cut``); a page that fails after the first ends the walk with
``Page.problem`` and the rows read so far (a partial answer, never invented rows); a first page that fails
raises the venue error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pm_mcp.domain.money import ZERO, decimal_or_none
from pm_mcp.domain.signals import Activity, Holder, WalletPosition
from pm_mcp.venues.base import VenueError
from pm_mcp.venues.http import VenueHttp, venue_http

VENUE = "polymarket"
WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")
CONDITION = re.compile(r"^0x[0-9a-fA-F]{64}$")
PAGE_SIZE = 500  # rows per request for positions / activity / trades
HOLDERS_MAX = 100  # per outcome token with include_pnl=true (the documented bound)


@dataclass
class Page:
    items: list[Any] = field(default_factory=list)
    pages: int = 0
    cut: bool = False  # stopped at max_items with more available
    problem: str | None = None  # a later page failed: items are what was read before it

    def notes(self, what: str) -> list[str]:
        out = []
        if self.cut:
            out.append(f"{what}: read the first {len(self.items)} (bounded); more exist")
        if self.problem:
            out.append(f"{what}: stopped after {len(self.items)} rows ({self.problem})")
        return out


def data_api(state: Any) -> PolymarketData:
    """The client over the shared pool (``state.http``) at ``settings.polymarket_data_url``."""
    return PolymarketData(venue_http(state, VENUE, state.settings.polymarket_data_url))


def _ts(value: Any) -> datetime | None:
    d = decimal_or_none(value)
    if d is None or d <= 0:
        return None
    seconds = float(d) / 1000 if d > 10_000_000_000 else float(d)  # milliseconds in some rows
    return datetime.fromtimestamp(seconds, UTC)


def _dec(row: dict, *keys: str) -> Decimal | None:
    for k in keys:
        if k in row:
            d = decimal_or_none(row.get(k))
            if d is not None:
                return d
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_position(row: dict) -> WalletPosition:
    return WalletPosition(
        wallet=str(row.get("proxy_wallet") or row.get("proxyWallet") or "").lower(),
        condition_id=str(row.get("condition_id") or row.get("conditionId") or "").lower(),
        token_id=str(row.get("token_id") or row.get("asset") or ""),
        outcome=str(row.get("outcome") or ""), outcome_index=_int(row.get("outcome_index", row.get("outcomeIndex"))),
        title=str(row.get("title") or ""), slug=str(row.get("slug") or ""),
        status=str(row.get("status") or "OPEN").upper(),
        size=_dec(row, "current_size", "size") or ZERO, avg_price=_dec(row, "avg_price", "avgPrice"),
        cost_usd=_dec(row, "total_cost_usdc", "entry_cost_usdc", "initialValue", "totalBought") or ZERO,
        current_price=_dec(row, "current_price", "curPrice"),
        value_usd=_dec(row, "current_value", "currentValue") or ZERO,
        realized_pnl_usd=_dec(row, "realized_pnl", "realizedPnl") or ZERO,
        unrealized_pnl_usd=_dec(row, "unrealized_pnl", "cashPnl") or ZERO,
        redeemable=bool(row.get("redeemable")), end_date=row.get("end_date") or row.get("endDate") or None,
        last_event_at=_ts(row.get("last_event_at", row.get("timestamp"))))


def parse_activity(row: dict) -> Activity | None:
    when = _ts(row.get("timestamp"))
    if when is None:
        return None
    return Activity(timestamp=when, type=str(row.get("type") or "TRADE").upper(), side=str(row.get("side") or ""),
                    size=_dec(row, "size") or ZERO, usd=_dec(row, "usdc_size", "usdcSize") or ZERO,
                    price=_dec(row, "price"),
                    condition_id=str(row.get("condition_id") or row.get("conditionId") or "").lower(),
                    outcome_index=_int(row.get("outcome_index", row.get("outcomeIndex"))))


def parse_holder(row: dict, token_id: str = "") -> Holder | None:
    shares = _dec(row, "amount", "size")
    wallet = str(row.get("proxy_wallet") or row.get("proxyWallet") or "").lower()
    if shares is None or not wallet:
        return None
    return Holder(wallet=wallet, token_id=str(row.get("token_id") or row.get("asset") or token_id),
                  outcome_index=_int(row.get("outcome_index", row.get("outcomeIndex"))), shares=shares,
                  avg_price=_dec(row, "avg_price"), value_usd=_dec(row, "current_value"),
                  name=str(row.get("name") or "") if row.get("display_username_public", True) else "")


def _envelope(body: Any) -> tuple[list, str | None]:
    """(rows, next cursor) from a v2 envelope or a bare list."""
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict):
        return [], None
    rows = body.get("data")
    pag = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
    cursor = pag.get("next_cursor") or body.get("next_cursor") or None
    if pag.get("has_more") is False:
        cursor = None
    return (rows if isinstance(rows, list) else []), (str(cursor) if cursor else None)


class PolymarketData:
    """The Data API v2 for one base URL (see the module docstring)."""

    name = VENUE

    def __init__(self, http: VenueHttp, *, page_size: int = PAGE_SIZE):
        self.http = http
        self.page_size = page_size

    async def _walk(self, path: str, params: dict[str, Any], max_items: int, parse) -> Page:
        page = Page()
        cursor: str | None = None
        while True:
            q = {**params, "limit": max(1, min(self.page_size, max_items - len(page.items)))}
            if cursor:
                q["cursor"] = cursor
            try:
                body = await self.http.get_json(path, q)
            except VenueError as exc:
                if page.pages == 0:
                    raise
                page.problem = exc.message
                return page
            page.pages += 1
            rows, cursor = _envelope(body)
            page.items.extend(x for x in (parse(r) for r in rows if isinstance(r, dict)) if x is not None)
            if not cursor or not rows:
                return page
            if len(page.items) >= max_items:
                page.cut = True
                return page

    async def positions(self, wallet: str, *, status: str = "OPEN", max_items: int = 1000) -> Page:
        return await self._walk("/v2/positions", {"user": wallet, "status": status}, max_items, parse_position)

    async def activity(self, wallet: str, *, max_items: int = 500) -> Page:
        return await self._walk("/v2/activity", {"user": wallet}, max_items, parse_activity)

    async def trades(self, *, wallet: str | None = None, condition_id: str | None = None,
                     max_items: int = 500) -> Page:
        params = {"user": wallet, "condition": condition_id}
        return await self._walk("/v2/trades", params, max_items, parse_activity)

    async def value(self, wallet: str) -> Decimal | None:
        body = await self.http.get_json("/v2/value", {"user": wallet})
        row = body.get("data", body) if isinstance(body, dict) else (body[0] if isinstance(body, list) and body
                                                                        else None)
        if isinstance(row, list):
            row = row[0] if row else None
        return _dec(row, "value") if isinstance(row, dict) else None

    async def holders(self, condition_id: str, *, limit: int = 20) -> list[tuple[str, list[Holder]]]:
        """The top holders of each outcome token: [(token_id, holders largest first)]."""
        body = await self.http.get_json("/v2/holders", {"condition": condition_id, "include_pnl": True,
                                                        "limit": max(1, min(limit, HOLDERS_MAX))})
        rows, _ = _envelope(body)
        out: list[tuple[str, list[Holder]]] = []
        for g in rows:
            if not isinstance(g, dict):
                continue
            token = str(g.get("token_id") or g.get("token") or "")
            hs = [h for h in (parse_holder(r, token) for r in g.get("holders") or [] if isinstance(r, dict)) if h]
            out.append((token, sorted(hs, key=lambda h: h.shares, reverse=True)))
        return out
