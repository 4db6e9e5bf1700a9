"""Manifold: market data (API v0), the CPMM maths, the live (mana) broker, and its setup (the API key
from settings, the broker factory, the live ``doctor`` checks). Manifold signs nothing: no ``signing``.

- ``client``: :class:`ManifoldAdapter`, the read-only data adapter (the :class:`~pm_mcp.venues.base.VenueAdapter` protocol);
- ``parse``: pure parsing of Manifold payloads and the CPMM pool maths;
- ``broker``: :class:`ManifoldBroker`, the live broker (the :class:`~pm_mcp.venues.base.Broker` protocol);
- ``setup``: ``make_broker(state)``, ``live_checks(state)``, ``credential_checks(settings)``.

The names below load their module on first use (the server starts without importing a venue).
"""

from pm_mcp.venues.registry import package_exports

__all__, __getattr__ = package_exports(__name__)
