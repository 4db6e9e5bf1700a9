"""`pm-mcp doctor`: the effective configuration with secrets masked, and credential checks.

Only says whether a secret is present and well-formed; never prints it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from pm_mcp import __version__
from pm_mcp.settings import PRODUCTION_URLS, Settings


def mask(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, SecretStr):
        return "****** (set)" if value.get_secret_value() else "(empty)"
    return str(value)


def _mask_urls(value: str) -> str:
    """RPC URLs often carry an API key in the path or query: show chain id, scheme and host only."""
    from urllib.parse import urlsplit

    out = []
    for part in str(value).split(","):
        part = part.strip()
        if not part:
            continue
        cid, _, url = part.partition("=")
        u = urlsplit(url.strip())
        hidden = "/..." if (u.path.strip("/") or u.query) else ""
        out.append(f"{cid.strip()}={u.scheme}://{u.hostname or '?'}{f':{u.port}' if u.port else ''}{hidden}")
    return ", ".join(out) or "(not set)"


def credential_checks(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing, advice) for each live credential. Never includes a secret."""
    from pm_mcp.venues.registry import credential_checks as venue_credential_checks

    return venue_credential_checks(settings)


def render_config_report(settings: Settings) -> str:
    lines = [f"pm-mcp {__version__}", ""]
    lines.append(f"data directory : {settings.home}")
    lines.append(f"database       : {settings.db_path} ({'exists' if Path(settings.db_path).exists() else 'created on first start'})")
    lines.append(f"mode           : {settings.mode}" + ("  (live orders are possible)" if settings.mode == "live" else "  (paper trading; no real orders)"))
    lines.append(f"confirmation   : {settings.confirm}")
    from pm_mcp.execution.presence import ENROL_ADVICE, enrolled_factors

    factors = enrolled_factors(settings.home)
    page = settings.confirm in ("auto", "page")
    if factors:
        lines.append(f"presence factor: [pass] {', '.join(factors)} (approves LIVE orders on the approval page)")
    elif settings.mode == "live" and page:
        lines.append(f"presence factor: [FAIL] none enrolled: live orders on the approval page are refused; "
                     f"{ENROL_ADVICE}")
    else:
        lines.append("presence factor: none enrolled (needed only for LIVE orders on the approval page)")
    lines.append("")
    lines.append("venues:")
    from pm_mcp.settings import KNOWN_VENUES

    for v in KNOWN_VENUES:
        lines.append(f"  {v:<10} {'enabled' if v in settings.enabled_venues else 'disabled'}")
    lines.append("")
    lines.append("endpoints:")
    for key in PRODUCTION_URLS:
        val = getattr(settings, key)
        tag = "" if val == PRODUCTION_URLS[key] else "  (overridden)"
        lines.append(f"  {key:<22} {val}{tag}")
    lines.append("")
    lines.append("risk policy (from configuration only):")
    lines.append(f"  bankroll            ${settings.bankroll}   (mana: M${settings.mana_bankroll})")
    lines.append(f"  max order           ${settings.max_order_usd}   (mana: M${settings.mana_max_order})")
    lines.append(f"  max single event    {settings.max_event_fraction * 100}% of bankroll")
    lines.append(f"  max daily spend     ${settings.max_daily_usd}   (mana: M${settings.mana_max_daily})")
    lines.append(f"  kelly fraction      {settings.kelly_fraction}")
    lines.append("")
    lines.append("settings (secrets masked):")
    for name in type(settings).model_fields:
        val = getattr(settings, name)
        if name in PRODUCTION_URLS or name in ("home",):
            continue
        lines.append(f"  {name:<28} {_mask_urls(val) if name == 'rpc_urls' else mask(val)}")
    lines.append("")
    lines.append("live trading credentials:")
    for name, status, advice in credential_checks(settings):
        lines.append(f"  [{status:<7}] {name}: {advice}")
    return "\n".join(lines)
