"""Rule-text parsing with cited evidence.

``parse_rules(text, venue=..., market=...)`` reads one market's rule text (Polymarket ``description``,
Kalshi ``rules_primary`` + ``rules_secondary``, Manifold ``textDescription``) with patterns and a small
grammar (no LLM, no I/O, no clock) and returns a :class:`RuleAnalysis`: for every field its value,
the exact words it came from (``Span``: ``text[start:end] == quote``, always) and a status
(found / unknown / conflicting). What cannot be found is ``unknown`` with "review the rules", never a
guess. ``rules_hash`` is the contract the execution engine stores with each intent.

When a ``market`` (pm_mcp.domain.models.Market) is given, its title is used where the rules point at
it ("the price specified in the title") and to cross-check thresholds and dates; spans into the title
carry ``part="title"``. Market metadata that is not rule text (neg-risk flag, Polymarket
``resolutionSource``) is reported separately and never given a span.

The package, one job per module (imports point down this list, never up):

- ``_regex``: lazily compiled, fast case-insensitive patterns;
- ``hashing``: ``rules_hash`` / ``normalise_rule_text`` / ``market_rule_text``;
- ``models``: the output models (``RuleAnalysis``, ``Span``, ``Status``, the fields);
- ``sentences``: sentence splitting with offsets, exact spans;
- ``sources``, ``thresholds``, ``dates``, ``clauses`` (edge cases, early resolution, oracle, YES clause),
  ``flags`` (per-parse sentence classifiers), ``deadlines``, ``outcomes``: the extractors;
- ``parse``: ``parse_rules``, which puts them together.

``from pm_mcp.domain.rules import parse_rules, rules_hash, RuleAnalysis`` is the contract; every name the
single module used to define is still importable from here.
"""

# No `from __future__ import annotations`: the pydantic models here are built while the server starts, and
# object annotations spare pydantic compiling and evaluating each one as a string (cold start).

import importlib as _importlib

from pm_mcp.domain.rules.dates import to_utc
from pm_mcp.domain.rules.hashing import (
    contract_hash,
    market_contract_hash,
    market_rule_text,
    normalise_rule_text,
    rules_hash,
)
from pm_mcp.domain.rules.models import (
    REVIEW,
    AmbiguityFlag,
    ConditionField,
    ContractTerms,
    DeadlineField,
    EdgeCase,
    MultiOutcomeField,
    NamedSubject,
    OracleInfo,
    PeriodTerm,
    RuleAnalysis,
    SourceItem,
    SourcesField,
    Span,
    Status,
    Threshold,
    TimePoint,
)
from pm_mcp.domain.rules.parse import parse_rules
from pm_mcp.domain.rules.sentences import Sentence, split_sentences
from pm_mcp.domain.rules.terms import read_terms

__all__ = ['contract_hash', 'market_contract_hash', 'ContractTerms', 'NamedSubject', 'PeriodTerm', 'read_terms', 'AmbiguityFlag', 'ConditionField', 'DeadlineField', 'EdgeCase', 'MultiOutcomeField', 'OracleInfo', 'REVIEW', 'RuleAnalysis', 'Sentence', 'SourceItem', 'SourcesField', 'Span', 'Status', 'Threshold', 'TimePoint', 'market_rule_text', 'normalise_rule_text', 'parse_rules', 'rules_hash', 'split_sentences', 'to_utc']

# every other (private) name of the former single module, found in the submodule that now holds it
_PRIVATE_HOMES = {'_lower_pattern': '_regex', '_CI': '_regex', '_Lazy': '_regex', '_rx': '_regex', '_WS': 'hashing', '_ABBREV': 'sentences', '_span': 'sentences', '_URL': 'sources', '_SOURCE_CUE': 'sources', '_NOT_SOURCE': 'sources', '_NOT_THIS_SOURCE': 'sources', '_url_host': 'sources', '_sentence_of': 'sources', '_YES_SENT': 'sources', '_REPORTER': 'sources', '_find_sources': 'sources', '_NUMWORDS': 'thresholds', '_NUM': 'thresholds', '_UNIT': 'thresholds', '_NU': 'thresholds', '_UNIT_AFTER': 'thresholds', '_REF': 'thresholds', '_RANGE_MARKET': 'thresholds', '_SCALES': 'thresholds', '_DATEISH_AFTER': 'thresholds', '_canon_unit': 'thresholds', '_to_decimal': 'thresholds', '_threshold_in': 'thresholds', '_threshold_equivalent': 'thresholds', '_MONTHS': 'dates', '_MON': 'dates', '_DATE_MDY': 'dates', '_DATE_DMY': 'dates', '_DATE_YMD': 'dates', '_TZ': 'dates', '_TIME': 'dates', '_TAIL': 'dates', '_TAIL_RANGE': 'dates', '_TAIL_TZ': 'dates', '_TIME_BEFORE': 'dates', '_SENT_TZ': 'dates', '_DST_LABELS': 'dates', '_DateHit': 'dates', '_parse_time': 'dates', '_find_dates': 'dates', '_KIND_BEFORE': 'dates', '_FALLBACK_SENT': 'dates', '_EVENT_SENT': 'dates', '_BACKGROUND_SENT': 'dates', '_COND_SENT': 'dates', '_infer_year': 'dates', '_timepoint': 'dates', '_classify_date': 'dates', '_OUTCOME_IN': 'clauses', '_EARLY_YES': 'clauses', '_EARLY_NO': 'clauses', '_oracle_for': 'clauses', '_yes_clause': 'clauses', '_FLAG_RX': 'flags', '_Flags': 'flags', '_sentence_index': 'flags', '_PERIOD': 'deadlines', '_PERIOD_NOTE': 'deadlines', '_period_timepoint': 'deadlines', '_deadline': 'deadlines', '_QUOTED_OUTCOME': 'outcomes', '_multi_outcome': 'outcomes'}


def __getattr__(name: str):
    home = _PRIVATE_HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pm_mcp.domain.rules' has no attribute {name!r}")
    return getattr(_importlib.import_module(f"pm_mcp.domain.rules.{home}"), name)
