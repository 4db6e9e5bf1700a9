"""Loopback venue simulators for tests, benchmarks and manual runs (never shipped in the package).

    from tools.sim import start_sim, start_sims, Sim, SimRequest, SimResponse, HttpError

    with start_sim("polymarket") as sim:      # sim.url, sim.env(), sim.inject(...), sim.count(...)
        ...

By hand: ``python -m tools.sim polymarket --port 8801`` (prints the PM_MCP_* variables to export).
The framework, its fault knobs and how to add routes/venues/plugins: see :mod:`tools.sim.base`.
Venue modules: ``tools/sim/<venue>.py`` with ``install(sim, **options)``; plugins
``tools/sim/<venue>_*.py`` (e.g. ``polymarket_trading.py``) are installed automatically after it.
Large synthetic catalogs for benchmarks: :mod:`tools.sim.synthetic`.
"""

from tools.sim.base import (
                            FAULT_KINDS,
                            Fault,
                            HttpError,
                            LoggedRequest,
                            Sim,
                            SimGroup,
                            SimRequest,
                            SimResponse,
                            build_sim,
                            start_sim,
                            start_sims,
)

__all__ = ["FAULT_KINDS", "Fault", "HttpError", "LoggedRequest", "Sim", "SimGroup", "SimRequest", "SimResponse",
           "build_sim", "start_sim", "start_sims"]
