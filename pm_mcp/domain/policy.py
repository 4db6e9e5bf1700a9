"""The risk policy: hard caps that every sizing method and every order must respect.

The policy comes from configuration only (PM_MCP_BANKROLL, PM_MCP_MAX_ORDER_USD,
PM_MCP_MAX_EVENT_FRACTION, PM_MCP_MAX_DAILY_USD, PM_MCP_KELLY_FRACTION, PM_MCP_VENUES, PM_MCP_MODE).
A person may *tighten* it (``RiskPolicy.tightened``) but never loosen it; the tightenings they stored are applied
to the operator's settings by :func:`with_tightenings` (the stricter of the two, limit by limit).

Pure: no I/O, no clock. The caller supplies what was already spent/exposed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pm_mcp.domain.money import in_currency

ZERO = Decimal(0)
ONE = Decimal(1)

# Limits that are tighter when smaller.
_SMALLER_IS_TIGHTER = ("bankroll", "max_order_usd", "max_event_fraction", "max_daily_usd", "kelly_fraction")
# Limits that are not amounts: the same in every currency, so a tightening of one tightens them in all.
SHARED_LIMITS = ("max_event_fraction", "kelly_fraction", "allowed_venues", "live_enabled")


class RiskPolicy(BaseModel):
    """Hard limits, in USD (or fractions). Frozen: build a new one with :meth:`tightened`."""

    model_config = ConfigDict(frozen=True)

    bankroll: Decimal = Field(description="Bankroll the fractions refer to, USD.")
    max_order_usd: Decimal = Field(description="Largest single order, USD (cost incl. fees).")
    max_event_fraction: Decimal = Field(description="Largest exposure to one event, fraction of bankroll.")
    max_daily_usd: Decimal = Field(description="Largest total spend per UTC day, USD.")
    kelly_fraction: Decimal = Field(description="Multiplier applied to full Kelly (0.25 = quarter Kelly).")
    allowed_venues: list[str] = Field(description="Venues orders may go to.")
    live_enabled: bool = Field(description="Whether live (real-money) orders are allowed at all.")
    currency: str = Field("USD", description="What the amounts are in: USD, or MANA (Manifold's play money, "
                                             "with caps of its own).")

    @field_validator("bankroll", "max_order_usd", "max_daily_usd")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if not v.is_finite() or v <= 0:
            raise ValueError("must be a positive amount in USD")
        return v

    @field_validator("max_event_fraction", "kelly_fraction")
    @classmethod
    def _fraction(cls, v: Decimal) -> Decimal:
        if not v.is_finite() or not (ZERO < v <= ONE):
            raise ValueError("must be a fraction in (0, 1]")
        return v

    @field_validator("allowed_venues")
    @classmethod
    def _venues(cls, v: list[str]) -> list[str]:
        return [x.strip().lower() for x in v if x.strip()]

    @classmethod
    def from_settings(cls, settings: Any, currency: str = "USD") -> RiskPolicy:
        """Build the policy from a :class:`pm_mcp.settings.Settings` (duck-typed: domain imports no I/O).
        ``currency="MANA"``: the mana caps (PM_MCP_MANA_BANKROLL, _MAX_ORDER, _MAX_DAILY); the fractions
        and venues are shared."""
        mana = currency.upper() == "MANA"
        return cls(
            bankroll=getattr(settings, "mana_bankroll", Decimal(1000)) if mana else settings.bankroll,
            max_order_usd=getattr(settings, "mana_max_order", Decimal(100)) if mana else settings.max_order_usd,
            max_event_fraction=settings.max_event_fraction,
            max_daily_usd=getattr(settings, "mana_max_daily", Decimal(500)) if mana else settings.max_daily_usd,
            kelly_fraction=settings.kelly_fraction,
            allowed_venues=list(settings.enabled_venues),
            live_enabled=settings.mode == "live",
            currency="MANA" if mana else "USD",
        )

    @property
    def max_event_usd(self) -> Decimal:
        """The single-event cap in USD: max_event_fraction x bankroll."""
        return self.bankroll * self.max_event_fraction

    def tightened(self, **limits: Any) -> RiskPolicy:
        """A copy with some limits made stricter. Raises ValueError naming the limit if a change
        would loosen it (a larger amount or fraction, a venue not already allowed, enabling live)
        or if the name is not a limit. Equal values are fine."""
        fields = type(self).model_fields
        changes: dict[str, Any] = {}
        for name, new in limits.items():
            if name not in fields:
                raise ValueError(f"{name!r} is not a risk limit; limits are: {', '.join(fields)}")
            if new is None:
                continue
            old = getattr(self, name)
            if name in _SMALLER_IS_TIGHTER:
                new_d = new if isinstance(new, Decimal) else Decimal(str(new))
                if new_d > old:
                    raise ValueError(f"{name} can only be tightened: {new_d} would loosen the configured {old}")
                changes[name] = new_d
            elif name == "allowed_venues":
                new_list = [str(x).strip().lower() for x in new]
                extra = [v for v in new_list if v not in old]
                if extra:
                    raise ValueError(f"allowed_venues can only be narrowed: {', '.join(extra)} "
                                     f"not in the configured {', '.join(old) or '(none)'}")
                changes[name] = new_list
            elif name == "live_enabled":
                if bool(new) and not old:
                    raise ValueError("live_enabled can only be tightened: live trading is disabled by "
                                     "configuration (PM_MCP_MODE=paper)")
                changes[name] = bool(new)
        if not changes:
            return self
        data = self.model_dump()
        data.update(changes)
        return type(self).model_validate(data)


def with_tightenings(base: RiskPolicy, tightenings: Iterable[tuple[str, Mapping[str, Any]]]) -> RiskPolicy:
    """``base`` (the operator's settings) under stored tightenings, each ``(currency, limits)``: every limit is the
    strictest of the setting and every stored value for it, so the result is never looser than ``base`` (a stored
    value looser than a setting lowered since loses to the setting) and the order of the tightenings does not
    matter. Amounts apply only from tightenings in ``base``'s currency; fractions, venues and live mode from all.
    Raises ValueError for a stored limit this code does not know or cannot read (the caller refuses rather than
    drop a limit the person set)."""
    fields = type(base).model_fields
    data = base.model_dump()
    for currency, limits in tightenings:
        same = str(currency).upper() == base.currency
        for name, value in limits.items():
            if name not in fields or name == "currency":
                raise ValueError(f"a stored tightening has the limit {name!r}, which this version does not know")
            if value is None or not (same or name in SHARED_LIMITS):
                continue
            if name in _SMALLER_IS_TIGHTER:
                try:
                    d = value if isinstance(value, Decimal) else Decimal(str(value))
                except ArithmeticError:
                    d = Decimal("NaN")
                if not d.is_finite() or d <= 0:
                    raise ValueError(f"a stored tightening has {name}={value!r}, which is not a positive amount")
                data[name] = min(data[name], d)
            elif name == "allowed_venues":
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"a stored tightening has allowed_venues={value!r}, which is not a list")
                keep = {str(v).strip().lower() for v in value}
                data[name] = [v for v in data[name] if v in keep]
            elif name == "live_enabled":
                data[name] = bool(data[name]) and bool(value)
    return type(base).model_validate(data)


class PolicyViolation(BaseModel):
    """One broken rule: which, the limit, the offending value, and a sentence saying so."""

    model_config = ConfigDict(frozen=True)

    rule: Literal["max_order_usd", "max_event_usd", "max_daily_usd", "bankroll", "venue_not_allowed",
                  "live_disabled", "invalid"]
    limit: str = Field(description="The limit (USD amount as a decimal string, or a venue list / mode).")
    value: str = Field(description="The value that broke it.")
    message: str


class PolicyCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    violations: list[PolicyViolation] = Field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.ok:
            return "within the risk policy"
        return "; ".join(v.message for v in self.violations)


def _amount(d: Decimal, currency: str = "USD") -> str:
    return in_currency(d, currency)


def _pct(fraction: Decimal) -> str:
    n = (fraction * 100).normalize()
    return f"{n:f}%"


def check_order(policy: RiskPolicy, *, venue: str, mode: str, order_cost: Decimal,
                event_exposure_before: Decimal = ZERO, daily_spent_before: Decimal = ZERO) -> PolicyCheck:
    """Check one order against every rule; report all violations, not just the first.

    ``order_cost`` is the worst-case cash out of the order (price x size + fees), USD.
    ``event_exposure_before`` is the cost already at risk on the same event (open orders + positions);
    ``daily_spent_before`` what was already spent today (UTC).
    """
    v: list[PolicyViolation] = []

    def _amt(d: Decimal) -> str:
        return _amount(d, policy.currency)

    if order_cost < 0 or event_exposure_before < 0 or daily_spent_before < 0:
        v.append(PolicyViolation(rule="invalid", limit=">= 0", value=str(min(order_cost, event_exposure_before,
                                                                               daily_spent_before)),
                                 message="order cost, event exposure and daily spend must be >= 0"))
        return PolicyCheck(ok=False, violations=v)
    venue_l = venue.strip().lower()
    if venue_l not in policy.allowed_venues:
        v.append(PolicyViolation(
            rule="venue_not_allowed", limit=",".join(policy.allowed_venues), value=venue_l,
            message=f"venue {venue_l} is not enabled (PM_MCP_VENUES={','.join(policy.allowed_venues)})"))
    if mode not in ("paper", "live"):
        v.append(PolicyViolation(rule="invalid", limit="paper|live", value=str(mode),
                                 message=f"mode must be 'paper' or 'live', got {mode!r}"))
    elif mode == "live" and not policy.live_enabled:
        v.append(PolicyViolation(rule="live_disabled", limit="paper", value="live",
                                 message="live orders are disabled: the server runs in paper mode (PM_MCP_MODE=paper)"))
    if order_cost > policy.max_order_usd:
        v.append(PolicyViolation(rule="max_order_usd", limit=str(policy.max_order_usd), value=str(order_cost),
                                 message=f"order cost {_amt(order_cost)} exceeds the per-order cap "
                                         f"{_amt(policy.max_order_usd)}"))
    # the running totals the order adds to (an order that costs nothing adds nothing): the rule, its cap, the
    # total before the order, what the total is, and the cap in words
    running = (("max_event_usd", policy.max_event_usd, event_exposure_before, "exposure to this event",
                f"single-event cap {_amt(policy.max_event_usd)} "
                f"({_pct(policy.max_event_fraction)} of {_amt(policy.bankroll)})"),
               ("max_daily_usd", policy.max_daily_usd, daily_spent_before, "today's spend",
                f"daily cap {_amt(policy.max_daily_usd)}"))
    for rule, cap, before, what, cap_words in running:
        after = before + order_cost
        if order_cost > 0 and after > cap:
            v.append(PolicyViolation(rule=rule, limit=str(cap), value=str(after),
                                     message=f"{what} would be {_amt(after)} (already {_amt(before)}), "
                                             f"over the {cap_words}"))
    if order_cost > policy.bankroll:
        v.append(PolicyViolation(rule="bankroll", limit=str(policy.bankroll), value=str(order_cost),
                                 message=f"order cost {_amt(order_cost)} exceeds the bankroll {_amt(policy.bankroll)}"))
    return PolicyCheck(ok=not v, violations=v)


class Headroom(BaseModel):
    """How much one more order may cost under each cap, and which one binds."""

    model_config = ConfigDict(frozen=True)

    max_cost: Decimal
    binding: str  # the rule with the least room
    by_rule: dict[str, Decimal]


def order_headroom(policy: RiskPolicy, *, event_exposure_before: Decimal = ZERO,
                   daily_spent_before: Decimal = ZERO) -> Headroom:
    """The largest order cost (USD) that passes the money caps, never negative."""
    rooms = {
        "max_order_usd": policy.max_order_usd,
        "max_event_usd": policy.max_event_usd - event_exposure_before,
        "max_daily_usd": policy.max_daily_usd - daily_spent_before,
        "bankroll": policy.bankroll,
    }
    rooms = {k: max(ZERO, r) for k, r in rooms.items()}
    binding = min(rooms, key=lambda k: rooms[k])
    return Headroom(max_cost=rooms[binding], binding=binding, by_rule=rooms)
