"""Signal following with discipline: who holds a market, which wallets have a real record, and what that
is worth to a position. Pure: no I/O; ``now`` is passed in; money is Decimal in USD (USDC = USD here).

- :func:`summarize_holders`: the largest holders per outcome, their share of the listed holders and of open
  interest when the market gives it, and how concentrated it is (HHI of the listed holders).
- :func:`wallet_record`: a wallet's positions read three ways, never mixed: P&L on RESOLVED markets (the
  outcome is known: realised, settled-but-unredeemed included), P&L realised by selling in markets not yet
  resolved, and UNREALISED marks of open positions; how many resolved markets stand behind it (fewer than
  ``MIN_RESOLVED`` is no record); Brier-style calibration of entry prices against outcomes; a bot /
  market-maker likelihood with its reasons; first and last activity.
- :func:`holder_signal`: the net position of the holders with a PROVEN record (bots left out), each weighted
  by the age of its position (half-life ``SIGNAL_HALF_LIFE_DAYS``).
- :func:`tier_move`: what that signal may do to a confidence tier: at most one step, up only to a cap the
  caller names and never from ``none``, down at most one step. It never touches the person's probability.
"""

# No `from __future__ import annotations`: pydantic models (cold start; see pm_mcp.domain.scorecard).

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from statistics import median, pstdev
from typing import Literal

from pydantic import BaseModel, Field

from pm_mcp.domain.money import ZERO

TierName = Literal["none", "low", "medium", "high", "very_high"]
TIER_NAMES: tuple[str, ...] = ("none", "low", "medium", "high", "very_high")  # pm_mcp.domain.sizing's tiers

MIN_RESOLVED = 20  # resolved markets a record needs before it is one ("a record of 3 is not a record")
PROVEN_Z = 2.0  # excess win rate over entry prices, in standard errors, for "proven"
SIGNAL_HALF_LIFE_DAYS = 14.0  # a proven wallet's position counts half after this many days without a change
MIN_SIGNAL_SHARE = 0.25  # |net| / gross of the proven wallets' weighted value below this: no direction
MIN_PROVEN_WALLETS = 2  # one wallet is an anecdote
STALE_WEIGHT = 0.25  # mean decay weight below this: the signal is stale
PRICE_EPS = Decimal("0.001")

Verdict = Literal["proven", "unproven", "losing", "no_record"]
Likelihood = Literal["low", "medium", "high"]


# --- the data, as the venue package parses it -------------------------------------------------------------
class WalletPosition(BaseModel):
    wallet: str
    condition_id: str
    token_id: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    title: str = ""
    slug: str = ""
    status: str = "OPEN"  # OPEN | CLOSED (the venue's word)
    size: Decimal = ZERO  # shares held now
    avg_price: Decimal | None = None
    cost_usd: Decimal = ZERO  # entry cost of what was bought
    current_price: Decimal | None = None
    value_usd: Decimal = ZERO
    realized_pnl_usd: Decimal = ZERO
    unrealized_pnl_usd: Decimal = ZERO
    redeemable: bool = False
    end_date: str | None = None
    last_event_at: datetime | None = None

    @property
    def resolved(self) -> bool:
        """The market has settled: the outcome's price is 0 or 1, or the tokens are redeemable."""
        p = self.current_price
        return self.redeemable or (p is not None and (p <= PRICE_EPS or p >= 1 - PRICE_EPS))

    @property
    def won(self) -> bool:
        return self.current_price is not None and self.current_price >= 1 - PRICE_EPS


class Activity(BaseModel):
    timestamp: datetime
    type: str = "TRADE"
    side: str = ""  # BUY | SELL
    size: Decimal = ZERO
    usd: Decimal = ZERO
    price: Decimal | None = None
    condition_id: str = ""
    outcome_index: int | None = None


class Holder(BaseModel):
    wallet: str
    token_id: str = ""
    outcome_index: int | None = None
    shares: Decimal
    avg_price: Decimal | None = None
    value_usd: Decimal | None = None
    name: str = ""  # the profile's public name when it shows one (venue text)


# --- holders ------------------------------------------------------------------------------------------------
class HolderRow(BaseModel):
    wallet: str
    shares: Decimal
    share_of_listed: Decimal
    share_of_open_interest: Decimal | None = None
    avg_price: Decimal | None = None
    value_usd: Decimal | None = None


class OutcomeHolders(BaseModel):
    outcome: str
    token_id: str = ""
    holders: list[HolderRow] = Field(default_factory=list)
    listed_shares: Decimal = ZERO
    top1_share: Decimal = ZERO
    top5_share: Decimal = ZERO
    hhi: Decimal = Field(ZERO, description="Herfindahl index of the listed holders' shares, 0..1")
    concentration: str = "no holders listed"


def concentration_words(hhi: Decimal, n: int) -> str:
    if n == 0:
        return "no holders listed"
    if hhi >= Decimal("0.25"):
        return "highly concentrated"
    if hhi >= Decimal("0.15"):
        return "moderately concentrated"
    return "dispersed"


def summarize_holders(holders: Sequence[Holder], outcome: str, token_id: str = "", *, limit: int = 10,
                      open_interest: Decimal | None = None) -> OutcomeHolders:
    """One outcome's listed holders, largest first. ``open_interest`` (complete sets outstanding, = shares of
    each outcome for a $1 market) gives each holder's share of all shares of the outcome."""
    rows = sorted((h for h in holders if h.shares > 0), key=lambda h: h.shares, reverse=True)
    total = sum((h.shares for h in rows), ZERO)
    if total <= 0:
        return OutcomeHolders(outcome=outcome, token_id=token_id)
    shares = [h.shares / total for h in rows]
    oi = open_interest if open_interest is not None and open_interest > 0 else None
    out = [HolderRow(wallet=h.wallet, shares=h.shares, share_of_listed=_q4(s),
                     share_of_open_interest=_q4(h.shares / oi) if oi else None, avg_price=h.avg_price,
                     value_usd=h.value_usd) for h, s in zip(rows[:limit], shares, strict=False)]
    hhi = sum((s * s for s in shares), ZERO)
    return OutcomeHolders(outcome=outcome, token_id=token_id, holders=out, listed_shares=total,
                          top1_share=_q4(shares[0]), top5_share=_q4(sum(shares[:5], ZERO)), hhi=_q4(hhi),
                          concentration=concentration_words(hhi, len(rows)))


# --- a wallet's record --------------------------------------------------------------------------------------
class Calibration(BaseModel):
    """Entry price as the forecast, the outcome as the truth, over resolved positions bought at 0 < p < 1."""

    positions: int
    mean_entry_price: float
    win_rate: float
    excess: float = Field(description="win rate - mean entry price: what the wallet beat the price by")
    z: float = Field(description="excess in standard errors (sqrt(sum p(1-p))/n)")
    brier: float = Field(description="mean (entry price - outcome)^2: how far the prices it paid were from what "
                                     "happened (0.25 = coin flip); a positive excess means it sat on the right side "
                                     "of that error")


class BotCheck(BaseModel):
    likelihood: Likelihood
    reasons: list[str] = Field(default_factory=list)
    trades_seen: int = 0


class WalletRecord(BaseModel):
    wallet: str
    open_positions: int = 0
    closed_positions: int = 0
    resolved_markets: int = 0
    resolved_won: int = 0
    resolved_lost: int = 0
    pnl_resolved_usd: Decimal = Field(ZERO, description="P&L on resolved markets (realised, settled included)")
    pnl_realised_unresolved_usd: Decimal = Field(ZERO, description="realised by selling in unresolved markets")
    pnl_unrealised_usd: Decimal = Field(ZERO, description="marks of open positions in unresolved markets")
    open_value_usd: Decimal = ZERO
    portfolio_value_usd: Decimal | None = None
    currency: str = "USD"
    calibration: Calibration | None = None
    verdict: Verdict = "no_record"
    verdict_reason: str = ""
    bot: BotCheck = Field(default_factory=lambda: BotCheck(likelihood="low"))
    follow_worthy: bool = False
    first_activity: datetime | None = None
    last_activity: datetime | None = None
    largest_open: list[WalletPosition] = Field(default_factory=list)
    cut: list[str] = Field(default_factory=list, description="what was not read (pages bounded, a failure)")


def calibration(positions: Iterable[WalletPosition]) -> Calibration | None:
    pts = [(float(p.avg_price), 1.0 if p.won else 0.0) for p in positions
           if p.resolved and p.avg_price is not None and ZERO < p.avg_price < 1 and p.cost_usd > 0]
    if not pts:
        return None
    n = len(pts)
    mean_p = sum(p for p, _ in pts) / n
    win = sum(o for _, o in pts) / n
    var = sum(p * (1 - p) for p, _ in pts)
    se = math.sqrt(var) / n if var > 0 else 0.0
    excess = win - mean_p
    z = excess / se if se > 0 else 0.0
    brier = sum((p - o) ** 2 for p, o in pts) / n
    return Calibration(positions=n, mean_entry_price=round(mean_p, 4), win_rate=round(win, 4),
                       excess=round(excess, 4), z=round(z, 2), brier=round(brier, 4))


def bot_check(trades: Sequence[Activity], positions: Sequence[WalletPosition] = ()) -> BotCheck:
    """Bot / market-maker likelihood from activity patterns: trade cadence, both-sides quoting (buys and sells
    of one token, or both outcomes of one market), size regularity, round-the-clock activity."""
    ts = sorted((t for t in trades if t.type.upper() == "TRADE"), key=lambda t: t.timestamp)
    reasons: list[str] = []
    if len(ts) >= 50:
        gaps = [(b.timestamp - a.timestamp).total_seconds() for a, b in zip(ts, ts[1:], strict=False)]
        med = median(gaps)
        if med <= 60:
            reasons.append(f"trade cadence: a trade every {med:.0f} s (median over {len(ts)} trades)")
    both = _both_sides(ts, positions)
    if both:
        reasons.append(both)
    if len(ts) >= 20:
        sizes = [float(t.usd or t.size) for t in ts]
        mean = sum(sizes) / len(sizes)
        top, count = Counter(round(s, 2) for s in sizes).most_common(1)[0]
        if mean > 0 and pstdev(sizes) / mean <= 0.05:
            reasons.append(f"size regularity: {len(ts)} trades of nearly one size (~${mean:,.2f})")
        elif count / len(sizes) >= 0.6:
            reasons.append(f"size regularity: {count} of {len(sizes)} trades are ${top:,.2f}")
    if len(ts) >= 50 and (ts[-1].timestamp - ts[0].timestamp).total_seconds() >= 2 * 86400:
        hours = {t.timestamp.astimezone(UTC).hour for t in ts}
        if len(hours) >= 22:
            reasons.append(f"round the clock: trades in {len(hours)} of 24 UTC hours")
    likelihood: Likelihood = "high" if len(reasons) >= 2 else "medium" if reasons else "low"
    return BotCheck(likelihood=likelihood, reasons=reasons, trades_seen=len(ts))


def _both_sides(ts: Sequence[Activity], positions: Sequence[WalletPosition]) -> str | None:
    sides: dict[tuple[str, int | None], set[str]] = defaultdict(set)
    outcomes: dict[str, set[int | None]] = defaultdict(set)
    for t in ts:
        sides[(t.condition_id, t.outcome_index)].add(t.side.upper())
        if t.side.upper() == "BUY":
            outcomes[t.condition_id].add(t.outcome_index)
    for p in positions:
        if p.status.upper() == "OPEN" and p.size > 0:
            outcomes[p.condition_id].add(p.outcome_index)
    markets = {c for c, _ in sides} | set(outcomes)
    markets.discard("")
    if len(markets) < 3:
        return None
    quoted = {c for (c, _), s in sides.items() if {"BUY", "SELL"} <= s}
    two = {c for c, o in outcomes.items() if len(o) >= 2}
    hit = quoted | two
    if len(hit) / len(markets) >= 0.3:
        return (f"both sides: buys and sells one outcome, or holds both outcomes, in {len(hit)} of "
                f"{len(markets)} markets")
    return None


def wallet_record(wallet: str, open_positions: Sequence[WalletPosition], closed_positions: Sequence[WalletPosition],
                  activity: Sequence[Activity] = (), *, portfolio_value: Decimal | None = None,
                  cut: Sequence[str] = (), largest: int = 5) -> WalletRecord:
    everything = [*open_positions, *closed_positions]
    resolved = [p for p in everything if p.resolved]
    unresolved_open = [p for p in open_positions if not p.resolved]
    pnl_resolved = sum((p.realized_pnl_usd + (p.unrealized_pnl_usd if p.status.upper() == "OPEN" else ZERO)
                        for p in resolved), ZERO)
    pnl_sold = sum((p.realized_pnl_usd for p in everything if not p.resolved), ZERO)
    pnl_marks = sum((p.unrealized_pnl_usd for p in unresolved_open), ZERO)
    by_market: dict[str, list[WalletPosition]] = defaultdict(list)
    for p in resolved:
        by_market[p.condition_id].append(p)
    won = sum(1 for ps in by_market.values() if _market_pnl(ps) > 0)
    cal = calibration(resolved)
    bot = bot_check(activity, open_positions)
    verdict, why = _verdict(len(by_market), pnl_resolved, cal)
    times = [a.timestamp for a in activity] + [p.last_event_at for p in everything if p.last_event_at]
    follow = verdict == "proven" and bot.likelihood != "high"
    if verdict == "proven" and not follow:
        why += "; but it trades like a bot or market maker, whose profit is not a forecast"
    return WalletRecord(
        wallet=wallet, open_positions=len(open_positions), closed_positions=len(closed_positions),
        resolved_markets=len(by_market), resolved_won=won, resolved_lost=len(by_market) - won,
        pnl_resolved_usd=_q2(pnl_resolved), pnl_realised_unresolved_usd=_q2(pnl_sold),
        pnl_unrealised_usd=_q2(pnl_marks), open_value_usd=_q2(sum((p.value_usd for p in unresolved_open), ZERO)),
        portfolio_value_usd=_q2(portfolio_value) if portfolio_value is not None else None, calibration=cal,
        verdict=verdict, verdict_reason=why, bot=bot, follow_worthy=follow,
        first_activity=min(times) if times else None, last_activity=max(times) if times else None,
        largest_open=sorted(unresolved_open, key=lambda p: p.value_usd, reverse=True)[:largest], cut=list(cut))


def _market_pnl(ps: Sequence[WalletPosition]) -> Decimal:
    return sum((p.realized_pnl_usd + (p.unrealized_pnl_usd if p.status.upper() == "OPEN" else ZERO) for p in ps),
               ZERO)


def _verdict(n_resolved: int, pnl: Decimal, cal: Calibration | None) -> tuple[Verdict, str]:
    if n_resolved < MIN_RESOLVED:
        return "no_record", (f"{n_resolved} resolved market{'s' if n_resolved != 1 else ''}: fewer than "
                             f"{MIN_RESOLVED} is not a record")
    z = cal.z if cal else 0.0
    if pnl < 0 or z <= -PROVEN_Z:
        return "losing", f"{n_resolved} resolved markets, ${pnl:,.2f} on them" + (f", z {z:+.1f}" if cal else "")
    if pnl > 0 and cal is not None and z >= PROVEN_Z:
        return "proven", (f"{n_resolved} resolved markets, +${pnl:,.2f} on them, won {cal.win_rate:.0%} at a mean "
                          f"entry of {cal.mean_entry_price:.2f} (z {z:+.1f})")
    return "unproven", (f"{n_resolved} resolved markets, ${pnl:,.2f} on them" +
                        (f", z {z:+.1f} < {PROVEN_Z}: could be luck" if cal else ", no entry prices to test"))


# --- the signal -----------------------------------------------------------------------------------------------
class ProvenHolding(BaseModel):
    wallet: str
    outcome: str
    shares: Decimal
    value_usd: Decimal
    age_days: float | None = None
    weight: float


class HolderSignal(BaseModel):
    checked_wallets: int = 0
    proven_wallets: int = 0
    holdings: list[ProvenHolding] = Field(default_factory=list)
    weighted_usd: dict[str, Decimal] = Field(default_factory=dict, description="outcome -> decayed proven value")
    direction: str | None = None
    strength: float = 0.0
    mean_weight: float = 0.0
    newest_age_days: float | None = None
    oldest_age_days: float | None = None
    note: str = ""
    skipped: list[str] = Field(default_factory=list)


def decay_weight(age_days: float | None, half_life_days: float = SIGNAL_HALF_LIFE_DAYS) -> float:
    """0.5 ** (age / half-life); an unknown age counts half."""
    if age_days is None:
        return 0.5
    return 0.5 ** (max(0.0, age_days) / half_life_days)


def holder_signal(outcomes: Sequence[tuple[str, Sequence[Holder]]], records: dict[str, WalletRecord],
                  ages: dict[tuple[str, str], float | None], prices: dict[str, Decimal | None], *,
                  skipped: Sequence[str] = (), half_life_days: float = SIGNAL_HALF_LIFE_DAYS) -> HolderSignal:
    """The net position of proven, not bot-like holders. ``outcomes``: (label, holders); ``records``: wallet ->
    record (those checked); ``ages``: (wallet, label) -> days since the position last changed; ``prices``:
    label -> current price (value = shares x price; shares when unknown)."""
    sig = HolderSignal(checked_wallets=len(records), skipped=list(skipped))
    weighted: dict[str, Decimal] = {label: ZERO for label, _ in outcomes}
    weights: list[float] = []
    for label, holders in outcomes:
        for h in holders:
            r = records.get(h.wallet)
            if r is None or not r.follow_worthy:
                continue
            age = ages.get((h.wallet, label))
            w = decay_weight(age, half_life_days)
            price = prices.get(label)
            value = h.value_usd if h.value_usd is not None else h.shares * (price if price is not None else 1)
            weighted[label] += value * Decimal(str(round(w, 6)))
            weights.append(w)
            sig.holdings.append(ProvenHolding(wallet=h.wallet, outcome=label, shares=h.shares, value_usd=_q2(value),
                                              age_days=round(age, 1) if age is not None else None, weight=round(w, 3)))
    sig.proven_wallets = len({x.wallet for x in sig.holdings})
    sig.weighted_usd = {k: _q2(v) for k, v in weighted.items()}
    known = [x.age_days for x in sig.holdings if x.age_days is not None]
    sig.newest_age_days = min(known) if known else None
    sig.oldest_age_days = max(known) if known else None
    sig.mean_weight = round(sum(weights) / len(weights), 3) if weights else 0.0
    gross = sum(weighted.values(), ZERO)
    if gross > 0:
        top = max(weighted, key=lambda k: weighted[k])
        rest = gross - weighted[top]
        sig.strength = round(float((weighted[top] - rest) / gross), 3)
        sig.direction = top if sig.strength > 0 else None
    sig.note = _signal_note(sig)
    return sig


def _signal_note(sig: HolderSignal) -> str:
    if sig.proven_wallets == 0:
        return f"no holder with a proven record among {sig.checked_wallets} checked: no signal"
    if sig.proven_wallets < MIN_PROVEN_WALLETS:
        return f"{sig.proven_wallets} proven holder: an anecdote, not a signal (at least {MIN_PROVEN_WALLETS})"
    if sig.direction is None or sig.strength < MIN_SIGNAL_SHARE:
        return f"proven holders are split (net {sig.strength:.0%} of their weighted value): no direction"
    if sig.mean_weight < STALE_WEIGHT:
        return f"stale: their positions are old (mean decay weight {sig.mean_weight:.2f}); no signal"
    return (f"{sig.proven_wallets} proven holders lean {sig.direction!r} (net {sig.strength:.0%} of their "
            f"weighted value, mean decay weight {sig.mean_weight:.2f})")


def signal_direction(sig: HolderSignal | None) -> str | None:
    """The outcome the signal leans to, or None when it is no signal (too few, split, stale)."""
    if sig is None or sig.proven_wallets < MIN_PROVEN_WALLETS or sig.direction is None:
        return None
    if sig.strength < MIN_SIGNAL_SHARE or sig.mean_weight < STALE_WEIGHT:
        return None
    return sig.direction


class TierMove(BaseModel):
    side: str
    tier_before: TierName
    tier_after: TierName
    steps: int
    cap: TierName | None = None
    reason: str
    probability_unchanged: bool = True


def tier_move(sig: HolderSignal | None, side: str, tier: str, cap: str | None = None) -> TierMove:
    """Move ``tier`` (for buying ``side``) by the signal: +1 when it agrees, up to ``cap`` and never from none;
    -1 when it disagrees; 0 otherwise. Raises ValueError for an unknown tier name."""
    for name, value in (("tier", tier), ("max_tier", cap)):
        if value is not None and value not in TIER_NAMES:
            raise ValueError(f"{name} {value!r} is not a tier; allowed: {', '.join(TIER_NAMES)}")
    i = TIER_NAMES.index(tier)
    to, why = _signal_step(signal_direction(sig), sig, side, i, cap)
    if cap is not None and to > TIER_NAMES.index(cap):
        to, why = TIER_NAMES.index(cap), why + f"; held to the cap {cap!r}"
    return TierMove(side=side, tier_before=tier, tier_after=TIER_NAMES[to], steps=to - i, cap=cap, reason=why)


def _signal_step(lean: str | None, sig: HolderSignal | None, side: str, i: int, cap: str | None) -> tuple[int, str]:
    if lean is None:
        return i, (sig.note if sig else "no signal") + "; the tier stays"
    if lean.lower() != side.lower():
        if i == 0:
            return i, f"the signal leans {lean!r}, against {side!r}; the tier is already none"
        return i - 1, f"the signal leans {lean!r}, against {side!r}: one tier down"
    if i == 0:
        return i, "the signal agrees, but a tier of none (no edge) is never raised by holders"
    if cap is None:
        return i, ("the signal agrees; name max_tier (assess_market's tier_cap, or the tier the edge supports) to "
                   "let it raise the tier: it stays")
    if i >= TIER_NAMES.index(cap):
        return i, f"the signal agrees, but the tier is at its cap {cap!r}: it stays"
    return i + 1, f"the signal agrees with {side!r}: one tier up, within the cap {cap!r}"


def _q2(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


def _q4(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.0001"))


def age_days(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds() / 86400)
