import os
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from pm_mcp.settings import PRODUCTION_URLS, Settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith("PM_MCP_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PM_MCP_HOME", str(tmp_path))
    return tmp_path


def test_defaults(clean_env):
    s = Settings()
    assert s.mode == "paper" and s.enabled_venues == ["polymarket", "kalshi", "manifold"]
    assert s.bankroll == D(1000) and s.max_event_fraction == D("0.15") and s.kelly_fraction == D("0.25")
    assert s.db_path == clean_env / "pm_mcp.sqlite3"
    assert s.kalshi_url == PRODUCTION_URLS["kalshi_url"]


def test_env_overrides_toml(clean_env, monkeypatch):
    (clean_env / "config.toml").write_text('bankroll = 5000\nmode = "live"\n[pm_mcp]\nvenues = "kalshi"\n')
    s = Settings()
    assert s.bankroll == D(5000) and s.mode == "live" and s.enabled_venues == ["kalshi"]
    monkeypatch.setenv("PM_MCP_BANKROLL", "250.50")
    assert Settings().bankroll == D("250.50")


def test_bad_toml_is_a_clear_error(clean_env):
    (clean_env / "config.toml").write_text("bankroll = = 1")
    with pytest.raises(ValueError, match="not valid TOML"):
        Settings()


@pytest.mark.parametrize("name,value", [("PM_MCP_BANKROLL", "-5"), ("PM_MCP_MAX_EVENT_FRACTION", "1.5"),
                                        ("PM_MCP_KELLY_FRACTION", "0"), ("PM_MCP_VENUES", "polymarket,betfair"),
                                        ("PM_MCP_MODE", "yolo")])
def test_invalid_values(clean_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_secrets_are_masked_in_repr(clean_env, monkeypatch):
    monkeypatch.setenv("PM_MCP_MANIFOLD_API_KEY", "very-secret-value")
    s = Settings()
    assert "very-secret-value" not in repr(s) and s.manifold_api_key.get_secret_value() == "very-secret-value"


def test_secret_from_file_and_rpc_map(clean_env, monkeypatch):
    key = clean_env / "k.pem"
    key.write_text("  PEMDATA \n")
    monkeypatch.setenv("PM_MCP_KALSHI_PRIVATE_KEY_FILE", str(key))
    monkeypatch.setenv("PM_MCP_RPC_URLS", "137=http://127.0.0.1:1, 1=http://127.0.0.1:2")
    s = Settings()
    assert s.secret_from(s.kalshi_private_key, s.kalshi_private_key_file) == "PEMDATA"
    assert s.rpc_url_map() == {137: "http://127.0.0.1:1", 1: "http://127.0.0.1:2"}
