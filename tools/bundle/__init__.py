"""The MCP Bundle builder: python -m tools.bundle (see __main__.py)."""
