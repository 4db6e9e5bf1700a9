"""Kalshi: market data (trade API v2), RSA-PSS request signing, the live broker, and its setup
(credentials from settings, the broker factory, the live ``doctor`` checks).

- ``client``: :class:`KalshiAdapter`, the read-only data adapter (the :class:`~pm_mcp.venues.base.VenueAdapter` protocol);
- ``parse``: pure parsing of Kalshi payloads (cents and dollars, tickers) into the domain models;
- ``signing``: the RSA key and the signed request headers;
- ``broker``: :class:`KalshiBroker`, the live broker (the :class:`~pm_mcp.venues.base.Broker` protocol);
- ``setup``: ``make_broker(state)``, ``live_checks(state)``, ``credential_checks(settings)``, ``kalshi_base_url``.

The names below load their module on first use (the server starts without importing a venue).
"""

from pm_mcp.venues.registry import package_exports

__all__, __getattr__ = package_exports(__name__, {"kalshi_base_url": "setup"})
