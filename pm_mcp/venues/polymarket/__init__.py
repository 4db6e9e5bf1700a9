"""Polymarket: market data (Gamma, CLOB, Data API), order signing (EIP-712, V2), the live broker, and its
setup (credentials from settings, the broker factory, the live ``doctor`` checks).

- ``client``: :class:`PolymarketAdapter`, the read-only data adapter (the :class:`~pm_mcp.venues.base.VenueAdapter` protocol);
- ``parse``: pure parsing of Gamma / CLOB payloads into the domain models;
- ``signing``: pure order building and EIP-712 / HMAC signing;
- ``broker``: :class:`PolymarketBroker`, the live CLOB broker (the :class:`~pm_mcp.venues.base.Broker` protocol);
- ``fees``: its fee schedule (the generic formula of pm_mcp.domain.fees with its rates and rounding),
  and the defaults of a what-if without a market (``what_if_terms``, ``fee_words``, ``SIZE_STEP``);
- ``setup``: ``make_broker(state)``, ``live_checks(state)``, ``credential_checks(settings)``.

The names below load their module on first use (the server starts without importing a venue).
"""

from pm_mcp.lazy_exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "PolymarketAdapter": "client",
    "PolymarketBroker": "broker",
    "make_broker": "setup",
    "live_checks": "setup",
    "credential_checks": "setup",
    "polymarket_schedule": "fees",
    "polymarket_fee": "fees",
    "what_if_terms": "fees",
    "fee_words": "fees",
    "SIZE_STEP": "fees",
    "TAKES_FEE_RATE": "fees",
})
