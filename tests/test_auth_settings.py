"""The OAuth settings (PM_MCP_AUTH_*, PM_MCP_ALLOW_HOST_CONFIRM): defaults, and errors that name the variable,
the value and what is allowed."""

from __future__ import annotations

import pytest

from pm_mcp.settings import Settings, describe_config_error


def settings(**kw) -> Settings:
    return Settings(home="/tmp/pm-mcp-unused", **kw)


def error(monkeypatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as exc:
        Settings(home="/tmp/pm-mcp-unused")
    monkeypatch.delenv(name)
    [line] = describe_config_error(exc.value)
    return line


def test_defaults():
    s = settings()
    assert not s.oauth and s.effective_auth_audience is None and not s.allow_host_confirm
    s = settings(auth_issuer="https://login.example.org", public_url="https://pm.example.org")
    assert s.oauth and s.mcp_resource_url == "https://pm.example.org/mcp"
    assert s.effective_auth_audience == "https://pm.example.org/mcp"
    assert settings(auth_issuer="http://127.0.0.1:9400", auth_audience="api://pm").effective_auth_audience == "api://pm"
    assert settings(auth_issuer="  ").auth_issuer is None


def test_errors_name_the_variable_and_the_value(monkeypatch):
    line = error(monkeypatch, "PM_MCP_AUTH_ISSUER", "http://login.example.org")
    assert line.startswith("PM_MCP_AUTH_ISSUER must be an https:// URL") and "'http://login.example.org'" in line
    assert "loopback" in line
    line = error(monkeypatch, "PM_MCP_AUTH_JWKS_URL", "https://login.example.org/jwks?x=1")
    assert line.startswith("PM_MCP_AUTH_JWKS_URL must be an https:// URL")
    line = error(monkeypatch, "PM_MCP_AUTH_AUDIENCE", "a b")
    assert line.startswith("PM_MCP_AUTH_AUDIENCE must be one audience") and "'a b'" in line
    line = error(monkeypatch, "PM_MCP_AUTH_PAGE_CLIENT_ID", "pm page")
    assert line.startswith("PM_MCP_AUTH_PAGE_CLIENT_ID must be the OAuth client id")
    line = error(monkeypatch, "PM_MCP_ALLOW_HOST_CONFIRM", "maybe")
    assert line.startswith("PM_MCP_ALLOW_HOST_CONFIRM") and "'maybe'" in line
