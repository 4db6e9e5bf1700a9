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


# A credential the server derives by itself (Polymarket's API key from the private key) is reported by its venue
# as not set with advice starting "derived": that is not a missing credential, and it is shown as "derived".
DERIVED = "derived"


def _normalised(row: tuple[str, str, str]) -> tuple[str, str, str]:
    name, status, advice = row
    if status == "missing" and advice.lower().startswith(DERIVED):
        return name, DERIVED, advice
    return name, status, advice


def credential_checks(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, pass|fail|missing|derived, advice) for each live credential. Never includes a secret."""
    return [row for _venue, rows in venue_credentials(settings) for row in rows]


def venue_credentials(settings: Settings) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(venue, its credential rows) for every venue, in the registry's order (offline; never a secret)."""
    from pm_mcp.venues.registry import VENUES

    return [(name, [_normalised(r) for r in entry.setup().credential_checks(settings)])
            for name, entry in VENUES.items()]


def usable_live_venues(settings: Settings) -> list[str]:
    """The enabled venues whose live credentials are all present (or derived) and well-formed: where a live
    order can be sent at all (the `doctor` tool then checks them with the venue)."""
    return [venue for venue, rows in venue_credentials(settings)
            if venue in settings.enabled_venues and rows and all(st in ("pass", DERIVED) for _, st, _ in rows)]


LIVE_ADVICE = "see the README section \"Live credentials\""


def _mode_line(settings: Settings) -> tuple[str, bool]:
    """(the mode line, whether it is a failure)."""
    from pm_mcp.venues.registry import display_name

    if settings.mode != "live":
        return f"mode           : {settings.mode}  (paper trading; no real orders)", False
    usable = usable_live_venues(settings)
    if not usable:
        return ("mode           : live  [FAIL] no enabled venue has usable live credentials, so every live order "
                f"is refused; set them ({LIVE_ADVICE}) or use PM_MCP_MODE=paper"), True
    return (f"mode           : live  (credentials present and well-formed for {', '.join(map(display_name, usable))};"
            " the `doctor` tool checks them with the venue)"), False


def render_config_report(settings: Settings) -> str:
    return config_report(settings)[0]


def config_report(settings: Settings) -> tuple[str, int]:
    """(the report, the exit status: 1 when a check failed, else 0)."""
    failed = False
    lines = [f"pm-mcp {__version__}", ""]
    lines.append(f"data directory : {settings.home}")
    if settings.database_url:
        from pm_mcp.store_pg import masked

        lines.append(f"database       : PostgreSQL {masked(settings.database_url.get_secret_value())} (the market "
                     f"catalog stays in {settings.db_path})")
    else:
        lines.append(f"database       : {settings.db_path} ({'exists' if Path(settings.db_path).exists() else 'created on first start'})")
    mode_line, mode_failed = _mode_line(settings)
    lines.append(mode_line)
    failed |= mode_failed
    lines.append(f"confirmation   : {settings.confirm}")
    from pm_mcp.execution.presence import ENROL_ADVICE, enrolled_factors

    factors = enrolled_factors(settings.home)
    page = settings.confirm in ("auto", "page")
    if factors:
        lines.append(f"presence factor: [pass] {', '.join(factors)} (approves LIVE orders on the approval page)")
    elif settings.mode == "live" and page:
        failed = True
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
    lines.append(f"live trading credentials ({'needed: live mode' if settings.mode == 'live' else 'not needed in paper mode'}"
                 f"; {LIVE_ADVICE}):")
    for venue, rows in venue_credentials(settings):
        enabled = venue in settings.enabled_venues
        for name, status, advice in rows:
            label = status
            if status == "missing" and (settings.mode != "live" or not enabled):
                label = "not set"
            if status == "fail" and enabled:
                failed = True
            lines.append(f"  [{label:<7}] {name}: {advice}")
    return "\n".join(lines), 1 if failed else 0
