"""The loopback venue simulator framework (stdlib only: ``http.server`` in a thread).

A :class:`Sim` is one HTTP server on 127.0.0.1 (port 0 = a free port) that answers on the venue's
real paths with recorded real responses, and can inject faults. Tests use it like this::

    from tools.sim import start_sim, start_sims

    with start_sim("polymarket") as sim:          # routes from tools/sim/polymarket.py
        env = {**pm_env, **sim.env()}             # PM_MCP_POLYMARKET_GAMMA_URL=... (etc.)
        sim.inject("status", status=503, times=2) # next 2 requests fail with 503, then OK
        ...
        assert sim.count(path="/gamma/public-search") == 3

    with start_sims("polymarket", "kalshi", "manifold") as sims:   # one Sim per venue
        env = {**pm_env, **sims.env()}
        sims["kalshi"].set_latency(0.15)

Adding a venue or routes
------------------------
``start_sim("<venue>")`` imports ``tools.sim.<venue>`` and calls its ``install(sim, **options)``,
then every plugin module ``tools/sim/<venue>_*.py`` that defines ``install`` (sorted by name; e.g.
``tools/sim/polymarket_trading.py`` adds the CLOB order routes), unless ``plugins=[...]`` names the
plugins explicitly (``plugins=[]`` = none). ``install`` registers routes and the env variables::

    def install(sim: Sim, **options) -> None:
        sim.set_env(PM_MCP_KALSHI_URL="{url}/trade-api/v2")      # {url} = http://127.0.0.1:<port>
        sim.add_route("GET", "/trade-api/v2/markets/{ticker}", get_market)

    def get_market(req: SimRequest):
        m = req.sim.state["markets"].get(req.params["ticker"])
        if m is None:
            raise HttpError(404, "market not found")             # -> 404 {"error": "market not found"}
        return {"market": m}                                      # -> 200 JSON

Path patterns: ``{name}`` matches one segment, ``{name:path}`` the rest of the path. When several
routes match, the one with more literal segments wins; on a tie, the one added LAST wins (so a
plugin can override a venue route). A handler gets a :class:`SimRequest` and returns a
:class:`SimResponse`, a ``(status, json_obj)`` tuple, a ``bytes``/``str`` body, or any JSON-able
object (200). ``req.sim.state`` is a dict shared by all handlers of a sim (venue data, orders...).

Fault knobs (per test, on the Sim object or over HTTP at ``/_sim/...``)
-----------------------------------------------------------------------
``sim.set_latency(seconds)``                              added latency on every request
``sim.inject(kind, times=1, path=None, method=None, **kw)`` the next ``times`` matching requests
(``times=None``: all of them; ``path`` is a regex searched in the path) get:
  - ``"status"``     HTTP ``status`` (default 503) with JSON ``{"error": ...}``; ``retry_after=N`` adds
                     a ``Retry-After: N`` header (use ``status=429`` for rate limits)
  - ``"malformed"``  200 with a truncated JSON body
  - ``"html403"``    403 with a Cloudflare-style HTML page
  - ``"slow_body"``  the real response, its body trickled over ``seconds`` (default 3)
  - ``"delay"``      the real response after ``seconds`` extra
  - ``"drop"``       accept the request, then close the connection without answering
``sim.clear_faults()``; ``sim.log`` (list of :class:`LoggedRequest`), ``sim.count(path=, method=)``,
``sim.reset_log()``.
Control endpoint (for a sim started by hand, ``python -m tools.sim polymarket --port 8801``):
``POST /_sim/faults`` ``{"kind": "status", "status": 429, "retry_after": 1, "times": 2}``,
``POST /_sim/latency`` ``{"seconds": 0.15}``, ``DELETE /_sim/faults``, ``GET /_sim/log``.
Control requests are never faulted or logged.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[["SimRequest"], Any]

FAULT_KINDS = ("status", "malformed", "html403", "slow_body", "delay", "drop")

CLOUDFLARE_HTML = (b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Attention Required! | Cloudflare</title>"
                   b"</head><body><h1>Sorry, you have been blocked</h1><p>You are unable to access this "
                   b"website.</p><p>Cloudflare Ray ID: 8c0ffee000000000</p></body></html>")


class HttpError(Exception):
    """Raise from a handler to answer ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> SimResponse:
        return cls(status, json.dumps(obj).encode(), "application/json", headers or {})


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, str]  # first value of each parameter
    query_lists: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    params: dict[str, str]  # path parameters
    sim: Sim

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise HttpError(400, "request body is not valid JSON") from None

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float
    fault: str | None = None


@dataclass
class Fault:
    kind: str
    times: int | None = 1  # None = forever
    path: str | None = None  # regex searched in the path
    method: str | None = None
    status: int = 503
    retry_after: float | None = None
    seconds: float = 3.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    literal_segments: int
    seq: int
    handler: Handler


def _compile(pattern: str) -> tuple[re.Pattern[str], int]:
    out = ""
    literal = 0
    for seg in pattern.strip("/").split("/"):
        m = re.fullmatch(r"\{(\w+)(?::path)?\}", seg)
        if m and seg.endswith(":path}"):
            out += f"/(?P<{m.group(1)}>.+)"
        elif m:
            out += f"/(?P<{m.group(1)}>[^/]+)"
        else:
            out += "/" + re.escape(seg)
            literal += 1
    return re.compile("^" + (out or "/") + "/?$"), literal


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return  # a client gave up (timeouts in tests): not an error of the simulator
        super().handle_error(request, client_address)


class Sim:
    """One venue simulator (see the module docstring)."""

    def __init__(self, venue: str, host: str = "127.0.0.1", port: int = 0):
        self.venue = venue
        self.host = host
        self.port = port
        self.state: dict[str, Any] = {}
        self.log: list[LoggedRequest] = []
        self.latency_s = 0.0
        self._faults: list[Fault] = []
        self._routes: list[_Route] = []
        self._env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up -----------------------------------------------------------------------------
    def add_route(self, method: str, path_pattern: str, handler: Handler) -> None:
        regex, literal = _compile(path_pattern)
        with self._lock:
            self._routes.append(_Route(method.upper(), path_pattern, regex, literal, len(self._routes), handler))
            self._routes.sort(key=lambda r: (-r.literal_segments, -r.seq))

    def route(self, method: str, path_pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add_route`."""
        def deco(fn: Handler) -> Handler:
            self.add_route(method, path_pattern, fn)
            return fn
        return deco

    def set_env(self, **templates: str) -> None:
        """Declare PM_MCP_* variables; ``{url}`` in a value is replaced by this sim's base URL."""
        self._env.update(templates)

    def env(self) -> dict[str, str]:
        return {k: v.format(url=self.url) for k, v in self._env.items()}

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    # --- faults and log -------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        self.latency_s = max(0.0, float(seconds))

    def inject(self, kind: str, times: int | None = 1, path: str | None = None, method: str | None = None,
               **kw: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        fault = Fault(kind=kind, times=times, path=path, method=method, **kw)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency_s = 0.0

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests seen whose path matches the regex ``path`` (and ``method``)."""
        with self._lock:
            entries = list(self.log)
        return sum(1 for e in entries if (not method or e.method == method.upper())
                   and (not path or re.search(path, e.path)))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.matches(method, path):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._faults.remove(f)
                    return f
        return None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Sim:
        handler_cls = type("SimHandler", (_SimHandler,), {"sim": self})
        server = _Server((self.host, self.port), handler_cls)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sim-{self.venue}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sim:
        return self if self._server else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- dispatch -------------------------------------------------------------------------------
    def dispatch(self, req: SimRequest) -> SimResponse:
        allowed = False
        for r in list(self._routes):
            m = r.regex.match(req.path)
            if not m:
                continue
            if r.method != req.method:
                allowed = True
                continue
            req.params = m.groupdict()
            try:
                return _to_response(r.handler(req))
            except HttpError as exc:
                return SimResponse.json({"error": exc.message}, exc.status, exc.headers)
        if allowed:
            return SimResponse.json({"error": f"method {req.method} not allowed"}, 405)
        return SimResponse.json({"error": f"no route for {req.method} {req.path}"}, 404)

    def control(self, req: SimRequest) -> SimResponse:
        if req.path == "/_sim/faults" and req.method == "POST":
            spec = dict(req.json() or {})
            try:
                f = self.inject(spec.pop("kind"), **spec)
            except (KeyError, TypeError, ValueError) as exc:
                return SimResponse.json({"error": f"bad fault spec: {exc}"}, 400)
            return SimResponse.json({"ok": True, "fault": f.__dict__})
        if req.path == "/_sim/faults" and req.method == "DELETE":
            self.clear_faults()
            return SimResponse.json({"ok": True})
        if req.path == "/_sim/latency" and req.method == "POST":
            self.set_latency(float((req.json() or {}).get("seconds", 0)))
            return SimResponse.json({"ok": True, "latency_s": self.latency_s})
        if req.path == "/_sim/log" and req.method == "GET":
            return SimResponse.json([e.__dict__ for e in self.log])
        if req.path == "/_sim/log" and req.method == "DELETE":
            self.reset_log()
            return SimResponse.json({"ok": True})
        if req.path == "/_sim/market" and req.method == "POST":  # tools/sim/control.py: books, status, rules
            from tools.sim.control import handle

            return handle(self, req)
        return SimResponse.json({"error": "unknown control endpoint"}, 404)


def _to_response(result: Any) -> SimResponse:
    if isinstance(result, SimResponse):
        return result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        return SimResponse.json(result[1], result[0])
    if isinstance(result, bytes):
        return SimResponse(200, result)
    if isinstance(result, str):
        return SimResponse(200, result.encode())
    if result is None:
        return SimResponse(204, b"")
    return SimResponse.json(result)


class _SimHandler(BaseHTTPRequestHandler):
    sim: Sim
    protocol_version = "HTTP/1.1"
    server_version = "pm-mcp-sim/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle(self) -> None:
        sim = self.sim
        split = urlsplit(self.path)
        qs = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        req = SimRequest(method=self.command, path=split.path, query={k: v[0] for k, v in qs.items()},
                         query_lists=qs, headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                         params={}, sim=sim)
        if split.path.startswith("/_sim/"):
            self._send(sim.control(req))
            return
        if sim.latency_s:
            time.sleep(sim.latency_s)
        fault = sim._take_fault(req.method, req.path)
        kind = fault.kind if fault else None
        if kind == "drop":
            self._log(req, 0, kind)
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        if kind == "delay":
            time.sleep(fault.seconds)
        if kind == "status":
            headers = {"Retry-After": _fmt_num(fault.retry_after)} if fault.retry_after is not None else {}
            resp = SimResponse.json({"error": _reason(fault.status)}, fault.status, headers)
        elif kind == "malformed":
            resp = SimResponse(200, b'{"events": [{"id": "1", "title": "trunc')
        elif kind == "html403":
            resp = SimResponse(403, CLOUDFLARE_HTML, "text/html; charset=UTF-8")
        else:
            try:
                resp = sim.dispatch(req)
            except Exception as exc:  # noqa: BLE001 - a handler bug must be visible, not hang the test
                resp = SimResponse.json({"error": f"simulator handler crashed: {type(exc).__name__}: {exc}"}, 500)
        self._log(req, resp.status, kind)
        self._send(resp, slow_s=fault.seconds if kind == "slow_body" else 0.0)

    def _log(self, req: SimRequest, status: int, fault: str | None) -> None:
        with self.sim._lock:
            self.sim.log.append(LoggedRequest(req.method, req.path, req.query, status, time.time(), fault))

    def _send(self, resp: SimResponse, slow_s: float = 0.0) -> None:
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if slow_s > 0 and resp.body:
                chunks = 10
                step = max(1, len(resp.body) // chunks)
                for i in range(0, len(resp.body), step):
                    self.wfile.write(resp.body[i:i + step])
                    self.wfile.flush()
                    time.sleep(slow_s / chunks)
            else:
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _handle


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _reason(status: int) -> str:
    return {429: "Too Many Requests", 500: "internal error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}.get(status, f"HTTP {status}")


# --- starting simulators ------------------------------------------------------------------------
def _plugins_for(venue: str) -> list[str]:
    import tools.sim as pkg

    return sorted(f"tools.sim.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if m.name.startswith(f"{venue}_"))


def build_sim(venue: str, *, port: int = 0, host: str = "127.0.0.1", plugins: list[str] | None = None,
              **options: Any) -> Sim:
    """A Sim with the venue's routes and plugins installed, not yet started."""
    sim = Sim(venue, host=host, port=port)
    importlib.import_module(f"tools.sim.{venue}").install(sim, **options)
    for name in (_plugins_for(venue) if plugins is None else plugins):
        mod = importlib.import_module(name)
        if hasattr(mod, "install"):
            mod.install(sim, **options)
    return sim


@contextmanager
def start_sim(venue: str, *, port: int = 0, plugins: list[str] | None = None, **options: Any) -> Iterator[Sim]:
    """Start the ``venue`` simulator on 127.0.0.1 (free port); stop it on exit."""
    sim = build_sim(venue, port=port, plugins=plugins, **options).start()
    try:
        yield sim
    finally:
        sim.stop()


class SimGroup(dict):
    """Several running sims by venue name; ``env()`` merges their PM_MCP_* variables."""

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for sim in self.values():
            out.update(sim.env())
        return out


@contextmanager
def start_sims(*venues: str, **options: Any) -> Iterator[SimGroup]:
    group = SimGroup()
    try:
        for v in venues:
            group[v] = build_sim(v, **options).start()
        yield group
    finally:
        for sim in group.values():
            sim.stop()
