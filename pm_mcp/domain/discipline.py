"""The tier ceiling: the most a position may stake on a market, whoever asks and whatever was sized: what is
already at stake there (positions at cost, open buy orders) and the new order together, so splitting a stake
into several orders does not get past it.

assess_market's verdict and the rule clarity cap the confidence tier (``pm_mcp.domain.scorecard.tier_cap_for``:
participate -> high, caution -> medium, avoid -> none; unclear rules one step lower); each tier has a fixed stake
cap, a fraction of the bankroll (``pm_mcp.domain.sizing.tier_stake_cap``). A confidence the assistant states may
lower the tier, never raise it; an unstated one leaves the market's tier as the bound (a proposal does not know
the edge that size_position's default "medium" reads). size_position sizes under this ceiling and every
proposal is refused above it (pm_mcp.execution.engine), so it binds whether or not the assistant sized first.

What it does not cover: sells (they close a position, they do not open a bet), and a bundle proven risk-free
(a Dutch book over an exclusive and exhaustive set, a bundle whose payoff is fixed in every outcome): it is not
a directional bet, so no confidence tier applies; the policy caps (order, event, daily) still do.

Pure: no I/O.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict, Field

from pm_mcp.domain.money import ceil_dp, in_currency, pct
from pm_mcp.domain.sizing import CONFIDENCE_TIERS, tier_stake_cap

ZERO = Decimal(0)
TIER_NAMES = tuple(t.name for t in CONFIDENCE_TIERS)  # none < low < medium < high < very_high


def _rank(tier: str) -> int:
    return TIER_NAMES.index(tier)


def _cost(d: Decimal, currency: str) -> str:
    """A cost shown rounded up to the cent (never understate what is paid)."""
    return in_currency(ceil_dp(d, 2), currency)


class TierCeiling(BaseModel):
    """The tier cap an intent was checked against, and which limit leaves it the least room."""

    model_config = ConfigDict(frozen=True)

    applies: bool = Field(True, description="False for sells only and for a bundle proven risk-free.")
    tier: str | None = Field(None, description="The highest tier allowed (the stated confidence may lower it).")
    cap: Decimal | None = Field(None, description="That tier's stake cap, in the market's currency.")
    currency: str = "USD"
    bankroll: Decimal | None = None
    market_tier: str | None = Field(None, description="The highest tier assess_market allows for the market.")
    confidence: str | None = Field(None, description="The confidence stated with the proposal, if any.")
    reason: str = Field("", description="Why this tier (the verdict, the clarity), or why no tier applies.")
    stake: Decimal = Field(ZERO, description="What the proposal stakes: its buys' worst-case cost incl. fees.")
    held: Decimal = Field(ZERO, description="Already at stake on the same markets when proposed: positions at cost "
                                            "plus open buy orders' worst case (the cap holds the two together).")
    binding: str | None = Field(None, description="The limit with the least room for this order: tier_cap, "
                                                  "max_order_usd, max_event_usd, max_daily_usd or bankroll.")
    binding_room: Decimal | None = None

    @property
    def by_confidence(self) -> bool:
        return (self.confidence is not None and self.market_tier is not None and self.tier != self.market_tier)

    def line(self) -> str:
        """'tier cap: $20.00 (tier 'medium', 2% of the $1,000.00 bankroll; assess_market says caution: ...);
        this order stakes $4.30; the tightest limit: the tier cap'. Our words and numbers only."""
        if not self.applies:
            return f"tier cap: none ({self.reason})"
        c = self.currency
        assert self.tier is not None and self.cap is not None
        share = f", {pct(CONFIDENCE_TIERS[_rank(self.tier)].cap_fraction, 1)} of the {in_currency(self.bankroll or ZERO, c)} bankroll"
        text = (f"tier cap: {in_currency(self.cap, c)} (tier '{self.tier}'{share}; {self.reason}); this order stakes "
                f"{_cost(self.stake, c)}")
        if self.held > 0:
            text += f" beside {_cost(self.held, c)} already at stake on this market"
        if self.binding:
            text += "; the tightest limit: " + BINDING_WORDS.get(self.binding, self.binding)
            if self.binding != "tier_cap" and self.binding_room is not None:
                text += f" ({in_currency(self.binding_room, c)} left)"
        return text


BINDING_WORDS = {"tier_cap": "the tier cap", "max_order_usd": "the per-order cap", "max_event_usd": "the single-event cap",
                 "max_daily_usd": "the daily cap", "bankroll": "the bankroll"}


def tier_ceiling(market_tier: str, reason: str, *, bankroll: Decimal, currency: str = "USD",
                 confidence: str | None = None, stake: Decimal = ZERO, held: Decimal = ZERO) -> TierCeiling:
    """The ceiling for a market that allows ``market_tier`` (``reason`` says why), lowered by a stated
    ``confidence`` (its tier has the same name: low, medium, high, very_high); never raised by it."""
    if market_tier not in TIER_NAMES:
        raise ValueError(f"unknown tier {market_tier!r}; tiers are {', '.join(TIER_NAMES)}")
    tier = market_tier
    why = reason
    if confidence is not None:
        if confidence not in TIER_NAMES[1:]:
            raise ValueError(f"confidence must be one of {', '.join(TIER_NAMES[1:])}, got {confidence!r}")
        if _rank(confidence) < _rank(market_tier):
            tier = confidence
            why = f"your stated confidence {confidence} (the market allows {market_tier}: {reason})"
    return TierCeiling(tier=tier, cap=tier_stake_cap(tier, bankroll), currency=currency, bankroll=bankroll,
                       market_tier=market_tier, confidence=confidence, reason=why, stake=stake, held=held)


def exempt(reason: str, *, currency: str = "USD", stake: Decimal = ZERO) -> TierCeiling:
    """No tier applies (sells only; a bundle proven risk-free): ``reason`` says which."""
    return TierCeiling(applies=False, currency=currency, reason=reason, stake=stake)


def over_ceiling(c: TierCeiling, *, price: Decimal | None = None) -> str | None:
    """The refusal when the stake is over the ceiling (None within it): the rule, the cap, the value, why,
    and what to do. ``price``: the limit of a single buy (to say how many shares fit)."""
    if not c.applies or c.cap is None or c.tier is None or c.held + c.stake <= c.cap:
        return None
    cur = c.currency
    who = "your stated confidence allows" if c.by_confidence else "assess_market allows for this market"
    frac = CONFIDENCE_TIERS[_rank(c.tier)].cap_fraction
    # one pair of quotes only (the tier): the error text clips a long span between two quote marks
    reason = c.reason.replace("'", "\u2019").replace('"', "\u201d")
    held = (f" beside {_cost(c.held, cur)} already at stake on this market (positions at cost and open buy orders)"
            if c.held > 0 else "")
    head = (f"tier cap: stake {_cost(c.stake, cur)} (worst case incl. fees){held} is over the "
            f"{in_currency(c.cap, cur)} cap of tier '{c.tier}' ({pct(frac, 1)} of the "
            f"{in_currency(c.bankroll or ZERO, cur)} bankroll), the most {who}: {reason}. Nothing was proposed. ")
    if c.cap <= 0:
        return head + ("No new position may be opened on this market at this verdict: do not buy it (assess_market "
                       "says why; a verified reading of unclear rules, submit_reading, can lift a clarity cap).")
    room = max(ZERO, c.cap - c.held).quantize(Decimal("0.01"), rounding=ROUND_DOWN)  # never say more than fits
    if room <= 0:
        return head + ("The position on this market already holds the whole cap: no more may be bought at this "
                       "verdict (sell or let it settle first).")
    fit = ""
    if price is not None and price > 0:
        fit = f" (at most about {int(room / price)} shares at {in_currency(price, cur)} before fees)"
    return head + (f"Propose at most {in_currency(room, cur)}{fit}: a smaller size, or options.stake="
                   f"{room} (it buys what fits incl. fees); size_position(market=...) sizes "
                   "inside this cap." + (" A verified reading of the rules (submit_reading) can lift a clarity cap."
                                         if "clarity" in c.reason else ""))


def with_binding(c: TierCeiling, rooms: dict[str, Decimal]) -> TierCeiling:
    """``c`` with the limit that leaves the least room named: the tier cap against the policy's rooms
    (pm_mcp.domain.policy.order_headroom's ``by_rule``)."""
    all_rooms = dict(rooms)
    if c.applies and c.cap is not None:
        all_rooms = {"tier_cap": c.cap - c.held, **all_rooms}
    if not all_rooms:
        return c
    binding = min(all_rooms, key=lambda k: all_rooms[k])
    return c.model_copy(update={"binding": binding, "binding_room": max(ZERO, all_rooms[binding])})


__all__ = ["TierCeiling", "TIER_NAMES", "tier_ceiling", "exempt", "over_ceiling", "with_binding"]
