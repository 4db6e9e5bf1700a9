"""What `pm-mcp serve --http` reports at ``/metrics``, in the Prometheus text exposition format (version 0.0.4),
written here: the format is a few lines of text and needs no client library.

This process counts, in :data:`PROCESS_METRICS` (one per process, filled as requests run):

- ``pm_mcp_requests_total{method}``: MCP requests by JSON-RPC method;
- ``pm_mcp_tool_calls_total{tool,outcome}``: tool calls, outcome ``ok`` / ``error`` (an error answer) /
  ``input_required`` (the first round of a dialog, 2026-07-28) / ``exception`` (no answer at all);
- ``pm_mcp_tool_call_seconds{tool}``: a histogram of tool call latency, in seconds, inside this process;
- ``pm_mcp_venue_errors_total{venue,kind}``: failed venue HTTP attempts (each retried attempt counts) by the
  error's kind (``VenueUnavailable``, ``NotFound``, ``Blocked``, ``UnknownOrderState``, ``VenueError``).

At each scrape pm_mcp.http_serve adds gauges read from the store (``pm_mcp_orders{state}``,
``pm_mcp_intents{status}``: the same on every replica sharing one database) and the process's resident memory.
Label values are bounded: a tool name that is not a plain identifier, or one past the first
:data:`MAX_TOOL_LABELS`, is counted as ``other``. This module imports nothing of ours (the venue HTTP layer
reports into it).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_TOOL_LABELS = 100
_PLAIN = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_label(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _number(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


class Histogram:
    """Cumulative buckets (``le``), the sum and the count, as Prometheus reads them."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.n += 1
        self.total += value
        for i, upper in enumerate(self.buckets):
            if value <= upper:
                self.counts[i] += 1

    def lines(self, name: str, names: tuple[str, ...], values: tuple[str, ...]) -> list[str]:
        out = []
        for upper, count in zip(self.buckets, self.counts, strict=True):
            out.append(f"{name}_bucket{_labels((*names, 'le'), (*values, _number(upper)))} {count}")
        out.append(f"{name}_bucket{_labels((*names, 'le'), (*values, '+Inf'))} {self.n}")
        out.append(f"{name}_sum{_labels(names, values)} {_number(self.total)}")
        out.append(f"{name}_count{_labels(names, values)} {self.n}")
        return out


def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[tuple[str, ...], tuple[str, ...], float]]
           ) -> list[str]:
    """The lines of one counter or gauge family: HELP, TYPE, then ``name{labels} value`` per sample."""
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f"{name}{_labels(names, values)} {_number(value)}" for names, values, value in samples]
    return out


class Metrics:
    """The counters of one process (see the module docstring)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: dict[str, int] = {}
        self.tool_calls: dict[tuple[str, str], int] = {}
        self.tool_seconds: dict[str, Histogram] = {}
        self.venue_errors: dict[tuple[str, str], int] = {}

    def _tool_label(self, tool: str) -> str:
        if not _PLAIN.match(tool):
            return "other"
        if tool not in self.tool_seconds and len(self.tool_seconds) >= MAX_TOOL_LABELS:
            return "other"
        return tool

    def request(self, method: str) -> None:
        key = method if _PLAIN.match(method) else "other"
        if key not in self.requests and len(self.requests) >= MAX_TOOL_LABELS:
            key = "other"
        self.requests[key] = self.requests.get(key, 0) + 1

    def tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        tool = self._tool_label(tool)
        self.tool_calls[(tool, outcome)] = self.tool_calls.get((tool, outcome), 0) + 1
        self.tool_seconds.setdefault(tool, Histogram()).observe(seconds)

    def venue_error(self, venue: str, kind: str) -> None:
        key = (venue if _PLAIN.match(venue) else "other", kind if _PLAIN.match(kind) else "other")
        self.venue_errors[key] = self.venue_errors.get(key, 0) + 1

    def render(self, extra: Iterable[str] = ()) -> str:
        """The whole exposition: this process's counters, then ``extra`` lines (already formatted families)."""
        out = family("pm_mcp_requests_total", "counter", "MCP requests served by this process, by JSON-RPC method.",
                     ((("method",), (m,), n) for m, n in sorted(self.requests.items())))
        out += family("pm_mcp_tool_calls_total", "counter",
                      "Tool calls served by this process, by tool and outcome (ok, error, input_required, exception).",
                      ((("tool", "outcome"), k, n) for k, n in sorted(self.tool_calls.items())))
        out += ["# HELP pm_mcp_tool_call_seconds Tool call latency inside this process, in seconds.",
                "# TYPE pm_mcp_tool_call_seconds histogram"]
        for tool, hist in sorted(self.tool_seconds.items()):
            out += hist.lines("pm_mcp_tool_call_seconds", ("tool",), (tool,))
        out += family("pm_mcp_venue_errors_total", "counter",
                      "Failed venue HTTP attempts made by this process (each retried attempt counts), by venue and kind.",
                      ((("venue", "kind"), k, n) for k, n in sorted(self.venue_errors.items())))
        out += family("pm_mcp_process_start_time_seconds", "gauge", "When this process started (Unix time).",
                      [((), (), round(self.started, 3))])
        rss = resident_bytes()
        if rss is not None:
            out += family("pm_mcp_process_resident_memory_bytes", "gauge", "Resident memory of this process.",
                          [((), (), rss)])
        out += list(extra)
        return "\n".join(out) + "\n"


def resident_bytes() -> int | None:
    """This process's resident set size (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def tool_metrics_middleware(metrics: Metrics):
    """An MCPServer middleware counting every request and timing every tools/call (outermost: the time includes
    waiting for the components to start)."""

    async def count_requests(ctx: Any, call_next: Any) -> Any:
        method = str(getattr(ctx, "method", "") or "")
        metrics.request(method)
        if method != "tools/call":
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, dict) else {}
        tool = str(params.get("name") or "")
        began = time.perf_counter()
        outcome = "exception"
        try:
            result = await call_next(ctx)
            outcome = result_outcome(result)
            return result
        finally:
            metrics.tool_call(tool, outcome, time.perf_counter() - began)

    return count_requests


def result_outcome(result: Any) -> str:
    """ok / error / input_required for a tools/call answer (a dict on the wire, or the SDK's model)."""
    if not isinstance(result, dict):
        dump = getattr(result, "model_dump", None)
        result = dump(by_alias=True) if callable(dump) else {}
    if result.get("resultType") == "input_required" or "inputRequests" in result:
        return "input_required"
    return "error" if result.get("isError") else "ok"


PROCESS_METRICS = Metrics()
