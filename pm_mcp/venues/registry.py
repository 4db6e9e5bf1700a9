"""The one place that lists the venues: name -> package, data adapter, broker, setup.

    entry = VENUES["kalshi"]                     # a VenueEntry; iterate VENUES for every venue, in order
    cls = entry.adapter()                        # KalshiAdapter (imports the venue package on first use)
    broker = make_live_broker("kalshi", state)   # its setup.make_broker(state): credentials from settings
    checks = await live_checks(state)            # the live doctor checks of every enabled venue
    venue_of_host("manifold.markets")            # "manifold": whose web page a pasted URL is

Each venue is a package (``pm_mcp/venues/<name>/``) of the same shape: ``client`` (the data adapter),
``parse``, ``signing`` (where the venue signs), ``broker`` (live orders) and ``setup`` (``make_broker``,
``live_checks``, ``credential_checks``). This module names them by string and imports nothing of
theirs: the server starts without loading a venue, and code outside a venue package asks this
registry instead of branching on a venue's name.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pm_mcp.lazy_exports import lazy_exports
from pm_mcp.venues.base import LiveSetupError, doctor_check


@dataclass(frozen=True, slots=True)
class VenueEntry:
    name: str
    package: str  # "pm_mcp.venues.<name>"
    adapter_class: str  # the data adapter the package exports
    broker_class: str  # the live broker the package exports
    data_url_setting: str  # the Settings field with the adapter's base URL
    web_hosts: tuple[str, ...]  # hosts of the venue's web pages (a pasted URL names its venue)
    own_refs: re.Pattern[str] | None = None  # references only this venue uses (tried first when pasted bare)
    display_name: str = ""  # how the person reads the venue's name ("Kalshi"); the name when empty

    def load(self) -> ModuleType:
        return importlib.import_module(self.package)

    def adapter(self) -> type:
        return getattr(self.load(), self.adapter_class)

    def broker(self) -> type:
        return getattr(self.load(), self.broker_class)

    def setup(self) -> ModuleType:
        return importlib.import_module(f"{self.package}.setup")


VENUES: dict[str, VenueEntry] = {v.name: v for v in (
    VenueEntry("polymarket", "pm_mcp.venues.polymarket", "PolymarketAdapter", "PolymarketBroker",
               "polymarket_gamma_url", ("polymarket.com", "www.polymarket.com"),
               re.compile(r"^0x[0-9a-fA-F]{64}$|^\d{20,80}$"), "Polymarket"),  # condition id, CLOB token id
    VenueEntry("kalshi", "pm_mcp.venues.kalshi", "KalshiAdapter", "KalshiBroker",
               "kalshi_url", ("kalshi.com", "www.kalshi.com", "demo.kalshi.co"),
               re.compile(r"^KX[A-Z0-9]+(-[A-Z0-9.]+)*$|^[A-Z0-9]+-[A-Z0-9.]+(-[A-Z0-9.]+)*$"), "Kalshi"),  # tickers
    VenueEntry("manifold", "pm_mcp.venues.manifold", "ManifoldAdapter", "ManifoldBroker",
               "manifold_url", ("manifold.markets", "www.manifold.markets"), None, "Manifold"),
)}

_HOSTS = {host: v.name for v in VENUES.values() for host in v.web_hosts}


def display_name(venue: str | None) -> str:
    """The venue's name as a person reads it ("Kalshi"); an unknown name is returned as it is."""
    if not venue:
        return ""
    entry = VENUES.get(venue.lower())
    return (entry.display_name or entry.name) if entry is not None else venue


def package_exports(package: str, extra: dict[str, str] | None = None) -> tuple[list[str], Any]:
    """``(__all__, __getattr__)`` of a venue package (``package`` is its ``__name__``): the data adapter and
    the live broker its entry names, the three setup functions and ``extra`` (name -> module), each loaded
    on first use."""
    entry = next(v for v in VENUES.values() if v.package == package)
    return lazy_exports(package, {entry.adapter_class: "client", entry.broker_class: "broker", "make_broker": "setup",
                                  "live_checks": "setup", "credential_checks": "setup", **(extra or {})})


def venue_of_host(host: str) -> str | None:
    return _HOSTS.get(host.lower())


def make_live_broker(venue: str, state: Any):
    """The live broker for ``venue`` with credentials from settings. Raises LiveSetupError (a sentence
    naming the missing setting) when the venue cannot trade live."""
    entry = VENUES.get(venue.lower())
    if entry is None:
        raise LiveSetupError(f"unknown venue {venue.lower()!r}; live trading supports polymarket, kalshi and "
                             "manifold")
    return entry.setup().make_broker(state)


async def live_checks(state: Any) -> list[dict[str, str]]:
    """Why would a live order fail? One entry per check: status pass | fail | could_not_check."""
    s = state.settings
    out: list[dict[str, str]] = []
    if s.mode == "live":
        out.append(doctor_check("mode", "pass", "PM_MCP_MODE=live: confirmed orders go to the venues."))
    else:
        out.append(doctor_check("mode", "pass", "paper mode: orders fill against live books, nothing is sent.",
                                "Set PM_MCP_MODE=live (and credentials) to trade for real."))
    enabled = s.enabled_venues
    for entry in VENUES.values():
        if entry.name in enabled:
            out.extend(await entry.setup().live_checks(state))
    return out


def credential_checks(settings: Any) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing, advice) for every venue's live credentials (offline; never a secret)."""
    out: list[tuple[str, str, str]] = []
    for entry in VENUES.values():
        out.extend(entry.setup().credential_checks(settings))
    return out


__all__ = ["VenueEntry", "VENUES", "display_name", "package_exports", "venue_of_host", "make_live_broker", "live_checks", "credential_checks"]
