"""What the person reads first: the order in lines built only from OUR numbers.

The confirmation dialog and the approval page both lead with these lines: the mode, the side, the size,
the limit, the worst-case cost and loss with their currency, the venue (our name for it), the expiry and
the order hash. Nothing a venue wrote (titles, outcome labels, rules) is in them, so a market title cannot
push the real amounts out of sight or print fake ones above them. Venue text comes after, from
:func:`venue_text_lines`: cleaned (no control or bidi characters, no newlines), capped, quoted and
labelled as the venue's words.

Pure: reads only the stored intent.
"""

from __future__ import annotations

from datetime import UTC

from pm_mcp.domain.intents import Intent, OrderLeg, money, price_text
from pm_mcp.domain.money import normalize
from pm_mcp.domain.untrusted import clean_inline, quote_inline
from pm_mcp.venues.registry import display_name

TITLE_LIMIT = 120
OUTCOME_LIMIT = 60
_PLAIN_OUTCOMES = {"yes": "YES", "no": "NO"}


def headline(it: Intent) -> str:
    if it.standing is not None:
        money_word = "LIVE standing order (REAL MONEY)" if it.mode == "live" else "PAPER standing order (simulated)"
        return f"Approve this {money_word}?"
    if it.mode == "live":
        return "Approve this LIVE order (REAL MONEY)?"
    return "Approve this PAPER order (simulated, no real money)?"


def _outcome_word(leg: OrderLeg) -> str | None:
    """YES / NO for the binary outcomes; None for a label the venue (or a market's creator) wrote."""
    return _PLAIN_OUTCOMES.get(leg.outcome.strip().lower())


def _size(leg: OrderLeg) -> str:
    return format(normalize(leg.size), "f")


def leg_line(leg: OrderLeg) -> str:
    """'BUY 35 YES shares at no more than $0.55 each (limit)'."""
    word = _outcome_word(leg)
    shares = f"{word} shares" if word else "shares of the outcome quoted below"
    bound = "no more than" if leg.side == "buy" else "no less than"
    tif = "" if leg.time_in_force == "GTC" else f", {leg.time_in_force}"
    return (f"{leg.side.upper()} {_size(leg)} {shares} at {bound} {price_text(leg.limit_price, leg.currency)} each "
            f"(limit{tif})")


def cost_line(it: Intent) -> str:
    v = it.legs[0].currency
    cost, fees, loss = (money(it.worst_case_cost, v, up=True), money(it.fees, v, up=True),
                        money(it.worst_case_loss, v, up=True))
    if it.is_bundle:
        return (f"Worst-case cost {cost} incl. {fees} fees; worst-case loss {loss}; sent leg by leg, stopping at "
                "the first leg that does not fill completely")
    leg = it.legs[0]
    if leg.side == "buy":
        return (f"Worst-case cost {cost} incl. {fees} fees; worst-case loss {loss}; you receive "
                f"{money(it.payout_if_wins, v)} if it wins")
    return f"You receive at least {money(it.payout_if_wins, v)} after up to {fees} fees; worst-case loss {loss}"


def where_line(it: Intent) -> str:
    venues = []
    for leg in it.legs:
        name = display_name(leg.venue)
        if name not in venues:
            venues.append(name)
    when = "approve by" if it.standing is not None else "expires"
    return (f"Venue: {', '.join(venues)} · {when} {it.expires_at.astimezone(UTC).strftime('%H:%M:%S UTC')} · "
            f"order {it.order_hash[:12]}")


def condition_line(it: Intent) -> str | None:
    """A standing order's condition in words (our numbers; the outcome as YES / NO or 'the outcome quoted
    below'): what it waits for, how many times at most, until when. None for an ordinary order."""
    t = it.standing
    if t is None:
        return None
    leg = it.legs[0]
    word = _PLAIN_OUTCOMES.get(t.outcome.strip().lower(), "outcome quoted below")
    how = "at or below" if t.kind == "price_below" else "at or above"
    times = "at most once" if t.repeat == 1 else f"at most {t.repeat} times, once per crossing"
    total = "" if t.repeat == 1 else (f" (up to {money(it.worst_case_cost * t.repeat, leg.currency, up=True)} in "
                                      "all)")
    return (f"STANDING ORDER: NOT sent now. Sent only IF the {word} {t.price_side} is {how} "
            f"{price_text(t.level, leg.currency)}, {times}{total}, until "
            f"{t.valid_until.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}; re-checked when it triggers; "
            "cancel_order stops it")


def order_lines(it: Intent) -> list[str]:
    """Our lines, in the order the person reads them (headline first)."""
    lines = [headline(it)]
    if it.is_bundle:
        for i, leg in enumerate(it.legs, 1):
            lines.append(f"Leg {i} on {display_name(leg.venue)}: {leg_line(leg)}")
    else:
        lines.append(leg_line(it.legs[0]))
    cond = condition_line(it)
    if cond:
        lines.append(cond)
    lines.append(cost_line(it))
    lines.append(where_line(it))
    return lines


def policy_line(it: Intent) -> str:
    if it.policy.ok:
        return "Risk policy: within limits."
    return "Risk policy REFUSES it: " + "; ".join(v.message for v in it.policy.violations)


def tier_line(it: Intent) -> str | None:
    """'Tier cap: $20.00 (tier 'medium', ...); this order stakes $4.30; ...', or None (an intent stored before
    the tier cap was recorded). Its reasons are capped and cleaned to one line."""
    if it.tier_cap is None:
        return None
    text = clean_inline(it.tier_cap.line(), 600)
    return text[:1].upper() + text[1:]


def venue_text_lines(it: Intent) -> list[str]:
    """The venue's words, after ours: one cleaned, capped, quoted line per title / outcome label."""
    out = []
    for i, leg in enumerate(it.legs, 1):
        prefix = f"Leg {i} market" if it.is_bundle else "Market"
        out.append(f"{prefix} (venue text, quoted): {quote_inline(leg.market_title, TITLE_LIMIT)}")
        if _outcome_word(leg) is None:
            out.append(f"{'Leg ' + str(i) + ' outcome' if it.is_bundle else 'Outcome'} (venue text, quoted): "
                       f"{quote_inline(leg.outcome, OUTCOME_LIMIT)}")
    return out


def dialog_text(it: Intent) -> str:
    """The confirmation dialog: our lines, the policy, then the venue's words (quoted), then the order in
    words (its title cleaned to one capped line)."""
    parts = ["\n".join(order_lines(it) + [policy_line(it)] + [t for t in (tier_line(it),) if t]),
             "\n".join(venue_text_lines(it)),
             "In words: " + plain_in_words(it)]
    return "\n\n".join(parts)


def plain_in_words(it: Intent) -> str:
    """The intent's plain sentence on one line, its titles and labels cleaned and capped as above (a title
    that needs no cleaning stays exactly as in ``plain``)."""
    text = it.plain
    for leg in it.legs:
        text = text.replace(f"'{leg.market_title}'", f"'{clean_inline(leg.market_title, TITLE_LIMIT)}'")
        label = clean_inline(leg.outcome, OUTCOME_LIMIT)
        text = text.replace(f" {leg.outcome} shares of ", f" {label} shares of ")
        text = text.replace(f" if {leg.outcome}", f" if {label}")
    return clean_inline(text, 1000)
