"""Curated package exports that load their module on first use (the server starts without importing a
venue or the market service)::

    __all__, __getattr__ = lazy_exports(__name__, {"KalshiAdapter": "client", "make_broker": "setup"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``: each name in ``exports`` comes from ``package.<module>``."""

    def __getattr__(name: str) -> Any:
        home = exports.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home}"), name)

    return list(exports), __getattr__
