"""Market data for every tool: the market service and the local catalog.

- ``service``: :class:`MarketService` (``state.markets``): resolution of anything a person
  pastes (URL, id, slug, ticker, condition id, token id), search fanned out to the enabled venues and
  merged with the catalog, books and price history through the venue adapters; the "markets" start-up
  hook that builds it;
- ``catalog``: :class:`Catalog`, the local SQLite FTS5 index of markets seen (migration "catalog").

The names below load their module on first use.
"""

import importlib as _importlib

_EXPORTS = {
    "MarketService": "service",
    "SearchHit": "service",
    "SearchResult": "service",
    "build_adapters": "service",
    "venue_of_url": "service",
    "Catalog": "catalog",
    "CatalogFilters": "catalog",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    home = _EXPORTS.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_importlib.import_module(f"{__name__}.{home}"), name)
