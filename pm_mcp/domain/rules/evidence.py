"""The evidence behind the clarity score: which fields were found, missing or contested, the vague phrases."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

from pm_mcp.domain.rules.models import (
    AmbiguityFlag,
    ClarityEvidence,
    ConditionField,
    DeadlineField,
    EdgeCase,
    OracleInfo,
    SourcesField,
    Status,
)

_FALLBACK_KINDS = ("postponement", "cancellation", "fifty_fifty", "void", "other", "fair_price", "fallback_source")


def evidence(sources: SourcesField, condition: ConditionField, deadline: DeadlineField, edges: list[EdgeCase],
             flags: list[AmbiguityFlag], oracle: OracleInfo | None, has_text: bool) -> ClarityEvidence:
    ev = ClarityEvidence(resolver=oracle.name if oracle is not None else None)
    if not has_text:
        ev.missing = ["rule text"]
        return ev

    def put(name: str, status: Status | bool) -> None:
        if status is True or status == Status.FOUND:
            ev.found.append(name)
        elif status == Status.CONFLICTING:
            ev.contested.append(name)
        else:
            ev.missing.append(name)

    primary = [i for i in sources.items if i.role == "primary"]
    if sources.status == Status.FOUND and primary:
        put("source" if any(i.kind != "reporting" for i in primary) else "source (credible reporting only)", True)
    elif sources.venue_items:
        ev.missing.append("source in the rule text (named only in the venue's metadata)")
    else:
        put("source", Status.UNKNOWN)
    if any(i.role == "fallback" for i in sources.items):
        ev.found.append("fallback source")
    put("condition", condition.status)
    if condition.threshold_status != Status.UNKNOWN:
        put("threshold", condition.threshold_status)
    put("deadline", deadline.status)
    v = deadline.value
    if v is not None and deadline.status != Status.UNKNOWN:
        put("time of day", v.time is not None)
        if v.time is not None:
            put("time zone", v.tz_label is not None)
    if deadline.early_resolution_status == Status.FOUND:
        ev.found.append("early resolution")
    put("fallback for postponement / cancellation / missing data", any(e.kind in _FALLBACK_KINDS for e in edges))
    ev.vague = [f"{f.kind}: {f.phrase}" for f in flags]
    return ev
