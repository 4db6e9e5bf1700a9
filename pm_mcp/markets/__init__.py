"""Market data for every tool: the market service and the local catalog.

- ``service``: :class:`MarketService` (``state.markets``): resolution of anything a person
  pastes (URL, id, slug, ticker, condition id, token id), search fanned out to the enabled venues and
  merged with the catalog, books and price history through the venue adapters; the "markets" start-up
  hook that builds it;
- ``catalog``: :class:`Catalog`, the local SQLite FTS5 index of markets seen (migration "catalog").

The names below load their module on first use.
"""

from pm_mcp.lazy_exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "MarketService": "service",
    "SearchHit": "service",
    "SearchResult": "service",
    "build_adapters": "service",
    "venue_of_url": "service",
    "Catalog": "catalog",
    "CatalogFilters": "catalog",
})
