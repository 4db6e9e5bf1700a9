"""Shared HTTP for every venue adapter: one ``httpx.AsyncClient`` per venue, timeouts, safe retries,
and venue failures translated into the :mod:`pm_mcp.venues.base` error hierarchy.

How to use it
-------------
In the server, a startup hook (registered below, order 10) puts an :class:`HttpPool` into
``state.http``; it is closed on shutdown. Adapters get a :class:`VenueHttp` from it::

    pool: HttpPool = state.http
    http = pool.for_venue(entry.name, base_url)                   # one AsyncClient per venue (registry) name
    clob = http.at(other_base_url)                                # same client, another base URL

    data = await http.get_json("/markets", params={"limit": 100})   # GET: retried when safe
    body = await clob.request_json("POST", "/order", json=payload)  # POST: never retried

Outside the server (tests, benchmarks) build one directly: ``VenueHttp(entry.name, base_url)``
(it owns its client then; ``await http.aclose()`` or ``async with VenueHttp(...) as http``).

What it does for you
--------------------
- Timeouts: ``timeout_s`` per attempt (connect capped at 5 s) AND a total deadline per attempt, so a
  server that trickles its body slowly cannot hang a call.
- Retries (tenacity, jittered exponential backoff) only for idempotent methods (GET/HEAD/OPTIONS by
  default, or ``retry=True``): on connect errors, timeouts, 429 (``Retry-After`` honoured when
  present, capped at ``max_retry_after_s``) and 5xx. ``retry=False`` (and every POST/DELETE unless
  you pass ``retry=True``) makes exactly one attempt.
- Errors (every message is a sentence a person can act on, never a secret):
    * 404                                    -> ``NotFound``
    * an HTML page instead of JSON (Cloudflare challenge, geoblock page), any status -> ``Blocked``
    * body that is not valid JSON            -> ``VenueError`` ("returned malformed JSON ...")
    * 429 / 5xx / network after the retries  -> ``VenueUnavailable`` (``retryable=True``)
    * other 4xx                              -> ``VenueError`` with the venue's own error text
      (``{"error": ...}``, ``{"message": ...}``, ``{"detail": ...}``), ``status`` set
    * non-idempotent request that may have reached the venue (timeout after sending, connection
      dropped mid-response) -> ``UnknownOrderState``: look the order up before resubmitting.
      A connect error on a non-idempotent request -> ``VenueUnavailable`` (it never left).
- ``expect=(400, 409)`` lets a caller map extra statuses itself: those responses come back instead
  of an exception (``request()`` returns the ``httpx.Response``; ``request_json`` its JSON).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

# httpx and tenacity are imported where they are used (first request / first client), not here: this
# module is imported while the server starts (it registers the "http" start-up hook) and the MCP
# handshake should not pay for them.
from pm_mcp.metrics import PROCESS_METRICS
from pm_mcp.venues.base import Blocked, NotFound, UnknownOrderState, VenueError, VenueUnavailable
from pm_mcp.venues.registry import display_name

if TYPE_CHECKING:
    import httpx
    from tenacity import RetryCallState


if TYPE_CHECKING:
    from pm_mcp.app import AppState  # annotations only: pm_mcp.app starts this component

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_AGENT = "pm-mcp (+https://github.com/pm-mcp)"


class _Retryable(Exception):
    """Internal: a failed attempt worth repeating (carries the error to raise when retries run out)."""

    def __init__(self, error: VenueError, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def looks_like_html(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "").lower()
    if "text/html" in ctype:
        return True
    head = resp.content[:256].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def _error_text(resp: httpx.Response) -> str:
    """The venue's own error message from a JSON error body, else a short excerpt of the body."""
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip().replace("\n", " ")
        return text[:200] if text else f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "msg", "errorMsg"):
            val = body.get(key)
            if isinstance(val, str) and val:
                return val
            if isinstance(val, dict):
                inner = val.get("message") or val.get("details") or val.get("code")
                if isinstance(inner, str) and inner:
                    return inner
    return json.dumps(body)[:200]


class VenueHttp:
    """HTTP for one venue (one base URL); see the module docstring."""

    def __init__(self, venue: str, base_url: str, *, timeout_s: float = 10.0, attempts: int = 4,
                 backoff_s: float = 0.2, backoff_max_s: float = 3.0, max_retry_after_s: float = 10.0,
                 client: httpx.AsyncClient | None = None, headers: Mapping[str, str] | None = None):
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._owns_client = client is None
        self.client = client or make_client(timeout_s, headers)

    # --- construction helpers -------------------------------------------------------------
    def at(self, base_url: str) -> VenueHttp:
        """The same client and retry policy at another base URL (Polymarket: Gamma, CLOB, Data API)."""
        return VenueHttp(self.venue, base_url, timeout_s=self.timeout_s, attempts=self.attempts,
                         backoff_s=self.backoff_s, backoff_max_s=self.backoff_max_s,
                         max_retry_after_s=self.max_retry_after_s, client=self.client)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> VenueHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # --- public API ---------------------------------------------------------------------------
    async def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                       headers: Mapping[str, str] | None = None, retry: bool | None = None) -> Any:
        return await self.request_json("GET", path, params=params, headers=headers, retry=retry)

    async def request_json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                           json: Any = None, content: bytes | str | None = None,
                           headers: Mapping[str, str] | None = None, retry: bool | None = None,
                           expect: Iterable[int] = ()) -> Any:
        """Send a request and return the decoded JSON body (``None`` for an empty 2xx body)."""
        resp = await self.request(method, path, params=params, json=json,
                                  content=content, headers=headers, retry=retry, expect=expect)
        return self.decode_json(resp)

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, content: bytes | str | None = None,
                      headers: Mapping[str, str] | None = None, retry: bool | None = None,
                      expect: Iterable[int] = ()) -> httpx.Response:
        """Send a request; return the checked ``httpx.Response`` (2xx, or a status listed in ``expect``)."""
        method = method.upper()
        # `repeatable`: may we send it again? (GET-like methods by default; a caller with an idempotency
        # key the venue honours may say retry=True for a POST). A non-repeatable request that may have
        # reached the venue ends in UnknownOrderState instead of VenueUnavailable.
        repeatable = method in IDEMPOTENT_METHODS or bool(retry)
        do_retry = repeatable if retry is None else retry
        expect_set = frozenset(expect)
        url = self.url(path)
        clean_params = _clean_params(params)

        async def attempt() -> httpx.Response:
            try:
                return await self._attempt(method, url, clean_params, json, content, headers, repeatable, expect_set)
            except _Retryable as exc:  # every failed attempt is counted for /metrics (pm_mcp.metrics)
                PROCESS_METRICS.venue_error(self.venue, type(exc.error).__name__)
                raise
            except VenueError as exc:
                PROCESS_METRICS.venue_error(self.venue, type(exc).__name__)
                raise

        if not do_retry or self.attempts == 1:
            try:
                return await attempt()
            except _Retryable as exc:
                raise exc.error from None

        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts), wait=self._wait,
                                 retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                                 reraise=True, before_sleep=self._log_retry)
        try:
            async for att in retrying:
                with att:
                    return await attempt()
        except _Retryable as exc:
            err = exc.error
            raise type(err)(err.venue, err.message + f" (gave up after {self.attempts} attempts)",
                            status=err.status, retryable=True) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def decode_json(self, resp: httpx.Response) -> Any:
        if not resp.content.strip():
            return None
        if looks_like_html(resp):
            raise self._blocked(resp)
        try:
            return resp.json()
        except ValueError:
            excerpt = resp.text[:80].replace("\n", " ")
            raise VenueError(self.venue, f"{display_name(self.venue)} returned malformed JSON from "
                             f"{resp.request.url.path} (starts with {excerpt!r}); the venue may be having "
                             "problems, try again shortly.", status=resp.status_code, retryable=True) from None

    # --- internals ------------------------------------------------------------------------------
    async def _attempt(self, method: str, url: str, params: dict[str, Any] | None, json_body: Any,
                       content: bytes | str | None, headers: Mapping[str, str] | None, idempotent: bool,
                       expect: frozenset[int]) -> httpx.Response:
        import httpx

        name = display_name(self.venue)
        try:
            async with asyncio.timeout(self.timeout_s * 1.5):
                resp = await self.client.request(method, url, params=params, json=json_body, content=content,
                                                 headers=headers)
                await resp.aread()
        except httpx.ConnectError as exc:
            err = VenueUnavailable(self.venue, f"cannot connect to {name} at {_host(url)} ({_short(exc)}); "
                                   "check the network or the PM_MCP_*_URL setting.", retryable=True)
            raise _Retryable(err) from None
        except (httpx.TimeoutException, TimeoutError) as exc:
            if not idempotent and not isinstance(exc, httpx.ConnectTimeout):
                raise UnknownOrderState(self.venue, f"{name} did not answer {method} {_path(url)} within "
                                        f"{self.timeout_s:g}s; the request may have been processed. Look it "
                                        "up before trying again.") from None
            err = VenueUnavailable(self.venue, f"{name} did not answer within {self.timeout_s:g}s "
                                   f"({method} {_path(url)}).", retryable=True)
            raise _Retryable(err) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if not idempotent:
                raise UnknownOrderState(self.venue, f"{name} dropped the connection during {method} "
                                        f"{_path(url)} ({_short(exc)}); the request may have been processed. "
                                        "Look it up before trying again.") from None
            err = VenueUnavailable(self.venue, f"{name} dropped the connection ({_short(exc)}).", retryable=True)
            raise _Retryable(err) from None

        status = resp.status_code
        if status in expect:
            return resp
        if looks_like_html(resp) and (status >= 400 or method in IDEMPOTENT_METHODS):
            raise self._blocked(resp)
        if 200 <= status < 300:
            return resp
        if status == 404:
            raise NotFound(self.venue, f"{name} has no such resource ({_path(url)}): "
                           f"{_error_text(resp)}", status=404)
        if status == 429:
            ra = parse_retry_after(resp.headers.get("retry-after"))
            err = VenueUnavailable(self.venue, f"{name} is rate-limiting us (HTTP 429); wait a little and "
                                   "try again.", status=429, retryable=True)
            raise _Retryable(err, retry_after=ra)
        if status >= 500:
            err = VenueUnavailable(self.venue, f"{name} had a server error (HTTP {status}: {_error_text(resp)}); "
                                   "try again shortly.", status=status, retryable=True)
            raise _Retryable(err, retry_after=parse_retry_after(resp.headers.get("retry-after")))
        raise VenueError(self.venue, f"{name} refused the request (HTTP {status}): {_error_text(resp)}",
                         status=status)

    def _blocked(self, resp: httpx.Response) -> Blocked:
        name = display_name(self.venue)
        return Blocked(self.venue, f"{name} answered with an HTML page instead of data (HTTP {resp.status_code}): "
                       "access is blocked from this network (Cloudflare challenge or geoblock). Reads may work "
                       "from another network; trading from a blocked region is not possible.",
                       status=resp.status_code)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after_s)
        # "equal jitter": uniform(cap / 2, cap), cap = min(max, base * 2 ** (n - 1))
        cap = min(self.backoff_max_s, self.backoff_s * (2 ** (state.attempt_number - 1)))
        return random.uniform(cap / 2, cap)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("%s: retrying after attempt %d: %s", self.venue, state.attempt_number, exc)


class HttpPool:
    """One AsyncClient per venue for the whole process (``state.http``)."""

    def __init__(self, timeout_s: float = 10.0, **policy: Any):
        self.timeout_s = timeout_s
        self.policy = policy
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, venue: str) -> httpx.AsyncClient:
        if venue not in self._clients:
            self._clients[venue] = make_client(self.timeout_s)
        return self._clients[venue]

    def for_venue(self, venue: str, base_url: str, *, attempts: int | None = None) -> VenueHttp:
        policy = dict(self.policy)
        if attempts is not None:
            policy["attempts"] = attempts
        return VenueHttp(venue, base_url, timeout_s=self.timeout_s, client=self.client(venue), **policy)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for c in clients.values():
            await c.aclose()


_SSL_CONTEXT: Any = None


def _ssl_context() -> Any:
    """One verifying SSL context (certifi or SSL_CERT_FILE/SSL_CERT_DIR, as httpx would build it) shared by
    every client: building one loads the CA bundle, ~40 ms each, which the first tool call waited for
    once per venue."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        import httpx

        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


def make_client(timeout_s: float, headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
    import httpx

    timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=True, verify=_ssl_context(),
                             headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})})


async def start_http(state: AppState, stack: AsyncExitStack) -> None:
    """The shared pool for this process (``state.http``), closed on shutdown."""
    pool = HttpPool(timeout_s=state.settings.http_timeout_s)
    state.http = pool
    stack.push_async_callback(pool.aclose)


def venue_http(state: AppState, venue: str, base_url: str) -> VenueHttp:
    """The venue's client from the shared pool (``state.http``), or a new one outside the server."""
    pool = getattr(state, "http", None)
    if isinstance(pool, HttpPool):
        return pool.for_venue(venue, base_url)
    return VenueHttp(venue, base_url, timeout_s=state.settings.http_timeout_s)


# --- small helpers ------------------------------------------------------------------------------
def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            out[k] = [str(x) for x in v]
        else:
            out[k] = str(v)
    return out


def _host(url: str) -> str:
    import httpx

    try:
        u = httpx.URL(url)
        return f"{u.host}:{u.port}" if u.port else u.host
    except Exception:  # noqa: BLE001 - only for a message
        return url


def _path(url: str) -> str:
    import httpx

    try:
        return httpx.URL(url).path
    except Exception:  # noqa: BLE001
        return url


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:120]

