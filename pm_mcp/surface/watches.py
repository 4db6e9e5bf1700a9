"""Watch tools: create_watch, list_watches, delete_watch, get_alerts; the watch://<id> resource and its
change notifications (legacy ``resources/subscribe`` + ``notifications/resources/updated``; 2026-07-28
``subscriptions/listen``). Thin: the work is in pm_mcp.execution.watches (imported on first use: it is not
needed before the handshake)."""

# No `from __future__ import annotations` (see pm_mcp.surface.rules).

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import CallToolResult, EmptyResult, SubscribeRequestParams, ToolAnnotations, UnsubscribeRequestParams
from pydantic import BaseModel, Field

from pm_mcp.domain.untrusted import quote_inline, quote_label
from pm_mcp.domain.watches import Watch, WatchKind, WatchRefused, WatchSpec
from pm_mcp.surface.common import READ_LOCAL, VenueArg, app_state, grouped, split_venue, titled, to_tool_error
from pm_mcp.surface.render import ToolError, tool_result
from pm_mcp.surface.schema import BRIEF, CHOICES, LEGACY, Grouped

__all__ = ["create_watch", "list_watches", "delete_watch", "get_alerts", "watch_resource", "register"]

log = logging.getLogger(__name__)

KindArg = Literal[tuple(k.value for k in WatchKind)]
URI_PREFIX = "watch://"
CREATE = ToolAnnotations(title="Create a watch (trades nothing)", read_only_hint=False, destructive_hint=False,
                         idempotent_hint=False, open_world_hint=True)
DELETE = ToolAnnotations(title="Delete a watch", read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                         open_world_hint=False)
ALERTS = ToolAnnotations(title="Get new alerts", read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                         open_world_hint=False)


class WatchOut(BaseModel):
    id: str
    uri: str
    kind: str
    venue: str
    market_id: str
    market_title: str
    outcome: str | None = None
    level: Decimal | None = None
    description: str
    status: str
    created_at: datetime
    expires_at: datetime
    last_checked_at: datetime | None = None
    last_fired_at: datetime | None = None
    fire_count: int = 0
    note: str | None = None


class CreateWatchOut(BaseModel):
    watch: WatchOut
    already_true: bool = Field(description="The condition holds now: it alerts when it turns true again.")
    now: str = Field(description="The value read at creation.")


class WatchesOut(BaseModel):
    watches: list[WatchOut]


class AlertOut(BaseModel):
    seq: int
    watch_id: str
    at: datetime
    text: str
    description: str
    value: str | None = None


class AlertsOut(BaseModel):
    alerts: list[AlertOut]
    more: bool = Field(description="More unread alerts remain: call again.")


def watch_out(w: Watch) -> WatchOut:
    s = w.spec
    return WatchOut(id=w.id, uri=URI_PREFIX + w.id, kind=s.kind.value, venue=s.venue, market_id=s.market_id,
                    market_title=s.market_title, outcome=s.outcome, level=s.level, description=w.description,
                    status=w.status, created_at=w.created_at, expires_at=w.expires_at,
                    last_checked_at=w.last_checked_at, last_fired_at=w.last_fired_at, fire_count=w.fire_count,
                    note=w.note)


def watch_line(w: WatchOut) -> str:
    on = f" {quote_label(w.outcome)}" if w.outcome else ""
    head = f"{w.id} [{w.status}] {quote_inline(w.market_title, 80)}{on}: {w.description}"
    tail = f" Fired {w.fire_count}x." if w.fire_count else ""
    if w.note:
        tail += f" {w.note}."
    elif w.last_checked_at:
        tail += f" Last checked {w.last_checked_at:%H:%M:%S} UTC."
    return head + tail


def _parse_expiry(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"expires_at must be an ISO 8601 time such as 2026-12-31T17:00:00Z: got {value[:40]!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _store_of(ctx: Context) -> Any:
    from pm_mcp.execution.watches import WatchStore

    return WatchStore(app_state(ctx).store)


class WatchOptions(Grouped):
    """create_watch's details (each also accepted at the top level, its old place)."""

    side: Literal["ask", "bid", "mid"] | None = None
    window_s: int | None = None
    expires_at: str | None = None
    cooldown_s: int | None = None
    order_id: str | None = None
    query: str | None = None
    venue: VenueArg | None = None


# --- tools ------------------------------------------------------------------------------------------------------
async def create_watch(
    ctx: Context,
    kind: Annotated[KindArg, CHOICES],
    market: Annotated[str | None, Field(description="id or URL")] = None,
    venue: Annotated[VenueArg | None, LEGACY] = None,
    outcome: Annotated[str | None, Field(description="label")] = None,
    level: Annotated[Decimal | None, Field(description="price/points/spread/shares/hours")] = None,
    side: Annotated[Literal["ask", "bid", "mid"] | None, LEGACY] = None,
    window_s: Annotated[int | None, LEGACY] = None,
    order_id: Annotated[str | None, LEGACY] = None,
    query: Annotated[str | None, LEGACY] = None,
    expires_at: Annotated[str | None, LEGACY] = None,
    cooldown_s: Annotated[int | None, LEGACY] = None,
    options: Annotated[WatchOptions | None, Field(
        description="order_id, query (arbitrage), side, window_s, expires_at, cooldown_s, venue"),
        BRIEF] = None,
) -> Annotated[CallToolResult, CreateWatchOut]:
    """Alert when a market or order condition holds (no trading). Read: get_alerts."""
    o = grouped(options, "options", side=side, window_s=window_s, expires_at=expires_at, cooldown_s=cooldown_s,
                order_id=order_id, query=query, venue=venue)
    side, window_s, expires_at, cooldown_s = o.side, o.window_s, o.expires_at, o.cooldown_s
    order_id, query = o.order_id, o.query
    market, venue = split_venue(market, o.venue)
    from pm_mcp.execution.watches import create_watch as create

    if kind == WatchKind.ARBITRAGE.value and not ((market or "").strip() or (query or "").strip()):
        raise ToolError("query or market is missing: arbitrage scans a topic (query) or a market or event (market)")
    if kind not in (WatchKind.ORDER_DONE.value, WatchKind.ARBITRAGE.value) and not (market or "").strip():
        raise ToolError(f"market is missing: {kind} watches a market (pass its id, slug, ticker or URL)")
    spec = WatchSpec(kind=WatchKind(kind), venue=venue or "", market_id=(market or "").strip(),
                     outcome=outcome.strip() if outcome else None, level=level, side=side, window_s=window_s,
                     order_id=order_id.strip() if order_id else None, query=(query or "").strip()[:200] or None)
    try:
        w, already, now_words = await create(app_state(ctx), spec, expires_at=_parse_expiry(expires_at),
                                             cooldown_s=cooldown_s)
    except WatchRefused as exc:
        raise ToolError(f"watch refused: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="create the watch") from None
    out = CreateWatchOut(watch=watch_out(w), already_true=already, now=now_words)
    text = f"Created {watch_line(out.watch)} Now: {now_words}."
    if already:
        text += " ALREADY TRUE now: it alerts once it has turned false and then true again."
    text += f" Alerts: get_alerts, or subscribe to {out.watch.uri}."
    return tool_result(out, text)


async def list_watches(
    ctx: Context,
    include_ended: Annotated[bool, Field(description="also ended ones")] = False,
) -> Annotated[CallToolResult, WatchesOut]:
    """Your watches: last check, times fired, and "not checked since" when a venue did not answer."""
    try:
        rows = await _store_of(ctx).list(None if include_ended else ("active",))
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="list the watches") from None
    out = WatchesOut(watches=[watch_out(w) for w in rows])
    text = "\n".join(watch_line(w) for w in out.watches) or "No watches."
    return tool_result(out, text)


async def delete_watch(
    ctx: Context,
    watch_id: Annotated[str, Field(description="w- id")],
) -> Annotated[CallToolResult, WatchesOut]:
    """Stop and delete a watch (its past alerts stay readable)."""
    ws = _store_of(ctx)
    try:
        w = await ws.get(watch_id.strip())
        if w is None or w.status == "deleted":
            raise ToolError(f"watch_id {watch_id[:40]!r} is not one of your watches (list_watches shows them)")
        await ws.delete(w.id)
        w.status = "deleted"
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="delete the watch") from None
    out = WatchesOut(watches=[watch_out(w)])
    return tool_result(out, f"Deleted {w.id}: it will not alert again.")


async def get_alerts(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=200, description="at most")] = 50,
) -> Annotated[CallToolResult, AlertsOut]:
    """Alerts fired since your last get_alerts, oldest first (then marked read)."""
    ws = _store_of(ctx)
    try:
        seen = await ws.read_pointer()
        rows = await ws.alerts_after(seen, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        if rows:
            await ws.set_read_pointer(rows[-1]["seq"])
    except Exception as exc:  # noqa: BLE001 - translated for the model
        raise to_tool_error(exc, action="read the alerts") from None
    out = AlertsOut(alerts=[AlertOut(seq=r["seq"], watch_id=r["watch_id"], at=r["at"], text=r["text"],
                                     description=r["description"], value=r.get("value")) for r in rows], more=more)
    lines = [f"{a.at:%Y-%m-%d %H:%M:%S} UTC {a.watch_id}: {a.text} ({a.description})" for a in out.alerts]
    text = "\n".join(lines) or "No new alerts."
    if more:
        text += "\nMore unread alerts: call get_alerts again."
    return tool_result(out, text)


def _no_watch(watch_id: str) -> str:
    """What reading, subscribing or listening to an unknown watch id answers, and someone else's alike."""
    return f"no watch {watch_id[:40]!r}"


async def watch_resource(watch_id: str, ctx: Context) -> str:
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    ws = _store_of(ctx)
    w = await ws.get(watch_id)
    if w is None:
        raise ResourceNotFoundError(_no_watch(watch_id))
    alerts = await ws.alerts_for(w.id, 20)
    return json.dumps({"watch": watch_out(w).model_dump(mode="json"), "recent_alerts": alerts}, default=str)


# --- notifications ------------------------------------------------------------------------------------------
class AlertPublisher:
    """A sink (``state.alert_sinks``): each new alert as notifications/resources/updated for watch://<id>,
    to the legacy sessions that subscribed to it and to the 2026-07-28 subscriptions/listen streams."""

    def __init__(self, mcp: MCPServer, state: Any) -> None:
        self.bus = mcp._subscriptions  # the SDK's listen fan-out (no public accessor in mcp 2.x)
        self.state = state

    async def __call__(self, alerts: list[dict[str, Any]]) -> None:
        for uri in dict.fromkeys(URI_PREFIX + a["watch_id"] for a in alerts):
            await self.bus.publish(ResourceUpdated(uri=uri))
            for session in list(self.state.watch_subscriptions.get(uri, ())):
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # noqa: BLE001 - a closed session is dropped
                    self.state.watch_subscriptions.get(uri, set()).discard(session)


class InstallAlertSink:
    """A server middleware: the first request of the process puts this server's AlertPublisher into
    ``state.alert_sinks`` (the state exists only once the lifespan runs)."""

    def __init__(self, mcp: MCPServer) -> None:
        self.mcp = mcp

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        state = getattr(ctx, "lifespan_context", None)
        sinks = getattr(state, "alert_sinks", None)
        if sinks is not None and not any(isinstance(s, AlertPublisher) for s in sinks):
            sinks.append(AlertPublisher(self.mcp, state))
        return await call_next(ctx)


async def _refuse_unless_owned(state: Any, uri: str) -> None:
    """A watch:// URI that is not the caller's own watch (pm_mcp.principal) is refused exactly like an unknown id
    (the -32602 a resources/read of it gets), so nobody learns that another person's watch exists or when it fires."""
    from mcp.shared.exceptions import MCPError
    from mcp.types import INVALID_PARAMS

    from pm_mcp.execution.watches import WatchStore

    watch_id = uri[len(URI_PREFIX):]
    if await WatchStore(state.store).get(watch_id) is None:
        raise MCPError(code=INVALID_PARAMS, message=_no_watch(watch_id), data={"uri": uri})


async def subscribe_resource(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
    uri = str(params.uri)
    state = ctx.lifespan_context
    if uri.startswith(URI_PREFIX) and hasattr(state, "watch_subscriptions"):
        await _refuse_unless_owned(state, uri)
        state.watch_subscriptions.setdefault(uri, set()).add(ctx.session)
    return EmptyResult()


def owner_checked_listen(listen: Any) -> Any:
    """The SDK's subscriptions/listen handler (2026-07-28), with every watch:// URI of its resource subscriptions
    owner-checked first (as resources/subscribe is)."""
    async def checked(ctx: Any, params: Any) -> Any:
        wanted = params.notifications.resource_subscriptions if params.notifications is not None else None
        for uri in wanted or ():
            if str(uri).startswith(URI_PREFIX):
                await _refuse_unless_owned(ctx.lifespan_context, str(uri))
        return await listen(ctx, params)
    checked.owner_checked = True  # type: ignore[attr-defined]
    return checked


async def unsubscribe_resource(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
    state = ctx.lifespan_context
    if hasattr(state, "watch_subscriptions"):
        state.watch_subscriptions.get(str(params.uri), set()).discard(ctx.session)
    return EmptyResult()


# --- registration ----------------------------------------------------------------------------------------------
def register(mcp: MCPServer) -> None:
    mcp.tool(title=CREATE.title, annotations=CREATE)(create_watch)
    mcp.tool(title="List watches", annotations=titled(READ_LOCAL, "List watches"))(list_watches)
    mcp.tool(title=DELETE.title, annotations=DELETE)(delete_watch)
    mcp.tool(title=ALERTS.title, annotations=ALERTS)(get_alerts)
    mcp.resource("watch://{watch_id}", title="Watch", mime_type="application/json",
                 description="A watch, its status and recent alerts; subscribe for an update per alert.")(watch_resource)
    low = mcp._lowlevel_server  # resources/subscribe has no MCPServer-level API in mcp 2.x
    low.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe_resource)
    low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe_resource)
    listen = low._request_handlers.get("subscriptions/listen")
    if listen is not None and not getattr(listen.handler, "owner_checked", False):
        low.add_request_handler("subscriptions/listen", listen.params_type, owner_checked_listen(listen.handler))
    mcp.middleware.append(InstallAlertSink(mcp))
