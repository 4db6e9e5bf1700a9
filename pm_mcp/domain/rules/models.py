"""The output models of rule parsing (every field with its exact span and a status)."""

# No `from __future__ import annotations` (see pm_mcp/domain/rules/__init__.py).

from datetime import date as Date
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

REVIEW = "review the rules"

# ---------------------------------------------------------------------------------------------
# output models


class Status(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    CONFLICTING = "conflicting"


class Span(BaseModel):
    """Evidence: ``text[start:end] == quote`` where text is the rule text (part="rules") or the
    market title (part="title") or the member's label (part="label": ``group_label``)."""

    start: int
    end: int
    quote: str
    part: Literal["rules", "title", "label", "metadata"] = "rules"


class SourceItem(BaseModel):
    name: str = Field(description="Canonical name: an agency/data series/oracle, or a URL's host.")
    kind: Literal["url", "agency", "data_series", "reporting", "official", "oracle"]
    url: str | None = None
    span: Span
    role: Literal["primary", "fallback", "contract_terms", "measure"] = Field(
        "primary", description="primary: what decides; fallback: used when the primary is unavailable, "
                               "secondary or a tie-breaker; contract_terms: the venue's terms document; measure: "
                               "the data series measured, whose publisher is the primary.")
    via: Literal["cue", "name", "url", "reporter", "metadata", "condition"] = Field(
        "name", description="How it was found: the phrase a cue governs, a known name in a source sentence, "
                            "a URL, 'If X reports', the venue's metadata (span part 'metadata'), or the "
                            "quantity the YES condition measures when no publisher is named ('condition').")
    metadata_key: str | None = Field(None, description="For part='metadata': the Market.rule_sources key "
                                                       "(or 'resolution_source') whose text the span quotes.")


class SourcesField(BaseModel):
    status: Status
    items: list[SourceItem] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict,
                                     description="Venue fields outside the rule text (no span).")
    note: str | None = None
    venue_items: list[SourceItem] = Field(default_factory=list, description=(
        "Sources the venue's metadata names (Kalshi settlement sources, contract terms, Polymarket's "
        "resolutionSource), each quoting the metadata text it came from."))
    words: str | None = Field(None, description="Who settles it, in words: primary, fallback, venue metadata.")

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.items]


class Threshold(BaseModel):
    comparator: Literal[">", ">=", "<", "<=", "==", "between"]
    value: Decimal | None = Field(None, description="None when the reference is not a number "
                                                    "(e.g. 'the price at the beginning of the range').")
    upper: Decimal | None = None  # for "between"
    unit: str | None = None  # "%", "bps", "USD", "goals", ...
    reference: str | None = None  # the words the comparison is against when not a number
    span: Span


class ConditionField(BaseModel):
    status: Status
    yes_if: str | None = Field(None, description="The clause that makes the market resolve YES.")
    yes_span: Span | None = None
    subject: str | None = None
    threshold_status: Status = Status.UNKNOWN
    threshold: Threshold | None = None
    conflicts: list[Threshold] = Field(default_factory=list)
    note: str | None = None


class TimePoint(BaseModel):
    kind: Literal["by", "before", "at", "scheduled", "window_start", "window_end", "release",
                  "cutoff", "other"]
    date: Date | None = None
    time: str | None = Field(None, description="Local time of day HH:MM:SS when stated.")
    tz_label: str | None = Field(None, description="The time zone as written (ET, EDT, UTC...).")
    tz: str | None = Field(None, description="IANA zone or fixed offset used to normalise.")
    utc: datetime | None = Field(None, description="Normalised to UTC; only when date, time and zone are known.")
    year_inferred: bool = False
    span: Span
    note: str | None = None
    local: str | None = Field(None, description="The local wall time as written, ISO 8601 with its UTC offset "
                                                "on that date (daylight saving applied).")
    time_span: Span | None = Field(None, description="Where the time of day was read when it is not next to "
                                                     "the date (same sentence).")
    relative: str | None = Field(None, description="The arithmetic applied: 'the day following' +1 day, ...")


class DeadlineField(BaseModel):
    status: Status
    value: TimePoint | None = None
    window_start: TimePoint | None = None
    cutoff: TimePoint | None = Field(None, description="Fallback date: if undecided by then, an "
                                                       "alternative resolution applies (50-50, No...).")
    conflicts: list[TimePoint] = Field(default_factory=list)
    early_resolution_status: Status = Status.UNKNOWN
    early_resolution: bool | None = None
    early_resolution_span: Span | None = None
    note: str | None = None


class EdgeCase(BaseModel):
    kind: Literal["tie", "postponement", "cancellation", "fifty_fifty", "other", "void",
                  "fair_price", "revision", "fallback_source", "forfeit", "replacement"]
    outcome: str | None = None
    span: Span


class MultiOutcomeField(BaseModel):
    status: Status
    kind: Literal["binary", "categorical", "mutually_exclusive", "neg_risk", "unknown"] = "unknown"
    outcomes: list[str] = Field(default_factory=list)
    other_rule: Span | None = None
    spans: list[Span] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


class AmbiguityFlag(BaseModel):
    kind: Literal["credible_reporting", "consensus", "discretion", "subjective", "undefined_term",
                  "creator_judgement", "catch_all", "undefined_status", "unfixed_moment", "discretionary_source",
                  "evidence_standard", "intent", "vague_scope", "undefined_reference"]
    phrase: str
    span: Span


class ClarityEvidence(BaseModel):
    """What the clarity score rests on: the fields found, missing or contested, and the vague phrases."""

    found: list[str] = Field(default_factory=list, description="source, condition, threshold, deadline, time of "
                                                               "day, time zone, fallback, edge cases ...")
    missing: list[str] = Field(default_factory=list)
    contested: list[str] = Field(default_factory=list, description="fields the texts state differently")
    vague: list[str] = Field(default_factory=list, description="'kind: phrase' for each vague phrase flagged")
    resolver: str | None = Field(None, description="who settles (the oracle), when known")


class OracleInfo(BaseModel):
    name: str
    basis: str
    span: Span | None = None


MONTH_NAMES = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"]


class NamedSubject(BaseModel):
    text: str = Field(description="The name as written, e.g. 'Gavin Newsom'.")
    key: str = Field(description="Lower-case, aliases merged (Fed = FOMC = Federal Reserve).")
    span: Span


class PeriodTerm(BaseModel):
    """A period named in the question. "before Oct 1" / "before 2028" are stored as the last day / year they
    include (Sep 30, 2027), with ``before`` set, so 'by September 30' and 'before Oct 1' compare equal."""

    kind: Literal["date", "month", "quarter", "year"]
    before: bool = False
    year: int | None = None
    month: int | None = None
    day: int | None = None
    quarter: int | None = None
    span: Span

    def words(self) -> str:
        if self.kind in ("date", "month"):
            return " ".join(x for x in (MONTH_NAMES[self.month or 0], str(self.day) if self.day else "",
                                        str(self.year) if self.year else "") if x)
        if self.kind == "quarter":
            return f"Q{self.quarter}" + (f" {self.year}" if self.year else "")
        return str(self.year)


class Clause(BaseModel):
    """One clause of the rules that takes cases out of YES (pm_mcp.domain.rules.conditions)."""

    words: str
    span: Span
    keys: list[str] = Field(default_factory=list, description="content words, for matching the other side")


class ConditionClauses(BaseModel):
    """What counts as YES beyond subject, period and threshold (pm_mcp.domain.rules.conditions)."""

    rank: int | None = Field(None, description="the worst place that still pays YES (1: a win; 2: the top two)")
    rank_span: Span | None = None
    announcement: bool | None = Field(None, description="True: an announcement resolves YES; False: it does not "
                                                        "(the event itself is needed); None: not said")
    announcement_span: Span | None = None
    exclusions: list[Clause] = Field(default_factory=list)
    sweeping: Span | None = None


class ContractTerms(BaseModel):
    """What the market is a bet on, as read from its question, label and YES clause."""

    subject_status: Status = Status.UNKNOWN
    subjects: list[NamedSubject] = Field(default_factory=list)
    label: str | None = Field(None, description="The member's own label (neg-risk member, sub-title, answer).")
    period_status: Status = Status.UNKNOWN
    periods: list[PeriodTerm] = Field(default_factory=list)
    qualifiers: list[str] = Field(default_factory=list, description="core, year-over-year, daily high ...")
    conditions: ConditionClauses = Field(default_factory=ConditionClauses,
                                         description="rank, announcement, exclusions: what counts as YES")
    yes_text: str = Field("", exclude=True, repr=False)  # the YES clause, for comparing exclusions
    read_from: Literal["question", "rules", "none"] = "none"
    # everything the market says (question, label, rules): where another market's names are looked for.
    # Not part of the output (it repeats the rules).
    haystack: str = Field("", exclude=True, repr=False)
    question_text: str = Field("", exclude=True, repr=False)
    rules_text: str = Field("", exclude=True, repr=False)


class RuleAnalysis(BaseModel):
    venue: str | None = None
    market_id: str | None = None
    text_length: int
    rules_hash: str = Field(description="Hash of the whole contract: rule text, question and member label "
                                        "(pm_mcp.domain.rules.contract_hash); the text's own hash without a market.")
    text_hash: str | None = Field(None, description="rules_hash of the rule text alone.")
    oracle: OracleInfo | None = None
    sources: SourcesField
    condition: ConditionField
    deadline: DeadlineField
    edge_cases: list[EdgeCase] = Field(default_factory=list)
    multi_outcome: MultiOutcomeField
    ambiguity: list[AmbiguityFlag] = Field(default_factory=list)
    clarity: float = Field(description="Settlement clarity in [0, 1]; 1 = every field found, no ambiguity.")
    clarity_reasons: list[str] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list, description="What a person must check by reading the rules.")
    clarity_evidence: ClarityEvidence | None = Field(None, description="The evidence behind clarity: fields "
                                                                       "found / missing / contested, vague phrases.")
    terms: ContractTerms | None = Field(None, description="What the market is a bet on: subject, period, quantity "
                                                          "(from the question, the member's label, the YES clause).")

    def spans(self) -> list[Span]:
        """Every span in the analysis (for checking that quotes match)."""
        out: list[Span] = []

        def walk(o: Any) -> None:
            if isinstance(o, Span):
                out.append(o)
            elif isinstance(o, BaseModel):
                for name in type(o).model_fields:
                    walk(getattr(o, name))
            elif isinstance(o, (list, tuple)):
                for x in o:
                    walk(x)

        walk(self)
        return out
