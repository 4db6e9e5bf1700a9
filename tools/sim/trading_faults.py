"""Fault knobs for the simulators' order endpoints, applied AFTER the venue has accepted the order.

The framework's own faults (tools/sim/base.py) act before a request is handled (the order never
lands). Trading needs the nastier cases, where the venue has the order but we never hear so:

    inject_order_fault(sim, "accept_then_drop")          # order accepted, connection closed, no answer
    inject_order_fault(sim, "accept_then_500")           # order accepted, HTTP 500 returned
    inject_order_fault(sim, "accept_then_hang", seconds=3)  # accepted, answer only after `seconds`
                                                          # (set it longer than the client's timeout)

Each fault applies to the next ``times`` order submissions of that sim (default 1). The trading
plugins call :func:`apply_after_accept` with their normal response.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tools.sim.base import Sim, SimResponse

ORDER_FAULTS = ("accept_then_drop", "accept_then_500", "accept_then_hang")
_lock = threading.Lock()


@dataclass
class OrderFault:
    kind: str
    times: int = 1
    seconds: float = 3.0


def inject_order_fault(sim: Sim, kind: str, times: int = 1, seconds: float = 3.0) -> OrderFault:
    if kind not in ORDER_FAULTS:
        raise ValueError(f"unknown order fault {kind!r}; known: {', '.join(ORDER_FAULTS)}")
    f = OrderFault(kind, times, seconds)
    with _lock:
        sim.state.setdefault("order_faults", []).append(f)
    return f


def clear_order_faults(sim: Sim) -> None:
    with _lock:
        sim.state["order_faults"] = []


def _take(sim: Sim) -> OrderFault | None:
    with _lock:
        faults = sim.state.get("order_faults") or []
        if not faults:
            return None
        f = faults[0]
        f.times -= 1
        if f.times <= 0:
            faults.pop(0)
        return f


def drop_connection() -> None:
    """Close the current request's connection without an answer (the handler object is found on the
    call stack: the framework does not hand it to route handlers)."""
    frame = sys._getframe(1)
    while frame is not None:
        handler = frame.f_locals.get("self")
        if isinstance(handler, BaseHTTPRequestHandler):
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        frame = frame.f_back
    raise RuntimeError("drop_connection() called outside a request handler")


def apply_after_accept(sim: Sim, response: Any) -> Any:
    """Call with the response of an order the venue has just accepted (state already updated)."""
    f = _take(sim)
    if f is None:
        return response
    if f.kind == "accept_then_drop":
        drop_connection()
        return SimResponse(200, b"")  # written to a closed socket; the client sees a dropped connection
    if f.kind == "accept_then_500":
        return SimResponse.json({"error": "internal error"}, 500)
    if f.kind == "accept_then_hang":
        time.sleep(f.seconds)
        return response
    return response
