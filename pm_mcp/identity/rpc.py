"""Async JSON-RPC reads for one chain: web3's AsyncHTTPProvider, tenacity retries, bounded log scans.

web3 / eth_abi are imported inside functions only. Every request goes through ``ChainReader._request``,
which counts it (``count_rpc_calls``) so lookups can report how many RPC calls they made.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pm_mcp.identity import abi

log = logging.getLogger(__name__)

LOG_CHUNK_BLOCKS = 10_000  # public RPCs commonly accept 10k-block eth_getLogs ranges; halved on refusal
MAX_LOG_CHUNKS = 20  # per query: at most 200k recent blocks are scanned (state reads stay complete)
LOG_CONCURRENCY = 4
RPC_TIMEOUT_S = 10.0
RETRY_ATTEMPTS = 3

_CALLS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("erc8004_rpc_calls", default=None)


@contextmanager
def count_rpc_calls() -> Iterator[list[int]]:
    """Count the JSON-RPC requests made inside this block (including tasks it spawns): box[0]."""
    box = [0]
    token = _CALLS.set(box)
    try:
        yield box
    finally:
        _CALLS.reset(token)


class ChainError(Exception):
    """An RPC problem a person can act on (unreachable node, wrong chain, refused request)."""


class TransientRpcError(ChainError):
    """Worth retrying: timeouts, connection errors, HTTP 429/5xx, rate limits."""


class Reverted(Exception):
    """The contract call reverted (missing agent, unknown request hash, ...)."""

    def __init__(self, message: str, data: str | None = None):
        super().__init__(message)
        self.data = data or ""


_RANGE_HINTS = ("range", "too many", "limit", "exceed", "max", "10000", "block range", "query returned more")


@dataclass
class LogScan:
    logs: list[dict[str, Any]] = field(default_factory=list)
    from_block: int = 0
    to_block: int = 0
    complete: bool = True  # False when older blocks were not scanned


def redact_url(url: str) -> str:
    """scheme://host[:port] only: RPC URLs often carry an API key in the path or query."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" + ("/…" if parts.path not in ("", "/") or parts.query else "")


class ChainReader:
    def __init__(self, chain_id: int, url: str, *, timeout: float = RPC_TIMEOUT_S):
        from pm_mcp.redaction import register_url_secrets

        self.chain_id = chain_id
        self.url = url
        register_url_secrets(url)  # whoever logs it (web3 at DEBUG, an aiohttp error), the key is redacted
        self.timeout = timeout
        self._provider: Any = None
        self._verified = False
        self._verify_lock = asyncio.Lock()

    # ---------------------------------------------------------------- transport
    def _get_provider(self) -> Any:
        if self._provider is None:
            import aiohttp
            from web3 import AsyncHTTPProvider

            # web3 logs the full endpoint URL (which may embed an API key) at INFO/DEBUG (its providers and
            # its HTTPSessionManager: "Async session cached: <url>"): all of web3 held at WARNING
            logging.getLogger("web3").setLevel(logging.WARNING)

            self._provider = AsyncHTTPProvider(
                self.url, request_kwargs={"timeout": aiohttp.ClientTimeout(total=self.timeout)},
                exception_retry_configuration=None)
        return self._provider

    async def close(self) -> None:
        if self._provider is not None:
            try:
                await self._provider.disconnect()
            except Exception:  # pragma: no cover - best effort
                pass
            self._provider = None

    async def _request_once(self, method: str, params: list[Any]) -> Any:
        import aiohttp

        box = _CALLS.get()
        if box is not None:
            box[0] += 1
        provider = self._get_provider()
        try:
            reply = await provider.make_request(method, params)
        except aiohttp.ClientResponseError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientRpcError(f"RPC for chain {self.chain_id} answered HTTP {exc.status}") from None
            raise ChainError(f"RPC for chain {self.chain_id} answered HTTP {exc.status} to {method}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise TransientRpcError(
                f"RPC for chain {self.chain_id} is unreachable ({type(exc).__name__}); "
                f"check PM_MCP_RPC_URLS") from None
        except Exception as exc:  # web3 wraps some transport errors in its own types
            name = type(exc).__name__
            if "Timeout" in name or "Connection" in name:
                raise TransientRpcError(f"RPC for chain {self.chain_id} is unreachable ({name})") from None
            raise ChainError(f"RPC for chain {self.chain_id} failed on {method}: {name}") from None
        err = reply.get("error") if isinstance(reply, dict) else None
        if err:
            msg = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            code = err.get("code") if isinstance(err, dict) else None
            if "revert" in msg.lower() or code == 3:
                data = err.get("data") if isinstance(err, dict) else None
                if isinstance(data, dict):
                    data = data.get("data")
                raise Reverted(msg, data if isinstance(data, str) else None)
            if code == 429 or "rate" in msg.lower() or code == -32005 and "limit" not in msg.lower():
                raise TransientRpcError(f"RPC for chain {self.chain_id} is rate limiting: {msg[:200]}")
            raise ChainError(f"RPC for chain {self.chain_id} refused {method}: {msg[:300]}")
        return reply.get("result")

    async def _request(self, method: str, params: list[Any]) -> Any:
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

        async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TransientRpcError), stop=stop_after_attempt(RETRY_ATTEMPTS),
                wait=wait_exponential_jitter(initial=0.2, max=2.0), reraise=True):
            with attempt:
                return await self._request_once(method, params)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------- reads
    async def verify_chain(self) -> None:
        """Once per process: the URL must serve the chain it is configured for."""
        if self._verified:
            return
        async with self._verify_lock:
            if self._verified:
                return
            got = int(await self._request("eth_chainId", []), 16)
            if got != self.chain_id:
                raise ChainError(f"PM_MCP_RPC_URLS maps chain {self.chain_id} to {redact_url(self.url)}, but that node "
                                 f"serves chain {got}; fix the entry")
            self._verified = True

    async def call(self, to: str, fn_name: str, *args: Any) -> tuple[Any, ...]:
        fn = abi.function(fn_name)
        result = await self._request("eth_call", [{"to": to, "data": fn.encode(*args)}, "latest"])
        if not result or result == "0x":
            raise Reverted(f"{fn.signature} returned no data (no such function at {to}?)")
        try:
            return fn.decode(result)
        except Exception as exc:
            raise Reverted(f"{fn.signature} returned data that does not decode ({type(exc).__name__})") from None

    async def block_number(self) -> int:
        return int(await self._request("eth_blockNumber", []), 16)

    async def get_code(self, address: str) -> str:
        return await self._request("eth_getCode", [address, "latest"]) or "0x"

    async def get_logs(self, address: str | list[str], topics: list[Any], *, latest: int,
                       from_block: int = 0, chunk: int = LOG_CHUNK_BLOCKS,
                       max_chunks: int = MAX_LOG_CHUNKS) -> LogScan:
        """eth_getLogs over [from_block, latest] in ranges of ``chunk`` blocks (halved when refused).

        Scans at most ``max_chunks`` ranges, newest first; older blocks are then reported as not
        scanned (``complete=False``)."""
        start = max(from_block, 0)
        window = chunk * max_chunks
        complete = True
        if latest - start + 1 > window:
            start = latest - window + 1
            complete = False
        ranges = [(lo, min(lo + chunk - 1, latest)) for lo in range(start, latest + 1, chunk)]
        sem = asyncio.Semaphore(LOG_CONCURRENCY)

        async def fetch(lo: int, hi: int, depth: int = 0) -> list[dict[str, Any]]:
            params = [{"address": address, "topics": topics, "fromBlock": hex(lo), "toBlock": hex(hi)}]
            try:
                async with sem:
                    return list(await self._request("eth_getLogs", params) or [])
            except ChainError as exc:
                if hi > lo and depth < 12 and any(h in str(exc).lower() for h in _RANGE_HINTS):
                    mid = (lo + hi) // 2
                    left, right = await asyncio.gather(fetch(lo, mid, depth + 1), fetch(mid + 1, hi, depth + 1))
                    return left + right
                raise

        parts = await asyncio.gather(*(fetch(lo, hi) for lo, hi in ranges))
        logs = [entry for part in parts for entry in part]
        logs.sort(key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16)))
        return LogScan(logs=logs, from_block=start, to_block=latest, complete=complete)
