"""The execution engine: intent -> the person confirms -> execute -> monitor.

Nothing reaches a venue except through :meth:`ExecutionEngine.confirm`, which the confirmation
channels call (the approval page's POST handler, an accepted elicitation, or ``confirm_order`` when
the person chose ``PM_MCP_CONFIRM=host``). A confirmation must carry the intent's ``order_hash``,
flips the intent PROPOSED -> CONFIRMED with a compare-and-set (single use) and is refused after expiry.

Execution re-checks everything at that moment (not expired, rules hash unchanged on a fresh copy of
the market, market open, tick and minimum fresh from the venue, the risk policy with today's spend
and the event's exposure from the journal), then for each leg journals the order (client order id)
BEFORE the request leaves, submits it, and verifies the result by asking the broker for the order
(fills are read from the venue's order state, never from a success flag). A timeout or an unknown
result is resolved by looking the order up by its client order id, never by resubmitting. At start-up
every in-flight intent and order is reconciled the same way.

Several processes on one database (replicas on PostgreSQL, or two processes on one SQLite file) send each order once:
the intent's status moves by compare-and-set (PROPOSED -> CONFIRMED -> EXECUTING: of two approvals, or of two
processes executing one intent, one wins); a leg's client order id is deterministic (:func:`client_order_id_for`) and
unique in the journal, so a leg is journaled once; the process that journaled it holds its submit claim and renews it
right before the request leaves. Another process takes a claim over only when it has expired (:data:`CLAIM_TTL`) or
its process is gone, and then asks the venue by client order id before it sends anything; a holder that stalled past
its claim finds it taken and does not send. Reconciliation and the background sync of in-flight orders run on one
process at a time (the store's reconcile lock: an advisory lock on PostgreSQL, a lease row on SQLite).

Owners (pm_mcp.principal): the engine acts for the principal of the running request: its intents, orders, positions,
its risk (today's spend, each event's exposure: one person's trades never use another's caps; the caps themselves are
the operator's settings), its tightened policy (stored: every replica and every later start apply it) and the notices
meant for it. Another owner's intent or order reads exactly like an unknown id. Background work (sync,
reconciliation, finishing stalled intents) reads every owner's rows and acts on each as its owner
(``principal.use(principal.as_owner(row.owner))``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pm_mcp import principal
from pm_mcp.domain.discipline import TIER_NAMES, TierCeiling, exempt, over_ceiling, tier_ceiling, with_binding
from pm_mcp.domain.intents import (
    Intent,
    IntentError,
    IntentStatus,
    OrderLeg,
    StandingTerms,
    build_intent,
    price_leg,
    recheck_leg,
    standing_terms,
    stored_currency,
)
from pm_mcp.domain.models import Market, OrderBook
from pm_mcp.domain.orders import (
    OrderRequest,
    OrderSide,
    OrderState,
    OrderStatus,
    TimeInForce,
)
from pm_mcp.domain.policy import PolicyCheck, RiskPolicy, with_tightenings
from pm_mcp.domain.positions import PositionState
from pm_mcp.domain.rules import market_contract_hash
from pm_mcp.execution.journal import (
    EVERYONE,
    IntentRecord,
    Journal,
    OrderRecord,
    PositionRecord,
    now_utc,
)
from pm_mcp.execution.risk import RiskBook
from pm_mcp.store import holder_gone, process_holder
from pm_mcp.venues.base import Broker, OrderRejected, UnknownOrderState, VenueError
from pm_mcp.venues.registry import make_live_broker

log = logging.getLogger(__name__)

CHANNELS_FOR_SETTING = {"auto": ("elicitation", "page"), "elicitation": ("elicitation",), "page": ("page",),
                        "host": ("host",)}
# Lookups after an unknown submit result (seconds between tries); then the order stays "unknown" and
# every read of orders/portfolio asks the venue again until it answers.
UNKNOWN_LOOKUP_BACKOFF = (0.2, 0.5, 1.0, 2.0)
# An order the venue still does not know this long after it was sent is recorded as not placed.
NOT_PLACED_AFTER = timedelta(seconds=60)
# An approved order that never left (the process stopped between journaling and sending) is sent after a
# restart only before the intent's expiry plus this grace, and only after the full re-check; later, it ends
# "not sent". The grace covers a restart that takes a few seconds, nothing more.
RESEND_GRACE = timedelta(seconds=30)
# Test-only knob (never set in production): a shorter grace, so a test need not wait 30 s.
RESEND_GRACE_ENV = "PM_MCP_TEST_RESEND_GRACE_S"


def _shortened(default: timedelta, env: str) -> timedelta:
    """``default``, or the shorter duration a test-only knob ``env`` gives (a knob can only shorten it)."""
    raw = os.environ.get(env)
    if raw:
        try:
            return min(default, timedelta(seconds=float(raw)))
        except ValueError:
            pass
    return default


def resend_grace() -> timedelta:
    return _shortened(RESEND_GRACE, RESEND_GRACE_ENV)
# Test-only fault knob (never set in production): sleep between journaling an order and sending it, so a
# test can kill -9 the server exactly there.
PAUSE_ENV = "PM_MCP_TEST_PAUSE_BEFORE_SUBMIT_S"
# The submit claim: the process that journals an order (or takes a dead or expired claim over) is the only one that
# may send it, and it renews the claim right before the request leaves, so the claim covers the request's flight (the
# HTTP timeout) with room to spare. Another process takes a claim over only when it has expired or its process is
# gone, and then asks the venue first (by client order id) before it sends anything.
CLAIM_TTL = timedelta(seconds=60)
CLAIM_TTL_ENV = "PM_MCP_TEST_CLAIM_TTL_S"  # test-only: a shorter claim, so a test can stall a holder past it
# Reconciliation and the background sync of in-flight orders run on one process at a time (Store.try_lock)
RECONCILE_LOCK = "execution.reconcile"
RECONCILE_LOCK_TTL_S = 30.0  # SQLite's lock row, should its process hang; PostgreSQL's ends with the connection
# An approved intent with nothing in flight that has not moved this long is finished by whichever process syncs
# (its own process may have died between the approval and the first order)
STALE_IN_FLIGHT = timedelta(seconds=15)
# The deterministic client order id of an intent's leg (uuid5 in this namespace of "<intent id>:<leg>"): the same in
# every process, so one leg can be journaled once (the id is unique) and a venue that honours client order ids
# (Kalshi) refuses a second copy
CLIENT_ORDER_NS = uuid.UUID("5b0c3f8e-8d1e-4f43-9a59-6d2f1f0a7c11")


def client_order_id_for(intent_id: str, leg_index: int) -> str:
    return str(uuid.uuid5(CLIENT_ORDER_NS, f"{intent_id}:{leg_index}"))


def claim_ttl() -> timedelta:
    return _shortened(CLAIM_TTL, CLAIM_TTL_ENV)
RULES_EXCERPT = 4000


class ExecutionError(Exception):
    """An expected refusal; the message is a sentence for the person (becomes a ToolError)."""


def mode_mismatch(intent_mode: str, process_mode: str) -> str:
    """The refusal for an intent of one mode in a process of another (names both)."""
    return (f"this order was proposed in {intent_mode.upper()} mode but this server now runs in "
            f"{process_mode.upper()} mode (PM_MCP_MODE={process_mode}); an order is only ever sent in the mode "
            f"the person approved, so nothing was placed. Propose it again in {process_mode} mode if it is "
            "still wanted")


@dataclass
class LegSpec:
    """One order as asked for, before pricing. ``market`` is any reference the market service
    resolves (id, slug, URL, ticker, token id) or a :class:`Market` already fetched."""

    market: str | Market
    outcome: str
    side: str
    limit_price: object
    size: object = None
    stake: object = None
    venue: str | None = None
    time_in_force: str = "GTC"


def market_rules_hash(market: Market) -> str:
    """pm_mcp.domain.rules.market_contract_hash: the market's rule text, question and member label (an intent
    re-checked at execution refuses when any of them changed). Should that ever fail, the sha256 of the raw
    text stands in (a different value: an intent priced with one and re-checked with the other refuses)."""
    try:
        return market_contract_hash(market)
    except Exception:  # noqa: BLE001
        log.warning("contract hash failed; using the sha256 of the raw rule text", exc_info=True)
        return "raw:" + hashlib.sha256((market.rule_text or "").encode("utf-8")).hexdigest()


class ExecutionEngine:
    def __init__(self, state: Any, *, broker_factory: Callable[[str], Broker] | None = None) -> None:
        self.state = state
        self.settings = state.settings
        self.journal = Journal(state.store)
        self.base_policy = RiskPolicy.from_settings(self.settings)
        self.base_mana_policy = RiskPolicy.from_settings(self.settings, currency="MANA")  # Manifold's play money
        # owner -> its policies (USD, MANA) as last read from the store (load_policies), never looser than the settings
        self._policies: dict[str, tuple[RiskPolicy, RiskPolicy]] = {}
        self.risk = RiskBook(self.journal, self.settings.mode, self.policy_for)
        self._brokers: dict[str, Broker] = {}
        self._broker_factory = broker_factory
        self._exec_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self.reconciled = asyncio.Event()
        self.reconcile_report: list[str] = []
        self.approval_urls: Callable[[str], str | None] | None = None  # set by the approval server
        self.listeners: list[Callable[[str], Any]] = []
        self._rechecked: dict[str, list[Market | None]] = {}  # intent id -> the markets its re-check fetched
        # owner -> what start-up reconciliation did that the person should hear about (shown by get_portfolio)
        self._notices: dict[str, list[str]] = {}
        self.last_sync_at: datetime | None = None  # set by the background runner (pm_mcp.execution.runner)
        self.holder = process_holder()  # this engine's name on its submit claims and the reconcile lock (_name)
        self._named = False
        self._executing: dict[str, int] = {}  # intent id -> execute() calls under way in this process

    # --- configuration ---------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def markets(self) -> Any:
        return self.state.require_markets()

    def allowed_channels(self) -> tuple[str, ...]:
        return CHANNELS_FOR_SETTING[self.settings.confirm]

    def broker(self, venue: str) -> Broker:
        b = self._brokers.get(venue)
        if b is None:
            if self._broker_factory is not None:
                b = self._broker_factory(venue)
            elif self.mode == "paper":
                from pm_mcp.execution.paper import PaperBroker

                b = PaperBroker(venue, self.journal, self._fresh_book)
            else:
                try:
                    b = make_live_broker(venue, self.state)
                except ValueError as exc:  # LiveSetupError: names the setting to fix, never a secret
                    raise ExecutionError(str(exc)) from None
            self._brokers[venue] = b
        return b

    def _policy_pair(self) -> tuple[RiskPolicy, RiskPolicy]:
        return self._policies.get(principal.current_owner(), (self.base_policy, self.base_mana_policy))

    @property
    def policy(self) -> RiskPolicy:
        """The running principal's policy in USD as last read from the store (:meth:`load_policies`): the
        operator's settings under that person's stored tightenings."""
        return self._policy_pair()[0]

    @property
    def mana_policy(self) -> RiskPolicy:
        return self._policy_pair()[1]

    @property
    def notices(self) -> list[str]:
        """What reconciliation did that the running principal should hear about (their intents and orders only)."""
        return self._notices.setdefault(principal.current_owner(), [])

    def policy_for(self, currency: str) -> RiskPolicy:
        """The policy whose amounts are in ``currency`` (USD, or MANA with its own caps), as last read from the
        store; whatever checks or shows a policy calls :meth:`load_policies` first."""
        return self.mana_policy if currency.upper() == "MANA" else self.policy

    async def load_policies(self) -> tuple[RiskPolicy, RiskPolicy]:
        """The running principal's policies (USD, MANA), read from the store: the operator's settings tightened by
        every tightening that person stored, on any replica and before any restart (never looser than the
        settings). A stored tightening this process cannot read refuses (ExecutionError) rather than drop it."""
        owner = principal.current_owner()
        try:
            rows = [(r["currency"], r["limits"]) for r in await self.journal.tightenings()]
            pair = (with_tightenings(self.base_policy, rows), with_tightenings(self.base_mana_policy, rows))
        except ValueError as exc:
            log.error("a stored risk-policy tightening of %s cannot be applied: %s", owner, exc)
            raise ExecutionError(f"your stored risk-policy tightenings cannot be read ({exc}); nothing is sized or "
                                 "sent until the operator fixes them (pm-mcp policy)") from None
        self._policies[owner] = pair
        return pair

    async def tighten(self, currency: str = "USD", **limits: Any) -> RiskPolicy:
        """Tighten the running principal's policy in ``currency`` and store it (every replica and every later
        start apply it); the limits that are not amounts (fractions, venues) tighten the other currency's too.
        Raises ValueError naming a limit that would loosen the policy in force; returns the policy in force after
        it (which includes whatever else that person stored meanwhile)."""
        cur = currency.upper()
        if cur not in ("USD", "MANA"):
            raise ValueError(f"currency must be USD or MANA, got {currency!r}")
        usd, mana = await self.load_policies()
        before = mana if cur == "MANA" else usd
        after = before.tightened(**limits)
        changed = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in after.model_dump().items()
                   if k in limits and v != getattr(before, k)}
        if changed:
            await self.journal.insert_tightening(cur, changed, replica=self.holder)
            usd, mana = await self.load_policies()
        return mana if cur == "MANA" else usd

    async def _fresh_book(self, market: Market, outcome: str) -> OrderBook:
        return await self.markets.get_order_book(market, outcome)

    async def _fresh_market(self, market_id: str, venue: str) -> Market:
        """Straight from the venue's adapter (no catalog cache in between): tick, minimum, status, rules."""
        return await self.markets.adapter(venue).get_market(market_id)

    # --- proposing -------------------------------------------------------------------------
    async def propose(self, specs: list[LegSpec], *, forecast_p: object = None, forecast_source: str | None = None,
                      channel: str | None = None, trigger: dict[str, Any] | None = None,
                      valid_until: datetime | None = None, repeat: int | None = None, confidence: str | None = None,
                      risk_free: bool = False) -> IntentRecord:
        """Price the legs, hold them to the tier cap, check the policy, store the intent (PROPOSED, or REJECTED by
        the policy).

        The tier cap (pm_mcp.domain.discipline): the buys' worst-case cost (every execution of a standing order)
        may not exceed the stake cap of the highest tier the markets allow (assess_market's verdict and the rule
        clarity, read from the markets here; a stated ``confidence`` may only lower it). Above it the proposal is
        refused (ExecutionError: rule, cap, value, why, what to do) and nothing is stored. It does not apply to
        sells, nor to a bundle proven ``risk_free`` (not a directional bet; the policy caps still do).

        ``trigger`` ({kind, level, side}) + ``valid_until`` (+ ``repeat``) make it a standing order: confirming
        arms it, and pm_mcp.execution.standing sends it (after the full re-check) when the condition holds."""
        if not specs:
            raise ExecutionError("give at least one order")
        from pm_mcp.execution.presence import (
            live_page_refusal,  # a live order on the page needs the person
        )

        refusal = live_page_refusal(self.settings.home, self.mode, channel, self.allowed_channels())
        if refusal:
            raise ExecutionError(refusal)
        now = now_utc()
        legs: list[OrderLeg] = []
        markets: list[Market] = []
        rules: dict[str, str] = {}
        for spec in specs:
            market = spec.market
            if not isinstance(market, Market):
                try:
                    market = await self.markets.get_market(str(market), venue=spec.venue)
                except (VenueError, ValueError) as exc:
                    raise ExecutionError(str(exc)) from None
            elif spec.venue and spec.venue.lower() != market.venue:
                raise ExecutionError(f"market {market.id} is on {market.venue}, not {spec.venue}")
            try:
                leg = price_leg(market, outcome=spec.outcome, side=spec.side, limit_price=spec.limit_price,
                                size=spec.size, stake=spec.stake, time_in_force=spec.time_in_force,
                                rules_hash=market_rules_hash(market), now=now)
            except IntentError as exc:
                raise ExecutionError(str(exc)) from None
            legs.append(leg)
            markets.append(market)
            rules[market.id] = (market.rule_text or "")[:RULES_EXCERPT]
        standing = self._standing_terms(legs, trigger, valid_until, repeat, now)
        if standing is not None and self.mode == "live":
            # a LIVE standing order sends real money later, unattended: only the page, with the person's factor
            from pm_mcp.execution.presence import ENROL_ADVICE, has_factor

            if "page" not in self.allowed_channels() or not has_factor(self.settings.home):
                raise ExecutionError("a LIVE standing order is approved only on the approval page with your PIN or "
                                     f"passkey (PM_MCP_CONFIRM=auto or page; {ENROL_ADVICE}); nothing was proposed")
            channel = "page"
        problems = await self._sell_problems(legs)
        if problems:
            raise ExecutionError("; ".join(problems))
        # a standing order is checked at its worst case: every execution the person may confirm
        times = standing.repeat if standing else 1
        ceiling = await self._tier_ceiling(legs, markets, times=times, confidence=confidence, risk_free=risk_free)
        refusal = over_ceiling(ceiling, price=legs[0].limit_price if len(legs) == 1 else None)
        if refusal:
            await self.journal.log("intent.refused", None, {"rule": "tier_cap", "tier": ceiling.tier,
                                                            "cap": str(ceiling.cap), "stake": str(ceiling.stake),
                                                            "markets": [f"{m.venue}:{m.id}" for m in markets]})
            raise ExecutionError(refusal)
        verdict = await self.policy_check(legs * times)
        ceiling = with_binding(ceiling, await self.risk.rooms(legs))
        allowed = self.allowed_channels()
        chosen = channel if channel in allowed else allowed[0]
        try:
            intent = build_intent(legs, intent_id=f"i-{secrets.token_hex(6)}", mode=self.mode, policy=verdict,
                                  now=now, ttl_s=self.settings.intent_ttl_s, forecast_p=forecast_p,
                                  forecast_source=forecast_source, standing=standing, tier_cap=ceiling)
        except IntentError as exc:
            raise ExecutionError(str(exc)) from None
        status = IntentStatus.PROPOSED if verdict.ok else IntentStatus.REJECTED
        reason = None if verdict.ok else "refused by the risk policy: " + verdict.summary
        await self.journal.insert_intent(intent, status, channel=chosen, reason=reason, rules=rules)
        await self.journal.log("intent.proposed", intent.id, {"order_hash": intent.order_hash, "status": status.value,
                                                              "plain": intent.plain})
        return IntentRecord(intent=intent, status=status, reason=reason, channel=chosen, rules=rules)

    async def _tier_ceiling(self, legs: list[OrderLeg], markets: list[Market], *, times: int,
                            confidence: str | None, risk_free: bool) -> TierCeiling:
        """The tier cap these legs are held to (pm_mcp.markets.assessment.market_ceiling, the one size_position
        uses): the most cautious of the buys' markets; none for sells only or a bundle proven risk-free."""
        from pm_mcp.markets.assessment import market_ceiling

        currency = legs[0].currency
        buys = [(leg, m) for leg, m in zip(legs, markets) if leg.side == "buy"]
        stake = sum((leg.worst_case_cost for leg, _m in buys), Decimal(0)) * times
        if not buys:
            return exempt("sells only: the tier cap holds buys, which open a position", currency=currency)
        if risk_free:
            return exempt("a bundle proven risk-free pays the same whatever wins: not a directional bet; the policy "
                          "caps still apply", currency=currency, stake=stake)
        if confidence is not None and confidence not in TIER_NAMES[1:]:
            raise ExecutionError(f"confidence must be one of {', '.join(TIER_NAMES[1:])}, got {confidence!r}")
        seen: dict[tuple[str, str], Market] = {(m.venue, m.id): m for _leg, m in buys}
        found = []
        for m in seen.values():
            try:
                found.append((await market_ceiling(self.markets, self.state.store, m), m))
            except Exception as exc:  # noqa: BLE001 - fail closed: no ceiling known, no proposal
                log.warning("tier cap of %s:%s could not be assessed", m.venue, m.id, exc_info=True)
                raise ExecutionError(f"the tier cap of market {m.id} on {m.venue} could not be assessed "
                                     f"({type(exc).__name__}); nothing was proposed. Try again, or check it with "
                                     "assess_market") from None
        worst, wm = min(found, key=lambda cm: TIER_NAMES.index(cm[0].max_tier))
        await self.load_policies()  # the bankroll as that person's stored tightenings leave it
        reason = worst.reason if len(found) == 1 else (f"{worst.reason} (market {wm.id}, the most cautious of the "
                                                       f"{len(found)} markets bought)")
        held = await self.risk.market_stake(set(seen), currency)
        return tier_ceiling(worst.max_tier, reason, bankroll=self.policy_for(currency).bankroll, currency=currency,
                            confidence=confidence, stake=stake, held=held)

    @staticmethod
    def _standing_terms(legs: list[OrderLeg], trigger: dict[str, Any] | None, valid_until: datetime | None,
                        repeat: int | None, now: datetime) -> StandingTerms | None:
        if trigger is None:
            if valid_until is not None or repeat is not None:
                raise ExecutionError("valid_until and repeat apply to a standing order only: give trigger too "
                                     "(e.g. {'kind': 'price_below', 'level': 0.40})")
            return None
        if len(legs) != 1:
            raise ExecutionError("a standing order (trigger) is one order; a bundle cannot have a trigger")
        try:
            return standing_terms(kind=trigger.get("kind"), level=trigger.get("level"), side=trigger.get("side"),
                                  outcome=legs[0].outcome, order_side=legs[0].side, valid_until=valid_until,
                                  repeat=repeat, now=now)
        except IntentError as exc:
            raise ExecutionError(str(exc)) from None

    # --- risk (assembled in pm_mcp.execution.risk) -------------------------------------------
    async def _sell_problems(self, legs: list[OrderLeg], exclude: frozenset[str] = frozenset()) -> list[str]:
        return await self.risk.sell_problems(legs, exclude)

    async def exposure(self, event_key: str, exclude: frozenset[str] = frozenset(), currency: str = "USD") -> Decimal:
        return await self.risk.exposure(event_key, exclude, currency)

    async def daily_spent(self, now: datetime | None = None, exclude: frozenset[str] = frozenset(),
                          currency: str = "USD") -> Decimal:
        return await self.risk.daily_spent(now, exclude, currency)

    async def policy_check(self, legs: list[OrderLeg], exclude: frozenset[str] = frozenset()) -> PolicyCheck:
        await self.load_policies()  # the person's tightenings as stored now (another replica may have added one)
        return await self.risk.check(legs, exclude)

    # --- reading ---------------------------------------------------------------------------
    async def get_intent(self, intent_id: str) -> IntentRecord:
        rec = await self.journal.load_intent(intent_id.strip())
        if rec is None:
            raise ExecutionError(f"no intent {intent_id!r}; intent ids look like 'i-3f9a...' (from propose_order)")
        if rec.status == IntentStatus.PROPOSED and rec.intent.expired(now_utc()):
            await self.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.EXPIRED,
                                          reason="not approved before it expired; propose again if still wanted")
            rec = await self.journal.load_intent(rec.intent.id)
            assert rec is not None
        elif rec.status == IntentStatus.ARMED and rec.intent.standing is not None \
                and now_utc() >= rec.intent.standing.valid_until:
            await self.journal.transition(rec.intent.id, (IntentStatus.ARMED,), IntentStatus.EXPIRED,
                                          reason=f"not triggered before {rec.intent.standing.until_text()}; "
                                                 "nothing more is sent")
            rec = await self.journal.load_intent(rec.intent.id)
            assert rec is not None
        return rec

    # --- confirming ------------------------------------------------------------------------
    async def confirm(self, intent_id: str, *, via: str, order_hash: str) -> IntentRecord:
        """The person approved ``intent_id`` through channel ``via``. Single use; bound to ``order_hash``."""
        if via not in self.allowed_channels():
            raise ExecutionError(f"confirmation through '{via}' is not enabled (PM_MCP_CONFIRM={self.settings.confirm})")
        await self.ready()  # start-up reconciliation first (it may cancel this very intent: another mode, expired)
        rec = await self.get_intent(intent_id)
        intent = rec.intent
        if rec.status != IntentStatus.PROPOSED:
            raise ExecutionError(f"intent {intent.id} is {rec.status.value}"
                                 + (f" ({rec.reason})" if rec.reason else "")
                                 + "; a confirmation is used once: propose again for a new order")
        if not hmac.compare_digest(str(order_hash), intent.order_hash) or not intent.hash_matches():
            await self.journal.log("intent.hash_mismatch", intent.id, {"via": via})
            raise ExecutionError("this approval does not match the order (the order hash differs); nothing was placed")
        if not intent.policy.ok:
            raise ExecutionError("this intent was refused by the risk policy and cannot be confirmed")
        if intent.mode != self.mode:
            reason = "cancelled: " + mode_mismatch(intent.mode, self.mode)
            await self.journal.transition(intent.id, (IntentStatus.PROPOSED,), IntentStatus.REJECTED, reason=reason)
            await self.journal.log("intent.mode_mismatch", intent.id, {"via": via, "intent_mode": intent.mode,
                                                                       "process_mode": self.mode})
            self._notify(intent.id)
            raise ExecutionError(mode_mismatch(intent.mode, self.mode))
        now = now_utc()
        if intent.standing is not None:
            if intent.mode == "live" and via != "page":
                raise ExecutionError("a LIVE standing order is approved only on the approval page with your PIN or "
                                     "passkey; nothing was armed")
            return await self._arm(intent, via, now)
        ok = await self.journal.transition(intent.id, (IntentStatus.PROPOSED,), IntentStatus.CONFIRMED,
                                           confirmed_via=via, confirmed_at=now.isoformat())
        if not ok:
            cur = await self.get_intent(intent.id)
            raise ExecutionError(f"intent {intent.id} is already {cur.status.value}; a confirmation is used once")
        await self.journal.log("intent.confirmed", intent.id, {"via": via, "order_hash": intent.order_hash})
        return await self.execute(intent.id)

    async def _arm(self, intent: Intent, via: str, now: datetime) -> IntentRecord:
        """A standing order the person approved: ARMED (single use, like any confirmation). Nothing is sent
        now; the runner's lease holder sends it when its condition holds (pm_mcp.execution.standing)."""
        ok = await self.journal.transition(intent.id, (IntentStatus.PROPOSED,), IntentStatus.ARMED,
                                           confirmed_via=via, confirmed_at=now.isoformat(), trigger_no=0,
                                           executions=0)
        if not ok:
            cur = await self.get_intent(intent.id)
            raise ExecutionError(f"intent {intent.id} is already {cur.status.value}; a confirmation is used once")
        await self.journal.log("intent.armed", intent.id, {"via": via, "order_hash": intent.order_hash,
                                                           "standing": intent.standing.hash_fields()
                                                           if intent.standing else None})
        self._notify(intent.id)
        return await self.get_intent(intent.id)

    async def child_orders(self, parent_id: str) -> list[OrderRecord]:
        """The orders of a standing order's executions (child intents '<parent id>-<n>')."""
        rows = await (await self.journal.conn.execute(
            "SELECT * FROM orders WHERE intent_id LIKE ? AND owner = ? ORDER BY created_at",
            (parent_id + "-%", principal.current_owner()))).fetchall()
        return [Journal._order_from_row(r) for r in rows]

    async def reject(self, intent_id: str, *, via: str, reason: str) -> IntentRecord:
        rec = await self.get_intent(intent_id)
        if rec.status != IntentStatus.PROPOSED:
            return rec
        await self.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.REJECTED, reason=reason,
                                      rejected_via=via)
        await self.journal.log("intent.rejected", rec.intent.id, {"via": via, "reason": reason})
        self._notify(rec.intent.id)
        return await self.get_intent(rec.intent.id)

    # --- executing -------------------------------------------------------------------------
    async def execute(self, intent_id: str) -> IntentRecord:
        """Run a CONFIRMED (or resume an EXECUTING) intent. Safe to call again: it never sends a leg twice."""
        self._executing[intent_id] = self._executing.get(intent_id, 0) + 1
        try:
            return await self._execute(intent_id)
        finally:
            self._executing[intent_id] -= 1
            if not self._executing[intent_id]:
                del self._executing[intent_id]

    async def _execute(self, intent_id: str) -> IntentRecord:
        async with self._exec_lock:
            rec = await self.get_intent(intent_id)
            if rec.intent.mode != self.mode and rec.status in (IntentStatus.CONFIRMED, IntentStatus.EXECUTING):
                return await self._other_mode(rec)
            if rec.status == IntentStatus.CONFIRMED:
                problems = await self._recheck(rec.intent)
                if problems:
                    status = IntentStatus.EXPIRED if problems[0].startswith("expired") else IntentStatus.FAILED
                    await self.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,), status,
                                                  reason="not sent: " + "; ".join(problems))
                    await self.journal.log("intent.recheck_failed", rec.intent.id, {"problems": problems})
                    self._notify(rec.intent.id)
                    return await self.get_intent(rec.intent.id)
                if not await self.journal.transition(rec.intent.id, (IntentStatus.CONFIRMED,),
                                                     IntentStatus.EXECUTING):
                    return await self.get_intent(rec.intent.id)  # another process moved it first
            elif rec.status != IntentStatus.EXECUTING:
                return rec
            await self._run_legs(rec.intent)
            self._notify(rec.intent.id)
            return await self.get_intent(rec.intent.id)

    async def _other_mode(self, rec: IntentRecord) -> IntentRecord:
        """An approved intent of the other mode: never sent from here. One that never started ends FAILED
        ("not sent"); one already executing stays as it is (quarantined) for a server of its own mode,
        which alone can ask its venue what became of the orders it journaled."""
        intent = rec.intent
        msg = mode_mismatch(intent.mode, self.mode)
        if rec.status == IntentStatus.CONFIRMED:
            if await self.journal.transition(intent.id, (IntentStatus.CONFIRMED,), IntentStatus.FAILED,
                                             reason="not sent: " + msg):
                await self.journal.log("intent.mode_mismatch", intent.id, {"intent_mode": intent.mode,
                                                                           "process_mode": self.mode})
                self._notice(f"intent {intent.id} ({intent.mode}) was approved but not sent: {msg}")
                self._notify(intent.id)
        else:
            self._notice(f"intent {intent.id} was executing in {intent.mode} mode; this {self.mode} server leaves "
                         f"its orders untouched and sends nothing (restart with PM_MCP_MODE={intent.mode} to "
                         "finish reconciling it)")
        return await self.get_intent(intent.id)

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)
            log.warning("%s", text)

    async def _recheck(self, intent: Intent) -> list[str]:
        now = now_utc()
        if intent.expired(now):
            return [f"expired at {intent.expires_at.isoformat()} before it could be sent"]

        async def fetch(leg: OrderLeg) -> Market | Exception:
            try:
                return await self._fresh_market(leg.market_id, leg.venue)
            except (VenueError, ValueError) as exc:
                return exc

        # the venue round trips overlap with the journal reads of the policy check
        fetches = [asyncio.ensure_future(fetch(leg)) for leg in intent.legs]
        problems: list[str] = await self._parent_problems(intent)
        try:
            problems += await self._sell_problems(intent.legs)
            verdict = await self.policy_check(intent.legs)
        finally:
            markets = await asyncio.gather(*fetches)
        self._rechecked[intent.id] = [m if isinstance(m, Market) else None for m in markets]
        for leg, market in zip(intent.legs, markets, strict=True):
            if isinstance(market, Exception):
                problems.insert(0, f"could not re-check {leg.venue} market {leg.market_id} ({market}); a check "
                                   "that cannot run refuses")
                continue
            problems[:0] = recheck_leg(leg, market, rules_hash=market_rules_hash(market), now=now).problems
        if not verdict.ok:
            problems.append("the risk policy now refuses it: " + verdict.summary)
        problems += await self._tier_problems(intent)
        return problems

    async def _tier_problems(self, intent: Intent) -> list[str]:
        """The tier cap again at sending: what is at stake on the intent's markets now (another intent approved
        since this one was proposed counts) beside this one's stake, against the cap it was proposed under. A
        standing order's executions were checked at proposal against every repeat together."""
        c = intent.tier_cap
        if c is None or not c.applies or c.cap is None or intent.parent_id is not None or intent.standing is not None:
            return []
        markets = {(leg.venue, leg.market_id) for leg in intent.legs if leg.side == "buy"}
        mine = frozenset(o.id for o in await self.journal.orders_for_intent(intent.id))
        held = await self.risk.market_stake(markets, c.currency, exclude=mine)
        refusal = over_ceiling(c.model_copy(update={"held": held}))
        if refusal is None:
            return []
        why = refusal.removeprefix("tier cap: ").split(" Nothing was proposed.")[0]
        return [f"the tier cap now refuses it: {why}"]

    async def _parent_problems(self, intent: Intent) -> list[str]:
        """One execution of a standing order runs only while that order is TRIGGERED (not cancelled)."""
        if intent.parent_id is None:
            return []
        parent = await self.journal.load_intent(intent.parent_id)
        if parent is not None and parent.status == IntentStatus.TRIGGERED:
            return []
        return [f"the standing order {intent.parent_id} is {parent.status.value if parent else 'gone'}, not "
                "triggered"]

    async def _run_legs(self, intent: Intent) -> None:
        existing = {o.leg_index: o for o in await self.journal.orders_for_intent(intent.id)}
        fresh = self._rechecked.pop(intent.id, [])
        for idx, leg in enumerate(intent.legs):
            order = existing.get(idx)
            mine = False
            if order is None:
                order, mine = await self._journal_order(intent, idx, leg)
            if mine:
                await self._pause_for_tests()
                order = await self._submit(order, leg, fresh[idx] if idx < len(fresh) else None)
            elif order.status in ("pending", "unknown"):
                order = await self._resume(order, leg, intent)
            if order.status in ("pending", "unknown"):
                await self.journal.log("intent.waiting", intent.id, {"order": order.id, "status": order.status})
                return  # stays EXECUTING; the next read or the next start-up resolves it
            if order.status in ("rejected", "expired") or (order.status == "cancelled" and order.filled_size == 0):
                await self._finish(intent, IntentStatus.FAILED,
                                   f"leg {idx + 1} was not placed: {order.message or order.status}"
                                   + (self._exposure_note(intent, idx) if idx else "")
                                   + (await self._unwind_note(intent) if idx else ""))
                return
            if intent.is_bundle and idx < len(intent.legs) - 1 and order.filled_size < order.size:
                await self._finish(intent, IntentStatus.FAILED,
                                   f"stopped after leg {idx + 1}: it filled {order.filled_size} of {order.size}; the "
                                   "remaining legs were not sent" + self._exposure_note(intent, idx + 1)
                                   + await self._unwind_note(intent))
                return
        await self._finish(intent, IntentStatus.EXECUTED, None)

    async def _unwind_note(self, intent: Intent) -> str:
        """A bundle that stopped half-way leaves one-sided exposure: propose its unwind (sell what the bought
        legs filled, at the best bids now, fill-and-kill) as a new intent the PERSON confirms. Never sent here."""
        specs: list[LegSpec] = []
        for o in await self.journal.orders_for_intent(intent.id):
            if o.side != "buy" or o.filled_size <= 0:
                continue
            try:
                market = await self._fresh_market(o.market_id, o.venue)
                book = await self._fresh_book(market, o.outcome)
            except Exception as exc:  # noqa: BLE001 - the note says it could not be priced
                log.info("unwind of %s: could not price (%s)", o.id, type(exc).__name__)
                return " No unwind could be priced (the venue did not answer); sell the filled legs with propose_order."
            if not book.bids:
                return (f" No unwind proposed: nobody bids for {o.outcome} of {o.market_id} right now; sell it later "
                        "with propose_order.")
            # the lowest bid the filled size needs when it walks the bids (the whole book if it is thinner)
            need, limit = o.filled_size, book.bids[-1].price
            for level in book.bids:
                need -= level.size
                if need <= 0:
                    limit = level.price
                    break
            specs.append(LegSpec(market=market, venue=o.venue, outcome=o.outcome, side="sell", limit_price=limit,
                                 size=o.filled_size, time_in_force="FAK"))
        if not specs:
            return ""
        try:
            rec = await self.propose(specs)
        except ExecutionError as exc:
            return f" No unwind proposed ({exc}); sell the filled legs with propose_order."
        await self.journal.log("intent.unwind_proposed", intent.id, {"unwind": rec.intent.id})
        return (f" Unwind proposed as intent {rec.intent.id}: it sells what filled ({rec.intent.plain[:160]}); it is "
                "NOT sent unless the person confirms it (confirm_order / the approval page).")

    @staticmethod
    def _exposure_note(intent: Intent, legs_done: int) -> str:
        return f" (exposure now: the first {legs_done} leg(s); see get_portfolio)"

    async def _finish(self, intent: Intent, status: IntentStatus, reason: str | None) -> None:
        await self.journal.transition(intent.id, (IntentStatus.EXECUTING,), status, reason=reason)
        await self.journal.log("intent." + status.value, intent.id, {"reason": reason})

    async def _journal_order(self, intent: Intent, idx: int, leg: OrderLeg) -> tuple[OrderRecord, bool]:
        """Journal leg ``idx`` with this engine's submit claim: (the order, True), or (the order another process
        journaled first, False); the leg's client order id is deterministic, so only one journal entry can exist."""
        await self._name()
        now = now_utc()
        order = OrderRecord(
            id=f"o-{secrets.token_hex(6)}", intent_id=intent.id, leg_index=idx,
            client_order_id=client_order_id_for(intent.id, idx),
            created_at=now, updated_at=now, status="pending", mode=intent.mode, venue=leg.venue,
            market_id=leg.market_id, market_title=leg.market_title, event_id=leg.event_id, outcome=leg.outcome,
            side=leg.side, limit_price=leg.limit_price, size=leg.size, time_in_force=leg.time_in_force,
            fee_bound=leg.fees, data={"outcome_ref": leg.outcome_ref, "currency": leg.currency})
        if not await self.journal.insert_order(order, claim=self._claim_terms()):
            other = await self.journal.load_order(order.client_order_id)
            if other is None:  # an id clash with a row that is gone again: refuse rather than guess
                raise ExecutionError(f"leg {idx + 1} of {intent.id} could not be journaled; nothing was sent")
            await self.journal.log("order.journaled_elsewhere", other.id, {"intent": intent.id, "leg": idx})
            return other, False
        await self.journal.log("order.journaled", order.id, {"intent": intent.id, "client_order_id":
                                                             order.client_order_id, "leg": idx,
                                                             "holder": self.holder})
        return order, True

    async def _name(self) -> None:
        """The holder name from the store (PostgreSQL adds this process's session), fixed before the first claim."""
        if self._named:
            return
        self._named = True
        try:
            self.holder = await self.state.store.holder_name()
        except Exception as exc:  # noqa: BLE001 - the plain host:pid name still works (claims then expire)
            log.info("holder name from the store failed (%s)", type(exc).__name__)

    def _claim_terms(self) -> tuple[str, float]:
        return self.holder, time.time() + claim_ttl().total_seconds()

    async def _claim(self, order: OrderRecord) -> bool:
        """The submit claim of a pending order for this engine (taken over when free, expired or left by a process
        that is gone); False while another live process holds it."""
        await self._name()
        holder, until = self._claim_terms()
        now = time.time()
        if await self.journal.claim_order(order.id, holder, until, now=now):
            return True
        other, _ = await self.journal.order_claim(order.id)
        if not other or other == self.holder:
            return False
        gone = holder_gone(other) or await self.state.store.holder_alive(other) is False
        if gone and await self.journal.claim_order(order.id, holder, until, now=now, take_from=other):
            await self.journal.log("order.claim_taken_over", order.id, {"from": other, "holder": self.holder})
            return True
        return False

    async def _pause_for_tests(self) -> None:
        raw = os.environ.get(PAUSE_ENV)
        if raw:
            log.warning("%s is set: pausing %s s before submitting (test fault knob)", PAUSE_ENV, raw)
            await asyncio.sleep(float(raw))

    def _request(self, order: OrderRecord, market: Market) -> OrderRequest:
        return OrderRequest(client_order_id=order.client_order_id, venue=order.venue, market=market,
                            outcome=order.outcome, side=OrderSide(order.side), limit_price=order.limit_price,
                            size=order.size, time_in_force=TimeInForce(order.time_in_force))

    async def _submit(self, order: OrderRecord, leg: OrderLeg | None, market: Market | None = None) -> OrderRecord:
        if order.mode != self.mode:  # the last gate before a broker: never send an order of the other mode
            order.status = "rejected"
            order.message = "not sent: " + mode_mismatch(order.mode, self.mode)
            await self.journal.update_order(order)
            await self.journal.log("order.mode_mismatch", order.id, {"order_mode": order.mode, "process_mode": self.mode})
            return order
        broker = self.broker(order.venue)
        if market is None:
            try:
                market = await self._fresh_market(order.market_id, order.venue)
            except (VenueError, ValueError) as exc:
                order.status = "rejected"
                order.message = f"not sent: could not load the market ({exc})"
                await self.journal.update_order(order)
                return order
        if not await self._claim(order):
            # another process took this order over (this one stalled past its claim): it looks the order up at the
            # venue and sends it if need be; sending here too could place it twice
            await self.journal.log("order.claim_lost", order.id, {"holder": self.holder})
            log.warning("order %s: its submit claim passed to another process; not sending it from here", order.id)
            return await self.journal.load_order(order.id) or order
        request = self._request(order, market)
        try:
            state = await broker.submit(request)
        except OrderRejected as exc:
            order.status = "rejected"
            order.message = str(exc)
            await self.journal.update_order(order)
            await self.journal.log("order.rejected", order.id, {"message": str(exc)})
            return order
        except (UnknownOrderState, VenueError, TimeoutError, OSError, Exception) as exc:  # noqa: BLE001
            # the request may or may not have landed: find out, never resend blindly
            order.status = "unknown"
            order.venue_order_id = order.venue_order_id or getattr(exc, "venue_order_id", None)
            order.message = f"the venue's answer was lost ({type(exc).__name__}); looking the order up"
            await self.journal.update_order(order)
            await self.journal.log("order.unknown", order.id, {"error": type(exc).__name__, "message": str(exc)[:300]})
            return await self._resolve_unknown(order)
        return await self._verify_and_apply(order, state)

    async def _verify_and_apply(self, order: OrderRecord, reported: OrderState) -> OrderRecord:
        """Fills count only when the broker's order state (looked up again) shows them."""
        broker = self.broker(order.venue)
        try:
            verified = await broker.get_order(order.client_order_id, reported.venue_order_id)
        except Exception as exc:  # noqa: BLE001
            log.info("order %s: verification lookup failed (%s)", order.id, type(exc).__name__)
            verified = None
        if verified is None:
            # acknowledged but not yet visible: record it as open with no fills; reads re-check it
            unverified = reported.model_copy(update={"fills": [], "filled_size": Decimal(0), "fees_paid": Decimal(0),
                                                     "average_price": None})
            if unverified.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
                unverified = unverified.model_copy(update={"status": OrderStatus.OPEN,
                                                           "message": "accepted; fills not yet visible at the venue"})
            return await self._apply(order, unverified)
        return await self._apply(order, verified)

    async def _resolve_unknown(self, order: OrderRecord) -> OrderRecord:
        broker = self.broker(order.venue)
        for delay in UNKNOWN_LOOKUP_BACKOFF:
            await asyncio.sleep(delay)
            try:
                state = await broker.get_order(order.client_order_id, order.venue_order_id)
            except Exception as exc:  # noqa: BLE001
                log.info("order %s: lookup failed (%s)", order.id, type(exc).__name__)
                continue
            if state is not None:
                await self.journal.log("order.found", order.id, {"status": state.status.value})
                return await self._apply(order, state)
        order.message = ("the venue does not show this order yet; it is NOT resent. pm-mcp keeps checking "
                         "(get_order) and records it as not placed if the venue never shows it")
        await self.journal.update_order(order)
        return order

    async def _resume(self, order: OrderRecord, leg: OrderLeg | None, intent: Intent | None = None) -> OrderRecord:
        """Reconcile a journaled order whose outcome we do not know (after a restart or a lost answer)."""
        if order.mode != self.mode:
            return order  # another mode's venue: never asked, never sent from here (see _other_mode)
        if order.status == "pending" and not await self._claim(order):
            return order  # another live process is sending it now; it (or a later pass) resolves it
        broker = self.broker(order.venue)
        try:
            state = await broker.get_order(order.client_order_id, order.venue_order_id)
        except Exception as exc:  # noqa: BLE001
            log.info("order %s: reconcile lookup failed (%s)", order.id, type(exc).__name__)
            return order
        if state is not None:
            await self.journal.log("order.reconciled", order.id, {"status": state.status.value})
            return await self._apply(order, state)
        if order.status == "pending":
            # journaled but the venue has no such order: the process stopped before sending. Send it now, with
            # the same client order id (a venue that saw it would return the existing order), but only in the
            # approved mode, before the approval's expiry (+ RESEND_GRACE) and after the full re-check.
            problem, market = await self._resend_problem(order, leg, intent)
            if problem:
                order.status = "rejected"
                order.message = "not sent after the restart: " + problem
                await self.journal.update_order(order)
                await self.journal.log("order.not_sent", order.id, {"reason": problem})
                self._notice(f"order {order.id} (intent {order.intent_id}) was approved but not sent: {problem}")
                return order
            await self.journal.log("order.resend_after_lookup", order.id, {"client_order_id": order.client_order_id})
            return await self._submit(order, leg, market)
        if now_utc() - order.created_at > NOT_PLACED_AFTER:
            order.status = "rejected"
            order.message = "the venue has no record of this order (looked up by client order id): it was not placed"
            await self.journal.update_order(order)
            await self.journal.log("order.not_placed", order.id, {})
        return order

    async def _resend_problem(self, order: OrderRecord, leg: OrderLeg | None,
                              intent: Intent | None) -> tuple[str | None, Market | None]:
        """Why a journaled, never-sent order must not be sent now (None: send it, with the fresh market)."""
        if intent is None and order.intent_id:
            rec = await self.journal.load_intent(order.intent_id)
            intent = rec.intent if rec is not None else None
        if intent is None or leg is None:
            if intent is not None and 0 <= order.leg_index < len(intent.legs):
                leg = intent.legs[order.leg_index]
            else:
                return "the approved intent behind it cannot be found", None
        if intent.mode != self.mode or order.mode != self.mode:
            return mode_mismatch(intent.mode, self.mode), None
        now = now_utc()
        grace = resend_grace()
        if now > intent.expires_at + grace:
            return (f"the approval expired at {intent.expires_at.strftime('%Y-%m-%d %H:%M:%S UTC')} (a restart may "
                    f"send an approved order up to {grace.total_seconds():g} s after that, no later); "
                    "propose it again if it is still wanted"), None
        try:
            market = await self._fresh_market(order.market_id, order.venue)
        except (VenueError, ValueError) as exc:
            return f"could not re-check the market ({exc}); a check that cannot run refuses", None
        problems = recheck_leg(leg, market, rules_hash=market_rules_hash(market), now=now).problems
        problems += await self._parent_problems(intent)
        problems += await self._sell_problems([leg], exclude=frozenset({order.id}))
        verdict = await self.policy_check([leg], exclude=frozenset({order.id}))
        if not verdict.ok:
            problems.append("the risk policy now refuses it: " + verdict.summary)
        return ("; ".join(problems) if problems else None), market

    async def _apply(self, order: OrderRecord, state: OrderState) -> OrderRecord:
        """Record the venue's order state: status, new fills (once each), the position."""
        new_fills = list(state.fills)
        if not new_fills and state.filled_size > order.filled_size:
            # a venue that reports only totals: record the increment as one fill
            prev_cost = (order.avg_price or Decimal(0)) * order.filled_size
            cost = (state.average_price or order.limit_price) * state.filled_size
            delta = state.filled_size - order.filled_size
            new_fills = [_AggFill(f"{order.client_order_id}-agg-{state.filled_size}", (cost - prev_cost) / delta,
                                  delta, state.fees_paid - order.fees_paid)]
        for f in new_fills:
            fill_id = f"{order.id}:{f.fill_id}"
            at = getattr(f, "at", None) or now_utc()
            # one writer at a time across processes: the fill is recorded once and the position's read-modify-write
            # is not interleaved with another process applying a fill to the same position
            async with self.journal.store.transaction():
                if await self.journal.insert_fill(fill_id, order.id, at, f.price, f.size, f.fee, {}, owner=order.owner):
                    await self._position_add(order, f.price, f.size, f.fee)
        order.status = state.status.value
        order.venue_order_id = state.venue_order_id or order.venue_order_id
        fills = await self.journal.fills_for_order(order.id, owner=order.owner)
        filled = sum((Decimal(x["size"]) for x in fills), Decimal(0))
        cost = sum((Decimal(x["size"]) * Decimal(x["price"]) for x in fills), Decimal(0))
        order.filled_size = filled
        order.avg_price = (cost / filled) if filled > 0 else None
        order.fees_paid = sum((Decimal(x["fee"]) for x in fills), Decimal(0))
        order.message = state.message
        await self.journal.update_order(order)
        await self.journal.log("order.state", order.id, {"status": order.status, "filled": str(filled)})
        return order

    async def _position_add(self, order: OrderRecord, price: Decimal, size: Decimal, fee: Decimal) -> None:
        pos = await self.journal.position(order.mode, order.venue, order.market_id, order.outcome, owner=order.owner)
        if pos is None:
            pos = PositionRecord(owner=order.owner, mode=order.mode, venue=order.venue, market_id=order.market_id, outcome=order.outcome,
                                 event_id=order.event_id, size=Decimal(0), avg_cost=Decimal(0),
                                 realized_pnl=Decimal(0), updated_at=now_utc(),
                                 data={"title": order.market_title,
                                       "currency": stored_currency(order.data, order.venue)})
        after = PositionState(pos.size, pos.avg_cost, pos.realized_pnl).after_fill(order.side, price, size, fee)
        pos.size, pos.avg_cost, pos.realized_pnl = after.size, after.avg_cost, after.realized_pnl
        pos.data = {**pos.data, "title": order.market_title or pos.data.get("title", "")}
        await self.journal.save_position(pos)

    # --- monitoring ------------------------------------------------------------------------
    async def sync(self) -> None:
        """Bring open orders up to date: paper resting orders are matched against current books; every
        open or unknown order is looked up at the venue; intents waiting on them are finished."""
        async with self._sync_lock:
            if not await self._anything_in_flight():
                return  # an idle pass takes no lock (on SQLite that would be a write every pass)
            if not await self._lock_in_flight():
                return  # another process is syncing the in-flight orders right now
            try:
                await self._sync_locked()
            finally:
                await self._unlock_in_flight()

    async def _anything_in_flight(self) -> bool:
        if await self.journal.open_orders(self.mode, owner=EVERYONE):
            return True
        return bool(await self.journal.intents_with_status(IntentStatus.CONFIRMED, IntentStatus.EXECUTING,
                                                           owner=EVERYONE))

    async def _sync_locked(self) -> None:
        if self.mode == "paper":  # the paper venue's own book: every owner's resting orders
            for venue in {o.venue for o in await self.journal.open_orders(self.mode, owner=EVERYONE)}:
                broker = self.broker(venue)
                match = getattr(broker, "match_resting", None)
                if match is not None:
                    await match()
        for order in await self.journal.open_orders(self.mode, owner=EVERYONE):
            with principal.use(principal.as_owner(order.owner)):
                await self._sync_order(order)
        await self._finish_stalled()

    async def _sync_order(self, order: OrderRecord) -> None:
        if order.status in ("pending", "unknown"):
            await self._resume_in_intent(order)
            return
        try:
            state = await self.broker(order.venue).get_order(order.client_order_id, order.venue_order_id)
        except Exception as exc:  # noqa: BLE001
            log.info("order %s: refresh failed (%s)", order.id, type(exc).__name__)
            return
        if state is not None:
            await self._apply(order, state)

    async def _finish_stalled(self) -> None:
        """Approved intents that nothing moves (their process died between the approval and the first order, or
        after the last leg): finished here, through execute (the compare-and-set and the leg claims make it safe
        while their own process still runs)."""
        cutoff = now_utc() - STALE_IN_FLIGHT
        for rec in await self.journal.intents_with_status(IntentStatus.CONFIRMED, IntentStatus.EXECUTING,
                                                          owner=EVERYONE):
            if rec.intent.parent_id is not None or rec.intent.mode != self.mode or rec.intent.id in self._executing:
                continue  # a standing order's execution: the runner's lease holder; another mode: never here
            if (rec.confirmed_at or rec.intent.created_at) > cutoff:
                continue
            with principal.use(principal.as_owner(rec.owner)):
                if any(o.is_open for o in await self.journal.orders_for_intent(rec.intent.id)):
                    continue  # the open-order pass above handles it
                try:
                    await self.execute(rec.intent.id)
                except Exception as exc:  # noqa: BLE001 - the next pass tries again
                    log.info("intent %s: finishing failed (%s)", rec.intent.id, type(exc).__name__)

    async def _lock_in_flight(self, wait_s: float = 0.0) -> bool:
        """The store's reconcile lock: one process at a time resolves in-flight orders (waits up to ``wait_s``)."""
        await self._name()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if await self.state.store.try_lock(RECONCILE_LOCK, self.holder, RECONCILE_LOCK_TTL_S):
                    return True
            except Exception as exc:  # noqa: BLE001 - a busy database: this pass is skipped, the next one tries
                log.info("reconcile lock not taken (%s)", type(exc).__name__)
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.25)

    async def _unlock_in_flight(self) -> None:
        try:
            await self.state.store.unlock(RECONCILE_LOCK, self.holder)
        except Exception as exc:  # noqa: BLE001 - it expires (SQLite) or ends with the connection (PostgreSQL)
            log.info("reconcile lock not released (%s)", type(exc).__name__)

    async def close(self) -> None:
        """A clean stop: this engine's submit claims and reconcile lock are freed (another process may look those
        orders up)."""
        await self._unlock_in_flight()
        try:
            n = await self.journal.release_claims(self.holder)
        except Exception as exc:  # noqa: BLE001 - the store may be closing; the claims then expire
            log.info("submit claims not released (%s)", type(exc).__name__)
            return
        if n:
            log.info("released %d submit claim(s) at shutdown", n)

    async def _resume_in_intent(self, order: OrderRecord) -> None:
        if order.intent_id in self._executing:
            return  # this process is executing it right now: waiting for it would hold the reconcile lock meanwhile
        if order.intent_id:
            rec = await self.journal.load_intent(order.intent_id)
            if rec is not None and rec.intent.parent_id is not None:
                return  # a standing order's execution: only the runner's lease holder resumes it (standing.py)
            if rec is not None and rec.status == IntentStatus.EXECUTING:
                await self.execute(rec.intent.id)
                return
        if order.status == "unknown":
            await self._resume(order, None)

    async def cancel(self, ref: str) -> tuple[IntentRecord | None, list[OrderRecord]]:
        """Cancel a proposal (intent id) or the open orders of an intent / one order (order id)."""
        ref = ref.strip()
        if ref.startswith("i-"):
            rec = await self.get_intent(ref)
            if rec.status == IntentStatus.PROPOSED:
                rec = await self.reject(ref, via="cancel_order", reason="cancelled before approval")
                return rec, []
            if rec.intent.standing is not None and rec.intent.parent_id is None:
                rec = await self._disarm(rec)
                orders = await self.child_orders(rec.intent.id)
            else:
                orders = await self.journal.orders_for_intent(ref)
        else:
            o = await self.journal.load_order(ref)
            if o is None:
                raise ExecutionError(f"no order or intent {ref!r}; ids look like 'o-...' or 'i-...'")
            rec = await self.journal.load_intent(o.intent_id) if o.intent_id else None
            orders = [o]
        done = []
        for o in orders:
            if not o.is_open:
                done.append(o)
                continue
            if o.mode != self.mode:
                raise ExecutionError(f"order {o.id} is a {o.mode} order; this server runs in {self.mode} mode and "
                                     f"cannot reach its venue (restart with PM_MCP_MODE={o.mode} to cancel it)")
            try:
                state = await self.broker(o.venue).cancel(o.client_order_id, o.venue_order_id)
            except VenueError as exc:
                raise ExecutionError(f"could not cancel {o.id}: {exc}") from None
            done.append(await self._apply(o, state))
        return rec, done

    async def _disarm(self, rec: IntentRecord) -> IntentRecord:
        """Cancel a standing order: nothing more is sent (an execution under way re-checks and stops)."""
        if await self.journal.transition(rec.intent.id, (IntentStatus.ARMED, IntentStatus.TRIGGERED),
                                         IntentStatus.CANCELLED, reason="cancelled by the person (cancel_order); "
                                                                        "nothing more is sent"):
            await self.journal.log("intent.cancelled", rec.intent.id, {"was": rec.status.value})
            self._notify(rec.intent.id)
        return await self.get_intent(rec.intent.id)

    # --- start-up --------------------------------------------------------------------------

    async def _cancel_other_mode(self, rec: IntentRecord, status: IntentStatus, to: IntentStatus, what: str,
                                 was: str, report: list[str]) -> None:
        """An intent of the other mode found at start-up ends here (``to``), journaled and told to the person."""
        msg = mode_mismatch(rec.intent.mode, self.mode)
        if await self.journal.transition(rec.intent.id, (status,), to, reason="cancelled at start-up: " + msg):
            await self.journal.log("intent.mode_mismatch", rec.intent.id,
                                   {"intent_mode": rec.intent.mode, "process_mode": self.mode})
            self._notice(f"{what} {rec.intent.id} ({rec.intent.mode}) was cancelled: the server now runs in "
                         f"{self.mode} mode; nothing was sent")
            report.append(f"{rec.intent.id}: cancelled ({was} in {rec.intent.mode} mode)")

    async def reconcile(self) -> list[str]:
        """Every in-flight intent and order: expire stale proposals, finish approved ones, look up
        journaled orders at the venue (never resending one the venue already has)."""
        report: list[str] = []
        try:
            async with self._sync_lock:
                if not await self._lock_in_flight(wait_s=15.0):
                    report.append("another pm-mcp process holds the reconcile lock; its passes reconcile the "
                                  "in-flight orders")
                    return report
                try:
                    await self._reconcile_locked(report)
                finally:
                    await self._unlock_in_flight()
        finally:
            self.reconcile_report = report
            self.reconciled.set()
            if report:
                log.info("reconciled: %s", "; ".join(report))
        return report

    async def _reconcile_locked(self, report: list[str]) -> None:
        """Every owner's in-flight rows, each handled as its owner (the report is the operator's log)."""
        now = now_utc()
        for rec in await self.journal.intents_with_status(IntentStatus.PROPOSED, owner=EVERYONE):
            with principal.use(principal.as_owner(rec.owner)):
                if rec.intent.mode != self.mode:
                    # switching mode on this data directory: an open proposal of the other mode is cancelled,
                    # so no later approval (page, dialog) can send it in this mode
                    await self._cancel_other_mode(rec, IntentStatus.PROPOSED, IntentStatus.REJECTED, "proposal",
                                                  "proposed", report)
                    continue
                if rec.intent.expired(now):
                    await self.journal.transition(rec.intent.id, (IntentStatus.PROPOSED,), IntentStatus.EXPIRED,
                                                  reason="not approved before it expired")
                    report.append(f"{rec.intent.id}: expired")
        for rec in await self.journal.intents_with_status(IntentStatus.ARMED, owner=EVERYONE):
            if rec.intent.mode != self.mode:  # an armed standing order never fires in the other mode
                with principal.use(principal.as_owner(rec.owner)):
                    await self._cancel_other_mode(rec, IntentStatus.ARMED, IntentStatus.CANCELLED, "standing order",
                                                  "armed", report)
        for rec in await self.journal.intents_with_status(IntentStatus.CONFIRMED, IntentStatus.EXECUTING,
                                                          owner=EVERYONE):
            if rec.intent.parent_id is not None:
                continue  # a standing order's execution: the runner's lease holder resumes it (standing.py)
            try:
                with principal.use(principal.as_owner(rec.owner)):
                    after = await self.execute(rec.intent.id)
            except Exception as exc:  # noqa: BLE001
                log.warning("reconcile %s failed: %s", rec.intent.id, type(exc).__name__)
                report.append(f"{rec.intent.id}: could not reconcile yet ({type(exc).__name__})")
                continue
            report.append(f"{rec.intent.id}: {rec.status.value} -> {after.status.value}")
        for order in await self.journal.open_orders(self.mode, owner=EVERYONE):
            if order.status == "unknown" and not order.intent_id:
                with principal.use(principal.as_owner(order.owner)):
                    await self._resume(order, None)
        other = "live" if self.mode == "paper" else "paper"
        stranded: dict[str, list[OrderRecord]] = {}
        for o in await self.journal.open_orders(other, owner=EVERYONE):
            if o.status in ("pending", "unknown"):
                stranded.setdefault(o.owner, []).append(o)
        for owner, orders in stranded.items():  # each person hears of their own orders only
            with principal.use(principal.as_owner(owner)):
                self._notice(f"{len(orders)} {other} order(s) journaled by a {other}-mode server are in flight "
                             f"({', '.join(o.id for o in orders[:5])}); this {self.mode} server sends and changes "
                             f"none of them (restart with PM_MCP_MODE={other} to reconcile them)")

    async def ready(self, timeout: float = 30.0) -> None:
        try:
            await asyncio.wait_for(self.reconciled.wait(), timeout)
        except TimeoutError:
            pass

    def _notify(self, intent_id: str) -> None:
        for fn in self.listeners:
            try:
                fn(intent_id)
            except Exception:  # noqa: BLE001
                log.exception("listener failed")


@dataclass
class _AggFill:
    fill_id: str
    price: Decimal
    size: Decimal
    fee: Decimal
    at: datetime | None = None
