"""The MCP surface: thin tool / resource / prompt functions grouped by area.

Each module exposes ``register(mcp: MCPServer) -> None``. ``pm_mcp.server`` calls them in order.
Keep module-level imports light (no web3, no cryptography): cold start is benchmarked.
"""
