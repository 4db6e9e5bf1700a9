"""Strategy tools: size_position, compute_edge, get_risk_policy. (Filled in by the strategy work.)"""

from __future__ import annotations

from mcp.server import MCPServer


def register(mcp: MCPServer) -> None:
    pass
