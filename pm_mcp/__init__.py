"""pm_mcp: a disciplined prediction-market agent as an MCP server."""

__version__ = "0.1.0"
