"""What every tool module shares: the one state accessor, the one translator from our exceptions to a
``ToolError``, and the annotation presets.

    state = app_state(ctx)                 # the typed AppState of this server
    markets = markets_of(ctx)              # the market service, or a ToolError saying it is not running
    engine = engine_of_ctx(ctx)            # the execution engine, likewise
    raise to_tool_error(exc)               # any failure, as a sentence the person can act on
    @mcp.tool(annotations=titled(READ_OPEN, "Get a market"))

A tool is a module-level function (importable and testable on its own); each surface module's
``register(mcp)`` only hands its functions to the server with their names and annotations.
"""

# No `from __future__ import annotations`: see pm_mcp.surface.render.

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from pm_mcp.surface.render import bound_text, user_error
from pm_mcp.venues.registry import VENUES

if TYPE_CHECKING:
    from pm_mcp.app import AppState
    from pm_mcp.domain.models import Market
    from pm_mcp.execution.engine import ExecutionEngine
    from pm_mcp.markets.service import MarketService

__all__ = ["VenueArg", "grouped", "split_venue", "app_state", "markets_of", "engine_of_ctx", "to_tool_error", "titled", "READ_OPEN", "READ_LOCAL",
           "MarketRef"]

# A venue argument: the registry's venues, in its order (one enum in every tool's schema)
VenueArg = Literal[tuple(VENUES)]  # type: ignore[valid-type]


class MarketRef(BaseModel):
    # the market an answer is about, as the rules and reading tools name it (no docstring: it would become the
    # output schemas' description)
    venue: str
    id: str
    title: str
    url: str | None = None

    @classmethod
    def of(cls, m: "Market") -> "MarketRef":
        """The reference to ``m``: each field is the market's field of the same name."""
        return cls(**{name: getattr(m, name) for name in cls.model_fields})


# Reads venue data (the open world), changes nothing, the same answer for the same call.
READ_OPEN = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# Pure computation or our own store: changes nothing, reaches no venue.
READ_LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                             open_world_hint=False)


def grouped(group: Any, group_name: str, **legacy: Any) -> SimpleNamespace:
    """The fields of a grouped object argument (``what_if``, ``filters``, ...), each filled from its old top-level
    name when the object leaves it out: the old names are a contract and keep working, they are just no longer
    advertised (surface.schema.LEGACY). The same field given both ways with different values is refused."""
    values: dict[str, Any] = {}
    for name, old in legacy.items():
        new = getattr(group, name, None) if group is not None else None
        if new is not None and old is not None and new != old:
            raise ToolError(f"argument '{name}' is given twice, at the top level and in '{group_name}', with "
                            f"different values; give it once, in '{group_name}'")
        values[name] = new if new is not None else old
    return SimpleNamespace(**values)


def split_venue(market: str | None, venue: str | None, arg: str = "market") -> tuple[str | None, str | None]:
    """A market reference that names its venue, ``kalshi:KXFED-26SEP`` or ``polymarket:559652``, split into the
    bare reference and the venue (any other reference, a URL included, is returned as given). A venue also given
    as an argument must be the same one."""
    if market is None:
        return None, venue
    ref = market.strip()
    head, colon, rest = ref.partition(":")
    if not colon or head.lower() not in VENUES or not rest.strip() or rest.startswith("//"):
        return ref, venue
    named = head.lower()
    if venue is not None and venue != named:
        raise ToolError(f"argument '{arg}' names the venue {named} but venue is {venue}; give one venue")
    return rest.strip(), named


def titled(preset: ToolAnnotations, title: str) -> ToolAnnotations:
    """``preset`` with a title (the presets themselves are never changed)."""
    return preset.model_copy(update={"title": title})


def app_state(ctx: Context) -> "AppState":
    return ctx.request_context.lifespan_context


def markets_of(ctx: Context) -> "MarketService":
    try:
        return app_state(ctx).require_markets()
    except (RuntimeError, KeyError, AttributeError):
        raise ToolError("market data is not running in this server (startup failed; see the server log)") from None


def engine_of_ctx(ctx: Context) -> "ExecutionEngine":
    try:
        return app_state(ctx).require_execution()
    except (RuntimeError, AttributeError):
        raise ToolError("order execution is not running in this server (startup failed; see the server log)") from None


def to_tool_error(exc: BaseException, *, action: str = "complete this call",
                  after: str = "nothing was changed") -> ToolError:
    """The one translator. A ToolError passes; a venue's refusal is one sentence led by the venue's display
    name ("Kalshi: market not found"); an execution refusal is its sentence; everything else goes through
    ``user_error`` (arguments named, numbers out of range, a busy database, internals only in the log)."""
    from pm_mcp.execution.engine import ExecutionError
    from pm_mcp.venues.base import VenueError
    from pm_mcp.venues.registry import display_name

    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, VenueError):
        text = str(exc)
        name = display_name(exc.venue)
        if text.startswith(f"{exc.venue}: "):
            text = text[len(exc.venue) + 2:]
        if not text.startswith(name):
            text = f"{name}: {text}"
        return ToolError(bound_text(text))
    if isinstance(exc, ExecutionError):
        return ToolError(bound_text(str(exc)))
    if not isinstance(exc, Exception):
        raise exc
    return user_error(exc, action=action, after=after)
