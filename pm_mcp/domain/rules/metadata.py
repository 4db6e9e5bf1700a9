"""Sources the venue's metadata names (outside the rule text), rendered as words, each with a span into the
metadata text it quotes (``Span.part == "metadata"``, ``SourceItem.metadata_key`` naming the field).

Kalshi's settlement sources arrive as "Bureau of Labor Statistics (https://www.bls.gov/cpi/); ..." in
``Market.rule_sources["settlement_sources"]`` (also ``Market.resolution_source``), its contract terms as
``rule_sources["contract_terms_url"]``; Polymarket's ``resolutionSource`` is a URL in ``resolution_source``.
"""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

import re
from typing import Any

from pm_mcp.domain.rules.models import SourceItem, SourcesField
from pm_mcp.domain.rules.sentences import _span

_ENTRY = re.compile(r"(?P<name>[^;()\n]+?)\s*\((?P<url>https?://[^)\s]+)\)|(?P<bare>https?://[^\s;]+)|(?P<nm>[^;\n]+)")
_TERMS_KEYS = ("contract_terms_url", "contract_url")


def _host(url: str) -> str:
    m = re.match(r"https?://([^/?#:]+)", url)
    host = (m.group(1) if m else url).lower()
    return host[4:] if host.startswith("www.") else host


def _entries(text: str, key: str, role: str) -> list[SourceItem]:
    out: list[SourceItem] = []
    for m in _ENTRY.finditer(text):
        if m.group("name") is not None:
            name = m.group("name").strip()
            if not name:
                continue
            a = m.start("name") + (len(m.group("name")) - len(m.group("name").lstrip()))
            out.append(SourceItem(name=name, kind="agency", url=m.group("url"), via="metadata", role=role,  # type: ignore[arg-type]
                                  metadata_key=key, span=_span(text, a, m.end(), "metadata")))  # type: ignore[arg-type]
        elif m.group("bare") is not None:
            url = m.group("bare").rstrip(".,")
            out.append(SourceItem(name=_host(url), kind="url", url=url, via="metadata", role=role,  # type: ignore[arg-type]
                                  metadata_key=key, span=_span(text, m.start("bare"), m.start("bare") + len(url),
                                                               "metadata")))
        else:
            name = m.group("nm").strip()
            if len(name) >= 2:
                a = m.start("nm") + (len(m.group("nm")) - len(m.group("nm").lstrip()))
                out.append(SourceItem(name=name, kind="agency", via="metadata", role=role,  # type: ignore[arg-type]
                                      metadata_key=key, span=_span(text, a, a + len(name), "metadata")))
    return out


def metadata_text(market: Any, key: str) -> str | None:
    """The metadata text a ``part="metadata"`` span with this ``metadata_key`` quotes."""
    if market is None:
        return None
    if key == "resolution_source":
        v = getattr(market, "resolution_source", None)
        return str(v) if v else None
    v = (getattr(market, "rule_sources", None) or {}).get(key)
    return str(v) if v else None


def venue_items(market: Any) -> list[SourceItem]:
    if market is None:
        return []
    rs = getattr(market, "rule_sources", None) or {}
    items: list[SourceItem] = []
    settle = rs.get("settlement_sources")
    if settle:
        items += _entries(str(settle), "settlement_sources", "primary")
    res = metadata_text(market, "resolution_source")
    if res and res != settle:
        items += _entries(res, "resolution_source", "primary")
    for key in _TERMS_KEYS:
        if rs.get(key):
            items += _entries(str(rs[key]), key, "contract_terms")
    return items


def words(field: SourcesField) -> str | None:
    """Who settles it, in words: 'primary: BLS (rules); fallback: credible reporting; venue metadata: ...'."""
    parts = []
    prim = [i.name for i in field.items if i.role == "primary"]
    fall = [i.name for i in field.items if i.role == "fallback"]
    if prim:
        parts.append("primary (rules): " + ", ".join(prim))
    if fall:
        parts.append("fallback (rules): " + ", ".join(fall))
    meta = [f"{i.name} ({i.url})" if i.url and i.kind != "url" else (i.url or i.name)
            for i in field.venue_items if i.role != "contract_terms"]
    if meta:
        parts.append("venue settlement sources: " + ", ".join(meta))
    terms = [i.url or i.name for i in field.venue_items if i.role == "contract_terms"]
    if terms:
        parts.append("contract terms: " + ", ".join(terms))
    return "; ".join(parts) or None
