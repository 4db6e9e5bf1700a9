"""The optional alert webhook: ``PM_MCP_WEBHOOK_URL`` gets a JSON POST per alert, signed with
``PM_MCP_WEBHOOK_SECRET`` (never logged, never returned).

Headers: ``X-PM-MCP-Timestamp: <unix seconds>`` and ``X-PM-MCP-Signature: sha256=<hex>`` where the hex is
HMAC-SHA256(secret, "<timestamp>.<body>"). A receiver recomputes it over the raw body (:func:`verify`).
Delivery runs in its own task from a bounded queue: the watch loop only enqueues (never waits); a failed
POST (network, 5xx, 429) is retried with backoff (1, 2, 4, 8, 16 s), a 4xx other than 429 is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0)
QUEUE_MAX = 1000
SIGNATURE_HEADER = "X-PM-MCP-Signature"
TIMESTAMP_HEADER = "X-PM-MCP-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookSender:
    def __init__(self, url: str, secret: str | None, *, timeout_s: float = 5.0,
                 delays: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s
        self.delays = delays
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)
        self._task: asyncio.Task | None = None
        self.sent = 0
        self.dropped = 0

    def __repr__(self) -> str:  # never the secret
        return f"WebhookSender(url={self.url!r}, signed={self._secret is not None})"

    def submit(self, alert: dict[str, Any]) -> None:
        """Enqueue without waiting; when the queue is full the oldest alert is dropped (and counted)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(alert)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while True:
                alert = await self.queue.get()
                await self._deliver(client, alert)

    async def _deliver(self, client: Any, alert: dict[str, Any]) -> None:
        body = json.dumps({"type": "pm-mcp.alert", "alert": alert}, sort_keys=True, default=str).encode("utf-8")
        for attempt, delay in enumerate((0.0, *self.delays)):
            if delay:
                await asyncio.sleep(delay)
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: ts}
            if self._secret:
                headers[SIGNATURE_HEADER] = sign(self._secret, ts, body)
            try:
                r = await client.post(self.url, content=body, headers=headers)
            except Exception as exc:  # noqa: BLE001 - network failures are retried
                log.info("webhook: attempt %d failed (%s)", attempt + 1, type(exc).__name__)
                continue
            if r.status_code < 300:
                self.sent += 1
                return
            if r.status_code != 429 and r.status_code < 500:
                log.warning("webhook: the receiver refused alert %s with HTTP %d; not retried", alert.get("seq"),
                            r.status_code)
                return
            log.info("webhook: attempt %d got HTTP %d", attempt + 1, r.status_code)
        log.warning("webhook: alert %s not delivered after %d attempts", alert.get("seq"), len(self.delays) + 1)
        self.dropped += 1

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
